//! JUnit XML reports, summarised into one test-category result: counts of
//! tests, failures, errors and skipped, and a status (DESIGN.md §4).
//!
//! Reads the de-facto JUnit XML format (as written by Ant, Maven Surefire,
//! pytest, Jest, Go's gotestsum and others; the closest thing to a spec is
//! the Ant `JUnitXmlFormatter` output and the Jenkins JUnit plugin schema):
//! a `<testsuites>` or `<testsuite>` root, suites nested to any depth, and
//! `<testcase>` elements whose `<failure>`, `<error>` or `<skipped>` child
//! gives their outcome. Counts come from the test cases themselves; the
//! `tests`, `failures`, `errors` and `skipped` attributes of each suite are
//! checked against them where present, and a mismatch is an error that names
//! the suite, the line, and both numbers.
//!
//! Status: `fail` when any test case failed or errored, `info` when every test
//! case was skipped (the report proves nothing for its category, and the note
//! says so), otherwise `pass`. A report without test cases is refused.
//!
//! Defences for outside input: a size limit the caller passes, UTF-8 only,
//! any `<!DOCTYPE>` refused (so no entity expansion, internal or external),
//! undefined entity references refused, a nesting limit, and every error
//! carries a line, column and byte offset. XML per W3C XML 1.0; parsing by
//! `quick-xml`, which expands only the five predefined entities and character
//! references.

// JUnit is a product name, not code to put in backticks.
#![allow(clippy::doc_markdown)]

use std::fmt;

use quick_xml::Reader;
use quick_xml::events::{BytesRef, BytesStart, Event};

use crate::evidence::{Counts, Evidence, EvidenceBuilder, EvidenceError, Status};

/// The `source_type` of records made from a JUnit report, unless the caller
/// chose another.
pub const SOURCE_TYPE: &str = "junit";

/// The deepest element nesting read.
pub const MAX_DEPTH: usize = 256;

/// The name of this input form in error messages.
const FORM: &str = "JUnit report";

/// A place in the report: 1-based line and column (in characters), and the
/// 0-based byte offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// 1-based line.
    pub line: u64,
    /// 1-based column, in characters.
    pub column: u64,
    /// 0-based byte offset.
    pub byte: u64,
}

impl Position {
    /// The position of byte `offset` in `text`.
    fn at(text: &str, offset: u64) -> Self {
        let offset_usize = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(text.len());
        // Step back to a character boundary so slicing cannot panic.
        let mut end = offset_usize;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let before = &text[..end];
        let line = before.bytes().filter(|b| *b == b'\n').count() as u64 + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() as u64 + 1;
        Self {
            line,
            column,
            byte: offset,
        }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, column {} (byte {})",
            self.line, self.column, self.byte
        )
    }
}

