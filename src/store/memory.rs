//! An in-memory store for tests and throwaway runs. It keeps the stored record form, so the
//! same conversions run as with sled.

use super::outbox::Unflushed;
use super::record::{AuditKey, BackupItem, CheckInKey, ConversationRecord, IncidentRecord};
use super::{
    anonymise, audit_key, check_in_from_key, check_in_key, forgotten_incident, saved_activity, AuditEntry, Lane,
    OutboxKey, Outgoing, PatientId, ProcessedUpdate, ScheduledCheckIn, Store, StoreError,
};
use crate::escalation::Incident;
use crate::triage::dialogue::check_ins::DueCheckIn;
use crate::triage::dialogue::{AuditEvent, Conversation};
use jiff::Timestamp;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

#[derive(Debug, Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
    /// The same rule as sled's: the outbox shows only what was flushed (here, a flush is all
    /// it takes to be "durable").
    unflushed: Unflushed,
}

#[derive(Debug, Default)]
struct Inner {
    conversations: BTreeMap<PatientId, ConversationRecord>,
    audit: BTreeMap<[u8; 24], AuditEntry>,
    sequence: u64,
    inbox: BTreeMap<i64, Vec<u8>>,
    next_offset: Option<i64>,
    processed: BTreeMap<i64, Timestamp>,
    outbox: BTreeMap<OutboxKey, Outgoing>,
    incidents: BTreeMap<String, IncidentRecord>,
    check_ins: BTreeMap<[u8; 20], ()>,
    /// Open incidents of forgotten patients, anonymised once saved resolved.
    anonymise_on_resolve: BTreeSet<String>,
}

impl Inner {
    fn next_sequence(&mut self) -> u64 {
        self.sequence += 1;
        self.sequence
    }

    /// Queues an item, hidden from readers until the next flush (as sled does).
    fn enqueue(&mut self, unflushed: &Unflushed, item: Outgoing) {
        let key = OutboxKey { lane: item.lane() as u8, sequence: self.next_sequence() };
        let _ = unflushed.write(&[key], || {
            self.outbox.insert(key, item);
            Ok::<(), std::convert::Infallible>(())
        });
    }

    fn add_audit(&mut self, patient: PatientId, events: &[AuditEvent]) {
        for event in events {
            let key = audit_key(event.at, patient, self.next_sequence());
            self.audit.insert(key, AuditEntry { patient, event: event.clone() });
        }
    }

    /// Stores an incident, anonymised if it belongs to a forgotten patient and is now resolved.
    fn put_incident(&mut self, incident: &Incident) {
        let stored = if !incident.is_open() && self.anonymise_on_resolve.remove(&incident.id) {
            anonymise(incident)
        } else {
            incident.clone()
        };
        self.incidents.insert(stored.id.clone(), IncidentRecord::V1(stored));
    }

    fn forget_patient(&mut self, patient: PatientId) {
        self.conversations.remove(&patient);
        self.check_ins.retain(|key, ()| check_in_from_key(key).is_none_or(|c| c.patient != patient));
        for (id, IncidentRecord::V1(incident)) in self.incidents.iter_mut() {
            if incident.patient != patient.0 {
                continue;
            }
            match forgotten_incident(incident) {
                Some(anonymous) => *incident = anonymous,
                None => {
                    self.anonymise_on_resolve.insert(id.clone());
                }
            }
        }
    }

    fn is_empty(&self) -> bool {
        self.conversations.is_empty()
            && self.audit.is_empty()
            && self.inbox.is_empty()
            && self.next_offset.is_none()
            && self.processed.is_empty()
            && self.outbox.is_empty()
            && self.incidents.is_empty()
            && self.check_ins.is_empty()
            && self.anonymise_on_resolve.is_empty()
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
        let active = saved_activity(inner.conversations.get(&patient), audit);
        inner.conversations.insert(patient, ConversationRecord::from(conversation).active_at(active));
        inner.add_audit(patient, audit);
        Ok(())
    }

    fn flush(&self) -> Result<(), StoreError> {
        self.unflushed.flushed(&self.unflushed.before_flush());
        Ok(())
    }

    fn forget(&self, patient: PatientId) -> Result<(), StoreError> {
        self.lock().forget_patient(patient);
        Ok(())
    }

