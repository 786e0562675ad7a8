//! Sending what is in the outbox, one lane per task. An item leaves the outbox only after
//! Telegram accepted it (and that is flushed, so a restart does not send it again). A 429 waits
//! its `retry_after`; a 5xx, a network error or an unreadable answer is retried with growing
//! pauses; an error that no retry can fix (the patient blocked the bot, the chat is gone) drops
//! the item with a warning so the lane keeps moving.

use super::Shared;
use crate::store::{Lane, OutboxKey, Outgoing, OutgoingKind};
use governor::{Quota, RateLimiter};
use std::collections::{HashMap, HashSet};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;
use teloxide::prelude::*;
use teloxide::types::{CallbackQueryId, InlineKeyboardButton, InlineKeyboardMarkup, MessageId};
use teloxide::{ApiError, RequestError};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;

/// How many sends a lane has in flight at once: enough to hide Telegram's round trip (tens of
/// milliseconds) and to share one flush among many deliveries (the load benchmark's flat-out
/// phase went from ~630 to ~1,500 updates/s when this went from 32 to 128).
const MAX_IN_FLIGHT: usize = 128;
/// How much of the lane a round looks at: several rounds' worth, so chats held back by their
/// per-chat pause do not starve the others.
const HEAD: usize = 8 * MAX_IN_FLIGHT;
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// How a send went.
enum Outcome {
    Sent,
    /// Telegram asked us to wait this long (429 `retry_after`).
    RetryAfter(Duration),
    /// A passing failure (5xx, network): try again after a growing pause.
    Failed,
    /// It can never succeed; `answered` when Telegram itself refused it (the connection works).
    Drop {
        reason: String,
        answered: bool,
    },
}

/// Sends the lane's outbox in rounds: each round takes the oldest waiting message of every chat
/// that may be sent to now (so each chat's messages keep their order), sends them at once within
/// `telegram.sends_per_second`, and marks the accepted ones delivered with a single flush.
pub(crate) async fn run(shared: Arc<Shared>, lane: Lane, mut shutdown: watch::Receiver<bool>) {
    let per_chat = if lane == Lane::Urgent { Duration::ZERO } else { shared.config.telegram.per_chat_interval };
    let rate = NonZeroU32::new(shared.config.telegram.sends_per_second).unwrap_or(NonZeroU32::MIN);
    let limiter = Arc::new(RateLimiter::direct(Quota::per_second(rate)));
    let mut last_sent: HashMap<i64, Instant> = HashMap::new();
    let mut backoff = Duration::from_millis(200);
    loop {
        if *shutdown.borrow() {
            return;
        }
        // Listening before the outbox is read: a commit in between still wakes this lane.
        let woken = shared.outbox_ready.notified();
        tokio::pin!(woken);
        woken.as_mut().enable();
        let items = match shared.store.outbox_head(lane, HEAD) {
            Ok(items) => {
                shared.health.outbox_ages.seen_at_head(lane, &items);
                items
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot read the outbox");
                Vec::new()
            }
        };
        let (round, mut wait) = next_round(items, &last_sent, per_chat);
        let mut sends = JoinSet::new();
        for (key, item) in round {
            let (bot, limiter) = (shared.bot.clone(), Arc::clone(&limiter));
            sends.spawn(async move {
                limiter.until_ready().await;
                let outcome = send(&bot, &item).await;
                (key, chat_of(&item), outcome)
            });
        }
        let mut delivered = Vec::new();
        let mut failed = false;
        while let Some(joined) = sends.join_next().await {
            let Ok((key, chat, outcome)) = joined else { continue };
            match outcome {
                Outcome::Sent => {
                    shared.health.telegram_ok();
                    if let Some(chat) = chat {
                        last_sent.insert(chat, Instant::now());
                    }
                    delivered.push(key);
                }
                Outcome::Drop { reason, answered } => {
                    if answered {
                        shared.health.telegram_ok();
                    }
                    tracing::warn!(?lane, reason, "message dropped: Telegram will never accept it");
                    delivered.push(key);
                }
                Outcome::RetryAfter(after) => {
                    tracing::warn!(?lane, retry_in = ?after, "rate limited by Telegram; will retry");
                    wait = wait.max(after);
                }
                Outcome::Failed => failed = true,
            }
        }
        if failed {
            tracing::warn!(?lane, retry_in = ?backoff, "send failed; will retry");
            wait = wait.max(backoff);
            backoff = (backoff * 2).min(MAX_BACKOFF);
        } else if !delivered.is_empty() {
            backoff = Duration::from_millis(200);
        }
        if !delivered.is_empty() {
            mark_delivered(&shared, &delivered);
        }
        if !wait.is_zero() {
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = woken => {}
                _ = shutdown.changed() => {}
            }
        }
    }
}

