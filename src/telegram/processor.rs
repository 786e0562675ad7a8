//! Processing stored updates: each one is read, run through the engine, and committed with its
//! effects in one transaction; a batch is flushed once before the senders are woken, so nothing
//! goes out about a step that is not yet safe on disk. An update already processed (read again
//! after a crash, or sent twice by Telegram) changes nothing.

use super::update::{read, Incoming};
use super::{render, Shared};
use crate::escalation::{Incident, Paging};
use crate::metrics;
use crate::staff;
use crate::store::{Lane, Outgoing, OutgoingKind, PatientId, ProcessedUpdate, StoreError};
use crate::triage::dialogue::{Action, AuditEvent, Command, Engine, Input};
use jiff::Timestamp;
use std::sync::Arc;
use std::time::{Duration, Instant};
use teloxide::types::Update;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// What the bot says in a group chat: patients are served one to one.
const GROUP_REFUSAL: &str =
    "Hello! I look after patients one to one, so I don't answer in groups. Please write to me in a private chat.";

/// Updates per flush: one flush (an fsync) is shared by up to this many, and no update waits for
/// more than this many others, or for longer than [`GROUP_COMMIT_TIME`], before its replies can
/// go out.
const GROUP_COMMIT: usize = 64;
const GROUP_COMMIT_TIME: Duration = Duration::from_millis(10);
/// Updates read from the inbox at a time.
const INBOX_BATCH: usize = 4 * GROUP_COMMIT;

/// How long processed update ids are remembered. Telegram re-delivers only within a day, and
/// may start ids afresh after a week without updates.
const REMEMBER_PROCESSED: Duration = Duration::from_secs(8 * 24 * 3600);

/// Starts the processing loop on a thread of its own; the task returned ends with it. Matching
/// is the heaviest work here, and the catalogue's regexes keep match caches (megabytes each) for
/// every thread that matches: one thread keeps one set, where tokio's workers would each grow
/// their own. Processing blocks on disk flushes too, which should not hold up a runtime worker.
pub(crate) fn start(shared: Arc<Shared>, shutdown: watch::Receiver<bool>) -> std::io::Result<JoinHandle<()>> {
    let runtime = tokio::runtime::Handle::current();
    let (done, finished) = tokio::sync::oneshot::channel::<()>();
    let inner = runtime.clone();
    std::thread::Builder::new().name("processor".into()).spawn(move || {
        inner.block_on(process_until_shutdown(shared, shutdown));
        let _ = done.send(());
    })?;
    // Ends when the loop does; fails, as a panicking task would, if the thread panicked.
    Ok(runtime.spawn(async move {
        if finished.await.is_err() {
            panic!("the processing thread panicked");
        }
    }))
}

async fn process_until_shutdown(shared: Arc<Shared>, mut shutdown: watch::Receiver<bool>) {
    let mut next_prune = tokio::time::Instant::now();
    let mut next_purge = tokio::time::Instant::now();
    loop {
        if let Some(retention) = shared.config.retention {
            if tokio::time::Instant::now() >= next_purge {
                next_purge = tokio::time::Instant::now() + Duration::from_secs(24 * 3600);
                purge_old_conversations(&shared, retention, &mut next_purge);
            }
        }
        if tokio::time::Instant::now() >= next_prune {
            next_prune += Duration::from_secs(3600);
            let cutoff =
                Timestamp::now().checked_sub(jiff::SignedDuration::try_from(REMEMBER_PROCESSED).unwrap_or_default());
            if let Ok(cutoff) = cutoff {
                match shared.store.prune_processed(cutoff) {
                    Ok(0) => {}
                    Ok(count) => tracing::debug!(count, "old processed-update marks forgotten"),
                    Err(e) => tracing::warn!(error = %e, "cannot prune processed-update marks"),
                }
            }
        }
        match process_inbox(&shared) {
            Ok(0) => {}
            Ok(count) => tracing::debug!(count, "updates processed"),
            Err(e) => tracing::error!(error = %e, "processing failed; the updates stay in the inbox"),
        }
        if *shutdown.borrow() {
            // In-flight updates are done (the loop above drained the inbox): stop.
            return;
        }
        tokio::select! {
            _ = shared.inbox_ready.notified() => {}
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = shutdown.changed() => {}
        }
    }
}

/// The retention rule: conversations idle longer than `retention` are deleted, once a day.
fn purge_old_conversations(shared: &Shared, retention: Duration, next_purge: &mut tokio::time::Instant) {
    let cutoff = jiff::SignedDuration::try_from(retention).ok().and_then(|d| Timestamp::now().checked_sub(d).ok());
    let Some(cutoff) = cutoff else { return };
    match shared.store.purge_conversations_older_than(cutoff).and_then(|n| shared.store.flush().map(|()| n)) {
        Ok(0) => {}
        Ok(count) => tracing::info!(count, "conversations past the retention period deleted"),
        Err(e) => {
            tracing::warn!(error = %e, "cannot purge old conversations; will try again in an hour");
            *next_purge = tokio::time::Instant::now() + Duration::from_secs(3600);
        }
    }
}

