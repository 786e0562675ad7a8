//! The sled store: one `Db` per process, one tree per record kind, explicit big-endian keys, a
//! schema-version key, and JSON records (readable in a backup, versioned by their own tag).

use super::record::{ConversationRecord, IncidentRecord};
use super::{
    audit_key, check_in_from_key, check_in_key, from_signed_key, signed_key, AuditEntry, Lane, OutboxKey, Outgoing,
    PatientId, ProcessedUpdate, ScheduledCheckIn, Store, StoreError,
};
use crate::escalation::Incident;
use crate::triage::dialogue::{AuditEvent, Conversation};
use jiff::Timestamp;
use sled::transaction::{ConflictableTransactionError, TransactionError};
use sled::Transactional;
use std::path::Path;

/// The schema this build writes and reads.
const SCHEMA_VERSION: u32 = 1;
const SCHEMA_KEY: &[u8] = b"schema_version";
const OFFSET_KEY: &[u8] = b"next_update_offset";

pub struct SledStore {
    db: sled::Db,
    meta: sled::Tree,
    conversations: sled::Tree,
    audit: sled::Tree,
    /// Received updates not processed yet, by update id.
    inbox: sled::Tree,
    /// Processed update ids, with when they were processed.
    processed: sled::Tree,
    outbox: sled::Tree,
    /// Incidents by id.
    incidents: sled::Tree,
    /// Scheduled check-ins, by due time, patient and number.
    check_ins: sled::Tree,
}

impl SledStore {
    /// Opens (or creates) the store in `dir`, readable by the service user only.
    pub fn open(dir: &Path) -> Result<SledStore, StoreError> {
        create_private_dir(dir)?;
        let db = sled::Config::new().path(dir).open()?;
        let store = SledStore {
            meta: db.open_tree("meta")?,
            conversations: db.open_tree("conversations")?,
            audit: db.open_tree("audit")?,
            inbox: db.open_tree("inbox")?,
            processed: db.open_tree("processed")?,
            outbox: db.open_tree("outbox")?,
            incidents: db.open_tree("incidents")?,
            check_ins: db.open_tree("check_ins")?,
            db,
        };
        store.check_schema()?;
        Ok(store)
    }

    fn check_schema(&self) -> Result<(), StoreError> {
        match self.meta.get(SCHEMA_KEY)? {
            None => {
                self.meta.insert(SCHEMA_KEY, &SCHEMA_VERSION.to_be_bytes())?;
                self.db.flush()?;
                Ok(())
            }
            Some(bytes) => {
                let found = u32::from_be_bytes(
                    bytes.as_ref().try_into().map_err(|_| StoreError::Corrupt("schema version".into()))?,
                );
                // Older schemas would be upgraded here, one step per version.
                if found > SCHEMA_VERSION {
                    return Err(StoreError::NewerSchema { found, supported: SCHEMA_VERSION });
                }
                Ok(())
            }
        }
    }
}

/// Creates `dir` (and parents) and makes it owner-only.
fn create_private_dir(dir: &Path) -> Result<(), StoreError> {
    let error = |source| StoreError::Directory { path: dir.display().to_string(), source };
    std::fs::create_dir_all(dir).map_err(error)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(error)?;
    }
    Ok(())
}

fn storage_error(e: TransactionError<()>) -> StoreError {
    match e {
        TransactionError::Storage(e) => StoreError::Sled(e),
        TransactionError::Abort(()) => StoreError::Corrupt("transaction aborted".into()),
    }
}

fn decode_outgoing(value: &[u8]) -> Result<Outgoing, StoreError> {
    serde_json::from_slice(value).map_err(|e| StoreError::Corrupt(format!("outbox item: {e}")))
}

fn decode_incident(value: &[u8]) -> Result<Incident, StoreError> {
    let IncidentRecord::V1(incident) =
        serde_json::from_slice(value).map_err(|e| StoreError::Corrupt(format!("incident: {e}")))?;
    Ok(incident)
}

/// Key and value bytes, ready to insert.
type Entries = Vec<(Vec<u8>, Vec<u8>)>;

fn encode_incidents(incidents: &[Incident]) -> Result<Entries, StoreError> {
    incidents.iter().map(|i| Ok((i.id.as_bytes().to_vec(), encode(&IncidentRecord::V1(i.clone()))?))).collect()
}

fn encode<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

impl Store for SledStore {
    fn conversation(&self, patient: PatientId) -> Result<Option<Conversation>, StoreError> {
        let Some(bytes) = self.conversations.get(patient.key())? else {
            return Ok(None);
        };
        let record: ConversationRecord =
            serde_json::from_slice(&bytes).map_err(|e| StoreError::Corrupt(format!("conversation: {e}")))?;
        Ok(Some(record.into()))
    }

