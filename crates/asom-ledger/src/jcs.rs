//! RFC 8785 (JCS) canonical JSON: the exact bytes an entry's id is the SHA-256 of.
//!
//! This module owns turning JSON into canonical bytes and reading untrusted
//! JSON text strictly enough that those bytes mean one thing:
//!
//! - [`canonicalize`] / [`write_canonical`]: a [`serde_json::Value`] to its
//!   canonical bytes.
//! - [`to_canonical`]: any `Serialize` value to canonical bytes. It builds the
//!   value itself, so NaN, infinities and repeated keys are errors instead of
//!   the `null` and last-key-wins that `serde_json::to_value` would produce.
//! - [`parse_strict`] / [`canonicalize_text`]: untrusted text, read as I-JSON
//!   (RFC 7493): UTF-8 only, no byte order mark, no repeated keys, no lone
//!   surrogate escapes, nothing after the value.
//!
//! The canonical form (RFC 8785 §3.2): no whitespace; object members sorted by
//! their keys as UTF-16 code unit sequences; strings escape only `"`, `\` and
//! control characters below U+0020 (`\b \t \n \f \r`, otherwise `\u00xx` in
//! lowercase hex), everything else is literal UTF-8; numbers as ECMAScript's
//! `Number.prototype.toString` prints the IEEE-754 double, so `-0` is `0`.
//!
//! Numbers lose nothing. JSON numbers are doubles here, and a double cannot
//! hold every integer beyond ±2^53, so an integer (`u64`/`i64` in a value, or
//! an integer literal in text) beyond ±2^53 is refused with
//! [`JcsError::InexactInteger`] unless the canonical form writes back exactly
//! the same digits (`10000000000000000` is fine, `9007199254740993` would
//! become `9007199254740992`). Such values must travel as strings. The rule is
//! the same for values and for text, so the canonical bytes of anything
//! [`canonicalize`] accepts are accepted again by [`parse_strict`].
//!
//! Not done here: hashing (see [`crate::hash::Hash::of`]), I/O, Unicode
//! normalization (RFC 8785 leaves strings as they are), and refusing Unicode
//! noncharacters (I-JSON forbids them; they pass through unchanged).

use std::cell::Cell;
use std::cmp::Ordering;
use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::ser::{self, Impossible, Serialize};
use serde_json::{Map, Number, Value};

/// The deepest nesting of arrays and objects accepted, in text and in values.
///
/// It is `serde_json`'s parser limit, so whatever [`parse_strict`] reads,
/// [`canonicalize`] writes, and the recursion stays far from the stack's end.
pub const MAX_DEPTH: usize = 127;

/// 2^53: every integer up to this magnitude is exactly an IEEE-754 double.
const MAX_EXACT_INTEGER: u64 = 1 << 53;
/// 2^53 as a double.
const MAX_EXACT_DOUBLE: f64 = 9_007_199_254_740_992.0;

/// Where a problem is: in JSON text, or inside a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// In JSON text. Lines start at 1; columns count bytes from 1, as
    /// `serde_json` does (0 means before the line's first byte).
    Text {
        /// Line number.
        line: usize,
        /// Byte column within the line.
        column: usize,
    },
    /// Inside a value, as an RFC 6901 JSON Pointer (`""` is the value itself).
    Pointer(String),
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Text { line, column } => write!(f, "line {line} column {column}"),
            Self::Pointer(pointer) if pointer.is_empty() => f.write_str("the top level"),
            Self::Pointer(pointer) => f.write_str(pointer),
        }
    }
}

/// Why JSON could not be read or canonicalized.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JcsError {
    /// The text is not UTF-8.
    #[error("invalid UTF-8 at {at}; JSON text must be UTF-8")]
    InvalidUtf8 {
        /// The first byte that is not UTF-8.
        at: Location,
    },
    /// The text is not JSON (RFC 8259).
    #[error("malformed JSON at {at}: {reason}")]
    Syntax {
        /// What the parser expected or found.
        reason: String,
        /// Where the parser stopped.
        at: Location,
    },
    /// Something follows the JSON value.
    #[error("extra data after the JSON value at {at}; send exactly one JSON value")]
    TrailingData {
        /// The first byte after the value.
        at: Location,
    },
    /// An object has the same key twice (RFC 7493 §2.3).
    #[error("duplicate key {key:?} at {at}; a key may appear only once per object")]
    DuplicateKey {
        /// The repeated key.
        key: String,
        /// Just after the second occurrence in text, or the object in a value.
        at: Location,
    },
    /// A `\uD800`-`\uDFFF` escape is not half of a high-low surrogate pair.
    #[error("lone surrogate escape at {at}; \\uD800-\\uDFFF escapes must come as high-low pairs")]
    LoneSurrogate {
        /// Where the parser noticed.
        at: Location,
    },
    /// An integer beyond ±2^53 that the canonical form would write differently.
    #[error(
        "integer {number} at {at} is not exact as an IEEE-754 double (it would become \
         {nearest}); send it as a string"
    )]
    InexactInteger {
        /// The integer as given.
        number: String,
        /// How the canonical form would write it.
        nearest: String,
        /// Where it is.
        at: Location,
    },
    /// A number too large in magnitude for an IEEE-754 double.
    #[error("number at {at} is beyond the IEEE-754 double range; send it as a string")]
    NumberOutOfRange {
        /// Where it is.
        at: Location,
    },
    /// NaN or an infinity, which JSON cannot express.
    #[error("{value} at {at} is not a JSON number; use a string or null instead")]
    NonFinite {
        /// `NaN`, `Infinity` or `-Infinity`.
        value: &'static str,
        /// Where it is.
        at: Location,
    },
    /// Arrays and objects nest deeper than [`MAX_DEPTH`].
    #[error("JSON nests deeper than {limit} levels at {at}; flatten the document")]
    TooDeep {
        /// The limit, [`MAX_DEPTH`].
        limit: usize,
        /// The first array or object past the limit.
        at: Location,
    },
    /// A Rust value has no JSON form (e.g. a map key that is not a string).
    #[error("cannot write {at} as JSON: {reason}")]
    Unserializable {
        /// What is wrong.
        reason: String,
        /// Where it is.
        at: Location,
    },
}

