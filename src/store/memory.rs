//! An in-memory store for tests and throwaway runs. It keeps the stored record form, so the
//! same conversions run as with sled.

use super::record::{ConversationRecord, IncidentRecord};
use super::{
    audit_key, check_in_from_key, check_in_key, AuditEntry, Lane, OutboxKey, Outgoing, PatientId, ProcessedUpdate,
    ScheduledCheckIn, Store, StoreError,
};
use crate::escalation::Incident;
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
    inbox: BTreeMap<i64, Vec<u8>>,
    next_offset: Option<i64>,
    processed: HashMap<i64, Timestamp>,
    outbox: BTreeMap<OutboxKey, Outgoing>,
    incidents: BTreeMap<String, IncidentRecord>,
    check_ins: BTreeMap<[u8; 20], ()>,
}

impl Inner {
    fn next_sequence(&mut self) -> u64 {
        self.sequence += 1;
        self.sequence
    }

    fn enqueue(&mut self, item: Outgoing) {
        let key = OutboxKey { lane: item.lane() as u8, sequence: self.next_sequence() };
        self.outbox.insert(key, item);
    }

    fn add_audit(&mut self, patient: PatientId, events: &[AuditEvent]) {
        for event in events {
            let key = audit_key(event.at, patient, self.next_sequence());
            self.audit.insert(key, AuditEntry { patient, event: event.clone() });
        }
    }
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
        inner.add_audit(patient, audit);
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

    fn receive(&self, updates: &[(i64, Vec<u8>)], next_offset: i64) -> Result<(), StoreError> {
        let mut inner = self.lock();
        for (id, raw) in updates {
            if !inner.processed.contains_key(id) {
                inner.inbox.insert(*id, raw.clone());
            }
        }
        inner.next_offset = Some(next_offset);
        Ok(())
    }

    fn next_offset(&self) -> Result<Option<i64>, StoreError> {
        Ok(self.lock().next_offset)
    }

    fn inbox(&self) -> Result<Vec<(i64, Vec<u8>)>, StoreError> {
        Ok(self.lock().inbox.iter().map(|(id, raw)| (*id, raw.clone())).collect())
    }

    fn was_processed(&self, update_id: i64) -> Result<bool, StoreError> {
        Ok(self.lock().processed.contains_key(&update_id))
    }

    fn commit(&self, processed: &ProcessedUpdate<'_>) -> Result<(), StoreError> {
        let mut inner = self.lock();
        if processed.forget {
            inner.conversations.remove(&processed.patient);
        } else if let Some(conversation) = processed.conversation {
            inner.conversations.insert(processed.patient, ConversationRecord::from(conversation));
        }
        inner.add_audit(processed.patient, processed.audit);
        for item in processed.outgoing {
            inner.enqueue(item.clone());
        }
        for incident in processed.incidents {
            inner.incidents.insert(incident.id.clone(), IncidentRecord::V1(incident.clone()));
        }
        let patient = processed.patient;
        if let Some(schedule) = processed.schedule {
            inner.check_ins.retain(|key, ()| check_in_from_key(key).is_none_or(|c| c.patient != patient));
            for check_in in schedule {
                inner.check_ins.insert(check_in_key(patient, check_in), ());
            }
        }
        if let Some(number) = processed.check_in_done {
            inner.check_ins.retain(|key, ()| {
                check_in_from_key(key).is_none_or(|c| c.patient != patient || c.check_in.number != number)
            });
        }
        inner.processed.insert(processed.update_id, processed.at);
        inner.inbox.remove(&processed.update_id);
        Ok(())
    }

    fn outbox(&self, lane: Lane) -> Result<Vec<(OutboxKey, Outgoing)>, StoreError> {
        let inner = self.lock();
        Ok(inner.outbox.iter().filter(|(k, _)| k.lane == lane as u8).map(|(k, v)| (*k, v.clone())).collect())
    }

    fn delivered(&self, key: OutboxKey) -> Result<(), StoreError> {
        let mut inner = self.lock();
        if let Some(next) = inner.outbox.remove(&key).and_then(|item| item.next().cloned()) {
            inner.enqueue(next);
        }
        Ok(())
    }

    fn incident(&self, id: &str) -> Result<Option<Incident>, StoreError> {
        Ok(self.lock().incidents.get(id).map(|IncidentRecord::V1(i)| i.clone()))
    }

    fn open_incidents(&self) -> Result<Vec<Incident>, StoreError> {
        let inner = self.lock();
        Ok(inner.incidents.values().map(|IncidentRecord::V1(i)| i.clone()).filter(Incident::is_open).collect())
    }

    fn save_incidents(&self, incidents: &[Incident], outgoing: &[Outgoing]) -> Result<(), StoreError> {
        let mut inner = self.lock();
        for incident in incidents {
            inner.incidents.insert(incident.id.clone(), IncidentRecord::V1(incident.clone()));
        }
        for item in outgoing {
            inner.enqueue(item.clone());
        }
        Ok(())
    }

    fn due_check_ins(&self, until: Timestamp) -> Result<Vec<ScheduledCheckIn>, StoreError> {
        let inner = self.lock();
        Ok(inner.check_ins.keys().filter_map(|k| check_in_from_key(k)).filter(|c| c.check_in.due_at <= until).collect())
    }

    fn prune_processed(&self, before: Timestamp) -> Result<usize, StoreError> {
        let mut inner = self.lock();
        let count = inner.processed.len();
        inner.processed.retain(|_, at| *at >= before);
        Ok(count - inner.processed.len())
    }
}
