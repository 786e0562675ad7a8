//! Persistence behind a small trait, with an in-memory implementation for tests and a sled one
//! for real use; one contract test suite (tests/it/store.rs) runs against both.
//!
//! Durability is explicit: `save` records a step, `flush` makes everything saved so far durable.
//! An adapter saves a batch of steps, flushes once (group commit), and only then sends the
//! replies: nothing is reported as done before it is safe on disk.

mod memory;
pub mod record;
mod sled_store;

pub use memory::MemoryStore;
pub use sled_store::SledStore;

use crate::triage::dialogue::{AuditEvent, Conversation};
use jiff::Timestamp;

/// A patient, identified by their private chat with the bot (a Telegram chat id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PatientId(pub i64);

impl PatientId {
    /// Big-endian key bytes that sort in numeric order (sign bit flipped).
    pub fn key(self) -> [u8; 8] {
        ((self.0 as u64) ^ (1 << 63)).to_be_bytes()
    }

    pub fn from_key(bytes: &[u8]) -> Option<PatientId> {
        let array: [u8; 8] = bytes.try_into().ok()?;
        Some(PatientId((u64::from_be_bytes(array) ^ (1 << 63)) as i64))
    }
}

/// An audit event with the patient it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub patient: PatientId,
    pub event: AuditEvent,
}

/// What can go wrong in a store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("storage error: {0}")]
    Sled(#[from] sled::Error),
    #[error("cannot prepare the data directory {path}: {source}")]
    Directory { path: String, source: std::io::Error },
    #[error("a stored record cannot be read: {0}")]
    Corrupt(String),
    #[error("the data directory was written by a newer version (schema {found}, this build reads up to {supported})")]
    NewerSchema { found: u32, supported: u32 },
}

/// The persistence the dialogue needs.
pub trait Store: Send + Sync {
    /// The patient's conversation, if any.
    fn conversation(&self, patient: PatientId) -> Result<Option<Conversation>, StoreError>;

    /// Records one step: the new conversation and its audit events, together (atomically).
    /// Not durable until [`Store::flush`].
    fn save(&self, patient: PatientId, conversation: &Conversation, audit: &[AuditEvent]) -> Result<(), StoreError>;

    /// Makes everything saved so far durable.
    fn flush(&self) -> Result<(), StoreError>;

    /// Deletes the patient's conversation (audit events, which hold no patient text, stay).
    fn forget(&self, patient: PatientId) -> Result<(), StoreError>;

    /// Audit events at or after `since`, oldest first.
    fn audit(&self, since: Option<Timestamp>) -> Result<Vec<AuditEntry>, StoreError>;
}

/// The audit key: time (big-endian nanoseconds), then patient, then a sequence number, so that
/// keys sort by time and never collide.
fn audit_key(at: Timestamp, patient: PatientId, sequence: u64) -> [u8; 24] {
    let nanos = at.as_nanosecond().clamp(0, i64::MAX as i128) as u64;
    let mut key = [0u8; 24];
    key[..8].copy_from_slice(&nanos.to_be_bytes());
    key[8..16].copy_from_slice(&patient.key());
    key[16..].copy_from_slice(&sequence.to_be_bytes());
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patient_keys_sort_numerically_and_round_trip() {
        let ids = [-5i64, -1, 0, 1, 42, i64::MAX, i64::MIN];
        for id in ids {
            assert_eq!(PatientId::from_key(&PatientId(id).key()), Some(PatientId(id)));
        }
        assert!(PatientId(-1).key() < PatientId(0).key());
        assert!(PatientId(0).key() < PatientId(7).key());
    }
}
