//! The loop the bot's timers share (paging, check-ins, the daily digest): run a tick, wake the
//! senders when it queued messages, wait the period or stop.

use super::Shared;
use crate::store::StoreError;
use std::time::Duration;
use tokio::sync::watch;

/// Runs `tick` every `period` until `shutdown` turns true. A tick returns whether it queued
/// anything to send; a failed one is logged as `what` and tried again at the next period.
pub(crate) async fn every(
    shared: &Shared,
    period: Duration,
    what: &'static str,
    mut shutdown: watch::Receiver<bool>,
    tick: impl Fn(&Shared) -> Result<bool, StoreError>,
) {
    loop {
        match tick(shared) {
            Ok(true) => shared.outbox_ready.notify_waiters(),
            Ok(false) => {}
            Err(e) => tracing::error!(timer = what, error = %e, "timer failed; will try again"),
        }
        tokio::select! {
            _ = tokio::time::sleep(period) => {}
            _ = shutdown.changed() => return,
        }
    }
}
