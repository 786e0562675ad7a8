//! The store contract: one suite, run against the in-memory and the sled implementation.

use aftercare::escalation::{Event, Incident, State};
use aftercare::store::{
    BackupItem, Lane, MemoryStore, Outgoing, OutgoingKind, PatientId, ProcessedUpdate, SledStore, Store, StoreError,
    FORGOTTEN_SUMMARY,
};
use aftercare::triage::dialogue::check_ins::DueCheckIn;
use aftercare::triage::dialogue::{
    AuditEvent, Button, Conversation, Episode, Pending, Question, Queued, Route, ScreenAnswer, Treatment, Trend, YesNo,
};
use aftercare::triage::Disposition;
use jiff::Timestamp;

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

/// A conversation with every field set, so a round trip proves the whole record.
pub(crate) fn full_conversation() -> Conversation {
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
    assert_eq!(store.inbox_head(1).unwrap(), [(11, b"{\"a\":1}".to_vec())], "oldest first");

    let patient = PatientId(5);
    let conversation = full_conversation();
    let page = message(Lane::Urgent, 99, "page").then(message(Lane::Urgent, 5, "alerted"));
    let outgoing = [message(Lane::Routine, 5, "first"), message(Lane::Routine, 5, "second"), page];
    let audit = [event("2026-06-10T12:00:00Z", "message")];
    store
        .commit(&ProcessedUpdate {
            conversation: Some(&conversation),
            audit: &audit,
            outgoing: &outgoing,
            ..ProcessedUpdate::empty(11, at("2026-06-10T12:00:00Z"), patient)
        })
        .unwrap();
    assert!(store.outbox_keys(Lane::Routine, 10).unwrap().is_empty(), "nothing is sent before it is durable");
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
    let keys: Vec<_> = routine.iter().map(|(key, _)| *key).collect();
    assert_eq!(store.outbox_keys(Lane::Routine, 1).unwrap(), keys[..1], "the head of the lane");
    assert_eq!(store.outbox_keys(Lane::Routine, 10).unwrap(), keys);
    assert_eq!(store.outbox_item(keys[1]).unwrap().as_ref(), Some(&routine[1].1));
    store.delivered(urgent[0].0).unwrap();
    assert_eq!(store.outbox_item(urgent[0].0).unwrap(), None, "gone once delivered");
    assert!(store.outbox(Lane::Urgent).unwrap().is_empty(), "what follows waits for a flush...");
    store.flush().unwrap();
    assert_eq!(texts(&store.outbox(Lane::Urgent).unwrap()), ["alerted"], "...then takes its place");
    store.delivered(routine[0].0).unwrap();
    assert_eq!(texts(&store.outbox(Lane::Routine).unwrap()), ["second"]);

    // Incidents are stored with the update that opened them, and by the paging timer.
    let mut incident = sample_incident("E-2345", patient.0);
    store
        .commit(&ProcessedUpdate {
            outgoing: &[message(Lane::Urgent, 501, "page")],
            incidents: std::slice::from_ref(&incident),
            ..ProcessedUpdate::empty(20, at("2026-06-10T12:05:00Z"), patient)
        })
        .unwrap();
    assert_eq!(store.incident("E-2345").unwrap(), Some(incident.clone()));
    assert_eq!(store.open_incidents().unwrap(), vec![incident.clone()]);
    incident.state = aftercare::escalation::State::Resolved;
    store.save_incidents(std::slice::from_ref(&incident), &[message(Lane::Urgent, 5, "seen")]).unwrap();
    assert_eq!(store.incident("E-2345").unwrap().unwrap().state, aftercare::escalation::State::Resolved);
    assert!(store.open_incidents().unwrap().is_empty(), "resolved incidents are not open");
    store.flush().unwrap();
    assert!(texts(&store.outbox(Lane::Urgent).unwrap()).contains(&"seen".to_string()));
    assert_eq!(store.incident("E-XXXX").unwrap(), None);

    // Forgetting in a commit removes the conversation.
    store
        .commit(&ProcessedUpdate { forget: true, ..ProcessedUpdate::empty(12, at("2026-06-20T12:00:00Z"), patient) })
        .unwrap();
    assert_eq!(store.conversation(patient).unwrap(), None);
    assert_eq!(store.prune_processed(at("2026-06-15T00:00:00Z")).unwrap(), 2);
    assert!(!store.was_processed(11).unwrap() && store.was_processed(12).unwrap());
}