impl JcsError {
    /// Where the problem is.
    #[must_use]
    pub fn location(&self) -> &Location {
        match self {
            Self::InvalidUtf8 { at }
            | Self::Syntax { at, .. }
            | Self::TrailingData { at }
            | Self::DuplicateKey { at, .. }
            | Self::LoneSurrogate { at }
            | Self::InexactInteger { at, .. }
            | Self::NumberOutOfRange { at }
            | Self::NonFinite { at, .. }
            | Self::TooDeep { at, .. }
            | Self::Unserializable { at, .. } => at,
        }
    }

    fn location_mut(&mut self) -> &mut Location {
        match self {
            Self::InvalidUtf8 { at }
            | Self::Syntax { at, .. }
            | Self::TrailingData { at }
            | Self::DuplicateKey { at, .. }
            | Self::LoneSurrogate { at }
            | Self::InexactInteger { at, .. }
            | Self::NumberOutOfRange { at }
            | Self::NonFinite { at, .. }
            | Self::TooDeep { at, .. }
            | Self::Unserializable { at, .. } => at,
        }
    }

    /// Prefixes a value-side location with an object key, while unwinding.
    #[cold]
    fn within_key(mut self, key: &str) -> Self {
        if let Location::Pointer(pointer) = self.location_mut() {
            let mut prefixed = String::with_capacity(key.len() + 1 + pointer.len());
            prefixed.push('/');
            for c in key.chars() {
                match c {
                    '~' => prefixed.push_str("~0"),
                    '/' => prefixed.push_str("~1"),
                    _ => prefixed.push(c),
                }
            }
            prefixed.push_str(pointer);
            *pointer = prefixed;
        }
        self
    }

    /// Prefixes a value-side location with an array index, while unwinding.
    #[cold]
    fn within_index(mut self, index: usize) -> Self {
        if let Location::Pointer(pointer) = self.location_mut() {
            *pointer = format!("/{index}{pointer}");
        }
        self
    }
}

impl ser::Error for JcsError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Self::Unserializable {
            reason: msg.to_string(),
            at: top_level(),
        }
    }
}

fn top_level() -> Location {
    Location::Pointer(String::new())
}

// ---------------------------------------------------------------------------
// Writing canonical bytes
// ---------------------------------------------------------------------------

/// Canonical bytes of a JSON value per RFC 8785.
///
/// Refuses integers beyond ±2^53 whose digits a double would change
/// ([`JcsError::InexactInteger`]) and nesting deeper than [`MAX_DEPTH`];
/// errors name the place as a JSON Pointer.
pub fn canonicalize(value: &Value) -> Result<Vec<u8>, JcsError> {
    let mut out = Vec::with_capacity(256);
    write_value(value, &mut out, 0)?;
    Ok(out)
}

/// Appends the canonical bytes of `value` to `out`, for callers that reuse a
/// buffer. On error `out` is left as it was.
pub fn write_canonical(value: &Value, out: &mut Vec<u8>) -> Result<(), JcsError> {
    let start = out.len();
    write_value(value, out, 0).inspect_err(|_| out.truncate(start))
}

/// Serialize any `T` to a [`Value`], then canonicalize it.
///
/// Unlike `serde_json::to_value`, NaN and infinities are errors, not `null`,
/// and a key written twice is an error, not last-one-wins. Map keys may be
/// strings, chars, integers, booleans or finite floats (written as
/// canonical numbers); anything else is [`JcsError::Unserializable`]. An `f32`
/// is written as the double it exactly equals (`0.1f32` is
/// `0.10000000149011612`).
pub fn to_canonical<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, JcsError> {
    canonicalize(&value.serialize(ValueSerializer)?)
}

fn write_value(value: &Value, out: &mut Vec<u8>, depth: usize) -> Result<(), JcsError> {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(number) => write_number(number, out)?,
        Value::String(string) => write_string(string, out),
        Value::Array(items) => {
            let depth = enter(depth)?;
            out.push(b'[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(b',');
                }
                write_value(item, out, depth).map_err(|e| e.within_index(index))?;
            }
            out.push(b']');
        }
        Value::Object(members) => write_object(members, out, enter(depth)?)?,
    }
    Ok(())
}

fn enter(depth: usize) -> Result<usize, JcsError> {
    if depth >= MAX_DEPTH {
        return Err(JcsError::TooDeep {
            limit: MAX_DEPTH,
            at: top_level(),
        });
    }
    Ok(depth + 1)
}

fn write_object(
    members: &Map<String, Value>,
    out: &mut Vec<u8>,
    depth: usize,
) -> Result<(), JcsError> {
    out.push(b'{');
    // serde_json's map is ordered by UTF-8 bytes, which is UTF-16 order unless
    // keys mix U+E000..U+FFFF with characters beyond U+FFFF. Write in the
    // map's order, checking as we go; only if that order is wrong, start the
    // object again and sort (one allocation).
    let start = out.len();
    let mut previous: Option<&str> = None;
    for (index, (key, value)) in members.iter().enumerate() {
        if previous.is_some_and(|p| cmp_utf16(p, key) == Ordering::Greater) {
            out.truncate(start);
            let mut sorted: Vec<(&String, &Value)> = members.iter().collect();
            sorted.sort_unstable_by(|a, b| cmp_utf16(a.0, b.0));
            for (index, (key, value)) in sorted.into_iter().enumerate() {
                write_member(index, key, value, out, depth)?;
            }
            break;
        }
        write_member(index, key, value, out, depth)?;
        previous = Some(key);
    }
    out.push(b'}');
    Ok(())
}

