//! The store contract: one suite, run against the in-memory and the sled implementation.

use aftercare::store::{Lane, MemoryStore, Outgoing, OutgoingKind, PatientId, ProcessedUpdate, SledStore, Store};
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

fn message(lane: Lane, chat: i64, text: &str) -> Outgoing {
    Outgoing::new(lane, OutgoingKind::Message { chat, text: text.into(), buttons: vec![] })
}

fn texts(items: &[(aftercare::store::OutboxKey, Outgoing)]) -> Vec<String> {
    items
        .iter()
        .map(|(_, item)| match item.kind() {
            OutgoingKind::Message { text, .. } => text.clone(),
            other => format!("{other:?}"),
        })
        .collect()
}

fn sample_incident(id: &str, patient: i64) -> aftercare::escalation::Incident {
    aftercare::escalation::Incident {
        id: id.into(),
        patient,
        episode_started: at("2026-06-10T12:00:00Z"),
        disposition: Disposition::Emergency,
        intent: "breathing_difficulty".into(),
        summary: "[EMERGENCY] ...".into(),
        state: aftercare::escalation::State::Triggered,
        created: at("2026-06-10T12:00:00Z"),
        level: 0,
        next_page_at: Some(at("2026-06-10T12:05:00Z")),
        acknowledged_by: None,
        events: vec![],
    }
}

/// The update intake, processing and outbox part of the contract.
fn intake_contract(store: &dyn Store) {
    assert_eq!(store.next_offset().unwrap(), None);
    store.receive(&[(11, b"{\"a\":1}".to_vec()), (12, b"{}".to_vec())], 13).unwrap();
    assert_eq!(store.next_offset().unwrap(), Some(13));
    assert_eq!(store.inbox().unwrap().iter().map(|(id, _)| *id).collect::<Vec<_>>(), [11, 12]);

    let patient = PatientId(5);
    let conversation = full_conversation();
    let page = message(Lane::Urgent, 99, "page").then(message(Lane::Urgent, 5, "alerted"));
    let outgoing = [message(Lane::Routine, 5, "first"), message(Lane::Routine, 5, "second"), page];
    let audit = [event("2026-06-10T12:00:00Z", "message")];
    store
        .commit(&ProcessedUpdate {
            update_id: 11,
            at: at("2026-06-10T12:00:00Z"),
            patient,
            conversation: Some(&conversation),
            forget: false,
            audit: &audit,
            outgoing: &outgoing,
            incidents: &[],
            schedule: None,
            check_in_done: None,
        })
        .unwrap();
    store.flush().unwrap();
    assert!(store.was_processed(11).unwrap());
    assert!(!store.was_processed(12).unwrap());
    assert_eq!(store.inbox().unwrap().len(), 1, "a processed update leaves the inbox");
    assert_eq!(store.conversation(patient).unwrap(), Some(conversation));
    assert_eq!(store.audit(None).unwrap().len(), 1);

    // A processed update that arrives again is not taken in again.
    store.receive(&[(11, b"{}".to_vec())], 13).unwrap();
    assert_eq!(store.inbox().unwrap().len(), 1);

    let routine = store.outbox(Lane::Routine).unwrap();
    assert_eq!(texts(&routine), ["first", "second"], "in order, per lane");
    let urgent = store.outbox(Lane::Urgent).unwrap();
    assert_eq!(texts(&urgent), ["page"]);
    store.delivered(urgent[0].0).unwrap();
    assert_eq!(texts(&store.outbox(Lane::Urgent).unwrap()), ["alerted"], "what follows takes its place");
    store.delivered(routine[0].0).unwrap();
    assert_eq!(texts(&store.outbox(Lane::Routine).unwrap()), ["second"]);

    // Incidents are stored with the update that opened them, and by the paging timer.
    let mut incident = sample_incident("E-2345", patient.0);
    store
        .commit(&ProcessedUpdate {
            update_id: 20,
            at: at("2026-06-10T12:05:00Z"),
            patient,
            conversation: None,
            forget: false,
            audit: &[],
            outgoing: &[message(Lane::Urgent, 501, "page")],
            incidents: std::slice::from_ref(&incident),
            schedule: None,
            check_in_done: None,
        })
        .unwrap();
    assert_eq!(store.incident("E-2345").unwrap(), Some(incident.clone()));
    assert_eq!(store.open_incidents().unwrap(), vec![incident.clone()]);
    incident.state = aftercare::escalation::State::Resolved;
    store.save_incidents(std::slice::from_ref(&incident), &[message(Lane::Urgent, 5, "seen")]).unwrap();
    assert_eq!(store.incident("E-2345").unwrap().unwrap().state, aftercare::escalation::State::Resolved);
    assert!(store.open_incidents().unwrap().is_empty(), "resolved incidents are not open");
    assert!(texts(&store.outbox(Lane::Urgent).unwrap()).contains(&"seen".to_string()));
    assert_eq!(store.incident("E-XXXX").unwrap(), None);

    // Forgetting in a commit removes the conversation.
    store
        .commit(&ProcessedUpdate {
            update_id: 12,
            at: at("2026-06-20T12:00:00Z"),
            patient,
            conversation: None,
            forget: true,
            audit: &[],
            outgoing: &[],
            incidents: &[],
            schedule: None,
            check_in_done: None,
        })
        .unwrap();
    assert_eq!(store.conversation(patient).unwrap(), None);
    assert_eq!(store.prune_processed(at("2026-06-15T00:00:00Z")).unwrap(), 2);
    assert!(!store.was_processed(11).unwrap() && store.was_processed(12).unwrap());
}

#[test]
fn memory_store_meets_the_contract() {
    contract(&MemoryStore::new());
    intake_contract(&MemoryStore::new());
}

#[test]
fn sled_store_meets_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    contract(&SledStore::open(dir.path()).unwrap());
    let dir = tempfile::tempdir().unwrap();
    intake_contract(&SledStore::open(dir.path()).unwrap());
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
