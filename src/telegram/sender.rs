//! Sending what is in the outbox, one lane per task. An item leaves the outbox only after
//! Telegram accepted it (and that is flushed, so a restart does not send it again). A 429 waits
//! its `retry_after`; a 5xx, a network error or an unreadable answer is retried with growing
//! pauses; an error that no retry can fix (the patient blocked the bot, the chat is gone) drops
//! the item with a warning so the lane keeps moving.

use super::Shared;
use crate::store::{Lane, OutboxKey, Outgoing, OutgoingKind};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use teloxide::prelude::*;
use teloxide::types::{CallbackQueryId, InlineKeyboardButton, InlineKeyboardMarkup, MessageId};
use teloxide::{ApiError, RequestError};
use tokio::sync::watch;
use tokio::time::Instant;

/// Telegram allows about 30 messages a second in all; keep a little under.
const MIN_GAP: Duration = Duration::from_millis(35);
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

pub(crate) async fn run(shared: Arc<Shared>, lane: Lane, mut shutdown: watch::Receiver<bool>) {
    let per_chat = if lane == Lane::Urgent { Duration::ZERO } else { shared.config.telegram.per_chat_interval };
    let mut last_sent: HashMap<i64, Instant> = HashMap::new();
    let mut backoff = Duration::from_millis(200);
    loop {
        if *shutdown.borrow() {
            return;
        }
        let items = match shared.store.outbox(lane) {
            Ok(items) => {
                shared.health.outbox_ages.observe(lane, &items);
                items
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot read the outbox");
                Vec::new()
            }
        };
        let mut wait = if items.is_empty() { Duration::from_secs(1) } else { Duration::ZERO };
        let mut held: Vec<i64> = Vec::new();
        for (key, item) in items {
            let chat = chat_of(&item);
            // Keep each chat's messages in order: once one waits, the later ones wait too.
            if let Some(chat) = chat {
                if held.contains(&chat) {
                    continue;
                }
                let ready_at = last_sent.get(&chat).map(|t| *t + per_chat);
                if let Some(ready_at) = ready_at.filter(|t| *t > Instant::now()) {
                    held.push(chat);
                    let until = ready_at - Instant::now();
                    wait = if wait.is_zero() { until } else { wait.min(until) };
                    continue;
                }
            }
            match send(&shared.bot, &item).await {
                Outcome::Sent => {
                    shared.health.telegram_ok();
                    backoff = Duration::from_millis(200);
                    if let Some(chat) = chat {
                        last_sent.insert(chat, Instant::now());
                    }
                    mark_delivered(&shared, key);
                }
                Outcome::Drop { reason, answered } => {
                    if answered {
                        shared.health.telegram_ok();
                    }
                    tracing::warn!(?lane, reason, "message dropped: Telegram will never accept it");
                    mark_delivered(&shared, key);
                }
                Outcome::RetryAfter(after) => {
                    tracing::warn!(?lane, retry_in = ?after, "rate limited by Telegram; will retry");
                    wait = after;
                    break;
                }
                Outcome::Failed => {
                    tracing::warn!(?lane, retry_in = ?backoff, "send failed; will retry");
                    wait = backoff;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    break;
                }
            }
            tokio::time::sleep(MIN_GAP).await;
        }
        if !wait.is_zero() {
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = shared.outbox_ready.notified() => {}
                _ = shutdown.changed() => {}
            }
        }
    }
}

fn mark_delivered(shared: &Shared, key: OutboxKey) {
    // Flushed at once: after a crash, an accepted message must not go out a second time.
    let result = shared.store.delivered(key).and_then(|()| shared.store.flush());
    if let Err(e) = result {
        tracing::error!(error = %e, "cannot mark a message as sent; it may be sent again");
    }
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
