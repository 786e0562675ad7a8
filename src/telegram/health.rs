//! What `/healthz` answers from: when a Bot API call last succeeded (set by the tasks that make
//! them), and a probe that the store still takes a write and a flush.

use super::Shared;
use crate::store::StoreError;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// The health of the service, shared by its tasks.
pub(crate) struct Health {
    started: Instant,
    /// Milliseconds from `started` to the last successful Bot API call, plus one; 0: none yet.
    telegram_ok: AtomicU64,
    /// Held while the update offset is written, so that the probe's rewrite of the current offset
    /// never puts back an older one between intake's read and write.
    offset: Mutex<()>,
    /// When each outbox item was first seen, for the outbox age gauges.
    pub outbox_ages: crate::metrics::OutboxAges,
}

impl Health {
    pub(crate) fn new() -> Health {
        Health {
            started: Instant::now(),
            telegram_ok: AtomicU64::new(0),
            offset: Mutex::new(()),
            outbox_ages: Default::default(),
        }
    }

    /// A Bot API call succeeded (or Telegram delivered an update to the webhook).
    pub(crate) fn telegram_ok(&self) {
        let millis = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX - 1);
        self.telegram_ok.fetch_max(millis + 1, Ordering::Relaxed);
    }

    /// How long ago a Bot API call last succeeded; `None` before the first.
    pub(crate) fn since_telegram_ok(&self) -> Option<Duration> {
        match self.telegram_ok.load(Ordering::Relaxed) {
            0 => None,
            at => Some(self.started.elapsed().saturating_sub(Duration::from_millis(at - 1))),
        }
    }

    /// Taken around every write of the update offset (`Store::receive`).
    pub(crate) fn offset_lock(&self) -> MutexGuard<'_, ()> {
        self.offset.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Whether the store takes a write and makes it durable: the update offset is written again with
/// the value it has (a tiny meta record), then flushed. Before the first update there is no
/// offset to rewrite, and only the flush and a read are checked. Blocking: run it off the runtime.
pub(crate) fn probe_store(shared: &Shared) -> Result<(), StoreError> {
    {
        let _guard = shared.health.offset_lock();
        if let Some(offset) = shared.store.next_offset()? {
            shared.store.receive(&[], offset)?;
        }
    }
    shared.store.flush()
}

/// `Ok` when healthy, else why not.
pub(crate) fn check(shared: &Shared) -> Result<(), String> {
    probe_store(shared).map_err(|e| format!("store: {e}"))?;
    let stale_after = shared.config.http.telegram_stale_after;
    match shared.health.since_telegram_ok() {
        None => Err("telegram: no Bot API call has succeeded yet".to_string()),
        Some(age) if age > stale_after => Err(format!(
            "telegram: no Bot API call has succeeded for {} (limit {})",
            humantime::format_duration(Duration::from_secs(age.as_secs())),
            humantime::format_duration(stale_after)
        )),
        Some(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn telegram_freshness_starts_unknown_and_is_recent_after_a_success() {
        let health = Health::new();
        assert_eq!(health.since_telegram_ok(), None);
        health.telegram_ok();
        assert!(health.since_telegram_ok().is_some_and(|age| age < Duration::from_secs(5)));
    }
}
