//! `aftercare classify`: one message per input line in, one JSON verdict per line out. It never
//! stops on bad input: unreadable bytes are replaced, a bad JSON line gets an `error` field.

use crate::triage::matcher::classify;
use crate::triage::{Catalogue, Classification};
use serde::Serialize;
use std::io::{self, BufRead, Write};

/// How each input line holds its message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputFormat {
    /// The whole line is the message.
    PlainLines,
    /// A JSON object with a `text` field; other fields are ignored.
    JsonLines,
}

#[derive(Serialize)]
struct Output<'a> {
    text: &'a str,
    #[serde(flatten)]
    classification: Classification,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// Classifies every line of `input` and writes one JSON object per line to `out`.
pub fn run(catalogue: &Catalogue, format: InputFormat, input: impl BufRead, out: &mut impl Write) -> io::Result<()> {
    for line in input.split(b'\n') {
        let bytes = line?;
        let line = String::from_utf8_lossy(&bytes);
        let line = line.strip_suffix('\r').unwrap_or(&line);
        let (text, error) = match format {
            InputFormat::PlainLines => (line.to_string(), None),
            InputFormat::JsonLines => text_field(line),
        };
        let output = Output { text: &text, classification: classify(catalogue, &text), error };
        serde_json::to_writer(&mut *out, &output)?;
        out.write_all(b"\n")?;
    }
    out.flush()
}

fn text_field(line: &str) -> (String, Option<String>) {
    if line.trim().is_empty() {
        return (String::new(), None);
    }
    match serde_json::from_str::<serde_json::Value>(line) {
        Ok(value) => match value.get("text").and_then(|t| t.as_str()) {
            Some(text) => (text.to_string(), None),
            None => (String::new(), Some("no string field `text`".to_string())),
        },
        Err(e) => (String::new(), Some(format!("not JSON: {e}"))),
    }
}