/// A JUnit report was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JunitError {
    /// Larger than the caller's limit.
    #[error("JUnit report is {size} bytes; the limit is {limit} bytes")]
    TooLarge {
        /// The report's size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// Not UTF-8.
    #[error("JUnit report is not UTF-8 at byte {byte}; write the report as UTF-8")]
    NotUtf8 {
        /// The first invalid byte.
        byte: u64,
    },
    /// No root element at all.
    #[error("JUnit report has no root element; expected <testsuites> or <testsuite>")]
    NoRoot,
    /// Not well-formed XML.
    #[error("JUnit report is not well-formed XML at {at}: {message}")]
    Xml {
        /// Where.
        at: Position,
        /// What the XML reader found.
        message: String,
    },
    /// A DOCTYPE declaration, refused so that no entity is ever expanded.
    #[error(
        "JUnit report has a <!DOCTYPE> at {at}; DOCTYPE declarations are refused (they enable entity expansion); remove it"
    )]
    Doctype {
        /// Where.
        at: Position,
    },
    /// An entity reference other than the five XML predefines or a character reference.
    #[error("JUnit report uses the undefined entity &{name}; at {at}")]
    UndefinedEntity {
        /// Where.
        at: Position,
        /// The entity's name.
        name: String,
    },
    /// The root element is not a JUnit one.
    #[error(
        "JUnit report's root element is <{found}> at {at}; expected <testsuites> or <testsuite>"
    )]
    Root {
        /// Where.
        at: Position,
        /// The root's name.
        found: String,
    },
    /// An element where JUnit does not allow it.
    #[error("JUnit report has <{element}> inside <{parent}> at {at}; {hint}")]
    Misplaced {
        /// Where.
        at: Position,
        /// The element.
        element: String,
        /// Its parent.
        parent: String,
        /// Where it belongs.
        hint: &'static str,
    },
    /// The input ends with elements still open.
    #[error("JUnit report is truncated: <{element}> opened at {at} is never closed")]
    Truncated {
        /// Where the unclosed element starts.
        at: Position,
        /// The element.
        element: String,
    },
    /// Markup after the root element.
    #[error("JUnit report has content after its root element at {at}; a report has one root")]
    TrailingContent {
        /// Where.
        at: Position,
    },
    /// Nesting deeper than [`MAX_DEPTH`].
    #[error("JUnit report nests elements deeper than {MAX_DEPTH} at {at}")]
    TooDeep {
        /// Where.
        at: Position,
    },
    /// A count attribute that is not a non-negative integer.
    #[error(
        "JUnit report: attribute {attribute}={value:?} on <{element}> at {at}: expected a non-negative integer"
    )]
    Attribute {
        /// Where.
        at: Position,
        /// The element.
        element: String,
        /// The attribute.
        attribute: &'static str,
        /// Its value.
        value: String,
    },
    /// A suite's count attribute disagrees with its test cases.
    #[error(
        "JUnit counts do not match: <{element}{name}> at {at} says {attribute}=\"{declared}\" but its test cases give {counted}; fix the report generator or the report"
    )]
    CountMismatch {
        /// Where the suite starts.
        at: Position,
        /// `testsuite` or `testsuites`.
        element: &'static str,
        /// ` name="..."` when the suite has a name, else empty.
        name: String,
        /// The attribute.
        attribute: &'static str,
        /// The attribute's value.
        declared: u64,
        /// The count from the test cases.
        counted: u64,
    },
    /// No `<testcase>` at all.
    #[error("JUnit report has no test cases; a report without <testcase> elements proves nothing")]
    NoTestCases,
    /// The record built from the summary is invalid.
    #[error(transparent)]
    Evidence(#[from] EvidenceError),
}

/// What a report says, summed over all its suites.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JunitSummary {
    counts: Counts,
    suites: u64,
}

impl JunitSummary {
    /// The counts: tests, failures, errors, skipped.
    #[must_use]
    pub fn counts(&self) -> Counts {
        self.counts
    }

    /// Number of `<testsuite>` elements.
    #[must_use]
    pub fn suites(&self) -> u64 {
        self.suites
    }

    /// `fail` if any test case failed or errored, `info` if all were skipped,
    /// else `pass`.
    #[must_use]
    pub fn status(&self) -> Status {
        self.counts.implied_status()
    }

    /// One line describing the result, for the record's notes.
    #[must_use]
    pub fn note(&self) -> String {
        let Counts {
            tests,
            failures,
            errors,
            skipped,
        } = self.counts;
        let suites = self.suites;
        let summary = format!(
            "JUnit: {tests} tests in {suites} suite(s), {failures} failed, {errors} errored, {skipped} skipped"
        );
        if self.counts.executed() == 0 {
            format!(
                "{summary}; all {tests} test cases were skipped, so the status is info: the report proves nothing for its category"
            )
        } else {
            summary
        }
    }
}

/// Counts of one open suite while reading.
struct SuiteFrame {
    at: Position,
    element: &'static str,
    name: Option<String>,
    declared: [Option<u64>; 4],
    counted: Counts,
}