/// Processes everything in the inbox, a batch at a time; returns how many updates were handled.
fn process_inbox(shared: &Shared) -> Result<usize, StoreError> {
    let engine = Engine::new(&shared.catalogue, &shared.settings);
    let mut handled = 0;
    loop {
        let batch = shared.store.inbox_head(INBOX_BATCH)?;
        if batch.is_empty() {
            return Ok(handled);
        }
        let mut started = Vec::with_capacity(GROUP_COMMIT);
        for (i, (update_id, raw)) in batch.iter().enumerate() {
            started.push(Instant::now());
            process_one(shared, &engine, *update_id, raw)?;
            let last = i + 1 == batch.len();
            if last || started.len() == GROUP_COMMIT || started[0].elapsed() >= GROUP_COMMIT_TIME {
                // Group commit: one flush for the whole group, before any of it is sent.
                shared.store.flush()?;
                shared.outbox_ready.notify_waiters();
                // Each update is done when the group's flush is.
                let durable = Instant::now();
                let latencies: Vec<f64> = started.drain(..).map(|t| (durable - t).as_secs_f64()).collect();
                metrics::updates_processed(&latencies);
            }
        }
        handled += batch.len();
    }
}

/// How the incidents an update changes stood before it, for the incident metrics.
fn incidents_before(shared: &Shared, incidents: &[Incident]) -> Result<Vec<Option<Incident>>, StoreError> {
    incidents.iter().map(|i| shared.store.incident(&i.id)).collect()
}

/// Counts what a committed update did: the intents of its patient messages and its incidents'
/// changes of state (and times to acknowledge).
fn count_committed(audit: &[AuditEvent], before: &[Option<Incident>], incidents: &[Incident], now: Timestamp) {
    for event in audit.iter().filter(|e| e.kind == "message") {
        if let Some((intent, disposition)) = metrics::message_intent(&event.detail) {
            metrics::intent(intent, disposition);
        }
    }
    for (i, after) in incidents.iter().enumerate() {
        // An incident changed twice by one update counts once, as it was committed.
        if incidents[i + 1..].iter().any(|later| later.id == after.id) {
            continue;
        }
        metrics::incident_changed(before[i].as_ref(), after, now);
    }
}

fn process_one(shared: &Shared, engine: &Engine<'_>, update_id: i64, raw: &[u8]) -> Result<(), StoreError> {
    let now = Timestamp::now();
    let nothing = |patient| ProcessedUpdate::empty(update_id, now, patient);
    if shared.store.was_processed(update_id)? {
        return shared.store.commit(&nothing(PatientId(0)));
    }
    let incoming = match serde_json::from_slice::<Update>(raw) {
        Ok(update) => read(&update),
        Err(e) => {
            tracing::warn!(update_id, error = %e, "unreadable update skipped");
            Incoming::Ignore
        }
    };
    let paging = shared.paging();
    match incoming {
        Incoming::Ignore => shared.store.commit(&nothing(PatientId(0))),
        Incoming::Group { chat, from, input, callback } => {
            if !shared.is_staff_chat(chat) {
                let reply = staff::message(Lane::Routine, chat, GROUP_REFUSAL.to_string(), Vec::new());
                return shared.store.commit(&ProcessedUpdate { outgoing: &[reply], ..nothing(PatientId(chat)) });
            }
            let actor = from.and_then(|id| shared.staff_name(id)).unwrap_or_else(|| "staff".to_string());
            let effects = staff::handle(shared.store.as_ref(), &paging, chat, &actor, &input, now)?;
            commit_staff(shared, update_id, now, chat, callback, effects)
        }
        Incoming::Patient { chat, input, callback } => {
            if shared.is_staff_chat(chat) {
                if let Some((patient, when)) = staff::treated_command(&input) {
                    // Staff record a session for a patient: the patient's own dialogue records it
                    // (and schedules the check-ins); staff get a confirmation.
                    let confirm = staff::message(
                        Lane::Routine,
                        chat,
                        format!("Recorded a treatment for patient chat {patient} ({when})."),
                        Vec::new(),
                    );
                    let input = Input::Command { command: Command::Treated, argument: when };
                    return patient_step(shared, engine, &paging, update_id, now, patient, input, None, vec![confirm]);
                }
                let actor = shared.staff_name(chat).unwrap_or_else(|| "staff".to_string());
                let effects = staff::handle(shared.store.as_ref(), &paging, chat, &actor, &input, now)?;
                return commit_staff(shared, update_id, now, chat, callback, effects);
            }
            if staff::is_staff_command(&input) {
                return commit_staff(shared, update_id, now, chat, callback, staff::refuse(chat, now));
            }
            patient_step(shared, engine, &paging, update_id, now, chat, input, callback, Vec::new())
        }
    }
}

