//! The daily digest of the follow-up queue, posted to the staff group (or the staff chat) at
//! `telegram.digest_at` in the clinic's time zone. Each day's digest is committed with an id of
//! its own (from the date), so it goes out once, even across a restart.

use super::Shared;
use crate::staff;
use crate::store::{Lane, PatientId, ProcessedUpdate, StoreError};
use jiff::Timestamp;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

pub(crate) async fn run(shared: Arc<Shared>, shutdown: watch::Receiver<bool>) {
    let Some(digest_at) = shared.config.telegram.digest_at else { return };
    let tick = |shared: &Shared| post_if_due(shared, digest_at);
    super::periodic::every(&shared, Duration::from_secs(20), "follow-up digest", shutdown, tick).await;
}

fn post_if_due(shared: &Shared, digest_at: jiff::civil::Time) -> Result<bool, StoreError> {
    let now = Timestamp::now();
    let local = now.to_zoned_datetime(shared.config.clinic.time_zone.clone());
    let Some(chat) = shared.config.roster.staff_group.or(shared.config.telegram.staff_chat_id) else {
        return Ok(false);
    };
    if local.time() < digest_at {
        return Ok(false);
    }
    // One id per calendar day, below every Telegram update id and check-in id range used.
    let date = local.date();
    let day = i64::from(date.year()) * 10_000 + i64::from(date.month()) * 100 + i64::from(date.day());
    let digest_id = -(1_i64 << 62) - day;
    if shared.store.was_processed(digest_id)? {
        return Ok(false);
    }
    let since = now.checked_sub(jiff::SignedDuration::from_hours(24)).unwrap_or(now);
    let queue = staff::follow_up_queue(&shared.store.audit(Some(since))?);
    let text = if queue.is_empty() {
        "Daily follow-up digest: nothing in the queue.".to_string()
    } else {
        format!("Daily follow-up digest (last 24 hours):\n{}", queue.join("\n"))
    };
    let message = staff::message(Lane::Routine, chat, text, Vec::new());
    shared.store.commit(&ProcessedUpdate {
        outgoing: std::slice::from_ref(&message),
        ..ProcessedUpdate::empty(digest_id, now, PatientId(chat))
    })?;
    shared.store.flush()?;
    Ok(true)
}
