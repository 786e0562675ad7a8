//! The paging timer: every second, any incident whose acknowledgement time has passed is paged
//! at its next level. Its deadlines live in the store (indexed, so a tick reads only the
//! incidents that are due), so they resume after a restart.

use super::Shared;
use crate::escalation::escalate_if_due;
use crate::staff;
use crate::store::Lane;
use jiff::Timestamp;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

pub(crate) async fn run(shared: Arc<Shared>, shutdown: watch::Receiver<bool>) {
    super::periodic::every(&shared, Duration::from_secs(1), "paging", shutdown, tick).await;
}

/// Pages the next level of every incident whose time is up; whether any page was queued.
fn tick(shared: &Shared) -> Result<bool, crate::store::StoreError> {
    let now = Timestamp::now();
    let paging = shared.paging();
    let mut changed = Vec::new();
    let mut outgoing = Vec::new();
    crate::metrics::incidents_open(shared.store.open_incident_count()?);
    for mut incident in shared.store.incidents_to_page(now)? {
        let pages = escalate_if_due(&mut incident, now, &paging);
        if pages.is_empty() {
            continue;
        }
        tracing::warn!(incident = %incident.id, level = incident.level + 1, "not acknowledged: paging the next level");
        for page in pages {
            outgoing.push(staff::message(Lane::Urgent, page.chat, page.text, staff::page_buttons(&page.incident)));
        }
        changed.push(incident);
    }
    if changed.is_empty() {
        return Ok(false);
    }
    // Stored and flushed before the pages go out.
    shared.store.save_incidents(&changed, &outgoing)?;
    shared.store.flush()?;
    Ok(true)
}
