//! The check-in timer: every second, each scheduled check-in that has fallen due is sent
//! through the engine (which skips it for a patient who opted out or is mid-question), or
//! skipped when it was missed by more than the grace period. Each is committed like an update
//! with an id of its own, so it goes out at most once, even across a crash.

use super::processor::reply_messages;
use super::Shared;
use crate::store::{ProcessedUpdate, ScheduledCheckIn, StoreError};
use crate::triage::dialogue::check_ins::Decision;
use crate::triage::dialogue::{Action, AuditEvent, Engine, Input};
use jiff::Timestamp;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

pub(crate) async fn run(shared: Arc<Shared>, shutdown: watch::Receiver<bool>) {
    super::periodic::every(&shared, Duration::from_secs(1), "check-ins", shutdown, tick).await;
}

/// A stable id for a check-in, in the negative range so it never meets a Telegram update id.
fn check_in_update_id(due: &ScheduledCheckIn) -> i64 {
    let mut hash: u64 = 0xcbf29ce484222325;
    let bytes = due.patient.0.to_be_bytes().into_iter().chain(due.check_in.due_at.as_second().to_be_bytes());
    for byte in bytes.chain(due.check_in.number.to_be_bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x100000001b3);
    }
    -((hash >> 2) as i64) - 1
}

fn tick(shared: &Shared) -> Result<bool, StoreError> {
    let now = Timestamp::now();
    let due = shared.store.due_check_ins(now)?;
    if due.is_empty() {
        return Ok(false);
    }
    let engine = Engine::new(&shared.catalogue, &shared.settings);
    for item in &due {
        let update_id = check_in_update_id(item);
        let patient = item.patient;
        let number = item.check_in.number;
        let done = |conversation, audit, outgoing| ProcessedUpdate {
            conversation,
            audit,
            outgoing,
            check_in_done: Some(number),
            ..ProcessedUpdate::empty(update_id, now, patient)
        };
        if shared.store.was_processed(update_id)? {
            shared.store.commit(&done(None, &[], &[]))?;
            continue;
        }
        match shared.config.check_ins.decide(item.check_in.due_at, now) {
            Decision::Wait => {}
            Decision::Skip => {
                let skipped =
                    [AuditEvent { at: now, kind: "check_in_missed".into(), detail: format!("number={number}") }];
                shared.store.commit(&done(None, &skipped, &[]))?;
            }
            Decision::Send => {
                let conversation = shared.store.conversation(patient)?.unwrap_or_default();
                let step = engine.step(&conversation, &Input::CheckInDue { number }, now);
                let audit: Vec<AuditEvent> = step
                    .actions
                    .iter()
                    .filter_map(|a| if let Action::Record(e) = a { Some(e.clone()) } else { None })
                    .collect();
                let outgoing = reply_messages(patient.0, &step.actions);
                shared.store.commit(&done(Some(&step.conversation), &audit, &outgoing))?;
            }
        }
    }
    shared.store.flush()?;
    Ok(true)
}