fn check_in(number: u32, time: &str) -> DueCheckIn {
    DueCheckIn { number, due_at: at(time) }
}

/// Whose check-ins are scheduled (at any time), in due order.
fn scheduled(store: &dyn Store) -> Vec<(i64, u32)> {
    let all = store.due_check_ins(at("2100-01-01T00:00:00Z")).unwrap();
    all.iter().map(|c| (c.patient.0, c.check_in.number)).collect()
}

/// An incident of `patient` with words in its summary and in its events' details.
fn incident_with_words(id: &str, patient: i64, state: State) -> Incident {
    let mut incident = sample_incident(id, patient);
    incident.summary = "[URGENT] patient wrote: my chest hurts since the session".into();
    incident.state = state;
    incident.acknowledged_by = Some("Dr Rivera".into());
    incident.events = vec![
        Event { at: at("2026-06-10T12:00:00Z"), actor: "bot".into(), kind: "triggered".into(), detail: "x".into() },
        Event {
            at: at("2026-06-10T12:20:00Z"),
            actor: "Dr Rivera".into(),
            kind: "resolved".into(),
            detail: "called her, she is fine".into(),
        },
    ];
    incident
}

/// The `/forget` part of the contract: the conversation and check-ins go, resolved incidents
/// are anonymised at once and open ones when they are resolved; nobody else is touched.
fn forget_contract(store: &dyn Store) {
    let (ann, bob) = (PatientId(41), PatientId(42));
    let conversation = full_conversation();
    let resolved = incident_with_words("U-AAAA", ann.0, State::Resolved);
    let open = incident_with_words("E-BBBB", ann.0, State::Acknowledged);
    let bobs = incident_with_words("U-CCCC", bob.0, State::Resolved);
    let ann_plan = [check_in(1, "2026-06-10T16:00:00Z"), check_in(2, "2026-06-11T12:00:00Z")];
    let bob_plan = [check_in(1, "2026-06-10T17:00:00Z")];
    let audit = [event("2026-06-10T12:00:00Z", "message")];
    let incidents = [resolved.clone(), open.clone()];
    store
        .commit(&ProcessedUpdate {
            conversation: Some(&conversation),
            audit: &audit,
            incidents: &incidents,
            schedule: Some(&ann_plan),
            ..ProcessedUpdate::empty(1, at("2026-06-10T12:00:00Z"), ann)
        })
        .unwrap();
    store
        .commit(&ProcessedUpdate {
            conversation: Some(&conversation),
            audit: &audit,
            incidents: std::slice::from_ref(&bobs),
            schedule: Some(&bob_plan),
            ..ProcessedUpdate::empty(2, at("2026-06-10T12:00:00Z"), bob)
        })
        .unwrap();
    assert_eq!(scheduled(store), [(41, 1), (42, 1), (41, 2)]);

    store.forget(ann).unwrap();
    store.flush().unwrap();
    assert_eq!(store.conversation(ann).unwrap(), None);
    assert_eq!(scheduled(store), [(42, 1)], "the patient's check-ins go, nobody else's");
    let anonymous = store.incident("U-AAAA").unwrap().unwrap();
    assert_eq!(anonymous.patient, 0);
    assert_eq!(anonymous.summary, FORGOTTEN_SUMMARY);
    assert!(!anonymous.summary.contains("chest"));
    assert!(anonymous.events.iter().all(|e| e.detail.is_empty()), "event details may quote the patient");
    let kinds_and_times = |i: &Incident| i.events.iter().map(|e| (e.kind.clone(), e.at)).collect::<Vec<_>>();
    assert_eq!(kinds_and_times(&anonymous), kinds_and_times(&resolved));
    assert_eq!(
        (&anonymous.id, anonymous.disposition, &anonymous.intent, anonymous.state, anonymous.created),
        (&resolved.id, resolved.disposition, &resolved.intent, resolved.state, resolved.created)
    );
    // An open incident keeps the patient's chat while staff may still need to reach them...
    assert_eq!(store.incident("E-BBBB").unwrap(), Some(open.clone()));
    assert_eq!(store.open_incidents().unwrap(), vec![open.clone()]);
    // ...and is anonymised when it is saved resolved, however it is saved.
    let mut paged_again = open.clone();
    paged_again.level = 1;
    store.save_incidents(std::slice::from_ref(&paged_again), &[]).unwrap();
    assert_eq!(store.incident("E-BBBB").unwrap(), Some(paged_again.clone()), "still open: still the patient's");
    let mut closed = paged_again;
    closed.state = State::Resolved;
    store.save_incidents(std::slice::from_ref(&closed), &[]).unwrap();
    let closed = store.incident("E-BBBB").unwrap().unwrap();
    assert_eq!((closed.patient, closed.summary.as_str(), closed.state), (0, FORGOTTEN_SUMMARY, State::Resolved));
    // Bob is untouched; audit events stay.
    assert_eq!(store.incident("U-CCCC").unwrap(), Some(bobs));
    assert_eq!(store.conversation(bob).unwrap(), Some(conversation.clone()));
    assert_eq!(store.audit(None).unwrap().len(), 2);

    // A new incident of a patient who came back is theirs: the mark was for the old one.
    let later = incident_with_words("U-DDDD", ann.0, State::Resolved);
    store.save_incidents(std::slice::from_ref(&later), &[]).unwrap();
    assert_eq!(store.incident("U-DDDD").unwrap(), Some(later));

    // `forget` in a commit does the same, including for the incidents it writes, and what
    // was scheduled with it.
    let bobs_open = incident_with_words("E-EEEE", bob.0, State::Triggered);
    let bobs_resolved = incident_with_words("U-FFFF", bob.0, State::Resolved);
    let forget_audit = [event("2026-06-10T13:00:00Z", "forget")];
    store
        .commit(&ProcessedUpdate {
            conversation: Some(&conversation),
            forget: true,
            audit: &forget_audit,
            incidents: &[bobs_open.clone(), bobs_resolved],
            schedule: Some(&[]),
            ..ProcessedUpdate::empty(3, at("2026-06-10T13:00:00Z"), bob)
        })
        .unwrap();
    assert_eq!(store.conversation(bob).unwrap(), None);
    assert!(scheduled(store).is_empty());
    for id in ["U-CCCC", "U-FFFF"] {
        let incident = store.incident(id).unwrap().unwrap();
        assert_eq!((incident.patient, incident.summary.as_str()), (0, FORGOTTEN_SUMMARY), "{id}");
    }
    assert_eq!(store.incident("E-EEEE").unwrap(), Some(bobs_open.clone()));
    assert!(store.was_processed(3).unwrap());
    assert_eq!(store.audit(None).unwrap().len(), 3, "the forget event is recorded");
    let mut resolved_by_staff = bobs_open;
    resolved_by_staff.state = State::Resolved;
    store
        .commit(&ProcessedUpdate {
            incidents: std::slice::from_ref(&resolved_by_staff),
            ..ProcessedUpdate::empty(4, at("2026-06-10T14:00:00Z"), PatientId(900))
        })
        .unwrap();
    assert_eq!(store.incident("E-EEEE").unwrap().unwrap().patient, 0);

    // The older `forget` is the same operation.
    let carol = PatientId(43);
    let carols = incident_with_words("U-GGGG", carol.0, State::Resolved);
    store
        .commit(&ProcessedUpdate {
            conversation: Some(&conversation),
            incidents: std::slice::from_ref(&carols),
            schedule: Some(&bob_plan),
            ..ProcessedUpdate::empty(5, at("2026-06-10T12:00:00Z"), carol)
        })
        .unwrap();
    store.forget(carol).unwrap();
    assert_eq!(store.conversation(carol).unwrap(), None);
    assert!(scheduled(store).is_empty());
    assert_eq!(store.incident("U-GGGG").unwrap().unwrap().patient, 0);
}