/// The outcome marks of one open test case.
struct CaseFrame {
    at: Position,
    failure: bool,
    error: bool,
    skipped: bool,
}

/// What an open element is.
enum Open {
    Suite(SuiteFrame),
    Case(CaseFrame),
    Other(String, Position),
}

impl Open {
    fn name(&self) -> &str {
        match self {
            Open::Suite(frame) => frame.element,
            Open::Case(_) => "testcase",
            Open::Other(name, _) => name,
        }
    }
}

const COUNT_ATTRIBUTES: [&str; 4] = ["tests", "failures", "errors", "skipped"];

/// Checks the size and the encoding; returns the text without a byte order
/// mark and the mark's length.
fn decode(report: &[u8], limit: usize) -> Result<(&str, u64), JunitError> {
    if report.len() > limit {
        return Err(JunitError::TooLarge {
            size: report.len(),
            limit,
        });
    }
    let text = std::str::from_utf8(report).map_err(|err| JunitError::NotUtf8 {
        byte: err.valid_up_to() as u64,
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    Ok((text, (report.len() - text.len()) as u64))
}

/// Summarises a JUnit XML report of at most `limit` bytes.
pub fn summarise(report: &[u8], limit: usize) -> Result<JunitSummary, JunitError> {
    let (text, bom) = decode(report, limit)?;
    let locate = |offset: u64| {
        let mut at = Position::at(text, offset);
        at.byte += bom;
        at
    };

    let mut reader = Reader::from_str(text);
    reader.config_mut().trim_text(true);

    let mut stack: Vec<Open> = Vec::new();
    let mut root_done = false;
    let mut total = Counts::default();
    let mut suites = 0u64;
    loop {
        // Where the next event starts: the first `<` (markup), `&` (entity
        // reference) or other non-space character from here, since whitespace
        // between elements is skipped without an event.
        let from = reader.buffer_position();
        let start_of = |wanted: fn(char) -> bool| {
            let from_usize = usize::try_from(from).unwrap_or(text.len());
            text.get(from_usize..)
                .and_then(|rest| rest.find(wanted))
                .map_or(from, |skip| (from_usize + skip) as u64)
        };
        let start = start_of(|c| c == '<');
        let event = reader.read_event().map_err(|err| JunitError::Xml {
            at: locate(reader.error_position()),
            message: err.to_string(),
        })?;
        match event {
            Event::Eof => break,
            Event::DocType(_) => return Err(JunitError::Doctype { at: locate(start) }),
            Event::Text(_) | Event::CData(_) | Event::GeneralRef(_) if stack.is_empty() => {
                let at = locate(start_of(|c| !c.is_whitespace()));
                return Err(if root_done {
                    JunitError::TrailingContent { at }
                } else {
                    JunitError::Xml {
                        at,
                        message: "text before the root element; a JUnit report starts with <testsuites> or <testsuite>"
                            .to_owned(),
                    }
                });
            }
            // Declarations, processing instructions, comments and text carry
            // no counts.
            Event::Decl(_)
            | Event::PI(_)
            | Event::Comment(_)
            | Event::Text(_)
            | Event::CData(_) => {}
            Event::GeneralRef(reference) => {
                check_reference(&reference, locate(start_of(|c| c == '&')))?;
            }
            Event::Start(element) => {
                let at = locate(start);
                if stack.len() >= MAX_DEPTH {
                    return Err(JunitError::TooDeep { at });
                }
                let open = open_element(&element, &stack, root_done, at, &reader)?;
                stack.push(open);
            }
            Event::Empty(element) => {
                let at = locate(start);
                let open = open_element(&element, &stack, root_done, at, &reader)?;
                close_element(open, &mut stack, &mut total, &mut suites)?;
                root_done |= stack.is_empty();
            }
            Event::End(_) => {
                // quick-xml checks that end names match their start.
                let Some(open) = stack.pop() else {
                    return Err(JunitError::Xml {
                        at: locate(start),
                        message: "closing tag without an opening tag".to_owned(),
                    });
                };
                close_element(open, &mut stack, &mut total, &mut suites)?;
                root_done |= stack.is_empty();
            }
        }
    }
    if let Some(open) = stack.last() {
        // The innermost unclosed element: where the report was cut.
        let (element, at) = match open {
            Open::Suite(frame) => (frame.element.to_owned(), frame.at),
            Open::Case(case) => ("testcase".to_owned(), case.at),
            Open::Other(name, at) => (name.clone(), *at),
        };
        return Err(JunitError::Truncated { at, element });
    }
    if !root_done {
        return Err(JunitError::NoRoot);
    }
    if total.tests == 0 {
        return Err(JunitError::NoTestCases);
    }
    Ok(JunitSummary {
        counts: total,
        suites,
    })
}

/// Allows only the five predefined entities and valid character references:
/// without a DOCTYPE nothing else is defined.
fn check_reference(reference: &BytesRef<'_>, at: Position) -> Result<(), JunitError> {
    let known = match reference.resolve_char_ref() {
        Ok(Some(_)) => true,
        Ok(None) => {
            let name = String::from_utf8_lossy(reference);
            matches!(&*name, "lt" | "gt" | "amp" | "apos" | "quot")
        }
        Err(err) => {
            return Err(JunitError::Xml {
                at,
                message: err.to_string(),
            });
        }
    };
    if known {
        Ok(())
    } else {
        Err(JunitError::UndefinedEntity {
            at,
            name: String::from_utf8_lossy(reference)
                .chars()
                .take(64)
                .collect(),
        })
    }
}

/// Checks where an element may appear and starts its frame.
fn open_element(
    element: &BytesStart<'_>,
    stack: &[Open],
    root_done: bool,
    at: Position,
    reader: &Reader<&[u8]>,
) -> Result<Open, JunitError> {
    let name = String::from_utf8_lossy(element.local_name().as_ref()).into_owned();
    let Some(parent) = stack.last() else {
        if root_done {
            return Err(JunitError::TrailingContent { at });
        }
        return match name.as_str() {
            "testsuites" | "testsuite" => suite_frame(element, &name, at, reader),
            _ => Err(JunitError::Root { at, found: name }),
        };
    };
    let misplaced = |hint| JunitError::Misplaced {
        at,
        element: name.clone(),
        parent: parent.name().to_owned(),
        hint,
    };
    match (name.as_str(), parent) {
        ("testsuite", Open::Suite(_)) => suite_frame(element, &name, at, reader),
        ("testsuite" | "testsuites", _) => {
            Err(misplaced("suites belong in <testsuites> or <testsuite>"))
        }
        ("testcase", Open::Suite(frame)) if frame.element == "testsuite" => {
            Ok(Open::Case(CaseFrame {
                at,
                failure: false,
                error: false,
                skipped: false,
            }))
        }
        ("testcase", _) => Err(misplaced("<testcase> belongs directly in a <testsuite>")),
        (_, _) => Ok(Open::Other(name, at)),
    }
}

/// Reads a suite's name and count attributes.
fn suite_frame(
    element: &BytesStart<'_>,
    name: &str,
    at: Position,
    reader: &Reader<&[u8]>,
) -> Result<Open, JunitError> {
    let element_name: &'static str = if name == "testsuites" {
        "testsuites"
    } else {
        "testsuite"
    };
    let mut frame = SuiteFrame {
        at,
        element: element_name,
        name: None,
        declared: [None; 4],
        counted: Counts::default(),
    };
    for attribute in element.attributes() {
        let attribute = attribute.map_err(|err| JunitError::Xml {
            at,
            message: err.to_string(),
        })?;
        let key = attribute.key.local_name();
        let key = key.as_ref();
        let value = attribute
            .decode_and_unescape_value(reader.decoder())
            .map_err(|err| JunitError::Xml {
                at,
                message: err.to_string(),
            })?;
        if key == b"name" {
            frame.name = Some(value.chars().take(120).collect());
            continue;
        }
        if let Some(slot) = COUNT_ATTRIBUTES
            .iter()
            .position(|known| known.as_bytes() == key)
        {
            let parsed = value
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|_| !value.trim().starts_with('+'))
                .ok_or_else(|| JunitError::Attribute {
                    at,
                    element: element_name.to_owned(),
                    attribute: COUNT_ATTRIBUTES[slot],
                    value: value.chars().take(64).collect(),
                })?;
            frame.declared[slot] = Some(parsed);
        }
    }
    Ok(Open::Suite(frame))
}