    fn purge_conversations_older_than(&self, before: Timestamp) -> Result<usize, StoreError> {
        let mut inner = self.lock();
        let old: BTreeSet<PatientId> = inner
            .conversations
            .iter()
            .filter(|(_, record)| record.last_activity().is_none_or(|at| at < before))
            .map(|(patient, _)| *patient)
            .collect();
        inner.conversations.retain(|patient, _| !old.contains(patient));
        inner.check_ins.retain(|key, ()| check_in_from_key(key).is_none_or(|c| !old.contains(&c.patient)));
        Ok(old.len())
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

    fn inbox_head(&self, limit: usize) -> Result<Vec<(i64, Vec<u8>)>, StoreError> {
        Ok(self.lock().inbox.iter().take(limit).map(|(id, raw)| (*id, raw.clone())).collect())
    }

    fn was_processed(&self, update_id: i64) -> Result<bool, StoreError> {
        Ok(self.lock().processed.contains_key(&update_id))
    }

    fn commit(&self, processed: &ProcessedUpdate<'_>) -> Result<(), StoreError> {
        let mut inner = self.lock();
        let patient = processed.patient;
        if let Some(conversation) = processed.conversation.filter(|_| !processed.forget) {
            let record = ConversationRecord::from(conversation).active_at(Some(processed.at));
            inner.conversations.insert(patient, record);
        }
        inner.add_audit(patient, processed.audit);
        for item in processed.outgoing {
            inner.enqueue(&self.unflushed, item.clone());
        }
        for incident in processed.incidents {
            inner.put_incident(incident);
        }
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
        if processed.forget {
            // Last, so that nothing of this update brings the patient's data back.
            inner.forget_patient(patient);
        }
        inner.processed.insert(processed.update_id, processed.at);
        inner.inbox.remove(&processed.update_id);
        Ok(())
    }

    fn outbox_keys(&self, lane: Lane, limit: usize) -> Result<Vec<OutboxKey>, StoreError> {
        let inner = self.lock();
        let keys = inner.outbox.keys().filter(|k| k.lane == lane as u8).map(|k| Ok(*k));
        self.unflushed.durable(keys, limit)
    }

    fn outbox_item(&self, key: OutboxKey) -> Result<Option<Outgoing>, StoreError> {
        Ok(self.lock().outbox.get(&key).cloned())
    }

    fn delivered(&self, key: OutboxKey) -> Result<(), StoreError> {
        let mut inner = self.lock();
        if let Some(next) = inner.outbox.remove(&key).and_then(|item| item.next().cloned()) {
            inner.enqueue(&self.unflushed, next);
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
            inner.put_incident(incident);
        }
        for item in outgoing {
            inner.enqueue(&self.unflushed, item.clone());
        }
        Ok(())
    }

    fn due_check_ins(&self, until: Timestamp) -> Result<Vec<ScheduledCheckIn>, StoreError> {
        let inner = self.lock();
        let mut due: Vec<ScheduledCheckIn> = inner
            .check_ins
            .keys()
            .filter_map(|k| check_in_from_key(k))
            .filter(|c| c.check_in.due_at <= until)
            .collect();
        due.sort_by_key(|c| c.check_in.due_at);
        Ok(due)
    }

    fn prune_processed(&self, before: Timestamp) -> Result<usize, StoreError> {
        let mut inner = self.lock();
        let count = inner.processed.len();
        inner.processed.retain(|_, at| *at >= before);
        Ok(count - inner.processed.len())
    }

    fn export(&self) -> Result<Vec<BackupItem>, StoreError> {
        let inner = self.lock();
        let mut items = Vec::new();
        items.extend(inner.next_offset.map(|record| BackupItem::NextOffset { record }));
        for (patient, record) in &inner.conversations {
            items.push(BackupItem::Conversation { key: patient.0, record: record.clone() });
        }
        for (key, entry) in &inner.audit {
            let sequence = u64::from_be_bytes(key[16..].try_into().expect("eight bytes"));
            let key = AuditKey { patient: entry.patient.0, sequence };
            items.push(BackupItem::Audit { key, record: entry.event.clone() });
        }
        for (id, raw) in &inner.inbox {
            items.push(BackupItem::Inbox { key: *id, record: raw.clone() });
        }
        for (id, at) in &inner.processed {
            items.push(BackupItem::Processed { key: *id, record: *at });
        }
        for (key, item) in &inner.outbox {
            items.push(BackupItem::Outbox { key: *key, record: item.clone() });
        }
        for (id, record) in &inner.incidents {
            items.push(BackupItem::Incident { key: id.clone(), record: record.clone() });
        }
        for c in inner.check_ins.keys().filter_map(|k| check_in_from_key(k)) {
            let key = CheckInKey { due_at: c.check_in.due_at, patient: c.patient.0, number: c.check_in.number };
            items.push(BackupItem::CheckIn { key });
        }
        for id in &inner.anonymise_on_resolve {
            items.push(BackupItem::AnonymiseOnResolve { key: id.clone() });
        }
        Ok(items)
    }

    fn import(&self, items: &[BackupItem]) -> Result<(), StoreError> {
        let mut inner = self.lock();
        if !inner.is_empty() {
            return Err(StoreError::NotEmpty);
        }
        for item in items {
            if let Some(sequence) = item.sequence() {
                inner.sequence = inner.sequence.max(sequence);
            }
            match item {
                BackupItem::NextOffset { record } => inner.next_offset = Some(*record),
                BackupItem::Conversation { key, record } => {
                    inner.conversations.insert(PatientId(*key), record.clone());
                }
                BackupItem::Audit { key, record } => {
                    let patient = PatientId(key.patient);
                    inner.audit.insert(
                        audit_key(record.at, patient, key.sequence),
                        AuditEntry { patient, event: record.clone() },
                    );
                }
                BackupItem::Inbox { key, record } => {
                    inner.inbox.insert(*key, record.clone());
                }
                BackupItem::Processed { key, record } => {
                    inner.processed.insert(*key, *record);
                }
                BackupItem::Outbox { key, record } => {
                    inner.outbox.insert(*key, record.clone());
                }
                BackupItem::Incident { key, record } => {
                    inner.incidents.insert(key.clone(), record.clone());
                }
                BackupItem::CheckIn { key } => {
                    let check_in = DueCheckIn { number: key.number, due_at: key.due_at };
                    inner.check_ins.insert(check_in_key(PatientId(key.patient), &check_in), ());
                }
                BackupItem::AnonymiseOnResolve { key } => {
                    inner.anonymise_on_resolve.insert(key.clone());
                }
            }
        }
        Ok(())
    }

    fn is_empty(&self) -> Result<bool, StoreError> {
        Ok(self.lock().is_empty())
    }
}