/// Retention: a conversation goes when its last activity is before the cutoff, with its
/// check-ins; activity is the time of the last commit (or, for `save`, of its audit events).
fn retention_contract(store: &dyn Store) {
    let (old, recent, saved, returning, bare, steady) =
        (PatientId(1), PatientId(2), PatientId(3), PatientId(4), PatientId(5), PatientId(6));
    let mut first_seen_long_ago = full_conversation();
    first_seen_long_ago.first_seen = Some(at("2025-01-01T00:00:00Z"));
    let plan = [check_in(1, "2026-01-01T14:00:00Z")];
    let conversation = full_conversation(); // its own times are all on 2026-06-10
    let commit = |id, time, patient, plan: Option<&[DueCheckIn]>| {
        store
            .commit(&ProcessedUpdate {
                conversation: Some(&conversation),
                schedule: plan,
                ..ProcessedUpdate::empty(id, at(time), patient)
            })
            .unwrap()
    };
    commit(1, "2026-07-01T10:00:00Z", old, Some(&plan));
    commit(2, "2026-09-01T10:00:00Z", recent, Some(&[check_in(1, "2026-09-01T14:00:00Z")]));
    store
        .commit(&ProcessedUpdate {
            conversation: Some(&first_seen_long_ago),
            ..ProcessedUpdate::empty(3, at("2026-09-01T10:00:00Z"), returning)
        })
        .unwrap();
    store.save(saved, &Conversation::default(), &[event("2026-08-01T10:00:00Z", "message")]).unwrap();
    // A later save without audit events does not make the conversation look older.
    store.save(saved, &Conversation::default(), &[]).unwrap();
    store.save(bare, &Conversation::default(), &[]).unwrap();
    store.save(steady, &Conversation::default(), &[event("2026-08-15T00:00:00Z", "message")]).unwrap();

    assert_eq!(store.purge_conversations_older_than(at("2026-06-01T00:00:00Z")).unwrap(), 1, "only the bare one");
    assert_eq!(store.conversation(bare).unwrap(), None, "a conversation with no time at all holds nothing to keep");

    assert_eq!(store.purge_conversations_older_than(at("2026-08-15T00:00:00Z")).unwrap(), 2);
    assert_eq!(store.conversation(old).unwrap(), None);
    assert_eq!(store.conversation(saved).unwrap(), None);
    assert!(store.conversation(steady).unwrap().is_some(), "activity exactly at the cutoff is kept");
    assert!(store.conversation(recent).unwrap().is_some());
    assert!(store.conversation(returning).unwrap().is_some(), "last activity counts, not first contact");
    assert_eq!(scheduled(store), [(2, 1)], "the purged patient's check-ins go too");
    assert_eq!(store.purge_conversations_older_than(at("2026-08-15T00:00:00Z")).unwrap(), 0);

    // Activity moves the cutoff: a new commit keeps a conversation that would have gone.
    commit(4, "2026-10-01T10:00:00Z", steady, None);
    assert_eq!(store.purge_conversations_older_than(at("2026-09-15T00:00:00Z")).unwrap(), 2);
    assert!(store.conversation(steady).unwrap().is_some());
    assert_eq!(store.conversation(recent).unwrap(), None);
    assert!(store.audit(None).unwrap().len() >= 2, "audit events are not purged");
}

