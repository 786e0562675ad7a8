//! `aftercare backup` / `restore` as library functions: a populated sled store round-trips
//! through a JSON Lines file into a fresh data directory, and bad files or a non-empty
//! directory are refused without changing anything.

use crate::store::{full_conversation, populate};
use aftercare::cli::backup::{backup, backup_to_file, restore, restore_from_file, BackupError, FORMAT_VERSION};
use aftercare::store::{Lane, PatientId, SledStore, Store, SCHEMA_VERSION};
use jiff::Timestamp;

fn backup_bytes(store: &dyn Store) -> Vec<u8> {
    let mut out = Vec::new();
    backup(store, &mut out).unwrap();
    out
}

/// A populated store in a temporary data directory.
fn populated() -> (tempfile::TempDir, SledStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    populate(&store);
    (dir, store)
}

/// Everything the adapters read, for comparing two stores.
fn reads(store: &dyn Store) -> String {
    let far = "2100-01-01T00:00:00Z".parse::<Timestamp>().unwrap();
    format!(
        "{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}",
        store.conversation(PatientId(-100)).unwrap(),
        store.conversation(PatientId(7)).unwrap(),
        store.incident("E-2345").unwrap(),
        store.incident("U-6789").unwrap(),
        store.open_incidents().unwrap(),
        store.outbox(Lane::Urgent).unwrap(),
        store.outbox(Lane::Routine).unwrap(),
        store.due_check_ins(far).unwrap(),
        store.audit(None).unwrap(),
        store.inbox().unwrap(),
        (store.next_offset().unwrap(), store.was_processed(11).unwrap()),
    )
}

#[test]
fn a_populated_store_round_trips_through_a_backup() {
    let (_dir, original) = populated();
    let first = backup_bytes(&original);

    let target = tempfile::tempdir().unwrap();
    let restored = SledStore::open(target.path()).unwrap();
    let count = restore(&restored, first.as_slice()).unwrap();
    assert_eq!(count, first.iter().filter(|&&b| b == b'\n').count() - 1, "every line but the header");

    let second = backup_bytes(&restored);
    assert_eq!(String::from_utf8_lossy(&second), String::from_utf8_lossy(&first), "the same file again");
    assert_eq!(reads(&restored), reads(&original));
    assert_eq!(restored.conversation(PatientId(-100)).unwrap(), Some(full_conversation()));
    assert!(restored.open_incidents().unwrap().iter().any(|i| i.id == "E-2345"));

    // Restored means durable: it is all there after reopening.
    drop(restored);
    let reopened = SledStore::open(target.path()).unwrap();
    assert_eq!(reads(&reopened), reads(&original));
    assert_eq!(backup_bytes(&reopened), first);
}