#[inline]
fn write_member(
    index: usize,
    key: &str,
    value: &Value,
    out: &mut Vec<u8>,
    depth: usize,
) -> Result<(), JcsError> {
    if index > 0 {
        out.push(b',');
    }
    write_string(key, out);
    out.push(b':');
    write_value(value, out, depth).map_err(|e| e.within_key(key))
}

/// Compares two strings as sequences of UTF-16 code units (RFC 8785 §3.2.3),
/// without encoding them: only the first differing character matters.
fn cmp_utf16(a: &str, b: &str) -> Ordering {
    let (x, y) = (a.as_bytes(), b.as_bytes());
    let Some(first_difference) = x.iter().zip(y).position(|(p, q)| p != q) else {
        return x.len().cmp(&y.len());
    };
    // The bytes before `first_difference` are equal, so both strings have a
    // character boundary at the start of the character holding it.
    let mut start = first_difference;
    while !a.is_char_boundary(start) {
        start -= 1;
    }
    let rank = |s: &str| s[start..].chars().next().map_or(0, utf16_rank);
    rank(a).cmp(&rank(b))
}

/// A number that orders characters as their UTF-16 encodings order.
///
/// Code points below U+D800 are one unit and come first; characters beyond
/// U+FFFF start with a surrogate (U+D800..U+DBFF) and so come before
/// U+E000..U+FFFF, unlike in code point (and UTF-8) order.
fn utf16_rank(c: char) -> u32 {
    let c = u32::from(c);
    if c < 0xD800 {
        c
    } else if c <= 0xFFFF {
        c + 0x10_0000
    } else {
        c - 0x1_0000 + 0xD800
    }
}

/// For each byte: 0 if written as is, `u` for `\u00xx`, else the escape letter.
const ESCAPES: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut byte = 0;
    while byte < 0x20 {
        table[byte] = b'u';
        byte += 1;
    }
    table[0x08] = b'b';
    table[0x09] = b't';
    table[0x0A] = b'n';
    table[0x0C] = b'f';
    table[0x0D] = b'r';
    table[b'"' as usize] = b'"';
    table[b'\\' as usize] = b'\\';
    table
};

const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Writes a JSON string as RFC 8785 §3.2.2.2 requires.
fn write_string(s: &str, out: &mut Vec<u8>) {
    out.reserve(s.len() + 2);
    out.push(b'"');
    let mut rest = s.as_bytes();
    while let Some(at) = first_to_escape(rest) {
        out.extend_from_slice(&rest[..at]);
        let byte = rest[at];
        let escape = ESCAPES[usize::from(byte)];
        if escape == b'u' {
            out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX_DIGITS[usize::from(byte >> 4)],
                HEX_DIGITS[usize::from(byte & 0xF)],
            ]);
        } else {
            out.extend_from_slice(&[b'\\', escape]);
        }
        rest = &rest[at + 1..];
    }
    out.extend_from_slice(rest);
    out.push(b'"');
}

/// The index of the first byte that must be escaped, if any.
///
/// Most strings need no escape at all, so eight bytes are tested at a time
/// for a byte below 0x20, a `"` or a `\\` (the "has less" and "has zero"
/// byte tricks: exact about whether there is one, not where); then byte by
/// byte from the first word that has one, or through the last few bytes.
#[inline]
fn first_to_escape(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH_BITS: u64 = 0x8080_8080_8080_8080;
    const QUOTES: u64 = ONES * b'"' as u64;
    const BACKSLASHES: u64 = ONES * b'\\' as u64;
    let mut clean = 0;
    for chunk in bytes.chunks_exact(8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let word = u64::from_le_bytes(word);
        let quote = word ^ QUOTES;
        let backslash = word ^ BACKSLASHES;
        let found = (word.wrapping_sub(ONES * 0x20) & !word)
            | (quote.wrapping_sub(ONES) & !quote)
            | (backslash.wrapping_sub(ONES) & !backslash);
        if found & HIGH_BITS != 0 {
            break;
        }
        clean += 8;
    }
    bytes[clean..]
        .iter()
        .position(|&b| ESCAPES[usize::from(b)] != 0)
        .map(|at| clean + at)
}

fn write_number(number: &Number, out: &mut Vec<u8>) -> Result<(), JcsError> {
    if let Some(n) = number.as_u64() {
        write_integer(false, n, out)
    } else if let Some(n) = number.as_i64() {
        write_integer(n < 0, n.unsigned_abs(), out)
    } else if number.is_f64() {
        match number.as_f64() {
            Some(x) => write_double(x, out),
            None => Err(JcsError::NumberOutOfRange { at: top_level() }),
        }
    } else {
        // Only with serde_json's `arbitrary_precision`: an integer beyond 64 bits.
        let text = number.to_string();
        check_integer_literal(&text).map_err(|(number, nearest)| JcsError::InexactInteger {
            number,
            nearest,
            at: top_level(),
        })?;
        out.extend_from_slice(text.as_bytes());
        Ok(())
    }
}