/// Answers a button press and clears its keyboard, urgently.
fn callback_effects(chat: i64, callback: Option<(String, Option<i32>)>) -> Vec<Outgoing> {
    let mut outgoing = Vec::new();
    if let Some((callback_id, message_id)) = callback {
        outgoing.push(Outgoing::new(Lane::Urgent, OutgoingKind::AnswerButton { callback_id }));
        if let Some(message_id) = message_id {
            outgoing.push(Outgoing::new(Lane::Urgent, OutgoingKind::ClearButtons { chat, message_id }));
        }
    }
    outgoing
}

fn commit_staff(
    shared: &Shared,
    update_id: i64,
    now: Timestamp,
    chat: i64,
    callback: Option<(String, Option<i32>)>,
    effects: staff::Effects,
) -> Result<(), StoreError> {
    let mut outgoing = callback_effects(chat, callback);
    outgoing.extend(effects.outgoing);
    let before = incidents_before(shared, &effects.incidents)?;
    shared.store.commit(&ProcessedUpdate {
        audit: &effects.audit,
        outgoing: &outgoing,
        incidents: &effects.incidents,
        ..ProcessedUpdate::empty(update_id, now, PatientId(chat))
    })?;
    count_committed(&effects.audit, &before, &effects.incidents, now);
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn patient_step(
    shared: &Shared,
    engine: &Engine<'_>,
    paging: &Paging<'_>,
    update_id: i64,
    now: Timestamp,
    chat: i64,
    input: Input,
    callback: Option<(String, Option<i32>)>,
    extra: Vec<Outgoing>,
) -> Result<(), StoreError> {
    let patient = PatientId(chat);
    let conversation = shared.store.conversation(patient)?.unwrap_or_default();
    let step = engine.step(&conversation, &input, now);
    tracing::debug!(chat, actions = step.actions.len(), "step");
    let mut outgoing = callback_effects(chat, callback);
    outgoing.extend(extra);
    let mut audit: Vec<AuditEvent> = Vec::new();
    let mut incidents = Vec::new();
    let mut forget = false;
    let mut schedule = None;
    outgoing.extend(reply_messages(chat, &step.actions));
    for action in &step.actions {
        match action {
            Action::Reply(_) => {}
            Action::Escalate(alert) => {
                let effects = staff::page(shared.store.as_ref(), paging, alert, chat, now)?;
                if effects.audit.iter().any(|e| e.kind == staff::PAGE_NOT_SENT) {
                    tracing::error!(chat, "nobody to page: configure [roster] or telegram.staff_chat_id");
                }
                outgoing.extend(effects.outgoing);
                audit.extend(effects.audit);
                incidents.extend(effects.incidents);
            }
            Action::Forget => {
                forget = true;
                schedule = Some(Vec::new());
            }
            Action::ScheduleCheckIns { treated_at } => {
                // A new treatment replaces the check-ins of the previous one.
                schedule = Some(shared.config.check_ins.schedule(*treated_at, &shared.config.clinic.time_zone));
            }
            Action::Record(event) => audit.push(event.clone()),
            // The follow-up queue is read from the audit events; opting out of check-ins is
            // part of the conversation (the check-in timer asks the engine, which knows).
            Action::FollowUp(_) | Action::CheckIns { .. } => {}
        }
    }
    let before = incidents_before(shared, &incidents)?;
    shared.store.commit(&ProcessedUpdate {
        conversation: Some(&step.conversation),
        forget,
        audit: &audit,
        outgoing: &outgoing,
        incidents: &incidents,
        schedule: schedule.as_deref(),
        ..ProcessedUpdate::empty(update_id, now, patient)
    })?;
    count_committed(&audit, &before, &incidents, now);
    Ok(())
}

/// The messages of a step's replies to a patient, split and with their buttons.
pub(crate) fn reply_messages(chat: i64, actions: &[Action]) -> Vec<Outgoing> {
    let mut outgoing = Vec::new();
    for reply in actions.iter().filter_map(Action::as_reply) {
        let lane = if reply.urgent { Lane::Urgent } else { Lane::Routine };
        let parts = render::split(reply);
        let last = parts.len().saturating_sub(1);
        for (i, text) in parts.into_iter().enumerate() {
            let buttons = if i == last { render::valid_buttons(&reply.buttons) } else { Vec::new() };
            outgoing.push(staff::message(lane, chat, text, buttons));
        }
    }
    outgoing
}
