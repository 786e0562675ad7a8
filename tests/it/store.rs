//! The store contract: one suite, run against the in-memory and the sled implementation.

use aftercare::store::{MemoryStore, PatientId, SledStore, Store};
use aftercare::triage::dialogue::{
    AuditEvent, Button, Conversation, Episode, Pending, Question, Queued, Route, ScreenAnswer, Treatment, Trend, YesNo,
};
use aftercare::triage::Disposition;
use jiff::Timestamp;

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

/// A conversation with every field set, so a round trip proves the whole record.
fn full_conversation() -> Conversation {
    Conversation {
        first_seen: Some(at("2026-06-10T10:00:00Z")),
        treatment: Some(Treatment { at: at("2026-06-10T09:00:00Z"), route: Some(Route::NasalSpray) }),
        treatment_asked: true,
        check_ins_off: true,
        episode: Some(Episode {
            started: at("2026-06-10T10:05:00Z"),
            intent: "dizziness".into(),
            disposition: Disposition::Urgent,
            reasons: vec!["fainted or fell and got hurt".into()],
            answers: vec![ScreenAnswer { intent: "dizziness".into(), question: "Fell?".into(), answer: YesNo::Unsure }],
            severity: Some(7),
            trend: Some(Trend::Worse),
            current: Disposition::SelfCare,
            paged: Some(Disposition::Urgent),
            followed_up: vec!["bladder_urinary".into()],
            self_harm: false,
        }),
        pending: Some(Pending {
            question: Question::Screen { intent: "dizziness".into(), index: 1 },
            asked_at: at("2026-06-10T10:06:00Z"),
            then: Some("headache".into()),
        }),
        queue: vec![Queued::Intent("headache".into(), Disposition::SelfCare), Queued::Confirm("chest_cardiac".into())],
        recent: vec!["I fell over".into(), "héllo 😴".into()],
        offered: vec![Button::new("Yes", "yes")],
    }
}

fn event(time: &str, kind: &str) -> AuditEvent {
    AuditEvent { at: at(time), kind: kind.into(), detail: "d".into() }
}

fn contract(store: &dyn Store) {
    let alice = PatientId(-100);
    let bob = PatientId(7);
    assert_eq!(store.conversation(alice).unwrap(), None);

    let conversation = full_conversation();
    store.save(alice, &conversation, &[event("2026-06-10T10:00:00Z", "message")]).unwrap();
    store.save(bob, &Conversation::default(), &[event("2026-06-10T09:00:00Z", "command")]).unwrap();
    store.flush().unwrap();
    assert_eq!(store.conversation(alice).unwrap(), Some(conversation.clone()));
    assert_eq!(store.conversation(bob).unwrap(), Some(Conversation::default()));

    let mut changed = conversation;
    changed.queue.clear();
    store.save(alice, &changed, &[event("2026-06-10T11:00:00Z", "escalated")]).unwrap();
    assert_eq!(store.conversation(alice).unwrap(), Some(changed));

    let audit = store.audit(None).unwrap();
    let kinds: Vec<&str> = audit.iter().map(|e| e.event.kind.as_str()).collect();
    assert_eq!(kinds, ["command", "message", "escalated"], "oldest first");
    assert_eq!(audit[0].patient, bob);
    let since = store.audit(Some(at("2026-06-10T10:00:00Z"))).unwrap();
    assert_eq!(since.len(), 2);

    store.forget(alice).unwrap();
    assert_eq!(store.conversation(alice).unwrap(), None);
    assert!(store.conversation(bob).unwrap().is_some(), "forgetting one patient keeps the others");
    assert_eq!(store.audit(None).unwrap().len(), 3, "audit events hold no patient text and stay");
}

#[test]
fn memory_store_meets_the_contract() {
    contract(&MemoryStore::new());
}

#[test]
fn sled_store_meets_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    contract(&SledStore::open(dir.path()).unwrap());
}

#[test]
fn sled_store_keeps_data_across_reopening() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = SledStore::open(dir.path()).unwrap();
        store.save(PatientId(1), &full_conversation(), &[]).unwrap();
        store.flush().unwrap();
    }
    let store = SledStore::open(dir.path()).unwrap();
    assert_eq!(store.conversation(PatientId(1)).unwrap(), Some(full_conversation()));
}

#[cfg(unix)]
#[test]
fn the_data_directory_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("nested/data");
    let _store = SledStore::open(&data).unwrap();
    let mode = std::fs::metadata(&data).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700);
}