/// Writes an integer given as sign and magnitude, refusing it when a double
/// would not write back the same digits.
fn write_integer(negative: bool, magnitude: u64, out: &mut Vec<u8>) -> Result<(), JcsError> {
    let mut digits = [0u8; 20];
    let digits = decimal_digits(magnitude, &mut digits);
    if magnitude > MAX_EXACT_INTEGER {
        // Rounds to nearest, ties to even, as parsing the digits would.
        #[allow(clippy::cast_precision_loss)]
        let double = magnitude as f64;
        let mut buffer = ryu_js::Buffer::new();
        let nearest = buffer.format_finite(double);
        if nearest.as_bytes() != digits {
            let sign = if negative { "-" } else { "" };
            return Err(JcsError::InexactInteger {
                number: format!("{sign}{magnitude}"),
                nearest: format!("{sign}{nearest}"),
                at: top_level(),
            });
        }
    }
    if negative {
        out.push(b'-');
    }
    out.extend_from_slice(digits);
    Ok(())
}

/// The decimal digits of `n`, written into the end of `buffer`.
fn decimal_digits(mut n: u64, buffer: &mut [u8; 20]) -> &[u8] {
    let mut start = buffer.len();
    loop {
        start -= 1;
        // `n % 10` is below 10, so the cast cannot truncate.
        buffer[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buffer[start..];
        }
    }
}

/// Writes a finite double as ECMAScript's `Number.prototype.toString` does.
fn write_double(x: f64, out: &mut Vec<u8>) -> Result<(), JcsError> {
    if !x.is_finite() {
        return Err(non_finite(x));
    }
    if x == 0.0 {
        // Both zeros, -0 included, are "0".
        out.push(b'0');
    } else {
        out.extend_from_slice(ryu_js::Buffer::new().format_finite(x).as_bytes());
    }
    Ok(())
}

fn non_finite(x: f64) -> JcsError {
    let value = if x.is_nan() {
        "NaN"
    } else if x > 0.0 {
        "Infinity"
    } else {
        "-Infinity"
    };
    JcsError::NonFinite {
        value,
        at: top_level(),
    }
}

/// Checks that an integer literal (optional `-`, then digits) is written back
/// digit for digit by the canonical form. On failure returns the literal and
/// what it would become.
fn check_integer_literal(literal: &str) -> Result<(), (String, String)> {
    let digits = literal.strip_prefix('-').unwrap_or(literal);
    // Up to 15 digits is below 2^53: always exact.
    if digits.len() <= 15 {
        return Ok(());
    }
    let nearest = match literal.parse::<f64>() {
        Ok(x) if x.is_finite() => ryu_js::Buffer::new().format_finite(x).to_owned(),
        _ => "Infinity".to_owned(),
    };
    if nearest == literal {
        Ok(())
    } else {
        Err((literal.to_owned(), nearest))
    }
}

// ---------------------------------------------------------------------------
// Reading untrusted text
// ---------------------------------------------------------------------------

/// Parse untrusted JSON text strictly (I-JSON, RFC 7493).
///
/// Refuses, with the line and column: text that is not UTF-8, a leading byte
/// order mark, malformed JSON (`serde_json`'s RFC 8259 grammar), repeated keys
/// in any object, `\u` escapes of lone surrogates, anything after the value,
/// numbers beyond the double range, integers beyond ±2^53 whose digits a
/// double would change, and nesting deeper than [`MAX_DEPTH`].
pub fn parse_strict(text: &[u8]) -> Result<Value, JcsError> {
    if text.starts_with(b"\xEF\xBB\xBF") {
        return Err(JcsError::Syntax {
            reason: "a byte order mark (U+FEFF) precedes the value; remove it".to_owned(),
            at: Location::Text { line: 1, column: 1 },
        });
    }
    let text = std::str::from_utf8(text).map_err(|e| JcsError::InvalidUtf8 {
        at: text_location(text, e.valid_up_to()),
    })?;
    let state = ParseState::default();
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let value = ValueSeed { state: &state }
        .deserialize(&mut deserializer)
        .and_then(|value| deserializer.end().map(|()| value))
        .map_err(|e| classify(&e, &state))?;
    if state.large_double_seen.get() {
        // serde_json hands integer literals beyond 64 bits over as doubles;
        // find them in the text to check their digits.
        check_wide_integer_literals(text)?;
    }
    Ok(value)
}

/// [`parse_strict`], then [`canonicalize`]: untrusted text to canonical bytes.
pub fn canonicalize_text(text: &[u8]) -> Result<Vec<u8>, JcsError> {
    canonicalize(&parse_strict(text)?)
}

/// What the visitor found wrong; `serde_json` adds where.
enum Problem {
    DuplicateKey(String),
    InexactInteger { number: String, nearest: String },
}

#[derive(Default)]
struct ParseState {
    problem: Cell<Option<Problem>>,
    large_double_seen: Cell<bool>,
}

/// Turns a `serde_json` error into a [`JcsError`] at its line and column.
fn classify(error: &serde_json::Error, state: &ParseState) -> JcsError {
    let at = Location::Text {
        line: error.line(),
        column: error.column(),
    };
    match state.problem.take() {
        Some(Problem::DuplicateKey(key)) => return JcsError::DuplicateKey { key, at },
        Some(Problem::InexactInteger { number, nearest }) => {
            return JcsError::InexactInteger {
                number,
                nearest,
                at,
            };
        }
        None => {}
    }
    // serde_json's error codes are private; its messages are stable and are
    // matched here (the tests pin each one).
    let message = error.to_string();
    let suffix = format!(" at line {} column {}", error.line(), error.column());
    let reason = message.strip_suffix(&suffix).unwrap_or(&message);
    match reason {
        "trailing characters" => JcsError::TrailingData { at },
        "lone leading surrogate in hex escape" | "unexpected end of hex escape" => {
            JcsError::LoneSurrogate { at }
        }
        "recursion limit exceeded" => JcsError::TooDeep {
            limit: MAX_DEPTH,
            at,
        },
        "number out of range" => JcsError::NumberOutOfRange { at },
        _ => JcsError::Syntax {
            reason: reason.to_owned(),
            at,
        },
    }
}

