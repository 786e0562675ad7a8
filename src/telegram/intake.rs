//! Update intake by long polling: every update is stored and flushed before the next
//! `getUpdates` confirms it (by asking from a higher offset). The offset lives in the store,
//! so a restart resumes exactly where the last durable batch ended.

use super::Shared;
use std::sync::Arc;
use std::time::Duration;
use teloxide::prelude::*;
use teloxide::types::AllowedUpdate;
use tokio::sync::watch;

pub(crate) async fn run(shared: Arc<Shared>, mut shutdown: watch::Receiver<bool>) {
    let timeout = shared.config.telegram.poll_timeout.as_secs().clamp(0, 50) as u32;
    let mut delay = Duration::from_millis(200);
    while !*shutdown.borrow() {
        let offset = match shared.store.next_offset() {
            Ok(offset) => offset,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the update offset");
                None
            }
        };
        let mut request = shared.bot.get_updates().timeout(timeout).allowed_updates(vec![
            AllowedUpdate::Message,
            AllowedUpdate::EditedMessage,
            AllowedUpdate::CallbackQuery,
        ]);
        if let Some(offset) = offset {
            request = request.offset(offset as i32);
        }
        let updates = tokio::select! {
            result = request.send() => result,
            _ = shutdown.changed() => break,
        };
        if updates.is_ok() {
            shared.health.telegram_ok();
        }
        match updates {
            Ok(updates) if updates.is_empty() => delay = Duration::from_millis(200),
            Ok(updates) => {
                let next = updates.iter().map(|u| i64::from(u.id.0) + 1).max().unwrap_or_default();
                let raw: Vec<(i64, Vec<u8>)> = updates
                    .iter()
                    .filter_map(|u| serde_json::to_vec(u).ok().map(|bytes| (i64::from(u.id.0), bytes)))
                    .collect();
                // Durable before the next getUpdates confirms them to Telegram.
                let stored = {
                    let _offset = shared.health.offset_lock();
                    shared.store.receive(&raw, next)
                }
                .and_then(|()| shared.store.flush());
                match stored {
                    Ok(()) => {
                        tracing::debug!(count = raw.len(), "updates received");
                        shared.inbox_ready.notify_one();
                        delay = Duration::from_millis(200);
                    }
                    Err(e) => {
                        // Not confirmed: Telegram keeps them and sends them again.
                        tracing::error!(error = %e, "cannot store updates; they will be fetched again");
                        sleep_or_stop(&mut shutdown, delay).await;
                        delay = (delay * 2).min(Duration::from_secs(30));
                    }
                }
            }
            Err(teloxide::RequestError::RetryAfter(seconds)) => {
                sleep_or_stop(&mut shutdown, seconds.duration()).await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "getUpdates failed; retrying");
                sleep_or_stop(&mut shutdown, delay).await;
                delay = (delay * 2).min(Duration::from_secs(30));
            }
        }
    }
}

async fn sleep_or_stop(shutdown: &mut watch::Receiver<bool>, duration: Duration) {
    tokio::select! {
        _ = tokio::time::sleep(duration) => {}
        _ = shutdown.changed() => {}
    }
}
