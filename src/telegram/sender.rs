//! Sending what is in the outbox, one lane per task. An item leaves the outbox only after
//! Telegram accepted it (and that is flushed, so a restart does not send it again). A 429 waits
//! its `retry_after`; a 5xx, a network error or an unreadable answer is retried with growing
//! pauses; an error that no retry can fix (the patient blocked the bot, the chat is gone) drops
//! the item with a warning so the lane keeps moving.

use super::Shared;
use crate::store::{Lane, OutboxKey, Outgoing, OutgoingKind, Store, StoreError};
use governor::{Quota, RateLimiter};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;
use teloxide::prelude::*;
use teloxide::types::{CallbackQueryId, InlineKeyboardButton, InlineKeyboardMarkup, MessageId};
use teloxide::{ApiError, RequestError};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
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

/// Sends the lane's outbox continuously: up to [`MAX_IN_FLIGHT`] sends at once, each the oldest
/// waiting item of a chat that has nothing in flight and whose per-chat pause is over (so each
/// chat's messages keep their order), within `telegram.sends_per_second`. Accepted items are
/// marked delivered in batches, one flush a batch, while the next sends go out. On shutdown it
/// starts nothing new, and returns once what is in flight is done and marked.
pub(crate) async fn run(shared: Arc<Shared>, lane: Lane, mut shutdown: watch::Receiver<bool>) {
    let per_chat = if lane == Lane::Urgent { Duration::ZERO } else { shared.config.telegram.per_chat_interval };
    let rate = NonZeroU32::new(shared.config.telegram.sends_per_second).unwrap_or(NonZeroU32::MIN);
    let limiter = Arc::new(RateLimiter::direct(Quota::per_second(rate)));
    let mut head = Head::default();
    let mut flight = Flight::default();
    let mut pacing = Pacing::default();
    let mut sends = JoinSet::new();
    let mut marking: Option<(Vec<OutboxKey>, JoinHandle<()>)> = None;
    let mut woken = Box::pin(shared.outbox_ready.notified());
    // The head must be read again: at the start, when woken, after marking, after a pause.
    let mut stale = true;
    loop {
        let stopping = *shutdown.borrow();
        if stopping && sends.is_empty() && marking.is_none() && flight.accepted.is_empty() {
            return;
        }
        if marking.is_none() && !flight.accepted.is_empty() {
            let keys = std::mem::take(&mut flight.accepted);
            let (shared, batch) = (shared.clone(), keys.clone());
            marking = Some((keys, tokio::task::spawn_blocking(move || mark_delivered(&shared, &batch))));
        }
        let now = Instant::now();
        let mut wait = IDLE;
        match pacing.paused_until.filter(|until| *until > now) {
            _ if stopping => {}
            Some(until) => wait = until - now,
            None => {
                if stale {
                    // Listening before the outbox is read: a flush in between still wakes this lane.
                    woken.set(shared.outbox_ready.notified());
                    woken.as_mut().enable();
                    match head.refresh(shared.store.as_ref(), lane) {
                        Ok(keys) => shared.health.outbox_ages.seen_at_head(lane, &keys),
                        Err(e) => {
                            tracing::error!(error = %e, "cannot read the outbox");
                            head.items.clear();
                        }
                    }
                    stale = false;
                }
                let room = MAX_IN_FLIGHT - sends.len();
                let (ready, next_ready) = next_sends(&head.items, &flight, &pacing.last_sent, per_chat, room);
                wait = next_ready.unwrap_or(IDLE);
                for (key, item) in ready {
                    let chat = chat_of(&item);
                    let (bot, limiter) = (shared.bot.clone(), Arc::clone(&limiter));
                    let task = sends.spawn(async move {
                        limiter.until_ready().await;
                        send(&bot, &item).await
                    });
                    flight.start(task.id(), key, chat);
                }
            }
        }
        tokio::select! {
            Some(first) = sends.join_next_with_id() => {
                // Every send that is over, so the head is looked at once for all of them.
                let mut over = vec![first];
                while let Some(more) = sends.try_join_next_with_id() {
                    over.push(more);
                }
                for joined in over {
                    let (id, outcome) = match joined {
                        Ok((id, outcome)) => (id, outcome),
                        // A send that panicked is tried again, like one that failed.
                        Err(e) => (e.id(), Outcome::Failed),
                    };
                    if let Some((key, chat)) = flight.end(id) {
                        pacing.settle(&shared, lane, &mut flight, key, chat, outcome);
                    }
                }
            }
            _ = async {
                match marking.as_mut() {
                    Some((_, task)) => drop(task.await),
                    None => std::future::pending().await,
                }
            } => {
                if let Some((keys, _)) = marking.take() {
                    flight.marked(&keys);
                }
                stale = true;
            }
            _ = &mut woken, if !stale => stale = true,
            _ = tokio::time::sleep(wait) => stale = true,
            _ = shutdown.changed() => {}
        }
    }
}

/// When a lane may send: the last send to each chat, and a pause after a failure or a 429.
struct Pacing {
    last_sent: HashMap<i64, Instant>,
    paused_until: Option<Instant>,
    backoff: Duration,
}

impl Default for Pacing {
    fn default() -> Self {
        Pacing { last_sent: HashMap::new(), paused_until: None, backoff: FIRST_BACKOFF }
    }
}