/// Line and column (both from 1, columns in bytes) of the byte at `index`.
fn text_location(text: &[u8], index: usize) -> Location {
    let before = &text[..index.min(text.len())];
    let line = before.split(|&b| b == b'\n').count();
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |p| p + 1);
    Location::Text {
        line,
        column: before.len() - line_start + 1,
    }
}

/// Finds integer literals of 16 or more digits in text `serde_json` has
/// already accepted, and checks each one's digits survive.
fn check_wide_integer_literals(text: &str) -> Result<(), JcsError> {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                // Skip the string; `\` escapes the next byte.
                i += 1;
                while i < bytes.len() {
                    match bytes[i] {
                        b'\\' => i += 2,
                        b'"' => {
                            i += 1;
                            break;
                        }
                        _ => i += 1,
                    }
                }
            }
            b'-' | b'0'..=b'9' => {
                let start = i;
                i += 1;
                while i < bytes.len() && bytes[i].is_ascii_digit() {
                    i += 1;
                }
                if i < bytes.len() && matches!(bytes[i], b'.' | b'e' | b'E') {
                    // A fraction or exponent: a decimal, rounded as RFC 8785 says.
                    while i < bytes.len()
                        && matches!(bytes[i], b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-')
                    {
                        i += 1;
                    }
                    continue;
                }
                check_integer_literal(&text[start..i]).map_err(|(number, nearest)| {
                    JcsError::InexactInteger {
                        number,
                        nearest,
                        at: text_location(bytes, start),
                    }
                })?;
            }
            _ => i += 1,
        }
    }
    Ok(())
}

struct ValueSeed<'s> {
    state: &'s ParseState,
}

impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(ValueVisitor { state: self.state })
    }
}

struct ValueVisitor<'s> {
    state: &'s ParseState,
}

impl ValueVisitor<'_> {
    fn check_integer<E: de::Error>(&self, negative: bool, magnitude: u64) -> Result<(), E> {
        if magnitude <= MAX_EXACT_INTEGER {
            return Ok(());
        }
        match write_integer(negative, magnitude, &mut Vec::new()) {
            Ok(()) => Ok(()),
            Err(JcsError::InexactInteger {
                number, nearest, ..
            }) => {
                self.state
                    .problem
                    .set(Some(Problem::InexactInteger { number, nearest }));
                Err(E::custom("inexact integer"))
            }
            Err(other) => Err(E::custom(other)),
        }
    }
}

impl<'de> Visitor<'de> for ValueVisitor<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        self.check_integer(v < 0, v.unsigned_abs())?;
        Ok(Value::from(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        self.check_integer(false, v)?;
        Ok(Value::from(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        if v.abs() > MAX_EXACT_DOUBLE {
            self.state.large_double_seen.set(true);
        }
        Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("number out of range"))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(ValueSeed { state: self.state })? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut members = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            // Checked before the value is read, so the error points at the key.
            if members.contains_key(&key) {
                self.state.problem.set(Some(Problem::DuplicateKey(key)));
                return Err(de::Error::custom("duplicate key"));
            }
            let value = access.next_value_seed(ValueSeed { state: self.state })?;
            members.insert(key, value);
        }
        Ok(Value::Object(members))
    }
}

// ---------------------------------------------------------------------------
// Serializing Rust values
// ---------------------------------------------------------------------------

/// Builds a [`Value`] like `serde_json::value::Serializer`, but refuses what
/// it would silently change: NaN and infinities, and keys written twice.
struct ValueSerializer;

fn wide_integer(negative: bool, magnitude: u128) -> Result<Value, JcsError> {
    if let Ok(magnitude) = u64::try_from(magnitude) {
        if !negative {
            return Ok(Value::from(magnitude));
        }
        if let Ok(n) = i64::try_from(i128::from(magnitude).wrapping_neg()) {
            return Ok(Value::from(n));
        }
    }
    // Beyond 64 bits: only a double can carry it, so it must survive as one.
    let literal = format!("{}{magnitude}", if negative { "-" } else { "" });
    check_integer_literal(&literal).map_err(|(number, nearest)| JcsError::InexactInteger {
        number,
        nearest,
        at: top_level(),
    })?;
    literal
        .parse::<f64>()
        .ok()
        .and_then(Number::from_f64)
        .map(Value::Number)
        .ok_or(JcsError::NumberOutOfRange { at: top_level() })
}

impl ser::Serializer for ValueSerializer {
    type Ok = Value;
    type Error = JcsError;
    type SerializeSeq = SeqBuilder;
    type SerializeTuple = SeqBuilder;
    type SerializeTupleStruct = SeqBuilder;
    type SerializeTupleVariant = VariantSeqBuilder;
    type SerializeMap = MapBuilder;
    type SerializeStruct = MapBuilder;
    type SerializeStructVariant = VariantMapBuilder;

    fn serialize_bool(self, v: bool) -> Result<Value, JcsError> {
        Ok(Value::Bool(v))
    }

    fn serialize_i8(self, v: i8) -> Result<Value, JcsError> {
        Ok(Value::from(v))
    }

    fn serialize_i16(self, v: i16) -> Result<Value, JcsError> {
        Ok(Value::from(v))
    }

    fn serialize_i32(self, v: i32) -> Result<Value, JcsError> {
        Ok(Value::from(v))
    }