/// Every kind of record a store holds, written through the public API: received updates,
/// conversations (committed and saved), audit events, outgoing messages in both lanes, open and
/// resolved incidents, scheduled check-ins, and a forgotten patient's open incident.
pub(crate) fn populate(store: &dyn Store) {
    let (ann, bob) = (PatientId(-100), PatientId(7));
    store.receive(&[(11, b"{\"update_id\":11}".to_vec()), (12, b"{}".to_vec()), (13, vec![0xff, 0x00])], 14).unwrap();
    let conversation = full_conversation();
    let page = message(Lane::Urgent, 99, "page").then(message(Lane::Urgent, ann.0, "alerted"));
    let outgoing = [message(Lane::Routine, ann.0, "first"), page];
    let audit = [event("2026-06-10T12:00:00Z", "message"), event("2026-06-10T12:00:00Z", "escalated")];
    let incidents =
        [incident_with_words("E-2345", ann.0, State::Triggered), incident_with_words("U-6789", ann.0, State::Resolved)];
    let plan = [check_in(1, "2026-06-10T16:00:00Z"), check_in(2, "2026-06-11T12:00:00Z")];
    store
        .commit(&ProcessedUpdate {
            conversation: Some(&conversation),
            audit: &audit,
            outgoing: &outgoing,
            incidents: &incidents,
            schedule: Some(&plan),
            ..ProcessedUpdate::empty(11, at("2026-06-10T12:00:00Z"), ann)
        })
        .unwrap();
    store.save(bob, &Conversation::default(), &[event("2026-06-10T09:00:00Z", "command")]).unwrap();
    let bobs = incident_with_words("U-2222", bob.0, State::Acknowledged);
    store.save_incidents(std::slice::from_ref(&bobs), &[message(Lane::Urgent, 5, "seen")]).unwrap();
    store.forget(bob).unwrap(); // leaves a mark on Bob's open incident
    store.flush().unwrap();
}

