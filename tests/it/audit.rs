//! `aftercare audit`: the export of the audit trail, against the in-memory and the sled store.

use aftercare::cli::audit::{self, AuditError, Format};
use aftercare::store::{MemoryStore, PatientId, SledStore, Store};
use aftercare::triage::dialogue::{AuditEvent, Conversation};
use jiff::tz::TimeZone;
use jiff::Timestamp;
use std::io::{self, Write};

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn event(time: &str, kind: &str, detail: &str) -> AuditEvent {
    AuditEvent { at: at(time), kind: kind.into(), detail: detail.into() }
}

/// Four events over three patients, saved out of time order; one detail holds a comma and
/// quotes, one a line break, one a fraction of a second.
fn populate(store: &dyn Store) {
    let conversation = Conversation::default();
    store
        .save(
            PatientId(42),
            &conversation,
            &[
                event("2026-11-29T14:00:00Z", "escalation", r#"paged on-call, reason "chest_cardiac""#),
                event("2026-11-29T09:00:00Z", "message", "intent=headache disposition=self_care"),
            ],
        )
        .unwrap();
    store.save(PatientId(7), &conversation, &[event("2026-11-30T08:15:30.5Z", "note", "line one\nline two")]).unwrap();
    store.save(PatientId(-100), &conversation, &[event("2026-11-28T23:30:00Z", "command", "/start")]).unwrap();
    store.flush().unwrap();
}

fn export(store: &dyn Store, since: Option<Timestamp>, format: Format) -> (usize, String) {
    let mut out = Vec::new();
    let count = audit::run(store, since, format, &mut out).unwrap();
    (count, String::from_utf8(out).unwrap())
}

const ALL_JSONL: &str = concat!(
    r#"{"at":"2026-11-28T23:30:00Z","patient":-100,"kind":"command","detail":"/start"}"#,
    "\n",
    r#"{"at":"2026-11-29T09:00:00Z","patient":42,"kind":"message","detail":"intent=headache disposition=self_care"}"#,
    "\n",
    r#"{"at":"2026-11-29T14:00:00Z","patient":42,"kind":"escalation","detail":"paged on-call, reason \"chest_cardiac\""}"#,
    "\n",
    r#"{"at":"2026-11-30T08:15:30.5Z","patient":7,"kind":"note","detail":"line one\nline two"}"#,
    "\n",
);

const ALL_CSV: &str = concat!(
    "at,patient,kind,detail\n",
    "2026-11-28T23:30:00Z,-100,command,/start\n",
    "2026-11-29T09:00:00Z,42,message,intent=headache disposition=self_care\n",
    "2026-11-29T14:00:00Z,42,escalation,\"paged on-call, reason \"\"chest_cardiac\"\"\"\n",
    "2026-11-30T08:15:30.5Z,7,note,\"line one\nline two\"\n",
);

fn contract(store: &dyn Store) {
    // An empty trail: nothing, or the header alone.
    assert_eq!(export(store, None, Format::Jsonl), (0, String::new()));
    assert_eq!(export(store, None, Format::Csv), (0, "at,patient,kind,detail\n".to_string()));

    populate(store);
    assert_eq!(export(store, None, Format::Jsonl), (4, ALL_JSONL.to_string()));
    assert_eq!(export(store, None, Format::Csv), (4, ALL_CSV.to_string()));

    // Every JSON line reads back to the event it came from.
    let (_, jsonl) = export(store, None, Format::Jsonl);
    let escalation: serde_json::Value = serde_json::from_str(jsonl.lines().nth(2).unwrap()).unwrap();
    assert_eq!(escalation["detail"], r#"paged on-call, reason "chest_cardiac""#);
    assert_eq!(escalation["patient"], 42);

    // `since` is inclusive: an event exactly at it is kept, earlier ones are not.
    let since = Some(at("2026-11-29T14:00:00Z"));
    let (count, csv) = export(store, since, Format::Csv);
    assert_eq!(count, 2);
    assert_eq!(
        csv,
        concat!(
            "at,patient,kind,detail\n",
            "2026-11-29T14:00:00Z,42,escalation,\"paged on-call, reason \"\"chest_cardiac\"\"\"\n",
            "2026-11-30T08:15:30.5Z,7,note,\"line one\nline two\"\n",
        )
    );
    let (count, jsonl) = export(store, Some(at("2026-11-29T14:00:00.000000001Z")), Format::Jsonl);
    assert_eq!(count, 1);
    assert_eq!(jsonl, ALL_JSONL.lines().nth(3).unwrap().to_string() + "\n");

    // After the last event: nothing.
    assert_eq!(export(store, Some(at("2026-12-01T00:00:00Z")), Format::Jsonl), (0, String::new()));
    assert_eq!(export(store, Some(at("2026-12-01T00:00:00Z")), Format::Csv), (0, "at,patient,kind,detail\n".into()));

    // Forgetting a patient keeps their audit events.
    store.forget(PatientId(42)).unwrap();
    assert_eq!(export(store, None, Format::Jsonl).0, 4);
}

#[test]
fn exports_from_the_memory_store() {
    contract(&MemoryStore::new());
}

#[test]
fn exports_from_the_sled_store() {
    let dir = tempfile::tempdir().unwrap();
    contract(&SledStore::open(dir.path()).unwrap());
}

#[test]
fn the_sled_export_survives_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    populate(&SledStore::open(dir.path()).unwrap());
    let store = SledStore::open(dir.path()).unwrap();
    assert_eq!(export(&store, None, Format::Csv), (4, ALL_CSV.to_string()));
}

/// A writer that refuses everything, like a closed pipe.
struct Refusing;

impl Write for Refusing {
    fn write(&mut self, _: &[u8]) -> io::Result<usize> {
        Err(io::Error::new(io::ErrorKind::BrokenPipe, "closed"))
    }
    fn flush(&mut self) -> io::Result<()> {
        Err(io::Error::new(io::ErrorKind::BrokenPipe, "closed"))
    }
}

#[test]
fn a_failed_write_is_an_error() {
    let store = MemoryStore::new();
    populate(&store);
    for format in [Format::Jsonl, Format::Csv] {
        match audit::run(&store, None, format, &mut Refusing) {
            Err(AuditError::Write(e)) => assert_eq!(e.kind(), io::ErrorKind::BrokenPipe),
            other => panic!("{format}: expected a write error, got {other:?}"),
        }
    }
}

#[test]
fn formats_read_from_their_names() {
    assert_eq!("jsonl".parse::<Format>(), Ok(Format::Jsonl));
    assert_eq!("csv".parse::<Format>(), Ok(Format::Csv));
    assert_eq!("CSV".parse::<Format>(), Ok(Format::Csv));
    let error = "json".parse::<Format>().unwrap_err();
    assert!(error.contains("\"json\"") && error.contains("jsonl") && error.contains("csv"), "{error}");
    assert_eq!(<Format as clap::ValueEnum>::from_str("jsonl", false), Ok(Format::Jsonl));
    assert_eq!(<Format as clap::ValueEnum>::from_str("csv", false), Ok(Format::Csv));
    assert_eq!(Format::default(), Format::Jsonl);
    assert_eq!(Format::Csv.to_string(), "csv");
}

fn clinic() -> TimeZone {
    TimeZone::get("America/New_York").unwrap()
}

#[test]
fn since_reads_dates_clinic_times_and_instants() {
    let tz = clinic();
    // A date is midnight at the clinic (EST, UTC-5, in November).
    assert_eq!(audit::parse_since("2026-11-29", &tz), Ok(at("2026-11-29T05:00:00Z")));
    // A date and time without an offset is clinic time.
    assert_eq!(audit::parse_since("2026-11-29 14:00", &tz), Ok(at("2026-11-29T19:00:00Z")));
    assert_eq!(audit::parse_since("2026-11-29 14:00:30", &tz), Ok(at("2026-11-29T19:00:30Z")));
    assert_eq!(audit::parse_since("2026-11-29T14:00", &tz), Ok(at("2026-11-29T19:00:00Z")));
    // Summer time at the clinic (EDT, UTC-4).
    assert_eq!(audit::parse_since("2026-07-01 14:00", &tz), Ok(at("2026-07-01T18:00:00Z")));
    // An instant with its offset is that instant, whatever the clinic's zone.
    assert_eq!(audit::parse_since("2026-11-29T14:00:00Z", &tz), Ok(at("2026-11-29T14:00:00Z")));
    assert_eq!(audit::parse_since("2026-11-29T14:00:00+01:00", &tz), Ok(at("2026-11-29T13:00:00Z")));
    assert_eq!(audit::parse_since("2026-11-29T14:00[Europe/Paris]", &tz), Ok(at("2026-11-29T13:00:00Z")));
    // Surrounding spaces are ignored.
    assert_eq!(audit::parse_since("  2026-11-29\n", &tz), Ok(at("2026-11-29T05:00:00Z")));
    // A clock time skipped by the spring change moves forward (02:30 -> 03:30 EDT).
    assert_eq!(audit::parse_since("2026-03-08 02:30", &tz), Ok(at("2026-03-08T07:30:00Z")));
    // A clock time that happens twice in the autumn change means the earlier (01:30 EDT).
    assert_eq!(audit::parse_since("2026-11-01 01:30", &tz), Ok(at("2026-11-01T05:30:00Z")));
    // In UTC a date is midnight UTC.
    assert_eq!(audit::parse_since("2026-11-29", &TimeZone::UTC), Ok(at("2026-11-29T00:00:00Z")));
}

#[test]
fn since_explains_what_it_cannot_read() {
    let tz = clinic();
    for bad in [
        "",
        "   ",
        "yesterday",
        "29/11/2026",
        "2026-13-01",
        "2026-11-31",
        "2026-11-29 25:00",
        "14:00",
        "2026-11-29T14:00:00Z extra",
        "2026-11-29T14:00[Mars/Olympus]",
    ] {
        let error = audit::parse_since(bad, &tz).expect_err(bad);
        assert!(error.contains("2026-11-29 14:00") && error.contains("2026-11-29T14:00:00Z"), "{bad:?}: {error}");
        if !bad.trim().is_empty() {
            assert!(error.contains(&format!("{:?}", bad.trim())), "{bad:?}: {error}");
        }
    }
}
