//! What waits to go out to Telegram, stored before it is sent so that nothing is lost in a
//! crash: messages, answers to button presses, and buttons to clear. Two lanes: `Urgent`
//! (emergency instructions, pages to staff, button answers) is never stuck behind `Routine`.
//!
//! Readers of the outbox see only what a flush has made durable ([`Unflushed`]): a reply must
//! not go out about a step that a crash could still undo.

use crate::triage::dialogue::Button;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// A sending lane; each is drained by its own sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Lane {
    Urgent = 0,
    Routine = 1,
}

/// One thing to send. Versioned like every stored record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "v")]
pub enum Outgoing {
    #[serde(rename = "1")]
    V1(OutgoingV1),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutgoingV1 {
    pub lane: Lane,
    pub kind: OutgoingKind,
    /// Queued once this one was accepted (e.g. "the on-call clinician has been alerted" after the page).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub then: Option<Box<Outgoing>>,
}

/// The Bot API call to make.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OutgoingKind {
    Message { chat: i64, text: String, buttons: Vec<Button> },
    AnswerButton { callback_id: String },
    ClearButtons { chat: i64, message_id: i32 },
}

impl Outgoing {
    pub fn new(lane: Lane, kind: OutgoingKind) -> Self {
        Outgoing::V1(OutgoingV1 { lane, kind, then: None })
    }

    /// The same, followed by `next` once accepted.
    pub fn then(self, next: Outgoing) -> Self {
        let Outgoing::V1(mut item) = self;
        item.then = Some(Box::new(next));
        Outgoing::V1(item)
    }

    pub fn lane(&self) -> Lane {
        let Outgoing::V1(item) = self;
        item.lane
    }

    pub fn kind(&self) -> &OutgoingKind {
        let Outgoing::V1(item) = self;
        &item.kind
    }

    pub fn next(&self) -> Option<&Outgoing> {
        let Outgoing::V1(item) = self;
        item.then.as_deref()
    }
}

/// Where an outgoing item sits in the outbox: its lane, then its order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct OutboxKey {
    pub lane: u8,
    pub sequence: u64,
}

impl OutboxKey {
    pub fn bytes(self) -> [u8; 9] {
        let mut key = [0u8; 9];
        key[0] = self.lane;
        key[1..].copy_from_slice(&self.sequence.to_be_bytes());
        key
    }

    pub fn from_bytes(bytes: &[u8]) -> Option<OutboxKey> {
        let (&lane, rest) = bytes.split_first()?;
        Some(OutboxKey { lane, sequence: u64::from_be_bytes(rest.try_into().ok()?) })
    }
}

/// The outbox keys not yet made durable, which the store hides from the outbox's readers. A key
/// is hidden before its write begins (so no reader sees it in between) and becomes ready once the
/// write has completed; a flush releases the keys that were ready when it began, since it covers
/// every write completed before it ([`Unflushed::before_flush`], then [`Unflushed::flushed`]).
/// Keys still being written, or written meanwhile, wait for the next flush.
#[derive(Debug, Default)]
pub struct Unflushed(Mutex<HashMap<OutboxKey, bool>>);

impl Unflushed {
    fn lock(&self) -> MutexGuard<'_, HashMap<OutboxKey, bool>> {
        // Each change is one insert or remove: a poisoned map is still whole.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `write`, which stores outbox items under `keys`, with the keys hidden from its start;
    /// they are ready for the next flush once it succeeded, and forgotten if it failed.
    pub fn write<T, E>(&self, keys: &[OutboxKey], write: impl FnOnce() -> Result<T, E>) -> Result<T, E> {
        self.lock().extend(keys.iter().map(|key| (*key, false)));
        let result = write();
        let mut unflushed = self.lock();
        for key in keys {
            if result.is_ok() {
                unflushed.insert(*key, true);
            } else {
                unflushed.remove(key);
            }
        }
        result
    }

    /// The keys a flush beginning now makes durable.
    pub fn before_flush(&self) -> Vec<OutboxKey> {
        self.lock().iter().filter(|(_, ready)| **ready).map(|(key, _)| *key).collect()
    }

    /// That flush succeeded.
    pub fn flushed(&self, keys: &[OutboxKey]) {
        let mut unflushed = self.lock();
        for key in keys {
            unflushed.remove(key);
        }
    }

    /// The first `limit` of `keys` (as a store reads them) that are durable, in order.
    pub fn durable<E>(
        &self,
        keys: impl IntoIterator<Item = Result<OutboxKey, E>>,
        limit: usize,
    ) -> Result<Vec<OutboxKey>, E> {
        let unflushed = self.lock();
        let mut durable = Vec::new();
        for key in keys {
            if durable.len() == limit {
                break;
            }
            let key = key?;
            if !unflushed.contains_key(&key) {
                durable.push(key);
            }
        }
        Ok(durable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(sequence: u64) -> OutboxKey {
        OutboxKey { lane: Lane::Routine as u8, sequence }
    }

    fn visible(unflushed: &Unflushed, keys: &[OutboxKey]) -> Vec<OutboxKey> {
        unflushed.durable(keys.iter().map(|k| Ok::<_, ()>(*k)), usize::MAX).unwrap()
    }

    #[test]
    fn an_item_is_visible_only_after_a_flush_that_began_after_its_write() {
        let unflushed = Unflushed::default();
        let (one, two) = (key(1), key(2));
        unflushed
            .write(&[one], || {
                // Mid-write: hidden, and not covered by a flush beginning now.
                assert!(visible(&unflushed, &[one]).is_empty());
                assert!(unflushed.before_flush().is_empty());
                Ok::<(), ()>(())
            })
            .unwrap();
        let flush = unflushed.before_flush();
        assert_eq!(flush, [one]);
        unflushed.write(&[two], || Ok::<(), ()>(())).unwrap(); // written while that flush runs
        unflushed.flushed(&flush);
        assert_eq!(visible(&unflushed, &[one, two]), [one], "the later write waits for the next flush");
        unflushed.flushed(&unflushed.before_flush());
        assert_eq!(visible(&unflushed, &[one, two]), [one, two]);
    }

    #[test]
    fn a_failed_write_leaves_nothing_behind() {
        let unflushed = Unflushed::default();
        assert!(unflushed.write(&[key(3)], || Err::<(), &str>("disk full")).is_err());
        assert!(unflushed.before_flush().is_empty());
        assert_eq!(visible(&unflushed, &[key(4)]), [key(4)]);
    }
}