    fn serialize_i64(self, v: i64) -> Result<Value, JcsError> {
        Ok(Value::from(v))
    }

    fn serialize_i128(self, v: i128) -> Result<Value, JcsError> {
        wide_integer(v < 0, v.unsigned_abs())
    }

    fn serialize_u8(self, v: u8) -> Result<Value, JcsError> {
        Ok(Value::from(v))
    }

    fn serialize_u16(self, v: u16) -> Result<Value, JcsError> {
        Ok(Value::from(v))
    }

    fn serialize_u32(self, v: u32) -> Result<Value, JcsError> {
        Ok(Value::from(v))
    }

    fn serialize_u64(self, v: u64) -> Result<Value, JcsError> {
        Ok(Value::from(v))
    }

    fn serialize_u128(self, v: u128) -> Result<Value, JcsError> {
        wide_integer(false, v)
    }

    fn serialize_f32(self, v: f32) -> Result<Value, JcsError> {
        self.serialize_f64(f64::from(v))
    }

    fn serialize_f64(self, v: f64) -> Result<Value, JcsError> {
        Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| non_finite(v))
    }

    fn serialize_char(self, v: char) -> Result<Value, JcsError> {
        Ok(Value::String(v.to_string()))
    }

    fn serialize_str(self, v: &str) -> Result<Value, JcsError> {
        Ok(Value::String(v.to_owned()))
    }

    fn serialize_bytes(self, v: &[u8]) -> Result<Value, JcsError> {
        Ok(Value::Array(v.iter().map(|&b| Value::from(b)).collect()))
    }

    fn serialize_none(self) -> Result<Value, JcsError> {
        Ok(Value::Null)
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Value, JcsError> {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result<Value, JcsError> {
        Ok(Value::Null)
    }

    fn serialize_unit_struct(self, _name: &'static str) -> Result<Value, JcsError> {
        Ok(Value::Null)
    }

    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<Value, JcsError> {
        Ok(Value::String(variant.to_owned()))
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<Value, JcsError> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<Value, JcsError> {
        let inner = value
            .serialize(ValueSerializer)
            .map_err(|e| e.within_key(variant))?;
        let mut members = Map::new();
        members.insert(variant.to_owned(), inner);
        Ok(Value::Object(members))
    }

    fn serialize_seq(self, len: Option<usize>) -> Result<SeqBuilder, JcsError> {
        Ok(SeqBuilder {
            items: Vec::with_capacity(len.unwrap_or(0).min(4096)),
        })
    }

    fn serialize_tuple(self, len: usize) -> Result<SeqBuilder, JcsError> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<SeqBuilder, JcsError> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<VariantSeqBuilder, JcsError> {
        Ok(VariantSeqBuilder {
            variant,
            seq: self.serialize_seq(Some(len))?,
        })
    }

    fn serialize_map(self, _len: Option<usize>) -> Result<MapBuilder, JcsError> {
        Ok(MapBuilder {
            members: Map::new(),
            key: None,
        })
    }

    fn serialize_struct(self, _name: &'static str, len: usize) -> Result<MapBuilder, JcsError> {
        self.serialize_map(Some(len))
    }

    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<VariantMapBuilder, JcsError> {
        Ok(VariantMapBuilder {
            variant,
            map: self.serialize_map(Some(len))?,
        })
    }
}

struct SeqBuilder {
    items: Vec<Value>,
}

impl SeqBuilder {
    fn push<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), JcsError> {
        let index = self.items.len();
        let value = value
            .serialize(ValueSerializer)
            .map_err(|e| e.within_index(index))?;
        self.items.push(value);
        Ok(())
    }
}

impl ser::SerializeSeq for SeqBuilder {
    type Ok = Value;
    type Error = JcsError;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), JcsError> {
        self.push(value)
    }

    fn end(self) -> Result<Value, JcsError> {
        Ok(Value::Array(self.items))
    }
}

impl ser::SerializeTuple for SeqBuilder {
    type Ok = Value;
    type Error = JcsError;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), JcsError> {
        self.push(value)
    }

    fn end(self) -> Result<Value, JcsError> {
        Ok(Value::Array(self.items))
    }
}

impl ser::SerializeTupleStruct for SeqBuilder {
    type Ok = Value;
    type Error = JcsError;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), JcsError> {
        self.push(value)
    }

    fn end(self) -> Result<Value, JcsError> {
        Ok(Value::Array(self.items))
    }
}

struct VariantSeqBuilder {
    variant: &'static str,
    seq: SeqBuilder,
}

impl ser::SerializeTupleVariant for VariantSeqBuilder {
    type Ok = Value;
    type Error = JcsError;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), JcsError> {
        self.seq.push(value).map_err(|e| e.within_key(self.variant))
    }

    fn end(self) -> Result<Value, JcsError> {
        let mut members = Map::new();
        members.insert(self.variant.to_owned(), Value::Array(self.seq.items));
        Ok(Value::Object(members))
    }
}

struct MapBuilder {
    members: Map<String, Value>,
    key: Option<String>,
}

impl MapBuilder {
    fn insert<T: Serialize + ?Sized>(&mut self, key: String, value: &T) -> Result<(), JcsError> {
        if self.members.contains_key(&key) {
            return Err(JcsError::DuplicateKey {
                key,
                at: top_level(),
            });
        }
        let value = value
            .serialize(ValueSerializer)
            .map_err(|e| e.within_key(&key))?;
        self.members.insert(key, value);
        Ok(())
    }
}

