//! RFC 8785 canonical JSON: published vectors, the rules one by one, strict
//! parsing of malformed input, and properties over generated values.
//!
//! Vectors live in `tests/data/jcs/` (see its README for their sources).

use std::collections::{BTreeMap, HashMap};
use std::fmt::{self, Write as _};
use std::path::PathBuf;

use asom_ledger::jcs::{
    JcsError, Location, MAX_DEPTH, canonicalize, canonicalize_text, parse_strict, to_canonical,
    write_canonical,
};
use proptest::prelude::*;
use serde::Serialize;
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::{Number, Value, json};

fn data(path: &str) -> Vec<u8> {
    let full: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests/data/jcs", path]
        .iter()
        .collect();
    std::fs::read(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

fn text(line: usize, column: usize) -> Location {
    Location::Text { line, column }
}

fn pointer(p: &str) -> Location {
    Location::Pointer(p.to_owned())
}

fn canonical_str(value: &Value) -> String {
    String::from_utf8(canonicalize(value).expect("canonicalizes")).expect("UTF-8")
}

fn canonical_text_str(input: &str) -> String {
    String::from_utf8(canonicalize_text(input.as_bytes()).expect("canonicalizes")).expect("UTF-8")
}

fn double(bits: u64) -> Value {
    Value::Number(Number::from_f64(f64::from_bits(bits)).expect("finite"))
}

// ---------------------------------------------------------------------------
// Published vectors
// ---------------------------------------------------------------------------

#[test]
fn rfc8785_section_3_2_2_sample_gives_the_section_3_2_3_text() {
    let output = canonicalize_text(&data("rfc8785/section-3.2.2-input.json")).unwrap();
    assert_eq!(output, data("rfc8785/section-3.2.2-output.json"));
}

#[test]
fn rfc8785_section_3_2_4_gives_the_utf8_bytes() {
    let hex_text = String::from_utf8(data("rfc8785/section-3.2.4-output.hex")).unwrap();
    let expected: Vec<u8> = hex_text
        .split_whitespace()
        .map(|byte| u8::from_str_radix(byte, 16).unwrap())
        .collect();
    let output = canonicalize_text(&data("rfc8785/section-3.2.2-input.json")).unwrap();
    assert_eq!(output, expected);
}

#[test]
fn rfc8785_section_3_2_3_sorts_properties_by_utf16_code_units() {
    let output = canonicalize_text(&data("rfc8785/section-3.2.3-input.json")).unwrap();
    let members = ordered_members(&output);
    let values: Vec<&str> = members.iter().map(|(_, v)| v.as_str().unwrap()).collect();
    let order = String::from_utf8(data("rfc8785/section-3.2.3-order.txt")).unwrap();
    assert_eq!(values, order.lines().collect::<Vec<_>>());
    assert_eq!(
        String::from_utf8(output).unwrap(),
        "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u{80}\":\"Control\",\
         \"\u{f6}\":\"Latin Small Letter O With Diaeresis\",\"\u{20ac}\":\"Euro Sign\",\
         \"\u{1f600}\":\"Emoji: Grinning Face\",\"\u{fb33}\":\"Hebrew Letter Dalet With Dagesh\"}"
    );
}

struct AppendixBRow {
    bits: u64,
    json: Option<String>,
    comment: String,
}

fn appendix_b() -> Vec<AppendixBRow> {
    let csv = String::from_utf8(data("rfc8785/appendix-b.csv")).unwrap();
    let rows: Vec<AppendixBRow> = csv
        .lines()
        .skip(1)
        .map(|line| {
            let mut fields = line.splitn(3, ',');
            let bits = u64::from_str_radix(fields.next().unwrap(), 16).unwrap();
            let json = fields.next().unwrap();
            AppendixBRow {
                bits,
                json: (!json.is_empty()).then(|| json.to_owned()),
                comment: fields.next().unwrap_or_default().to_owned(),
            }
        })
        .collect();
    assert_eq!(rows.len(), 26, "every row of the RFC's table");
    rows
}

#[test]
fn rfc8785_appendix_b_numbers_serialize_as_the_table_says() {
    for row in appendix_b() {
        let x = f64::from_bits(row.bits);
        let label = format!("{:016x} {}", row.bits, row.comment);
        if let Some(expected) = &row.json {
            assert_eq!(&canonical_str(&double(row.bits)), expected, "{label}");
            assert_eq!(
                &String::from_utf8(to_canonical(&x).unwrap()).unwrap(),
                expected
            );
            // The canonical text reads back as the same double.
            let back = parse_strict(expected.as_bytes()).unwrap();
            assert_eq!(back.as_f64(), Some(x), "{label}");
            // It is its own canonical form, and so is any other spelling.
            assert_eq!(&canonical_text_str(expected), expected, "{label}");
            let long = format!("{x:.16e}");
            assert_eq!(&canonical_text_str(&long), expected, "{label} from {long}");
            // And inside an array and an object.
            let wrapped = json!({"n": [double(row.bits)]});
            assert_eq!(canonical_str(&wrapped), format!("{{\"n\":[{expected}]}}"));
        } else {
            assert!(Number::from_f64(x).is_none(), "{label}");
            let err = to_canonical(&x).unwrap_err();
            assert!(matches!(err, JcsError::NonFinite { .. }), "{label}: {err}");
        }
    }
}

#[test]
fn rfc8785_appendix_b_errors_name_the_non_finite_value() {
    let nan = to_canonical(&f64::NAN).unwrap_err();
    assert_eq!(
        nan.to_string(),
        "NaN at the top level is not a JSON number; use a string or null instead"
    );
    let inf = to_canonical(&[1.0, f64::INFINITY]).unwrap_err();
    assert!(matches!(
        inf,
        JcsError::NonFinite {
            value: "Infinity",
            ..
        }
    ));
    assert_eq!(inf.location(), &pointer("/1"));
    let neg = to_canonical(&f64::NEG_INFINITY).unwrap_err();
    assert!(matches!(
        neg,
        JcsError::NonFinite {
            value: "-Infinity",
            ..
        }
    ));
}

#[test]
fn cyberphone_testdata_inputs_canonicalize_to_their_outputs() {
    for name in [
        "arrays",
        "french",
        "simpleString",
        "structures",
        "unicode",
        "values",
        "weird",
    ] {
        let input = data(&format!("cyberphone/input/{name}.json"));
        let expected = data(&format!("cyberphone/output/{name}.json"));
        let output = canonicalize_text(&input).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            String::from_utf8_lossy(&output),
            String::from_utf8_lossy(&expected),
            "{name}"
        );
        // The output is its own canonical form.
        assert_eq!(canonicalize_text(&expected).unwrap(), expected, "{name}");
    }
}

// ---------------------------------------------------------------------------
// The rules one by one
// ---------------------------------------------------------------------------

#[test]
fn keys_sort_by_utf16_code_units_not_utf8_bytes() {
    // U+E000 is one code unit 0xE000; U+1F600 starts with 0xD83D, so it comes
    // first, although its UTF-8 bytes (F0 ...) sort after U+E000's (EE ...).
    let value = json!({"\u{e000}": 1, "\u{1f600}": 2, "\u{ffff}": 3, "\u{10ffff}": 4, "z": 5});
    assert_eq!(
        canonical_str(&value),
        "{\"z\":5,\"\u{1f600}\":2,\"\u{10ffff}\":4,\"\u{e000}\":1,\"\u{ffff}\":3}"
    );
    let from_text = canonical_text_str(r#"{"\ue000": 1, "\ud83d\ude00": 2}"#);
    assert_eq!(from_text, "{\"\u{1f600}\":2,\"\u{e000}\":1}");
    // The same through to_canonical, from a map type with another order.
    let map: HashMap<&str, u8> = [("\u{e000}", 1), ("\u{1f600}", 2)].into_iter().collect();
    assert_eq!(
        to_canonical(&map).unwrap(),
        "{\"\u{1f600}\":2,\"\u{e000}\":1}".as_bytes()
    );
}

#[test]
fn keys_sort_by_code_unit_value_regardless_of_locale_or_length() {
    let value = json!({"b": 0, "a": 0, "aa": 0, "A": 0, "": 0, "10": 0, "9": 0, "\u{e9}": 0});
    assert_eq!(
        canonical_str(&value),
        r#"{"":0,"10":0,"9":0,"A":0,"a":0,"aa":0,"b":0,"é":0}"#
    );
}

#[test]
fn strings_escape_only_what_rfc_8785_requires() {
    let mut all_controls = String::new();
    for c in 0u8..0x20 {
        all_controls.push(char::from(c));
    }
    assert_eq!(
        canonical_str(&json!(all_controls)),
        "\"\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\b\\t\\n\\u000b\\f\\r\
         \\u000e\\u000f\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017\\u0018\\u0019\
         \\u001a\\u001b\\u001c\\u001d\\u001e\\u001f\""
    );
    // Quote and backslash get short escapes; '/', DEL, U+2028/9, BOM and
    // everything beyond ASCII are written as they are, in UTF-8.
    let literal = "\"\\/\u{7f}\u{80}\u{2028}\u{2029}\u{feff}\u{fffd}\u{1f600}<>&'";
    assert_eq!(
        canonical_str(&json!(literal)),
        "\"\\\"\\\\/\u{7f}\u{80}\u{2028}\u{2029}\u{feff}\u{fffd}\u{1f600}<>&'\""
    );
    // Escapes in the input are undone and redone canonically.
    assert_eq!(
        canonical_text_str(r#""\u002F\/\u0041\u00e9\u2028\u001F\u007f\ud83d\ude00""#),
        "\"//A\u{e9}\u{2028}\\u001f\u{7f}\u{1f600}\""
    );
    // Keys follow the same rules.
    assert_eq!(
        canonical_str(&json!({"a\nb\"": true})),
        "{\"a\\nb\\\"\":true}"
    );
}

#[test]
fn minus_zero_is_written_as_zero() {
    assert_eq!(canonical_str(&double(0x8000_0000_0000_0000)), "0");
    assert_eq!(
        canonical_text_str("[-0, -0.0, 0e10, -0E-5, 0.0]"),
        "[0,0,0,0,0]"
    );
    assert_eq!(to_canonical(&-0.0f64).unwrap(), b"0");
}

#[test]
fn output_has_no_whitespace_and_keeps_array_order() {
    let input =
        " \t\r\n{ \"b\" : [ 3 , 2 , 1 , { } , [ ] ] ,\n\"a\" : null , \"c\" : [true,false] } \n";
    assert_eq!(
        canonical_text_str(input),
        r#"{"a":null,"b":[3,2,1,{},[]],"c":[true,false]}"#
    );
    for scalar in ["null", "true", "false", "0", "\"\"", "[]", "{}"] {
        assert_eq!(canonical_text_str(scalar), scalar);
    }
}

#[test]
fn decimals_round_to_the_nearest_double_as_rfc_8785_says() {
    assert_eq!(
        canonical_text_str("[0.1, 1.5e300, 123.456e-7, 1E-7, 1e21, 1e20, 56.0, 4.50, 1e-400]"),
        "[0.1,1.5e+300,0.0000123456,1e-7,1e+21,100000000000000000000,56,4.5,0]"
    );
    // An exact double's longest spelling still gives the shortest form.
    assert_eq!(
        canonical_text_str("0.1000000000000000055511151231257827021181583404541015625"),
        "0.1"
    );
}

#[test]
fn integers_up_to_2_pow_53_are_exact_and_accepted() {
    for n in [
        "0",
        "1",
        "-1",
        "9007199254740991",
        "9007199254740992",
        "-9007199254740992",
    ] {
        assert_eq!(canonical_text_str(n), n);
    }
    assert_eq!(canonical_str(&json!(1u64 << 53)), "9007199254740992");
    assert_eq!(canonical_str(&json!(-(1i64 << 53))), "-9007199254740992");
    assert_eq!(
        to_canonical(&(i64::from(i32::MIN))).unwrap(),
        b"-2147483648"
    );
}

#[test]
fn integers_a_double_would_change_are_refused_with_their_place() {
    // From text: serde_json's position, just after the number.
    let err = parse_strict(b"{\"id\": 9007199254740993}").unwrap_err();
    assert_eq!(
        err,
        JcsError::InexactInteger {
            number: "9007199254740993".to_owned(),
            nearest: "9007199254740992".to_owned(),
            at: text(1, 23),
        }
    );
    assert_eq!(
        err.to_string(),
        "integer 9007199254740993 at line 1 column 23 is not exact as an IEEE-754 double \
         (it would become 9007199254740992); send it as a string"
    );
    for (input, number, nearest) in [
        (
            "18446744073709551615",
            "18446744073709551615",
            "18446744073709552000",
        ),
        (
            "-9223372036854775808",
            "-9223372036854775808",
            "-9223372036854776000",
        ),
        (
            "-9007199254740993",
            "-9007199254740993",
            "-9007199254740992",
        ),
    ] {
        let err = parse_strict(input.as_bytes()).unwrap_err();
        assert!(
            matches!(&err, JcsError::InexactInteger { number: n, nearest: m, .. }
                if n == number && m == nearest),
            "{input}: {err:?}"
        );
    }
    // Beyond 64 bits serde_json reads a double; the literal is found in the text,
    // and the location is where the number starts.
    let err = parse_strict(b"[1,\n  {\"a\": 123456789012345678901234567890}]").unwrap_err();
    assert_eq!(
        err,
        JcsError::InexactInteger {
            number: "123456789012345678901234567890".to_owned(),
            nearest: "1.2345678901234568e+29".to_owned(),
            at: text(2, 9),
        }
    );
    let err = parse_strict(b"[\"99999999999999999999999\", -100000000000000000001]").unwrap_err();
    assert!(
        matches!(&err, JcsError::InexactInteger { number, at, .. }
            if number == "-100000000000000000001" && *at == text(1, 29)),
        "{err:?}"
    );
    // From values: a JSON Pointer to the number.
    let err = canonicalize(&json!({"a": [1, 9_007_199_254_740_993u64]})).unwrap_err();
    assert_eq!(err.location(), &pointer("/a/1"));
    assert!(matches!(err, JcsError::InexactInteger { .. }));
    let err = canonicalize(&json!(i64::MIN)).unwrap_err();
    assert_eq!(err.location(), &pointer(""));
    assert!(err.to_string().contains("send it as a string"));
    // From Rust values, including 128-bit integers.
    let err = to_canonical(&Counter { value: u64::MAX }).unwrap_err();
    assert_eq!(err.location(), &pointer("/value"));
    assert!(matches!(
        to_canonical(&(1u128 << 100)).unwrap_err(),
        JcsError::InexactInteger { .. }
    ));
    assert!(matches!(
        to_canonical(&i128::MIN).unwrap_err(),
        JcsError::InexactInteger { .. }
    ));
}

#[test]
fn integers_beyond_2_pow_53_pass_only_when_their_digits_survive() {
    // These are exactly how the canonical form writes their doubles, so
    // nothing changes: in text and in values they are accepted unchanged.
    for n in [
        "10000000000000000",
        "-10000000000000000",
        "9007199254740994",
        "295147905179352830000",
        "999999999999999900000",
        "100000000000000000000",
    ] {
        assert_eq!(canonical_text_str(n), n);
    }
    assert_eq!(
        canonical_str(&json!(10_000_000_000_000_000u64)),
        "10000000000000000"
    );
    assert_eq!(
        to_canonical(&100_000_000_000_000_000_000u128).unwrap(),
        b"100000000000000000000"
    );
    // One more and they would round.
    assert!(parse_strict(b"10000000000000001").is_err());
    assert!(parse_strict(b"295147905179352830001").is_err());
    // 1e21 and beyond print with an exponent, so no integer literal survives.
    assert!(parse_strict(b"1000000000000000000000").is_err());
    assert_eq!(canonical_text_str("1000000000000000000000.0"), "1e+21");
}

#[test]
fn numbers_beyond_the_double_range_are_refused() {
    for (input, at) in [
        ("1e400", text(1, 5)),
        ("[-1.5e309]", text(1, 9)),
        ("{\"a\":\n1e999}", text(2, 5)),
    ] {
        let err = parse_strict(input.as_bytes()).unwrap_err();
        assert_eq!(err, JcsError::NumberOutOfRange { at }, "{input}");
    }
    let huge = format!("1{}", "0".repeat(400));
    assert!(matches!(
        parse_strict(huge.as_bytes()).unwrap_err(),
        JcsError::NumberOutOfRange { .. }
    ));
}

// ---------------------------------------------------------------------------
// to_canonical: Rust values
// ---------------------------------------------------------------------------

#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
enum Kind {
    Unit,
    Newtype(u8),
    Tuple(u8, String),
    Struct { b: bool, a: Option<u8> },
}

#[derive(Serialize)]
struct Entry<'a> {
    zeta: &'a str,
    alpha: Vec<Kind>,
    bytes: &'a [u8],
    #[serde(with = "serde_bytes_like")]
    raw: &'a [u8],
    ratio: f32,
    missing: Option<u8>,
    unit: (),
    pair: (i8, char),
}

/// Serializes bytes through `serialize_bytes`, as `serde_bytes` would.
mod serde_bytes_like {
    pub fn serialize<S: serde::Serializer>(bytes: &&[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(bytes)
    }
}

#[test]
fn to_canonical_writes_structs_enums_and_options_as_serde_json_would() {
    let entry = Entry {
        zeta: "z",
        alpha: vec![
            Kind::Unit,
            Kind::Newtype(7),
            Kind::Tuple(1, "x".to_owned()),
            Kind::Struct { b: true, a: None },
        ],
        bytes: &[1, 2],
        raw: &[255],
        ratio: 0.1,
        missing: None,
        unit: (),
        pair: (-3, 'é'),
    };
    let expected = "{\"alpha\":[\"unit\",{\"newtype\":7},{\"tuple\":[1,\"x\"]},\
                    {\"struct\":{\"a\":null,\"b\":true}}],\"bytes\":[1,2],\"missing\":null,\
                    \"pair\":[-3,\"é\"],\"ratio\":0.10000000149011612,\"raw\":[255],\
                    \"unit\":null,\"zeta\":\"z\"}";
    assert_eq!(
        String::from_utf8(to_canonical(&entry).unwrap()).unwrap(),
        expected
    );
    // Same bytes as canonicalizing serde_json's own value, where that is lossless.
    let via_serde_json = canonicalize(&serde_json::to_value(&entry).unwrap()).unwrap();
    assert_eq!(to_canonical(&entry).unwrap(), via_serde_json);
    // A Value serializes to itself.
    let value = json!({"b": [1, "x", null, {"c": 2.5}], "a": false});
    assert_eq!(to_canonical(&value).unwrap(), canonicalize(&value).unwrap());
    // Unsized values.
    assert_eq!(to_canonical("text").unwrap(), b"\"text\"");
    assert_eq!(to_canonical(&[1u8, 2][..]).unwrap(), b"[1,2]");
}

#[test]
fn to_canonical_turns_scalar_map_keys_into_strings() {
    let ints: BTreeMap<i32, bool> = [(10, true), (9, false), (-1, true)].into_iter().collect();
    assert_eq!(
        to_canonical(&ints).unwrap(),
        br#"{"-1":true,"10":true,"9":false}"#
    );
    let chars: BTreeMap<char, u8> = [('b', 1), ('a', 2)].into_iter().collect();
    assert_eq!(to_canonical(&chars).unwrap(), br#"{"a":2,"b":1}"#);
    let bools: BTreeMap<bool, u8> = [(true, 1), (false, 0)].into_iter().collect();
    assert_eq!(to_canonical(&bools).unwrap(), br#"{"false":0,"true":1}"#);
    let wide: BTreeMap<u128, u8> = [(u128::MAX, 1)].into_iter().collect();
    assert_eq!(
        to_canonical(&wide).unwrap(),
        br#"{"340282366920938463463374607431768211455":1}"#
    );
    let floats: Vec<(f64, u8)> = vec![(1e21, 1), (-0.0, 2)];
    let map = MapOf(floats);
    assert_eq!(to_canonical(&map).unwrap(), br#"{"0":2,"1e+21":1}"#);
}

/// A map from any pairs, in the given order, keys not deduplicated.
struct MapOf<K, V>(Vec<(K, V)>);

impl<K: Serialize, V: Serialize> Serialize for MapOf<K, V> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

#[test]
fn to_canonical_refuses_what_serde_json_would_silently_change() {
    // serde_json::to_value keeps the last of two equal keys; this is an error.
    let twice = MapOf(vec![("a", 1), ("b", 2), ("a", 3)]);
    let err = to_canonical(&vec![MapOf(vec![("x", 0)]), twice]).unwrap_err();
    assert_eq!(
        err,
        JcsError::DuplicateKey {
            key: "a".to_owned(),
            at: pointer("/1"),
        }
    );
    // NaN would become null.
    let err = to_canonical(&Metrics {
        scores: vec![1.0, f32::NAN],
    })
    .unwrap_err();
    assert_eq!(
        err,
        JcsError::NonFinite {
            value: "NaN",
            at: pointer("/scores/1"),
        }
    );
    // Keys that are not scalars, or NaN keys.
    let err = to_canonical(&MapOf(vec![((1, 2), 0)])).unwrap_err();
    assert!(matches!(err, JcsError::Unserializable { .. }), "{err:?}");
    assert!(err.to_string().contains("convert the key to a string"));
    assert!(matches!(
        to_canonical(&MapOf(vec![(f64::NAN, 0)])).unwrap_err(),
        JcsError::NonFinite { .. }
    ));
    // Errors from a Serialize impl keep their message and gain the place.
    let err = to_canonical(&json_pair("k/~", Refuses)).unwrap_err();
    assert_eq!(err.to_string(), "cannot write /k~1~0 as JSON: no JSON form");
}

/// Always fails to serialize.
struct Refuses;

impl Serialize for Refuses {
    fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        Err(serde::ser::Error::custom("no JSON form"))
    }
}

#[derive(Serialize)]
struct Counter {
    value: u64,
}

#[derive(Serialize)]
struct Metrics {
    scores: Vec<f32>,
}

fn json_pair<V: Serialize>(key: &'static str, value: V) -> MapOf<&'static str, V> {
    MapOf(vec![(key, value)])
}

// ---------------------------------------------------------------------------
// Strict parsing: malformed input
// ---------------------------------------------------------------------------

#[test]
fn malformed_json_is_a_syntax_error_with_a_location() {
    let cases: &[(&str, Location)] = &[
        ("", text(1, 0)),
        ("   ", text(1, 3)),
        ("{", text(1, 1)),
        ("[1,]", text(1, 4)),
        ("{\"a\":1,}", text(1, 8)),
        ("{'a':1}", text(1, 2)),
        ("{a:1}", text(1, 2)),
        ("NaN", text(1, 1)),
        ("Infinity", text(1, 1)),
        ("-Infinity", text(1, 2)),
        ("01", text(1, 2)),
        ("+1", text(1, 1)),
        (".5", text(1, 1)),
        ("1.", text(1, 2)),
        ("1e", text(1, 2)),
        ("tru", text(1, 3)),
        ("nul", text(1, 3)),
        ("\"a\tb\"", text(1, 3)),
        ("\"abc", text(1, 4)),
        ("\"\\x\"", text(1, 3)),
        ("\"\\u12\"", text(1, 6)),
        ("/* comment */ 1", text(1, 1)),
        ("[1]\n// comment", text(2, 1)),
        ("{\"a\" 1}", text(1, 6)),
        ("[1 2]", text(1, 4)),
        ("\u{feff}{}", text(1, 1)),
    ];
    for (input, at) in cases {
        let err = parse_strict(input.as_bytes()).unwrap_err();
        match &err {
            JcsError::Syntax { at: got, .. } | JcsError::TrailingData { at: got } => {
                assert_eq!(got, at, "{input:?}: {err}");
            }
            other => panic!("{input:?}: expected a syntax error, got {other:?}"),
        }
    }
    let err = parse_strict("\u{feff}{}".as_bytes()).unwrap_err();
    assert!(err.to_string().contains("byte order mark"), "{err}");
    let err = parse_strict(b"[1,]").unwrap_err();
    assert_eq!(
        err.to_string(),
        "malformed JSON at line 1 column 4: trailing comma"
    );
}

#[test]
fn duplicate_keys_are_refused_at_any_depth() {
    let cases: &[(&str, &str, Location)] = &[
        (r#"{"a":1,"a":2}"#, "a", text(1, 10)),
        (r#"{"a":1,"a":1}"#, "a", text(1, 10)),
        (r#"{"x":[{"b":null,"c":0,"b":{}}]}"#, "b", text(1, 25)),
        ("{\n  \"k\": {\"n\": 1},\n  \"k\": 2\n}", "k", text(3, 5)),
        // Equal after unescaping.
        (r#"{"a":1,"\u0061":2}"#, "a", text(1, 15)),
        (r#"{"\ud83d\ude00":1,"😀":2}"#, "\u{1f600}", text(1, 24)),
        (r#"{"":1,"":2}"#, "", text(1, 8)),
    ];
    for (input, key, at) in cases {
        let err = parse_strict(input.as_bytes()).unwrap_err();
        assert_eq!(
            err,
            JcsError::DuplicateKey {
                key: (*key).to_owned(),
                at: at.clone(),
            },
            "{input}"
        );
    }
    let err = parse_strict(br#"{"a":1,"a":2}"#).unwrap_err();
    assert_eq!(
        err.to_string(),
        "duplicate key \"a\" at line 1 column 10; a key may appear only once per object"
    );
    // Equal keys in different objects are fine, and so is a key differing
    // only by normalization or case.
    for input in [
        r#"[{"a":1},{"a":1}]"#,
        r#"{"a":{"a":{"a":1}}}"#,
        r#"{"A":1,"a":2}"#,
        r#"{"é":1,"e\u0301":2}"#,
    ] {
        assert!(parse_strict(input.as_bytes()).is_ok(), "{input}");
    }
}

#[test]
fn lone_surrogate_escapes_are_refused() {
    for (input, at) in [
        (r#""\ud800""#, text(1, 8)),
        (r#""\udc00""#, text(1, 7)),
        (r#""\udfff\ud800""#, text(1, 7)),
        (r#""\ud800\ud800""#, text(1, 13)),
        (r#""\ud800x""#, text(1, 8)),
        (r#""\ud800\n""#, text(1, 9)),
        (r#"{"\udbff": 1}"#, text(1, 9)),
        ("[\n\"ok\",\n\"a\\ud83d\"]", text(3, 9)),
    ] {
        let err = parse_strict(input.as_bytes()).unwrap_err();
        assert_eq!(err, JcsError::LoneSurrogate { at }, "{input}");
    }
    let err = parse_strict(br#""\ud800""#).unwrap_err();
    assert!(err.to_string().contains("high-low pairs"), "{err}");
    // A proper pair is fine.
    assert_eq!(canonical_text_str(r#""\uD83D\uDE00""#), "\"\u{1f600}\"");
}

#[test]
fn data_after_the_value_is_refused() {
    for (input, at) in [
        ("{} {}", text(1, 4)),
        ("1 2", text(1, 3)),
        ("[]x", text(1, 3)),
        ("null,", text(1, 5)),
        ("\"a\"\"b\"", text(1, 4)),
        ("{}\n\n]", text(3, 1)),
        ("true\u{0}", text(1, 5)),
    ] {
        let err = parse_strict(input.as_bytes()).unwrap_err();
        assert_eq!(err, JcsError::TrailingData { at }, "{input:?}");
    }
    // Whitespace after the value is fine.
    assert_eq!(canonical_text_str("{} \n\t\r "), "{}");
    assert_eq!(
        parse_strict(b"1 2").unwrap_err().to_string(),
        "extra data after the JSON value at line 1 column 3; send exactly one JSON value"
    );
}

#[test]
fn text_that_is_not_utf8_is_refused_at_the_first_bad_byte() {
    let cases: &[(&[u8], Location)] = &[
        (b"\"\xff\"", text(1, 2)),
        (b"[\"a\", \"\xc3\"]", text(1, 8)),
        (b"\"\xc0\x80\"", text(1, 2)),
        (b"\"\xed\xa0\x80\"", text(1, 2)),
        (b"\"\xf4\x90\x80\x80\"", text(1, 2)),
        (b"[\n  \"ok\",\n  \"\xe2\x82\"]", text(3, 4)),
        (b"\xfe\xff", text(1, 1)),
        (b"{} \x80", text(1, 4)),
    ];
    for (input, at) in cases {
        let err = parse_strict(input).unwrap_err();
        assert_eq!(
            err,
            JcsError::InvalidUtf8 { at: at.clone() },
            "{}",
            String::from_utf8_lossy(input)
        );
    }
    assert_eq!(
        parse_strict(b"\"\xff\"").unwrap_err().to_string(),
        "invalid UTF-8 at line 1 column 2; JSON text must be UTF-8"
    );
}

fn nested_arrays(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

#[test]
fn nesting_is_limited_the_same_in_text_and_in_values() {
    assert_eq!(
        canonical_text_str(&nested_arrays(MAX_DEPTH)),
        nested_arrays(MAX_DEPTH)
    );
    let err = parse_strict(nested_arrays(MAX_DEPTH + 1).as_bytes()).unwrap_err();
    assert!(
        matches!(
            err,
            JcsError::TooDeep {
                limit: MAX_DEPTH,
                ..
            }
        ),
        "{err:?}"
    );
    // A deeper value built in code is refused, not a stack overflow.
    // (json! would copy its argument through serde, recursively.)
    let mut value = json!(1);
    for _ in 0..MAX_DEPTH {
        value = Value::Array(vec![value]);
    }
    assert!(canonicalize(&value).is_ok());
    let err = canonicalize(&Value::Object(
        [("k".to_owned(), value)].into_iter().collect(),
    ))
    .unwrap_err();
    assert!(matches!(err, JcsError::TooDeep { .. }), "{err:?}");
    let expected_pointer = format!("/k{}", "/0".repeat(MAX_DEPTH - 1));
    assert_eq!(err.location(), &pointer(&expected_pointer));
    let mut very_deep = json!(null);
    for _ in 0..10_000 {
        very_deep = Value::Array(vec![very_deep]);
    }
    assert!(matches!(
        canonicalize(&very_deep).unwrap_err(),
        JcsError::TooDeep { .. }
    ));
    // serde_json drops values recursively; leak this one rather than test that.
    std::mem::forget(very_deep);
}

#[test]
fn write_canonical_appends_and_leaves_the_buffer_alone_on_error() {
    let mut out = b"prefix:".to_vec();
    write_canonical(&json!({"b": 1, "a": [true]}), &mut out).unwrap();
    assert_eq!(out, br#"prefix:{"a":[true],"b":1}"#);
    let before = out.clone();
    let err = write_canonical(&json!({"a": "fine", "z": [u64::MAX]}), &mut out).unwrap_err();
    assert_eq!(err.location(), &pointer("/z/0"));
    assert_eq!(out, before);
}

#[test]
fn every_error_says_where() {
    let errors = [
        parse_strict(b"\xff").unwrap_err(),
        parse_strict(b"[").unwrap_err(),
        parse_strict(b"1 1").unwrap_err(),
        parse_strict(br#"{"a":1,"a":1}"#).unwrap_err(),
        parse_strict(br#""\ud800""#).unwrap_err(),
        parse_strict(b"12345678901234567890").unwrap_err(),
        parse_strict(b"1e999").unwrap_err(),
        parse_strict(nested_arrays(200).as_bytes()).unwrap_err(),
        to_canonical(&f64::NAN).unwrap_err(),
        to_canonical(&MapOf(vec![((), 1)])).unwrap_err(),
    ];
    for err in errors {
        let message = err.to_string();
        let place = err.location().to_string();
        assert!(message.contains(&place), "{message}");
        assert!(message.len() < 160, "keep messages short: {message}");
    }
}

// ---------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------

/// Object members in the order the text gives them (`serde_json`'s map sorts).
fn ordered_members(canonical: &[u8]) -> Vec<(String, Value)> {
    struct Ordered(Vec<(String, Value)>);
    impl<'de> Deserialize<'de> for Ordered {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = Ordered;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("an object")
                }
                fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Ordered, A::Error> {
                    let mut members = Vec::new();
                    while let Some(member) = m.next_entry()? {
                        members.push(member);
                    }
                    Ok(Ordered(members))
                }
            }
            d.deserialize_map(V)
        }
    }
    serde_json::from_slice::<Ordered>(canonical)
        .expect("an object")
        .0
}

fn tricky_char() -> impl Strategy<Value = char> {
    prop_oneof![
        3 => prop::char::range('a', 'e'),
        2 => prop::sample::select(vec![
            '\u{0}', '\u{8}', '\u{1f}', '"', '\\', '/', '\u{7f}', '\u{80}', '\u{e9}',
            '\u{2028}', '\u{d7ff}', '\u{e000}', '\u{fb33}', '\u{feff}', '\u{ffff}',
            '\u{10000}', '\u{1f600}', '\u{10ffff}',
        ]),
        1 => any::<char>(),
    ]
}

fn tricky_string() -> impl Strategy<Value = String> {
    prop::collection::vec(tricky_char(), 0..6).prop_map(|chars| chars.into_iter().collect())
}

fn finite_double() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>(),
        any::<u64>().prop_map(f64::from_bits),
        (-1_000_000i32..1_000_000).prop_map(|n| f64::from(n) / 100.0),
        // Exact ties between two shortest candidates (ECMAScript takes the even one).
        (1u32..1 << 20, any::<bool>()).prop_map(|(n, up)| {
            f64::from(n).mul_add(f64::from(1u32 << 30), 1_125_899_906_842_624.0)
                + if up { 0.75 } else { 0.25 }
        }),
        prop::sample::select(vec![
            0.0,
            -0.0,
            5e-324,
            1e21,
            1e-7,
            1e-6,
            9_007_199_254_740_992.0,
            1e16,
            f64::MAX,
            f64::MIN_POSITIVE,
        ]),
    ]
    .prop_filter("finite", |x| x.is_finite())
}

fn number() -> impl Strategy<Value = Number> {
    const LIMIT: i64 = 1 << 53;
    prop_oneof![
        (-LIMIT..=LIMIT).prop_map(Number::from),
        (0u64..1000).prop_map(Number::from),
        finite_double().prop_map(|x| Number::from_f64(x).expect("finite")),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        number().prop_map(Value::Number),
        tricky_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(tricky_string(), inner, 0..6)
                .prop_map(|members| Value::Object(members.into_iter().collect())),
        ]
    })
}

/// Equal as JSON: numbers by their double value (1 and 1.0, 0 and -0 agree).
fn same_json(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same_json(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_json(v, w)))
        }
        _ => a == b,
    }
}

/// A small deterministic generator for shuffling and spacing text.
struct Dice(u64);

impl Dice {
    fn roll(&mut self, sides: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % sides as u64) as usize
    }

    fn space(&mut self, out: &mut String) {
        for _ in 0..self.roll(3) {
            out.push([' ', '\t', '\n', '\r'][self.roll(4)]);
        }
    }
}

/// Writes `value` as JSON text with members shuffled, random whitespace and
/// strings sometimes written entirely as `\u` escapes.
fn write_scrambled(value: &Value, dice: &mut Dice, out: &mut String) {
    dice.space(out);
    match value {
        Value::Object(members) => {
            let mut members: Vec<_> = members.iter().collect();
            for i in (1..members.len()).rev() {
                members.swap(i, dice.roll(i + 1));
            }
            out.push('{');
            for (i, (key, member)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_scrambled_string(key, dice, out);
                dice.space(out);
                out.push(':');
                write_scrambled(member, dice, out);
            }
            dice.space(out);
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_scrambled(item, dice, out);
            }
            dice.space(out);
            out.push(']');
        }
        Value::String(s) => write_scrambled_string(s, dice, out),
        other => out.push_str(&other.to_string()),
    }
    dice.space(out);
}

fn write_scrambled_string(s: &str, dice: &mut Dice, out: &mut String) {
    if dice.roll(2) == 0 {
        out.push_str(&serde_json::to_string(s).unwrap());
        return;
    }
    out.push('"');
    for unit in s.encode_utf16() {
        write!(out, "\\u{unit:04X}").unwrap();
    }
    out.push('"');
}

/// A positive decimal as its digits (no trailing zeros) and the power of ten
/// of its last digit.
fn decimal(digits: &str, last_exponent: i32) -> (String, i32) {
    let trimmed = digits.trim_start_matches('0').trim_end_matches('0');
    let zeros = digits.len() - digits.trim_end_matches('0').len();
    (
        trimmed.to_owned(),
        last_exponent + i32::try_from(zeros).unwrap(),
    )
}

/// Reads Rust's `{:e}` output as a [`decimal`].
fn scientific(text: &str) -> (String, i32) {
    let (mantissa, exponent) = text.split_once('e').unwrap();
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let last_exponent = exponent.parse::<i32>().unwrap() - i32::try_from(digits.len() - 1).unwrap();
    decimal(&digits, last_exponent)
}

/// The shortest digits that read back as `x` (positive), and among those the
/// closest, ties going to the even digit string, as ECMAScript requires.
///
/// Rust's `{:e}` gives the shortest, closest digits but breaks an exact tie
/// upwards; the tie is detected from the exact binary value (`{:.800e}`
/// prints every digit of any double).
fn shortest_digits(x: f64) -> (String, i32) {
    let (digits, last_exponent) = scientific(&format!("{x:e}"));
    let d: u64 = digits.parse().unwrap();
    if d % 2 == 1 {
        let exact = scientific(&format!("{x:.800e}"));
        for (midpoint, other) in [(d * 10 - 5, d - 1), (d * 10 + 5, d + 1)] {
            let other_reads_back = format!("{other}e{last_exponent}")
                .parse::<f64>()
                .unwrap()
                .to_bits()
                == x.to_bits();
            if decimal(&midpoint.to_string(), last_exponent - 1) == exact && other_reads_back {
                return decimal(&other.to_string(), last_exponent);
            }
        }
    }
    (digits, last_exponent)
}

/// ECMAScript's `Number::toString` (ECMA-262 §6.1.6.1.20), built
/// independently of ryu-js from Rust's float formatting, to check against.
fn ecmascript_number(x: f64) -> String {
    if x == 0.0 {
        return "0".to_owned();
    }
    let sign = if x < 0.0 { "-" } else { "" };
    let (digits, last_exponent) = shortest_digits(x.abs());
    let k = i32::try_from(digits.len()).unwrap();
    let n = last_exponent + k;
    let body = if k <= n && n <= 21 {
        format!("{digits}{}", "0".repeat(usize::try_from(n - k).unwrap()))
    } else if 0 < n && n <= 21 {
        let (int, frac) = digits.split_at(usize::try_from(n).unwrap());
        format!("{int}.{frac}")
    } else if -6 < n && n <= 0 {
        format!("0.{}{digits}", "0".repeat(usize::try_from(-n).unwrap()))
    } else {
        let e = n - 1;
        let e_sign = if e >= 0 { '+' } else { '-' };
        let (first, rest) = digits.split_at(1);
        let rest = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        format!("{first}{rest}e{e_sign}{}", e.abs())
    };
    format!("{sign}{body}")
}

#[test]
fn the_ecmascript_reference_agrees_with_appendix_b() {
    // Including the "round to even" row, where Rust's own shortest form differs.
    for row in appendix_b() {
        if let Some(expected) = row.json {
            assert_eq!(ecmascript_number(f64::from_bits(row.bits)), expected);
        }
    }
    assert_eq!(
        format!("{:e}", f64::from_bits(0x4314_3ff3_c1cb_0959)),
        "1.4249539237812063e15"
    );
    assert_eq!(
        ecmascript_number(1_739_324_281_337_558.2),
        "1739324281337558.2"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn canonicalize_is_idempotent(value in json_value()) {
        let once = canonicalize(&value).unwrap();
        let twice = canonicalize(&parse_strict(&once).unwrap()).unwrap();
        prop_assert_eq!(&once, &twice);
        prop_assert_eq!(canonicalize_text(&once).unwrap(), once);
    }

    #[test]
    fn parse_strict_reads_back_what_canonicalize_writes(value in json_value()) {
        let canonical = canonicalize(&value).unwrap();
        let back = parse_strict(&canonical).unwrap();
        prop_assert!(same_json(&back, &value), "{} from {}", back, value);
    }

    #[test]
    fn member_order_spacing_and_escapes_in_the_text_never_change_the_output(
        value in json_value(),
        seed in 1u64..,
    ) {
        let mut text = String::new();
        write_scrambled(&value, &mut Dice(seed), &mut text);
        prop_assert_eq!(canonicalize_text(text.as_bytes()).unwrap(), canonicalize(&value).unwrap());
    }

    #[test]
    fn members_come_out_in_utf16_order(keys in prop::collection::btree_set(tricky_string(), 0..12)) {
        let value = Value::Object(keys.iter().map(|k| (k.clone(), json!(0))).collect());
        let written: Vec<String> =
            ordered_members(&canonicalize(&value).unwrap()).into_iter().map(|(k, _)| k).collect();
        let mut expected: Vec<String> = keys.into_iter().collect();
        expected.sort_by(|a, b| a.encode_utf16().cmp(b.encode_utf16()));
        prop_assert_eq!(written, expected);
    }

    #[test]
    fn to_canonical_of_a_value_is_canonicalize(value in json_value()) {
        prop_assert_eq!(to_canonical(&value).unwrap(), canonicalize(&value).unwrap());
    }

    #[test]
    fn doubles_print_as_ecmascript_does(x in finite_double()) {
        let written = String::from_utf8(to_canonical(&x).unwrap()).unwrap();
        prop_assert_eq!(&written, &ecmascript_number(x));
        let back = parse_strict(written.as_bytes()).unwrap().as_f64().unwrap();
        prop_assert_eq!(back.to_bits(), if x == 0.0 { 0 } else { x.to_bits() });
    }

    #[test]
    fn integers_pass_exactly_when_their_digits_survive(n in any::<i64>()) {
        let digits = n.to_string();
        #[allow(clippy::cast_precision_loss)]
        let survives = n.unsigned_abs() <= 1 << 53 || ecmascript_number(n as f64) == digits;
        match canonicalize(&json!(n)) {
            Ok(bytes) => {
                prop_assert!(survives);
                prop_assert_eq!(String::from_utf8(bytes).unwrap(), digits.clone());
            }
            Err(err) => {
                prop_assert!(!survives);
                prop_assert!(matches!(err, JcsError::InexactInteger { .. }), "{}", err);
            }
        }
        prop_assert_eq!(parse_strict(digits.as_bytes()).is_ok(), survives);
    }

    #[test]
    fn parse_strict_never_panics_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let _ = parse_strict(&bytes);
    }

    #[test]
    fn parse_strict_never_panics_on_json_like_text(
        tokens in prop::collection::vec(
            prop::sample::select(vec![
                "{", "}", "[", "]", ":", ",", "\"", "\\", "\"a\"", "1", "-", "0", "e", ".",
                "9007199254740993", "123456789012345678901", "1e400", "\\ud800", "\\udc00",
                "\\u0041", "null", "tru", " ", "\n", "\u{feff}", "\u{0}", "é",
            ]),
            0..24,
        )
    ) {
        let text: String = tokens.concat();
        if let Ok(value) = parse_strict(text.as_bytes()) {
            prop_assert!(canonicalize(&value).is_ok(), "{}", text);
        }
    }
}

// ---------------------------------------------------------------------------
// Speed
// ---------------------------------------------------------------------------

/// A ledger-entry-sized object: about 300 canonical bytes.
fn typical_entry() -> Value {
    json!({
        "kind": "evidence",
        "tenant": "acme",
        "release": "payments-api@2.14.0",
        "category": "test-results",
        "digest": "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "recorded_at": "2025-05-01T12:34:56Z",
        "principal": {"kind": "user", "id": "u-1042"},
        "summary": {"passed": 1423, "failed": 0, "skipped": 12, "duration_s": 84.25}
    })
}

#[test]
fn a_typical_entry_is_about_300_bytes() {
    let size = canonicalize(&typical_entry()).unwrap().len();
    assert!((250..=350).contains(&size), "{size}");
}

/// `cargo test --release -p asom-ledger --test jcs -- --ignored --nocapture`
#[test]
#[ignore = "timing; run in release"]
#[allow(clippy::print_stdout)] // the figure is this test's output
fn canonicalize_speed() {
    let value = typical_entry();
    let mut out = Vec::with_capacity(512);
    let rounds = 200_000u32;
    let start = std::time::Instant::now();
    for _ in 0..rounds {
        out.clear();
        write_canonical(std::hint::black_box(&value), &mut out).unwrap();
    }
    let reused = start.elapsed() / rounds;
    let start = std::time::Instant::now();
    for _ in 0..rounds {
        std::hint::black_box(canonicalize(std::hint::black_box(&value)).unwrap());
    }
    let fresh = start.elapsed() / rounds;
    let start = std::time::Instant::now();
    for _ in 0..rounds {
        out.clear();
        serde_json::to_writer(&mut out, std::hint::black_box(&value)).unwrap();
    }
    let baseline = start.elapsed() / rounds;
    let text = canonicalize(&value).unwrap();
    let start = std::time::Instant::now();
    for _ in 0..rounds / 4 {
        std::hint::black_box(canonicalize_text(std::hint::black_box(&text)).unwrap());
    }
    let from_text = start.elapsed() / (rounds / 4);
    println!(
        "canonicalize {} bytes: {reused:?} reusing a buffer, {fresh:?} with a new one \
         (limit ~1µs: 200,000 appends/s); serde_json::to_writer: {baseline:?}; \
         canonicalize_text: {from_text:?}",
        out.len()
    );
}