    fn save(&self, patient: PatientId, conversation: &Conversation, audit: &[AuditEvent]) -> Result<(), StoreError> {
        // Everything is encoded before the transaction: no work but inserts inside it.
        let record = encode(&ConversationRecord::from(conversation))?;
        let mut events = Vec::with_capacity(audit.len());
        for event in audit {
            let key = audit_key(event.at, patient, self.db.generate_id()?);
            events.push((key, encode(event)?));
        }
        (&self.conversations, &self.audit)
            .transaction(|(conversations, audit_tree)| {
                conversations.insert(&patient.key(), record.as_slice())?;
                for (key, value) in &events {
                    audit_tree.insert(key, value.as_slice())?;
                }
                Ok::<(), ConflictableTransactionError<()>>(())
            })
            .map_err(storage_error)
    }

    fn flush(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        Ok(())
    }

    fn forget(&self, patient: PatientId) -> Result<(), StoreError> {
        self.conversations.remove(patient.key())?;
        Ok(())
    }

    fn audit(&self, since: Option<Timestamp>) -> Result<Vec<AuditEntry>, StoreError> {
        let start = since.map_or([0u8; 24], |s| audit_key(s, PatientId(i64::MIN), 0));
        let mut entries = Vec::new();
        for item in self.audit.range(start..) {
            let (key, value) = item?;
            let patient = PatientId::from_key(&key[8..16]).ok_or_else(|| StoreError::Corrupt("audit key".into()))?;
            let event: AuditEvent =
                serde_json::from_slice(&value).map_err(|e| StoreError::Corrupt(format!("audit event: {e}")))?;
            entries.push(AuditEntry { patient, event });
        }
        Ok(entries)
    }

    fn receive(&self, updates: &[(i64, Vec<u8>)], next_offset: i64) -> Result<(), StoreError> {
        let mut fresh = Vec::with_capacity(updates.len());
        for (id, raw) in updates {
            if !self.processed.contains_key(signed_key(*id))? {
                fresh.push((signed_key(*id), raw.as_slice()));
            }
        }
        (&self.inbox, &self.meta)
            .transaction(|(inbox, meta)| {
                for (key, raw) in &fresh {
                    inbox.insert(key, *raw)?;
                }
                meta.insert(OFFSET_KEY, &next_offset.to_be_bytes())?;
                Ok::<(), ConflictableTransactionError<()>>(())
            })
            .map_err(storage_error)
    }

    fn next_offset(&self) -> Result<Option<i64>, StoreError> {
        let Some(bytes) = self.meta.get(OFFSET_KEY)? else { return Ok(None) };
        let array: [u8; 8] = bytes.as_ref().try_into().map_err(|_| StoreError::Corrupt("update offset".into()))?;
        Ok(Some(i64::from_be_bytes(array)))
    }

    fn inbox(&self) -> Result<Vec<(i64, Vec<u8>)>, StoreError> {
        let mut updates = Vec::new();
        for item in self.inbox.iter() {
            let (key, value) = item?;
            let id = from_signed_key(&key).ok_or_else(|| StoreError::Corrupt("inbox key".into()))?;
            updates.push((id, value.to_vec()));
        }
        Ok(updates)
    }

    fn was_processed(&self, update_id: i64) -> Result<bool, StoreError> {
        Ok(self.processed.contains_key(signed_key(update_id))?)
    }

    fn commit(&self, processed: &ProcessedUpdate<'_>) -> Result<(), StoreError> {
        let conversation = match processed.conversation {
            Some(c) if !processed.forget => Some(encode(&ConversationRecord::from(c))?),
            _ => None,
        };
        let mut events = Vec::with_capacity(processed.audit.len());
        for event in processed.audit {
            events.push((audit_key(event.at, processed.patient, self.db.generate_id()?), encode(event)?));
        }
        let mut outgoing = Vec::with_capacity(processed.outgoing.len());
        for item in processed.outgoing {
            let key = OutboxKey { lane: item.lane() as u8, sequence: self.db.generate_id()? };
            outgoing.push((key.bytes(), encode(item)?));
        }
        let incidents = encode_incidents(processed.incidents)?;
        // Check-in keys to remove (the patient's old plan, or the one done) and to add.
        let mut remove_check_ins = Vec::new();
        let mut add_check_ins = Vec::new();
        if processed.schedule.is_some() || processed.check_in_done.is_some() {
            for item in self.check_ins.iter() {
                let (key, _) = item?;
                let Some(c) = check_in_from_key(&key) else { continue };
                let replaced = processed.schedule.is_some();
                if c.patient == processed.patient && (replaced || Some(c.check_in.number) == processed.check_in_done) {
                    remove_check_ins.push(key.to_vec());
                }
            }
        }
        for check_in in processed.schedule.unwrap_or_default() {
            add_check_ins.push(check_in_key(processed.patient, check_in).to_vec());
        }
        let update_key = signed_key(processed.update_id);
        let done_at = processed.at.as_second().to_be_bytes();
        let patient_key = processed.patient.key();
        [&self.conversations, &self.audit, &self.outbox, &self.processed, &self.inbox, &self.incidents, &self.check_ins]
            .transaction(|trees| {
                let (conversations, audit, outbox, done, inbox, incident_tree) =
                    (&trees[0], &trees[1], &trees[2], &trees[3], &trees[4], &trees[5]);
                for key in &remove_check_ins {
                    trees[6].remove(key.as_slice())?;
                }
                for key in &add_check_ins {
                    trees[6].insert(key.as_slice(), &[])?;
                }
                for (key, value) in &incidents {
                    incident_tree.insert(key.as_slice(), value.as_slice())?;
                }
                if processed.forget {
                    conversations.remove(&patient_key)?;
                } else if let Some(record) = &conversation {
                    conversations.insert(&patient_key, record.as_slice())?;
                }
                for (key, value) in &events {
                    audit.insert(key, value.as_slice())?;
                }
                for (key, value) in &outgoing {
                    outbox.insert(key, value.as_slice())?;
                }
                done.insert(&update_key, &done_at)?;
                inbox.remove(&update_key)?;
                Ok::<(), ConflictableTransactionError<()>>(())
            })
            .map_err(storage_error)
    }