/// Export and import: a second store loaded from the first exports the same records, reads
/// the same, refuses a second load, and numbers what it adds after what it loaded.
fn backup_contract(first: &dyn Store, second: &dyn Store) {
    assert!(first.is_empty().unwrap() && second.is_empty().unwrap());
    assert_eq!(first.export().unwrap(), vec![]);
    populate(first);
    assert!(!first.is_empty().unwrap());
    let items = first.export().unwrap();
    let kinds: std::collections::BTreeSet<String> =
        items.iter().map(|i| serde_json::to_value(i).unwrap()["kind"].as_str().unwrap().to_string()).collect();
    let every_kind = [
        "anonymise_on_resolve",
        "audit",
        "check_in",
        "conversation",
        "inbox",
        "incident",
        "next_offset",
        "outbox",
        "processed",
    ];
    assert_eq!(kinds, every_kind.map(String::from).into());

    second.import(&items).unwrap();
    second.flush().unwrap();
    assert_eq!(second.export().unwrap(), items);
    assert!(matches!(second.import(&items), Err(StoreError::NotEmpty)));
    assert_eq!(second.export().unwrap(), items, "a refused import changes nothing");

    for store in [first, second] {
        assert_eq!(store.next_offset().unwrap(), Some(14));
        assert_eq!(store.inbox().unwrap(), [(12, b"{}".to_vec()), (13, vec![0xff, 0x00])]);
        assert!(store.was_processed(11).unwrap());
        assert_eq!(scheduled(store), [(-100, 1), (-100, 2)]);
        assert_eq!(store.incident("E-2345").unwrap(), first.incident("E-2345").unwrap());
        assert_eq!(store.open_incidents().unwrap(), first.open_incidents().unwrap(), "open ones are found as open");
        assert_eq!(store.open_incidents_of(PatientId(-100)).unwrap().len(), 1);
        assert_eq!(store.open_incident_count().unwrap(), 2);
        assert_eq!(store.audit(None).unwrap(), first.audit(None).unwrap());
        assert_eq!(texts(&store.outbox(Lane::Urgent).unwrap()), ["page", "seen"]);
    }
    // The mark came along: Bob's incident is anonymised when resolved in the restored store.
    let mut resolved = second.incident("U-2222").unwrap().unwrap();
    resolved.state = State::Resolved;
    second.save_incidents(std::slice::from_ref(&resolved), &[]).unwrap();
    assert_eq!(second.incident("U-2222").unwrap().unwrap().patient, 0);
    // What is added after a restore goes after what was restored, in each lane.
    second.save_incidents(&[], &[message(Lane::Urgent, 5, "new")]).unwrap();
    second.flush().unwrap();
    assert_eq!(texts(&second.outbox(Lane::Urgent).unwrap()), ["page", "seen", "new"]);
    let urgent = second.outbox(Lane::Urgent).unwrap();
    second.delivered(urgent[0].0).unwrap();
    second.flush().unwrap();
    assert_eq!(texts(&second.outbox(Lane::Urgent).unwrap()), ["seen", "new", "alerted"]);
}