impl Pacing {
    /// Records how a send went: accepted (or never acceptable) items wait to be marked
    /// delivered; the others go back to the outbox, after a pause for the whole lane.
    fn settle(
        &mut self,
        shared: &Shared,
        lane: Lane,
        flight: &mut Flight,
        key: OutboxKey,
        chat: Option<i64>,
        outcome: Outcome,
    ) {
        match outcome {
            Outcome::Sent => {
                shared.health.telegram_ok();
                if let Some(chat) = chat {
                    self.last_sent.insert(chat, Instant::now());
                }
                flight.accepted.push(key);
                self.backoff = FIRST_BACKOFF;
            }
            Outcome::Drop { reason, answered } => {
                if answered {
                    shared.health.telegram_ok();
                }
                tracing::warn!(?lane, reason, "message dropped: Telegram will never accept it");
                flight.accepted.push(key);
            }
            Outcome::RetryAfter(after) => {
                tracing::warn!(?lane, retry_in = ?after, "rate limited by Telegram; will retry");
                flight.retry(key);
                self.pause(after);
            }
            Outcome::Failed => {
                tracing::warn!(?lane, retry_in = ?self.backoff, "send failed; will retry");
                flight.retry(key);
                self.pause(self.backoff);
                self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
            }
        }
    }

    fn pause(&mut self, wait: Duration) {
        self.paused_until = self.paused_until.max(Some(Instant::now() + wait));
    }
}

const FIRST_BACKOFF: Duration = Duration::from_millis(200);

/// How long an idle lane waits before reading its outbox again, woken or not.
const IDLE: Duration = Duration::from_secs(1);

/// What a lane has out: the sends in flight (by task, with their item and chat), and the items
/// Telegram accepted that are not yet marked delivered. Neither is sent again meanwhile.
#[derive(Default)]
struct Flight {
    sending: HashMap<tokio::task::Id, (OutboxKey, Option<i64>)>,
    chats: HashSet<i64>,
    /// In flight, accepted, or being marked.
    taken: HashSet<OutboxKey>,
    accepted: Vec<OutboxKey>,
}

impl Flight {
    fn start(&mut self, task: tokio::task::Id, key: OutboxKey, chat: Option<i64>) {
        self.sending.insert(task, (key, chat));
        self.chats.extend(chat);
        self.taken.insert(key);
    }

    /// A send is over; its item stays taken until it is marked or retried.
    fn end(&mut self, task: tokio::task::Id) -> Option<(OutboxKey, Option<i64>)> {
        let (key, chat) = self.sending.remove(&task)?;
        if let Some(chat) = chat {
            self.chats.remove(&chat);
        }
        Some((key, chat))
    }

    fn retry(&mut self, key: OutboxKey) {
        self.taken.remove(&key);
    }

    /// Marked delivered (or the marking failed, and they wait in the outbox to go again).
    fn marked(&mut self, keys: &[OutboxKey]) {
        for key in keys {
            self.taken.remove(key);
        }
    }
}

/// The first [`HEAD`] items of a lane, decoded once: each round reads only the keys, and
/// decodes just the items it has not seen (a waiting item never changes; what follows it after
/// delivery comes under a new key). Decoding the whole head every round was most of the bot's
/// work in the load benchmark.
#[derive(Default)]
struct Head {
    items: BTreeMap<OutboxKey, Outgoing>,
}

impl Head {
    /// Catches up with the lane; returns its keys as read.
    fn refresh(&mut self, store: &dyn Store, lane: Lane) -> Result<Vec<OutboxKey>, StoreError> {
        let keys = store.outbox_keys(lane, HEAD)?;
        let mut items = BTreeMap::new();
        for key in &keys {
            let item = match self.items.remove(key) {
                Some(item) => Some(item),
                None => store.outbox_item(*key)?,
            };
            // Gone between the two reads (only this sender delivers from its lane): skipped.
            items.extend(item.map(|item| (*key, item)));
        }
        self.items = items;
        Ok(keys)
    }
}

/// What may go now, oldest first: for each chat with nothing in flight, its oldest item not yet
/// taken, once its per-chat pause is over (items of no chat always), at most `room`; and, when a
/// pause holds something back, how long until the first one ends.
fn next_sends(
    items: &BTreeMap<OutboxKey, Outgoing>,
    flight: &Flight,
    last_sent: &HashMap<i64, Instant>,
    per_chat: Duration,
    room: usize,
) -> (Vec<(OutboxKey, Outgoing)>, Option<Duration>) {
    let now = Instant::now();
    let mut ready = Vec::new();
    let mut wait: Option<Duration> = None;
    let mut chats_seen = HashSet::new();
    for (key, item) in items {
        if ready.len() == room {
            break;
        }
        if flight.taken.contains(key) {
            continue;
        }
        if let Some(chat) = chat_of(item) {
            // A later message of a chat waits for the earlier one.
            if !chats_seen.insert(chat) || flight.chats.contains(&chat) {
                continue;
            }
            let ready_at = last_sent.get(&chat).map(|t| *t + per_chat);
            if let Some(ready_at) = ready_at.filter(|t| *t > now) {
                let until = ready_at - now;
                wait = Some(wait.map_or(until, |w| w.min(until)));
                continue;
            }
        }
        ready.push((*key, item.clone()));
    }
    (ready, wait)
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