impl ser::SerializeMap for MapBuilder {
    type Ok = Value;
    type Error = JcsError;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), JcsError> {
        self.key = Some(key.serialize(KeySerializer)?);
        Ok(())
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), JcsError> {
        let key = self.key.take().ok_or_else(|| JcsError::Unserializable {
            reason: "a map value came without its key".to_owned(),
            at: top_level(),
        })?;
        self.insert(key, value)
    }

    fn end(self) -> Result<Value, JcsError> {
        Ok(Value::Object(self.members))
    }
}

impl ser::SerializeStruct for MapBuilder {
    type Ok = Value;
    type Error = JcsError;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), JcsError> {
        self.insert(key.to_owned(), value)
    }

    fn end(self) -> Result<Value, JcsError> {
        Ok(Value::Object(self.members))
    }
}

struct VariantMapBuilder {
    variant: &'static str,
    map: MapBuilder,
}

impl ser::SerializeStructVariant for VariantMapBuilder {
    type Ok = Value;
    type Error = JcsError;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), JcsError> {
        self.map
            .insert(key.to_owned(), value)
            .map_err(|e| e.within_key(self.variant))
    }

    fn end(self) -> Result<Value, JcsError> {
        let mut members = Map::new();
        members.insert(self.variant.to_owned(), Value::Object(self.map.members));
        Ok(Value::Object(members))
    }
}

/// Turns a map key into the string JSON needs.
struct KeySerializer;

fn key_must_be_string() -> JcsError {
    JcsError::Unserializable {
        reason: "a map key must be a string, char, integer, boolean or finite float; convert \
                 the key to a string"
            .to_owned(),
        at: top_level(),
    }
}

impl ser::Serializer for KeySerializer {
    type Ok = String;
    type Error = JcsError;
    type SerializeSeq = Impossible<String, JcsError>;
    type SerializeTuple = Impossible<String, JcsError>;
    type SerializeTupleStruct = Impossible<String, JcsError>;
    type SerializeTupleVariant = Impossible<String, JcsError>;
    type SerializeMap = Impossible<String, JcsError>;
    type SerializeStruct = Impossible<String, JcsError>;
    type SerializeStructVariant = Impossible<String, JcsError>;

    fn serialize_bool(self, v: bool) -> Result<String, JcsError> {
        Ok(v.to_string())
    }

    fn serialize_i8(self, v: i8) -> Result<String, JcsError> {
        Ok(v.to_string())
    }

    fn serialize_i16(self, v: i16) -> Result<String, JcsError> {
        Ok(v.to_string())
    }

    fn serialize_i32(self, v: i32) -> Result<String, JcsError> {
        Ok(v.to_string())
    }

    fn serialize_i64(self, v: i64) -> Result<String, JcsError> {
        Ok(v.to_string())
    }

    fn serialize_i128(self, v: i128) -> Result<String, JcsError> {
        Ok(v.to_string())
    }

    fn serialize_u8(self, v: u8) -> Result<String, JcsError> {
        Ok(v.to_string())
    }

    fn serialize_u16(self, v: u16) -> Result<String, JcsError> {
        Ok(v.to_string())
    }

    fn serialize_u32(self, v: u32) -> Result<String, JcsError> {
        Ok(v.to_string())
    }

    fn serialize_u64(self, v: u64) -> Result<String, JcsError> {
        Ok(v.to_string())
    }

    fn serialize_u128(self, v: u128) -> Result<String, JcsError> {
        Ok(v.to_string())
    }

    fn serialize_f32(self, v: f32) -> Result<String, JcsError> {
        self.serialize_f64(f64::from(v))
    }

    fn serialize_f64(self, v: f64) -> Result<String, JcsError> {
        // The key is the number's canonical spelling, as ECMAScript's ToString.
        let mut out = Vec::new();
        write_double(v, &mut out)?;
        Ok(String::from_utf8_lossy(&out).into_owned())
    }

    fn serialize_char(self, v: char) -> Result<String, JcsError> {
        Ok(v.to_string())
    }

    fn serialize_str(self, v: &str) -> Result<String, JcsError> {
        Ok(v.to_owned())
    }

    fn serialize_bytes(self, _v: &[u8]) -> Result<String, JcsError> {
        Err(key_must_be_string())
    }

    fn serialize_none(self) -> Result<String, JcsError> {
        Err(key_must_be_string())
    }

    fn serialize_some<T: Serialize + ?Sized>(self, _value: &T) -> Result<String, JcsError> {
        Err(key_must_be_string())
    }

    fn serialize_unit(self) -> Result<String, JcsError> {
        Err(key_must_be_string())
    }