/// The open-incident queries: by patient, the count, and those due for paging (at the second
/// and sub-second level), kept as incidents are acknowledged, re-paged and resolved.
fn open_incidents_contract(store: &dyn Store) {
    let ids = |incidents: Vec<Incident>| incidents.into_iter().map(|i| i.id).collect::<Vec<_>>();
    let mut first = sample_incident("E-AAAA", 41);
    first.next_page_at = Some(at("2026-06-10T12:05:00.250Z"));
    let mut later_episode = sample_incident("U-BBBB", 41);
    later_episode.episode_started = at("2026-06-11T09:00:00Z");
    later_episode.next_page_at = Some(at("2026-06-11T09:10:00Z"));
    let mut other = sample_incident("E-CCCC", 42);
    other.state = State::Acknowledged;
    other.next_page_at = None;
    let closed = incident_with_words("U-DDDD", 42, State::Resolved);
    let incidents = [first.clone(), later_episode.clone(), other.clone(), closed];
    store
        .commit(&ProcessedUpdate {
            incidents: &incidents,
            ..ProcessedUpdate::empty(1, at("2026-06-10T12:00:00Z"), PatientId(41))
        })
        .unwrap();
    assert_eq!(store.open_incident_count().unwrap(), 3);
    assert_eq!(ids(store.open_incidents_of(PatientId(41)).unwrap()), ["E-AAAA", "U-BBBB"]);
    assert_eq!(ids(store.open_incidents_of(PatientId(42)).unwrap()), ["E-CCCC"], "the resolved one is not open");
    assert!(store.open_incidents_of(PatientId(43)).unwrap().is_empty());
    assert!(store.incidents_to_page(at("2026-06-10T12:05:00.249Z")).unwrap().is_empty(), "not due yet");
    assert_eq!(ids(store.incidents_to_page(at("2026-06-10T12:05:00.250Z")).unwrap()), ["E-AAAA"]);
    assert_eq!(ids(store.incidents_to_page(at("2100-01-01T00:00:00Z")).unwrap()), ["E-AAAA", "U-BBBB"]);

    // Paged again (a later deadline), acknowledged, resolved: the queries follow.
    first.level = 1;
    first.next_page_at = Some(at("2026-06-10T12:15:00Z"));
    store.save_incidents(std::slice::from_ref(&first), &[]).unwrap();
    assert!(store.incidents_to_page(at("2026-06-10T12:10:00Z")).unwrap().is_empty());
    assert_eq!(store.open_incidents_of(PatientId(41)).unwrap()[0], first);
    later_episode.state = State::Acknowledged;
    later_episode.next_page_at = None;
    store.save_incidents(std::slice::from_ref(&later_episode), &[]).unwrap();
    assert_eq!(ids(store.incidents_to_page(at("2100-01-01T00:00:00Z")).unwrap()), ["E-AAAA"]);
    other.state = State::Resolved;
    store
        .commit(&ProcessedUpdate {
            incidents: std::slice::from_ref(&other),
            ..ProcessedUpdate::empty(2, at("2026-06-10T13:00:00Z"), PatientId(42))
        })
        .unwrap();
    assert_eq!(store.open_incident_count().unwrap(), 2);
    assert!(store.open_incidents_of(PatientId(42)).unwrap().is_empty());
    assert_eq!(ids(store.open_incidents().unwrap()), ["E-AAAA", "U-BBBB"]);
}

/// The check-in schedule: a new treatment's plan replaces the old one; a done check-in leaves.
fn schedule_contract(store: &dyn Store) {
    let (ann, bob) = (PatientId(41), PatientId(42));
    let first = [check_in(1, "2026-06-10T16:00:00Z"), check_in(2, "2026-06-11T12:00:00Z")];
    store
        .commit(&ProcessedUpdate {
            schedule: Some(&first),
            ..ProcessedUpdate::empty(1, at("2026-06-10T12:00:00Z"), ann)
        })
        .unwrap();
    let bobs = [check_in(1, "2026-06-10T15:00:00Z")];
    store
        .commit(&ProcessedUpdate {
            schedule: Some(&bobs),
            ..ProcessedUpdate::empty(2, at("2026-06-10T12:00:00Z"), bob)
        })
        .unwrap();
    assert_eq!(scheduled(store), [(42, 1), (41, 1), (41, 2)]);
    let due = store.due_check_ins(at("2026-06-10T16:00:00Z")).unwrap();
    assert_eq!(due.iter().map(|c| (c.patient.0, c.check_in.number)).collect::<Vec<_>>(), [(42, 1), (41, 1)]);

    // A new treatment: Ann's old plan is replaced, Bob's is untouched.
    let second = [check_in(1, "2026-06-12T10:00:00Z")];
    store
        .commit(&ProcessedUpdate {
            schedule: Some(&second),
            ..ProcessedUpdate::empty(3, at("2026-06-12T06:00:00Z"), ann)
        })
        .unwrap();
    assert_eq!(scheduled(store), [(42, 1), (41, 1)]);
    assert_eq!(store.due_check_ins(at("2026-06-12T10:00:00Z")).unwrap()[1].check_in.due_at, at("2026-06-12T10:00:00Z"));

    // Bob's check-in went out: it leaves the schedule, and its id is marked so it never goes twice.
    store
        .commit(&ProcessedUpdate {
            check_in_done: Some(1),
            ..ProcessedUpdate::empty(-77, at("2026-06-10T15:00:01Z"), bob)
        })
        .unwrap();
    assert_eq!(scheduled(store), [(41, 1)]);
    assert!(store.was_processed(-77).unwrap());
}

