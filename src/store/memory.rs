//! An in-memory store for tests and throwaway runs. It keeps the stored record form, so the
//! same conversions run as with sled.

use super::record::ConversationRecord;
use super::{audit_key, AuditEntry, PatientId, Store, StoreError};
use crate::triage::dialogue::{AuditEvent, Conversation};
use jiff::Timestamp;
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

#[derive(Debug, Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    conversations: HashMap<PatientId, ConversationRecord>,
    audit: BTreeMap<[u8; 24], AuditEntry>,
    sequence: u64,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave a half-written record: every write is one
        // insert. So a poisoned lock is still safe to use.
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Store for MemoryStore {
    fn conversation(&self, patient: PatientId) -> Result<Option<Conversation>, StoreError> {
        Ok(self.lock().conversations.get(&patient).cloned().map(Conversation::from))
    }

    fn save(&self, patient: PatientId, conversation: &Conversation, audit: &[AuditEvent]) -> Result<(), StoreError> {
        let mut inner = self.lock();
        inner.conversations.insert(patient, ConversationRecord::from(conversation));
        for event in audit {
            inner.sequence += 1;
            let key = audit_key(event.at, patient, inner.sequence);
            inner.audit.insert(key, AuditEntry { patient, event: event.clone() });
        }
        Ok(())
    }

    fn flush(&self) -> Result<(), StoreError> {
        Ok(())
    }

    fn forget(&self, patient: PatientId) -> Result<(), StoreError> {
        self.lock().conversations.remove(&patient);
        Ok(())
    }

    fn audit(&self, since: Option<Timestamp>) -> Result<Vec<AuditEntry>, StoreError> {
        let inner = self.lock();
        Ok(inner.audit.values().filter(|e| since.is_none_or(|s| e.event.at >= s)).cloned().collect())
    }
}