    fn serialize_unit_struct(self, _name: &'static str) -> Result<String, JcsError> {
        Err(key_must_be_string())
    }

    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<String, JcsError> {
        Ok(variant.to_owned())
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<String, JcsError> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<String, JcsError> {
        Err(key_must_be_string())
    }

    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, JcsError> {
        Err(key_must_be_string())
    }

    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, JcsError> {
        Err(key_must_be_string())
    }

    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleStruct, JcsError> {
        Err(key_must_be_string())
    }

    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, JcsError> {
        Err(key_must_be_string())
    }

    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, JcsError> {
        Err(key_must_be_string())
    }

    fn serialize_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStruct, JcsError> {
        Err(key_must_be_string())
    }

    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, JcsError> {
        Err(key_must_be_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn text_at(line: usize, column: usize) -> Location {
        Location::Text { line, column }
    }

    #[test]
    fn utf16_order_puts_astral_characters_before_the_private_use_area() {
        // UTF-8 (and code point) order is the other way round.
        assert_eq!(cmp_utf16("\u{e000}", "\u{1f600}"), Ordering::Greater);
        assert_eq!(cmp_utf16("\u{ffff}", "\u{10000}"), Ordering::Greater);
        assert_eq!(cmp_utf16("\u{d7ff}", "\u{10000}"), Ordering::Less);
        assert_eq!(cmp_utf16("a", "ab"), Ordering::Less);
        assert_eq!(cmp_utf16("", ""), Ordering::Equal);
        assert_eq!(cmp_utf16("é\u{e000}", "é\u{1f600}"), Ordering::Greater);
    }

    #[test]
    fn escapes_follow_rfc_8785() {
        let mut out = Vec::new();
        write_string(
            "\u{0}\u{7}\u{8}\t\n\u{b}\u{c}\r\u{1f}\"\\/\u{7f}\u{2028}é",
            &mut out,
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "\"\\u0000\\u0007\\b\\t\\n\\u000b\\f\\r\\u001f\\\"\\\\/\u{7f}\u{2028}é\""
        );
    }

    #[test]
    fn decimal_digits_cover_zero_and_u64_max() {
        let mut buffer = [0u8; 20];
        assert_eq!(decimal_digits(0, &mut buffer), b"0");
        assert_eq!(
            decimal_digits(u64::MAX, &mut buffer),
            b"18446744073709551615"
        );
    }

    #[test]
    fn integers_beyond_2_pow_53_survive_only_with_their_digits() {
        let mut out = Vec::new();
        assert!(write_integer(false, MAX_EXACT_INTEGER, &mut out).is_ok());
        assert!(write_integer(true, MAX_EXACT_INTEGER, &mut out).is_ok());
        assert!(write_integer(false, 10_000_000_000_000_000, &mut out).is_ok());
        assert_eq!(out, b"9007199254740992-900719925474099210000000000000000");
        let err = write_integer(false, MAX_EXACT_INTEGER + 1, &mut out).unwrap_err();
        assert!(matches!(
            err,
            JcsError::InexactInteger { ref number, ref nearest, .. }
                if number == "9007199254740993" && nearest == "9007199254740992"
        ));
        assert!(write_integer(true, 1 << 63, &mut out).is_err());
        assert_eq!(check_integer_literal("295147905179352830000"), Ok(()));
        assert!(check_integer_literal("295147905179352825856").is_err());
        assert!(check_integer_literal("1000000000000000000000").is_err());
    }

    #[test]
    fn text_locations_count_lines_and_byte_columns_from_one() {
        assert_eq!(text_location(b"abc", 0), text_at(1, 1));
        assert_eq!(text_location(b"a\nbc", 3), text_at(2, 2));
        assert_eq!(text_location(b"a\n", 2), text_at(2, 1));
    }

    #[test]
    fn pointers_are_built_while_unwinding_and_escaped() {
        let err = JcsError::NumberOutOfRange { at: top_level() }
            .within_index(3)
            .within_key("a/b~c");
        assert_eq!(err.location(), &Location::Pointer("/a~1b~0c/3".to_owned()));
        // Text locations stay as they are.
        let err = JcsError::TrailingData { at: text_at(1, 2) }.within_key("x");
        assert_eq!(err.location(), &text_at(1, 2));
    }

    #[test]
    fn every_serde_json_message_matched_here_is_still_produced() {
        type IsExpected = fn(&JcsError) -> bool;
        let cases: &[(&[u8], IsExpected)] = &[
            (b"1 2", |e| matches!(e, JcsError::TrailingData { .. })),
            (br#""\udc00""#, |e| {
                matches!(e, JcsError::LoneSurrogate { .. })
            }),
            (br#""\ud800x""#, |e| {
                matches!(e, JcsError::LoneSurrogate { .. })
            }),
            (br#""\ud800\u0041""#, |e| {
                matches!(e, JcsError::LoneSurrogate { .. })
            }),
            (b"1e400", |e| matches!(e, JcsError::NumberOutOfRange { .. })),
            (&[b'['; 200], |e| matches!(e, JcsError::TooDeep { .. })),
        ];
        for (text, expected) in cases {
            let err = parse_strict(text).unwrap_err();
            assert!(expected(&err), "{}: {err:?}", String::from_utf8_lossy(text));
        }
    }

    proptest! {
        #[test]
        fn utf16_order_matches_encoding_to_utf16(a in any::<String>(), b in any::<String>()) {
            prop_assert_eq!(cmp_utf16(&a, &b), a.encode_utf16().cmp(b.encode_utf16()));
        }

        #[test]
        fn utf16_order_matches_on_shared_prefixes(
            prefix in any::<String>(),
            a in any::<String>(),
            b in any::<String>(),
        ) {
            let (a, b) = (format!("{prefix}{a}"), format!("{prefix}{b}"));
            prop_assert_eq!(cmp_utf16(&a, &b), a.encode_utf16().cmp(b.encode_utf16()));
        }

        #[test]
        fn the_word_at_a_time_scan_finds_the_first_byte_to_escape(
            bytes in prop::collection::vec(
                prop_oneof![any::<u8>(), prop::sample::select(vec![0u8, 0x1f, 0x20, b'"', b'\\', 0x7f, 0x80, 0xff])],
                0..40,
            ),
        ) {
            let expected = bytes.iter().position(|&b| b < 0x20 || b == b'"' || b == b'\\');
            prop_assert_eq!(first_to_escape(&bytes), expected);
        }

        #[test]
        fn utf16_rank_orders_characters_like_their_encodings(a in any::<char>(), b in any::<char>()) {
            let (mut x, mut y) = ([0u16; 2], [0u16; 2]);
            let expected = a.encode_utf16(&mut x).iter().cmp(b.encode_utf16(&mut y).iter());
            prop_assert_eq!(utf16_rank(a).cmp(&utf16_rank(b)), expected);
        }
    }
}