#[test]
fn memory_store_meets_the_contract() {
    schedule_contract(&MemoryStore::new());
    open_incidents_contract(&MemoryStore::new());
    contract(&MemoryStore::new());
    intake_contract(&MemoryStore::new());
    forget_contract(&MemoryStore::new());
    retention_contract(&MemoryStore::new());
    backup_contract(&MemoryStore::new(), &MemoryStore::new());
}

#[test]
fn sled_store_meets_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    schedule_contract(&SledStore::open(dir.path()).unwrap());
    let dir = tempfile::tempdir().unwrap();
    open_incidents_contract(&SledStore::open(dir.path()).unwrap());
    let dir = tempfile::tempdir().unwrap();
    contract(&SledStore::open(dir.path()).unwrap());
    let dir = tempfile::tempdir().unwrap();
    intake_contract(&SledStore::open(dir.path()).unwrap());
    let dir = tempfile::tempdir().unwrap();
    forget_contract(&SledStore::open(dir.path()).unwrap());
    let dir = tempfile::tempdir().unwrap();
    retention_contract(&SledStore::open(dir.path()).unwrap());
    let (one, two) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    backup_contract(&SledStore::open(one.path()).unwrap(), &SledStore::open(two.path()).unwrap());
}

#[test]
fn backups_move_between_store_kinds() {
    let memory = MemoryStore::new();
    populate(&memory);
    let dir = tempfile::tempdir().unwrap();
    let sled = SledStore::open(dir.path()).unwrap();
    sled.import(&memory.export().unwrap()).unwrap();
    assert_eq!(sled.export().unwrap(), memory.export().unwrap());
}

#[test]
fn a_fresh_sled_store_is_empty_until_something_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = SledStore::open(dir.path()).unwrap();
        assert!(store.is_empty().unwrap(), "the schema version alone is not a record");
        store.receive(&[], 5).unwrap();
        assert!(!store.is_empty().unwrap(), "the update offset is a record");
    }
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    assert!(matches!(store.import(&[BackupItem::NextOffset { record: 3 }]), Ok(())));
    assert!(!store.is_empty().unwrap());
}

#[test]
fn a_restored_sled_store_numbers_new_items_after_the_restored_ones_across_reopening() {
    let source = MemoryStore::new();
    // A high sequence number, as a long-running store has.
    let far = aftercare::store::OutboxKey { lane: Lane::Routine as u8, sequence: 5_000_000 };
    let items = [BackupItem::Outbox { key: far, record: message(Lane::Routine, 1, "restored") }];
    source.import(&items).unwrap();
    let dir = tempfile::tempdir().unwrap();
    {
        let store = SledStore::open(dir.path()).unwrap();
        store.import(&source.export().unwrap()).unwrap();
        store.flush().unwrap();
    }
    let store = SledStore::open(dir.path()).unwrap();
    store.save_incidents(&[], &[message(Lane::Routine, 1, "new")]).unwrap();
    store.flush().unwrap();
    assert_eq!(texts(&store.outbox(Lane::Routine).unwrap()), ["restored", "new"]);
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

#[test]
fn a_data_directory_in_use_is_refused_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let _running = SledStore::open(dir.path()).unwrap();
    let error = SledStore::open(dir.path()).err().expect("a second open fails");
    assert!(matches!(error, StoreError::InUse { .. }), "{error:?}");
    assert!(error.to_string().contains("in use by another aftercare process"), "{error}");
}