/// What to send now: the oldest item of each chat whose per-chat pause is over (and every item
/// that belongs to no chat), at most [`MAX_IN_FLIGHT`]; and how long to wait before looking again
/// when nothing is ready (zero when something is, or may be after this round).
fn next_round(
    items: Vec<(OutboxKey, Outgoing)>,
    last_sent: &HashMap<i64, Instant>,
    per_chat: Duration,
) -> (Vec<(OutboxKey, Outgoing)>, Duration) {
    if items.is_empty() {
        return (Vec::new(), Duration::from_secs(1));
    }
    let now = Instant::now();
    let mut round = Vec::new();
    let mut wait: Option<Duration> = None;
    let mut chats_seen = HashSet::new();
    for (key, item) in items {
        if round.len() == MAX_IN_FLIGHT {
            return (round, Duration::ZERO);
        }
        if let Some(chat) = chat_of(&item) {
            // A later message of a chat waits for the earlier one.
            if !chats_seen.insert(chat) {
                continue;
            }
            let ready_at = last_sent.get(&chat).map(|t| *t + per_chat);
            if let Some(ready_at) = ready_at.filter(|t| *t > now) {
                let until = ready_at - now;
                wait = Some(wait.map_or(until, |w| w.min(until)));
                continue;
            }
        }
        round.push((key, item));
    }
    let wait = if round.is_empty() { wait.unwrap_or_default() } else { Duration::ZERO };
    (round, wait)
}

fn mark_delivered(shared: &Shared, keys: &[OutboxKey]) {
    // Flushed at once: after a crash, an accepted message must not go out a second time.
    let result = keys.iter().try_for_each(|key| shared.store.delivered(*key)).and_then(|()| shared.store.flush());
    if let Err(e) = result {
        tracing::error!(error = %e, "cannot mark messages as sent; they may be sent again");
    }
    // Delivering a page can release the patient's "alerted" message into the other lane.
    shared.outbox_ready.notify_waiters();
}

fn chat_of(item: &Outgoing) -> Option<i64> {
    match item.kind() {
        OutgoingKind::Message { chat, .. } | OutgoingKind::ClearButtons { chat, .. } => Some(*chat),
        OutgoingKind::AnswerButton { .. } => None,
    }
}

async fn send(bot: &Bot, item: &Outgoing) -> Outcome {
    let result = match item.kind() {
        OutgoingKind::Message { chat, text, buttons } => {
            let mut request = bot.send_message(ChatId(*chat), text.clone());
            if !buttons.is_empty() {
                let rows =
                    buttons.iter().map(|b| vec![InlineKeyboardButton::callback(b.label.clone(), b.data.clone())]);
                request = request.reply_markup(InlineKeyboardMarkup::new(rows));
            }
            request.await.map(|_| ())
        }
        OutgoingKind::AnswerButton { callback_id } => {
            bot.answer_callback_query(CallbackQueryId(callback_id.clone())).await.map(|_| ())
        }
        OutgoingKind::ClearButtons { chat, message_id } => {
            bot.edit_message_reply_markup(ChatId(*chat), MessageId(*message_id)).await.map(|_| ())
        }
    };
    match result {
        Ok(()) => Outcome::Sent,
        Err(RequestError::RetryAfter(seconds)) => Outcome::RetryAfter(seconds.duration()),
        Err(RequestError::Api(ApiError::Unknown(_)) | RequestError::Network(_) | RequestError::InvalidJson { .. }) => {
            Outcome::Failed
        }
        // A button press already answered or a message already without buttons is fine.
        Err(RequestError::Api(ApiError::MessageNotModified | ApiError::InvalidQueryId)) => Outcome::Sent,
        Err(e @ (RequestError::Api(_) | RequestError::MigrateToChatId(_))) => {
            Outcome::Drop { reason: e.to_string(), answered: true }
        }
        Err(e) => Outcome::Drop { reason: e.to_string(), answered: false },
    }
}