/// Finishes an element: adds a test case's outcome to its suite, checks and
/// folds a suite into its parent, marks a test case's outcome.
fn close_element(
    open: Open,
    stack: &mut [Open],
    total: &mut Counts,
    suites: &mut u64,
) -> Result<(), JunitError> {
    match open {
        Open::Other(name, _) => {
            if let Some(Open::Case(case)) = stack.last_mut() {
                match name.as_str() {
                    "failure" => case.failure = true,
                    "error" => case.error = true,
                    "skipped" => case.skipped = true,
                    _ => {}
                }
            }
        }
        Open::Case(case) => {
            if let Some(Open::Suite(suite)) = stack.last_mut() {
                suite.counted.tests += 1;
                if case.failure {
                    suite.counted.failures += 1;
                } else if case.error {
                    suite.counted.errors += 1;
                } else if case.skipped {
                    suite.counted.skipped += 1;
                }
            }
        }
        Open::Suite(suite) => {
            check_suite(&suite)?;
            if suite.element == "testsuite" {
                *suites += 1;
            }
            match stack.last_mut() {
                Some(Open::Suite(parent)) => {
                    parent.counted.tests += suite.counted.tests;
                    parent.counted.failures += suite.counted.failures;
                    parent.counted.errors += suite.counted.errors;
                    parent.counted.skipped += suite.counted.skipped;
                }
                _ => *total = suite.counted,
            }
        }
    }
    Ok(())
}