    fn outbox(&self, lane: Lane) -> Result<Vec<(OutboxKey, Outgoing)>, StoreError> {
        let mut items = Vec::new();
        for item in self.outbox.scan_prefix([lane as u8]) {
            let (key, value) = item?;
            let key = OutboxKey::from_bytes(&key).ok_or_else(|| StoreError::Corrupt("outbox key".into()))?;
            items.push((key, decode_outgoing(&value)?));
        }
        Ok(items)
    }

    fn delivered(&self, key: OutboxKey) -> Result<(), StoreError> {
        let Some(value) = self.outbox.get(key.bytes())? else { return Ok(()) };
        let next = match decode_outgoing(&value)?.next() {
            Some(next) => {
                let next_key = OutboxKey { lane: next.lane() as u8, sequence: self.db.generate_id()? };
                Some((next_key.bytes(), encode(next)?))
            }
            None => None,
        };
        self.outbox
            .transaction(|outbox| {
                outbox.remove(&key.bytes())?;
                if let Some((next_key, next)) = &next {
                    outbox.insert(next_key, next.as_slice())?;
                }
                Ok::<(), ConflictableTransactionError<()>>(())
            })
            .map_err(storage_error)
    }

    fn incident(&self, id: &str) -> Result<Option<Incident>, StoreError> {
        self.incidents.get(id.as_bytes())?.map(|value| decode_incident(&value)).transpose()
    }

    fn open_incidents(&self) -> Result<Vec<Incident>, StoreError> {
        let mut open = Vec::new();
        for item in self.incidents.iter() {
            let (_, value) = item?;
            let incident = decode_incident(&value)?;
            if incident.is_open() {
                open.push(incident);
            }
        }
        Ok(open)
    }

    fn save_incidents(&self, incidents: &[Incident], outgoing: &[Outgoing]) -> Result<(), StoreError> {
        let incidents = encode_incidents(incidents)?;
        let mut items = Vec::with_capacity(outgoing.len());
        for item in outgoing {
            let key = OutboxKey { lane: item.lane() as u8, sequence: self.db.generate_id()? };
            items.push((key.bytes(), encode(item)?));
        }
        (&self.incidents, &self.outbox)
            .transaction(|(incident_tree, outbox)| {
                for (key, value) in &incidents {
                    incident_tree.insert(key.as_slice(), value.as_slice())?;
                }
                for (key, value) in &items {
                    outbox.insert(key, value.as_slice())?;
                }
                Ok::<(), ConflictableTransactionError<()>>(())
            })
            .map_err(storage_error)
    }

    fn due_check_ins(&self, until: Timestamp) -> Result<Vec<ScheduledCheckIn>, StoreError> {
        let end = super::signed_key(until.as_second().saturating_add(1));
        let mut due = Vec::new();
        for item in self.check_ins.range(..end.as_slice()) {
            let (key, _) = item?;
            due.extend(check_in_from_key(&key));
        }
        Ok(due)
    }

    fn prune_processed(&self, before: Timestamp) -> Result<usize, StoreError> {
        let cutoff = before.as_second();
        let mut removed = 0;
        for item in self.processed.iter() {
            let (key, value) = item?;
            let at = value.as_ref().try_into().map(i64::from_be_bytes).unwrap_or(i64::MIN);
            if at < cutoff {
                self.processed.remove(key)?;
                removed += 1;
            }
        }
        Ok(removed)
    }
}