#[test]
fn the_file_is_versioned_json_lines_with_a_header() {
    let (_dir, store) = populated();
    let text = String::from_utf8(backup_bytes(&store)).unwrap();
    let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let header = &lines[0];
    assert_eq!(header["backup"], FORMAT_VERSION);
    assert_eq!(header["kind"], "header");
    assert_eq!(header["schema"], SCHEMA_VERSION);
    assert_eq!(header["records"], lines.len() - 1);
    assert!(text.starts_with(r#"{"backup":1,"kind":"header","#), "{text}");
    for line in &lines[1..] {
        assert_eq!(line["backup"], FORMAT_VERSION, "{line}");
        assert!(line["kind"].is_string(), "{line}");
    }
    let conversation = lines.iter().find(|l| l["kind"] == "conversation" && l["key"] == -100).unwrap();
    assert_eq!(conversation["record"]["v"], "1", "records keep their own version");
    let inbox: Vec<&serde_json::Value> = lines.iter().filter(|l| l["kind"] == "inbox").collect();
    assert_eq!(inbox[0]["record"], "{}", "raw updates are kept as text");
    assert_eq!(inbox[1]["record"], serde_json::json!([255, 0]), "and bytes that are not text as numbers");
    assert!(text.lines().nth(1).unwrap().starts_with(r#"{"backup":1,"kind":"next_offset","record":14}"#));
}

#[test]
fn backup_files_are_private_and_replaced_whole() {
    let (_dir, store) = populated();
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("aftercare.jsonl");
    std::fs::write(&path, "an older backup\n").unwrap();
    let count = backup_to_file(&store, &path).unwrap();
    let written = std::fs::read(&path).unwrap();
    assert_eq!(written, backup_bytes(&store));
    assert!(!folder.path().join("aftercare.jsonl.partial").exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "a backup holds patient data");
    }
    let target = tempfile::tempdir().unwrap();
    let restored = SledStore::open(target.path()).unwrap();
    assert_eq!(restore_from_file(&restored, &path).unwrap(), count);
    assert_eq!(reads(&restored), reads(&store));
    let missing = restore_from_file(&restored, &folder.path().join("nope.jsonl")).unwrap_err();
    assert!(missing.to_string().contains("nope.jsonl"), "{missing}");
}

#[test]
fn a_data_directory_that_is_not_empty_is_refused_and_left_alone() {
    let (_dir, source) = populated();
    let file = backup_bytes(&source);
    let (_other, target) = populated();
    let before = backup_bytes(&target);
    let error = restore(&target, file.as_slice()).unwrap_err();
    assert!(matches!(error, BackupError::NotEmpty), "{error:?}");
    assert!(error.to_string().contains("not empty"), "{error}");
    assert_eq!(backup_bytes(&target), before);

    // Even just an update offset makes a directory not empty.
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    store.receive(&[], 1).unwrap();
    assert!(matches!(restore(&store, file.as_slice()), Err(BackupError::NotEmpty)));
}

/// Restores `text` into a fresh store; the error, and whether the store stayed empty.
fn restore_text(text: &str) -> (BackupError, bool) {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    let error = restore(&store, text.as_bytes()).unwrap_err();
    (error, store.is_empty().unwrap())
}

#[test]
fn bad_files_are_refused_and_restore_nothing() {
    let (_dir, store) = populated();
    let good = String::from_utf8(backup_bytes(&store)).unwrap();
    let lines: Vec<&str> = good.lines().collect();

    // Cut off: the header says how many records follow.
    let cut = lines[..lines.len() - 2].join("\n");
    let (error, empty) = restore_text(&cut);
    assert!(matches!(error, BackupError::Incomplete { found, expected } if expected == found + 2), "{error:?}");
    assert!(empty, "nothing is restored from a bad file");

    // A line that does not read: its number.
    let mut broken = lines.clone();
    broken[3] = r#"{"backup":1,"kind":"conversation","key":"not a patient","record":{}}"#;
    let (error, empty) = restore_text(&broken.join("\n"));
    assert!(matches!(error, BackupError::Line { line: 4, .. }), "{error:?}");
    assert!(error.to_string().starts_with("line 4: "), "{error}");
    assert!(empty);

    // Newer versions are refused, not guessed at.
    let newer_format = good.replacen(r#"{"backup":1,"kind":"header""#, r#"{"backup":2,"kind":"header""#, 1);
    let (error, _) = restore_text(&newer_format);
    assert!(matches!(error, BackupError::NewerFormat { found: 2, supported: 1 }), "{error:?}");
    let current = format!(r#""schema":{SCHEMA_VERSION}"#);
    assert!(good.contains(&current), "the header names the current schema: {good}");
    let newer_schema = good.replacen(&current, r#""schema":99"#, 1);
    let (error, _) = restore_text(&newer_schema);
    assert!(matches!(error, BackupError::NewerSchema { found: 99, .. }), "{error:?}");
    assert!(error.to_string().contains("newer version"), "{error}");

    // Not a backup at all.
    let (error, _) = restore_text("");
    assert!(matches!(error, BackupError::NoHeader), "{error:?}");
    let (error, _) = restore_text(&lines[1..].join("\n"));
    assert!(matches!(error, BackupError::Line { line: 1, .. }), "{error:?}");
    let dev_set = std::fs::read_to_string(crate::repo_path("tests/data/dev.jsonl")).unwrap();
    let (error, _) = restore_text(&dev_set);
    assert!(matches!(error, BackupError::Line { line: 1, .. }), "{error:?}");
    let (error, _) = restore_text(&format!("{}\n{}", lines[0], lines[0]));
    assert!(matches!(error, BackupError::Line { line: 2, .. }), "a second header: {error:?}");
}

#[test]
fn an_empty_store_backs_up_to_a_header_alone_and_restores() {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    let mut out = Vec::new();
    assert_eq!(backup(&store, &mut out).unwrap(), 0);
    assert_eq!(String::from_utf8(out.clone()).unwrap().lines().count(), 1);
    let target = tempfile::tempdir().unwrap();
    let restored = SledStore::open(target.path()).unwrap();
    assert_eq!(restore(&restored, out.as_slice()).unwrap(), 0);
    assert!(restored.is_empty().unwrap());
}