/// Compares a suite's declared counts with what its test cases give.
fn check_suite(suite: &SuiteFrame) -> Result<(), JunitError> {
    let counted = [
        suite.counted.tests,
        suite.counted.failures,
        suite.counted.errors,
        suite.counted.skipped,
    ];
    for (slot, declared) in suite.declared.iter().enumerate() {
        if let Some(declared) = *declared
            && declared != counted[slot]
        {
            return Err(JunitError::CountMismatch {
                at: suite.at,
                element: suite.element,
                name: suite
                    .name
                    .as_ref()
                    .map(|name| format!(" name={name:?}"))
                    .unwrap_or_default(),
                attribute: COUNT_ATTRIBUTES[slot],
                declared,
                counted: counted[slot],
            });
        }
    }
    Ok(())
}

/// Summarises `report` and builds its evidence record from the caller's
/// binding in `builder` (which must name a test category).
///
/// The form sets `status` and `counts` from the summary, `checksum` and `size`
/// from the report bytes (refusing different values the caller set),
/// `source_type` (`junit` unless given), and appends the summary to the notes.
pub fn to_evidence(
    report: &[u8],
    limit: usize,
    builder: EvidenceBuilder,
) -> Result<Evidence, JunitError> {
    let summary = summarise(report, limit)?;
    if builder.current_test_category().is_none() {
        return Err(EvidenceError::MissingField {
            field: "test_category",
            hint: "a JUnit report is summarised into one test category; give one of T1..T8",
        }
        .into());
    }
    let builder = builder
        .derive_status(FORM, summary.status())?
        .derive_artifact(FORM, asom_ledger::Hash::of(report), report.len() as u64)?
        .default_source_type(SOURCE_TYPE)
        .counts(summary.counts())
        .append_note(&summary.note());
    Ok(builder.build()?)
}
