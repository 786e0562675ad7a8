//! `aftercare audit`: exports the audit trail, oldest event first, as JSON Lines or CSV.
//!
//! Each event becomes one record with four fields, in this order: `at` (RFC 3339, UTC),
//! `patient` (the chat id, a number), `kind` and `detail`. JSON Lines writes one compact object
//! per line; CSV writes a header row `at,patient,kind,detail` and quotes a field (RFC 4180:
//! enclosed in double quotes, inner quotes doubled) when it holds a comma, a quote or a line
//! break. Lines end with `\n`.
//!
//! Audit events hold ids and dispositions, not patient words, so the export holds none either.

use crate::store::{AuditEntry, Store, StoreError};
use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use jiff::Timestamp;
use serde::Serialize;
use std::fmt;
use std::io::{self, BufWriter, Write};
use std::str::FromStr;

/// The export format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// One JSON object per line.
    #[default]
    Jsonl,
    /// Comma-separated values with a header row.
    Csv,
}

impl Format {
    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Format::Jsonl => "jsonl",
            Format::Csv => "csv",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Format {
    type Err = String;

    fn from_str(text: &str) -> Result<Format, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "jsonl" => Ok(Format::Jsonl),
            "csv" => Ok(Format::Csv),
            _ => Err(format!("unknown audit format {text:?}: expected `jsonl` or `csv`")),
        }
    }
}

/// What can stop an export.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("cannot read the audit trail: {0}")]
    Store(#[from] StoreError),
    #[error("cannot write the audit export: {0}")]
    Write(#[from] io::Error),
}

/// One exported record; the field order is the column order.
#[derive(Serialize)]
struct Row<'a> {
    at: String,
    patient: i64,
    kind: &'a str,
    detail: &'a str,
}

impl<'a> Row<'a> {
    fn new(entry: &'a AuditEntry) -> Row<'a> {
        Row {
            at: entry.event.at.to_string(),
            patient: entry.patient.0,
            kind: &entry.event.kind,
            detail: &entry.event.detail,
        }
    }
}

/// Writes every audit event at or after `since` (all of them when `None`), oldest first, to
/// `out` in `format`, and returns how many events it wrote (the CSV header is not counted).
pub fn run(
    store: &dyn Store,
    since: Option<Timestamp>,
    format: Format,
    out: &mut impl Write,
) -> Result<usize, AuditError> {
    let entries = store.audit(since)?;
    let mut out = BufWriter::new(out);
    if format == Format::Csv {
        out.write_all(b"at,patient,kind,detail\n")?;
    }
    for entry in &entries {
        let row = Row::new(entry);
        match format {
            Format::Jsonl => {
                serde_json::to_writer(&mut out, &row).map_err(io::Error::from)?;
                out.write_all(b"\n")?;
            }
            Format::Csv => {
                write_csv_field(&mut out, &row.at)?;
                out.write_all(b",")?;
                write!(out, "{}", row.patient)?;
                out.write_all(b",")?;
                write_csv_field(&mut out, row.kind)?;
                out.write_all(b",")?;
                write_csv_field(&mut out, row.detail)?;
                out.write_all(b"\n")?;
            }
        }
    }
    out.flush()?;
    Ok(entries.len())
}

/// Writes one CSV field, quoted (RFC 4180) only when it needs to be.
fn write_csv_field(out: &mut impl Write, field: &str) -> io::Result<()> {
    if field.contains([',', '"', '\n', '\r']) {
        out.write_all(b"\"")?;
        out.write_all(field.replace('"', "\"\"").as_bytes())?;
        out.write_all(b"\"")
    } else {
        out.write_all(field.as_bytes())
    }
}

/// Reads a `--since` value: an instant with its offset (`2026-11-29T14:00:00Z`,
/// `2026-11-29T14:00:00+01:00`), a date and time in the clinic's time zone (`2026-11-29 14:00`,
/// seconds optional, `T` also accepted), or a date, meaning midnight at the clinic.
/// A clock time that falls in a daylight-saving gap moves forward; one that happens twice means
/// the earlier.
pub fn parse_since(text: &str, tz: &TimeZone) -> Result<Timestamp, String> {
    let text = text.trim();
    let help = "expected a date (2026-11-29), a clinic-time date and time (2026-11-29 14:00) \
                or an instant with its offset (2026-11-29T14:00:00Z)";
    if text.is_empty() {
        return Err(format!("--since is empty: {help}"));
    }
    if let Ok(timestamp) = text.parse::<Timestamp>() {
        return Ok(timestamp);
    }
    // A named zone (`2026-11-29T14:00[Europe/Paris]`) means that zone, not the clinic's.
    if text.contains('[') {
        return text
            .parse::<jiff::ZonedDateTime>()
            .map(|zoned| zoned.timestamp())
            .map_err(|e| format!("cannot read --since {text:?} ({e}): {help}"));
    }
    // A date alone (midnight), or a date and a time; anything with an offset was read above.
    let civil: DateTime = text.parse().map_err(|e| format!("cannot read --since {text:?} ({e}): {help}"))?;
    tz.to_ambiguous_timestamp(civil)
        .compatible()
        .map_err(|e| format!("--since {text:?} is not a time in the clinic's time zone: {e}"))
}
