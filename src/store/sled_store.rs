//! The sled store: one `Db` per process, one tree per record kind, explicit big-endian keys, a
//! schema-version key, and JSON records (readable in a backup, versioned by their own tag).

use super::outbox::Unflushed;
use super::record::{AuditKey, BackupItem, CheckInKey, ConversationRecord, IncidentRecord};
use super::{
    audit_key, check_in_from_key, check_in_key, forgotten_incident, from_signed_key, saved_activity, signed_key,
    AuditEntry, Lane, OutboxKey, Outgoing, PatientId, ProcessedUpdate, ScheduledCheckIn, Store, StoreError,
    SCHEMA_VERSION,
};
use crate::escalation::Incident;
use crate::triage::dialogue::check_ins::DueCheckIn;
use crate::triage::dialogue::{AuditEvent, Conversation};
use jiff::Timestamp;
use sled::transaction::{ConflictableTransactionError, TransactionError, TransactionalTree};
use sled::Transactional;
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const SCHEMA_KEY: &[u8] = b"schema_version";
const OFFSET_KEY: &[u8] = b"next_update_offset";
/// Added to every generated sequence number: set by a restore to just past the largest
/// sequence restored, so what is added afterwards sorts after it (sled's own id generator
/// starts afresh in a new directory). Internal: not part of a backup.
const SEQUENCE_FLOOR_KEY: &[u8] = b"sequence_floor";
/// Prefix of the marks of open incidents of forgotten patients (the incident id follows).
const ANONYMISE_PREFIX: &[u8] = b"anonymise_on_resolve:";

/// What a transaction closure returns; an abort carries the store error.
type TxResult<T> = Result<T, ConflictableTransactionError<StoreError>>;

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
    /// The open incidents, by patient then id; each value is when its next page is due (see
    /// [`open_index_value`]). Written in the same transactions as the incidents, so paging and
    /// finding a patient's open incident never read the closed ones.
    open_incidents: sled::Tree,
    /// Scheduled check-ins, by patient, number and due time: replacing or forgetting a
    /// patient's plan reads only theirs.
    check_ins: sled::Tree,
    /// The same check-ins by due time first (see [`Schedule`]), so the timer reads only the ones
    /// that are due rather than every patient's every second.
    check_ins_by_due: sled::Tree,
    /// See [`SEQUENCE_FLOOR_KEY`].
    sequence_floor: AtomicU64,
    unflushed: Unflushed,
}

impl SledStore {
    /// Opens (or creates) the store in `dir`, readable by the service user only.
    pub fn open(dir: &Path) -> Result<SledStore, StoreError> {
        create_private_dir(dir)?;
        let db = open_db(dir)?;
        let store = SledStore {
            meta: db.open_tree("meta")?,
            conversations: db.open_tree("conversations")?,
            audit: db.open_tree("audit")?,
            inbox: db.open_tree("inbox")?,
            processed: db.open_tree("processed")?,
            outbox: db.open_tree("outbox")?,
            incidents: db.open_tree("incidents")?,
            open_incidents: db.open_tree("open_incidents")?,
            check_ins: db.open_tree("check_ins")?,
            check_ins_by_due: db.open_tree("check_ins_by_due")?,
            sequence_floor: AtomicU64::new(0),
            unflushed: Unflushed::default(),
            db,
        };
        store.check_schema()?;
        if let Some(bytes) = store.meta.get(SEQUENCE_FLOOR_KEY)? {
            let floor = bytes.as_ref().try_into().map_err(|_| StoreError::Corrupt("sequence floor".into()))?;
            store.sequence_floor.store(u64::from_be_bytes(floor), Ordering::SeqCst);
        }
        Ok(store)
    }

    /// Every tree, `meta` first: the one list that backups, restores and emptiness checks share,
    /// so a new tree cannot be left out of one of them.
    fn all_trees(&self) -> [&sled::Tree; 10] {
        [
            &self.meta,
            &self.conversations,
            &self.audit,
            &self.inbox,
            &self.processed,
            &self.outbox,
            &self.incidents,
            &self.open_incidents,
            &self.check_ins,
            &self.check_ins_by_due,
        ]
    }

    /// A new sequence number for an audit or outbox key, after every one used so far.
    fn next_id(&self) -> Result<u64, StoreError> {
        let id = self.db.generate_id()?;
        self.sequence_floor
            .load(Ordering::SeqCst)
            .checked_add(id)
            .ok_or_else(|| StoreError::Corrupt("sequence numbers exhausted".into()))
    }

    /// Outgoing items with their new keys, encoded.
    fn encode_outgoing<'a>(
        &self,
        items: impl IntoIterator<Item = &'a Outgoing>,
    ) -> Result<Vec<(OutboxKey, Vec<u8>)>, StoreError> {
        items
            .into_iter()
            .map(|item| Ok((OutboxKey { lane: item.lane() as u8, sequence: self.next_id()? }, encode(item)?)))
            .collect()
    }

    /// The keys of these patients' scheduled check-ins.
    fn check_in_keys_of(&self, patients: &BTreeSet<PatientId>) -> Result<Vec<(PatientId, Vec<u8>)>, StoreError> {
        let mut keys = Vec::new();
        for patient in patients {
            for key in self.check_ins.scan_prefix(patient.key()).keys() {
                keys.push((*patient, key?.to_vec()));
            }
        }
        Ok(keys)
    }

    /// The ids of the patient's incidents.
    fn incident_ids_of(&self, patient: PatientId) -> Result<Vec<Vec<u8>>, StoreError> {
        let mut ids = Vec::new();
        for item in self.incidents.iter() {
            let (key, value) = item?;
            if decode_incident(&value)?.patient == patient.0 {
                ids.push(key.to_vec());
            }
        }
        Ok(ids)
    }

    /// What `/forget` needs to know before its transaction: the patient's check-ins and
    /// incidents (the incidents are read again inside it).
    fn forget_plan(&self, patient: PatientId) -> Result<ForgetPlan, StoreError> {
        let check_ins = self.check_in_keys_of(&BTreeSet::from([patient]))?.into_iter().map(|(_, key)| key).collect();
        Ok(ForgetPlan { patient, check_ins, incidents: self.incident_ids_of(patient)? })
    }

    /// Schema 1 keyed check-ins by due time first; schema 2 by patient first. Rewritten in one
    /// transaction with the new schema mark, so a crash leaves either all old or all new.
    fn upgrade_check_in_keys_from_1(&self) -> Result<(), StoreError> {
        let mut rekeyed = Vec::new();
        for item in self.check_ins.iter().keys() {
            let old = item?;
            // Schema 1's keys had the shape of today's by-due index.
            let parsed = check_in_from_due_key(&old).map(|c| check_in_key(c.patient, &c.check_in));
            let new = parsed.ok_or_else(|| StoreError::Corrupt("check-in key (schema 1)".into()))?;
            rekeyed.push((old, new));
        }
        (&self.check_ins, &self.meta)
            .transaction(|(check_ins, meta)| {
                for (old, _) in &rekeyed {
                    check_ins.remove(old)?;
                }
                for (_, new) in &rekeyed {
                    check_ins.insert(new.as_slice(), &[])?;
                }
                meta.insert(SCHEMA_KEY, &2u32.to_be_bytes())?;
                Ok(())
            })
            .map_err(storage_error)?;
        self.db.flush()?;
        Ok(())
    }

    /// Schema 3 added the index of open incidents: built from the incidents, in one transaction
    /// with the new schema mark.
    fn upgrade_open_incidents_from_2(&self) -> Result<(), StoreError> {
        let mut open = Vec::new();
        for item in self.incidents.iter().values() {
            let incident = decode_incident(&item?)?;
            if let Some(value) = open_index_value(&incident) {
                open.push((open_incident_key(incident.patient, &incident.id), value));
            }
        }
        (&self.open_incidents, &self.meta)
            .transaction(|(index, meta)| {
                for (key, value) in &open {
                    index.insert(key.as_slice(), value)?;
                }
                meta.insert(SCHEMA_KEY, &3u32.to_be_bytes())?;
                Ok(())
            })
            .map_err(storage_error)?;
        self.db.flush()?;
        Ok(())
    }

    /// Schema 4 added the index of check-ins by due time: built from the schedule, in one
    /// transaction with the new schema mark.
    fn upgrade_check_ins_by_due_from_3(&self) -> Result<(), StoreError> {
        let keys = self.check_ins.iter().keys().collect::<Result<Vec<_>, _>>()?;
        (&self.check_ins, &self.check_ins_by_due, &self.meta)
            .transaction(|(by_patient, by_due, meta)| {
                let schedule = Schedule { by_patient, by_due };
                for key in &keys {
                    schedule.insert(key)?;
                }
                meta.insert(SCHEMA_KEY, &4u32.to_be_bytes())?;
                Ok(())
            })
            .map_err(storage_error)?;
        self.db.flush()?;
        Ok(())
    }

    /// The incidents a range of the open-incident index names (only those whose next page is
    /// due by `due_by`, when given), read from the incidents tree.
    fn indexed_incidents(
        &self,
        index: impl Iterator<Item = sled::Result<(sled::IVec, sled::IVec)>>,
        due_by: Option<[u8; 8]>,
    ) -> Result<Vec<Incident>, StoreError> {
        let mut found = Vec::new();
        for item in index {
            let (key, next_page) = item?;
            if due_by.is_some_and(|due_by| next_page.as_ref() > due_by.as_slice()) {
                continue;
            }
            let id = key.get(8..).ok_or_else(|| StoreError::Corrupt("open incident key".into()))?;
            let value = self
                .incidents
                .get(id)?
                .ok_or_else(|| StoreError::Corrupt("open incident without its record".into()))?;
            found.push(decode_incident(&value)?);
        }
        Ok(found)
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
                if found > SCHEMA_VERSION {
                    return Err(StoreError::NewerSchema { found, supported: SCHEMA_VERSION });
                }
                // Older schemas are upgraded here, one step per version.
                if found < 2 {
                    self.upgrade_check_in_keys_from_1()?;
                }
                if found < 3 {
                    self.upgrade_open_incidents_from_2()?;
                }
                if found < 4 {
                    self.upgrade_check_ins_by_due_from_3()?;
                }
                Ok(())
            }
        }
    }
}

/// sled's page cache (its default is 1 GB). Hot records (open conversations, the inbox and
/// outbox) fit in far less; the rest is read from the OS's file cache when needed. The load
/// benchmark ran as fast with 4 MB as with 16 MB, and peaked 14 MB lower.
const CACHE_BYTES: u64 = 4 * 1024 * 1024;

/// How long opening waits for the directory's lock.
const LOCK_WAIT: Duration = Duration::from_secs(2);

/// Opens the database, waiting a little for its lock: sled releases it only once its
/// background threads have stopped, a moment after the previous handle in this process was
/// dropped. A lock still held after that belongs to another process.
fn open_db(dir: &Path) -> Result<sled::Db, StoreError> {
    let deadline = Instant::now() + LOCK_WAIT;
    loop {
        match sled::Config::new().path(dir).cache_capacity(CACHE_BYTES).open() {
            Err(sled::Error::Io(e)) if e.to_string().starts_with("could not acquire lock") => {
                if Instant::now() >= deadline {
                    return Err(StoreError::InUse { path: dir.display().to_string() });
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            result => return Ok(result?),
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

fn storage_error(e: TransactionError<StoreError>) -> StoreError {
    match e {
        TransactionError::Storage(e) => StoreError::Sled(e),
        TransactionError::Abort(e) => e,
    }
}

/// A check-in's key in the by-due index: its key (`check_in_key`: patient, number, due time)
/// with the due time moved to the front.
fn by_due_key(key: &[u8]) -> Result<[u8; 20], StoreError> {
    let corrupt = || StoreError::Corrupt("check-in key".into());
    let check_in = check_in_from_key(key).ok_or_else(corrupt)?;
    let mut by_due = [0u8; 20];
    by_due[..8].copy_from_slice(&signed_key(check_in.check_in.due_at.as_second()));
    by_due[8..].copy_from_slice(key.get(..12).ok_or_else(corrupt)?);
    Ok(by_due)
}

/// Reads a key of the by-due index (see [`by_due_key`]).
fn check_in_from_due_key(key: &[u8]) -> Option<ScheduledCheckIn> {
    let (due_at, rest) = (key.get(..8)?, key.get(8..20)?);
    check_in_from_key(&[rest, due_at].concat())
}

/// The check-in schedule inside a transaction: each check-in is written to, and removed from,
/// both of its orders together.
struct Schedule<'t> {
    by_patient: &'t TransactionalTree,
    by_due: &'t TransactionalTree,
}

impl Schedule<'_> {
    fn insert(&self, key: &[u8]) -> TxResult<()> {
        let by_due = by_due_key(key).map_err(ConflictableTransactionError::Abort)?;
        self.by_patient.insert(key, &[])?;
        self.by_due.insert(&by_due, &[])?;
        Ok(())
    }

    fn remove(&self, key: &[u8]) -> TxResult<()> {
        let by_due = by_due_key(key).map_err(ConflictableTransactionError::Abort)?;
        self.by_patient.remove(key)?;
        self.by_due.remove(&by_due)?;
        Ok(())
    }
}

/// The patient's records that `/forget` touches, found before the transaction.
struct ForgetPlan {
    patient: PatientId,
    check_ins: Vec<Vec<u8>>,
    incidents: Vec<Vec<u8>>,
}

impl ForgetPlan {
    /// Applies `/forget` inside a transaction: the conversation and check-ins go; each
    /// incident, read again here (a staff action may have changed it), is anonymised when
    /// resolved and marked for anonymisation when open.
    fn apply(
        &self,
        conversations: &TransactionalTree,
        schedule: &Schedule<'_>,
        incidents: &TransactionalTree,
        meta: &TransactionalTree,
    ) -> TxResult<()> {
        conversations.remove(&self.patient.key())?;
        for key in &self.check_ins {
            schedule.remove(key)?;
        }
        for id in &self.incidents {
            let Some(value) = incidents.get(id)? else { continue };
            let incident = decode_incident(&value).map_err(ConflictableTransactionError::Abort)?;
            if incident.patient != self.patient.0 {
                continue;
            }
            match forgotten_incident(&incident) {
                Some(anonymous) => {
                    let record = encode(&IncidentRecord::V1(anonymous)).map_err(ConflictableTransactionError::Abort)?;
                    incidents.insert(id.as_slice(), record)?;
                }
                None => {
                    meta.insert(anonymise_key(id), &[])?;
                }
            }
        }
        Ok(())
    }
}

/// The meta key marking an open incident of a forgotten patient.
fn anonymise_key(id: &[u8]) -> Vec<u8> {
    [ANONYMISE_PREFIX, id].concat()
}

/// The keys of encoded outbox items.
fn keys_of(items: &[(OutboxKey, Vec<u8>)]) -> Vec<OutboxKey> {
    items.iter().map(|(key, _)| *key).collect()
}

/// An incident's key in the index of open incidents: its patient, then its id.
fn open_incident_key(patient: i64, id: &str) -> Vec<u8> {
    [PatientId(patient).key().as_slice(), id.as_bytes()].concat()
}

/// An incident's value in the index of open incidents; `None` once it is resolved (it leaves
/// the index). The value is when its next page is due, in milliseconds, as bytes that sort in
/// time order (the latest possible time when no page is due).
fn open_index_value(incident: &Incident) -> Option<[u8; 8]> {
    incident.is_open().then(|| signed_key(incident.next_page_at.map_or(i64::MAX, |at| at.as_millisecond())))
}

/// An incident ready to store: its key, its record, and, when it is resolved, its anonymised
/// record (stored instead if its patient asked to be forgotten); its key in the index of open
/// incidents, and its value there while it is open.
struct EncodedIncident {
    key: Vec<u8>,
    record: Vec<u8>,
    anonymous: Option<Vec<u8>>,
    index_key: Vec<u8>,
    next_page: Option<[u8; 8]>,
}

fn encode_incidents(incidents: &[Incident]) -> Result<Vec<EncodedIncident>, StoreError> {
    incidents
        .iter()
        .map(|i| {
            Ok(EncodedIncident {
                key: i.id.as_bytes().to_vec(),
                record: encode(&IncidentRecord::V1(i.clone()))?,
                anonymous: forgotten_incident(i).map(|a| encode(&IncidentRecord::V1(a))).transpose()?,
                index_key: open_incident_key(i.patient, &i.id),
                next_page: open_index_value(i),
            })
        })
        .collect()
}

/// Stores incidents inside a transaction, anonymising a resolved one that is marked, and keeps
/// the index of open incidents.
fn put_incidents(
    encoded: &[EncodedIncident],
    incidents: &TransactionalTree,
    open_index: &TransactionalTree,
    meta: &TransactionalTree,
) -> TxResult<()> {
    for incident in encoded {
        match incident.next_page {
            Some(next_page) => open_index.insert(incident.index_key.as_slice(), &next_page)?,
            None => open_index.remove(incident.index_key.as_slice())?,
        };
        let mark = anonymise_key(&incident.key);
        match &incident.anonymous {
            Some(anonymous) if meta.get(&mark)?.is_some() => {
                incidents.insert(incident.key.as_slice(), anonymous.as_slice())?;
                meta.remove(mark)?;
            }
            _ => {
                incidents.insert(incident.key.as_slice(), incident.record.as_slice())?;
            }
        }
    }
    Ok(())
}

fn decode_outgoing(value: &[u8]) -> Result<Outgoing, StoreError> {
    serde_json::from_slice(value).map_err(|e| StoreError::Corrupt(format!("outbox item: {e}")))
}

fn decode_incident(value: &[u8]) -> Result<Incident, StoreError> {
    let IncidentRecord::V1(incident) =
        serde_json::from_slice(value).map_err(|e| StoreError::Corrupt(format!("incident: {e}")))?;
    Ok(incident)
}

fn decode_conversation(value: &[u8]) -> Result<ConversationRecord, StoreError> {
    serde_json::from_slice(value).map_err(|e| StoreError::Corrupt(format!("conversation: {e}")))
}

fn decode_audit(value: &[u8]) -> Result<AuditEvent, StoreError> {
    serde_json::from_slice(value).map_err(|e| StoreError::Corrupt(format!("audit event: {e}")))
}

fn encode<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

impl Store for SledStore {
    fn conversation(&self, patient: PatientId) -> Result<Option<Conversation>, StoreError> {
        let Some(bytes) = self.conversations.get(patient.key())? else {
            return Ok(None);
        };
        Ok(Some(decode_conversation(&bytes)?.into()))
    }

    fn save(&self, patient: PatientId, conversation: &Conversation, audit: &[AuditEvent]) -> Result<(), StoreError> {
        // Everything is encoded before the transaction: no work but inserts inside it.
        let previous = self.conversations.get(patient.key())?.map(|bytes| decode_conversation(&bytes)).transpose()?;
        let active = saved_activity(previous.as_ref(), audit);
        let record = encode(&ConversationRecord::from(conversation).active_at(active))?;
        let mut events = Vec::with_capacity(audit.len());
        for event in audit {
            let key = audit_key(event.at, patient, self.next_id()?);
            events.push((key, encode(event)?));
        }
        (&self.conversations, &self.audit)
            .transaction(|(conversations, audit_tree)| {
                conversations.insert(&patient.key(), record.as_slice())?;
                for (key, value) in &events {
                    audit_tree.insert(key, value.as_slice())?;
                }
                Ok(())
            })
            .map_err(storage_error)
    }

    fn flush(&self) -> Result<(), StoreError> {
        let written = self.unflushed.before_flush();
        self.db.flush()?;
        self.unflushed.flushed(&written);
        Ok(())
    }

    fn forget(&self, patient: PatientId) -> Result<(), StoreError> {
        let plan = self.forget_plan(patient)?;
        (&self.conversations, &self.check_ins, &self.check_ins_by_due, &self.incidents, &self.meta)
            .transaction(|(conversations, by_patient, by_due, incidents, meta)| {
                plan.apply(conversations, &Schedule { by_patient, by_due }, incidents, meta)
            })
            .map_err(storage_error)
    }

    fn purge_conversations_older_than(&self, before: Timestamp) -> Result<usize, StoreError> {
        let mut old = Vec::new();
        for item in self.conversations.iter() {
            let (key, value) = item?;
            if decode_conversation(&value)?.last_activity().is_none_or(|at| at < before) {
                let patient =
                    PatientId::from_key(&key).ok_or_else(|| StoreError::Corrupt("conversation key".into()))?;
                old.push((patient, value));
            }
        }
        if old.is_empty() {
            return Ok(0);
        }
        let check_in_keys = self.check_in_keys_of(&old.iter().map(|(patient, _)| *patient).collect())?;
        (&self.conversations, &self.check_ins, &self.check_ins_by_due)
            .transaction(|(conversations, by_patient, by_due)| {
                let schedule = Schedule { by_patient, by_due };
                let mut purged = 0;
                for (patient, value) in &old {
                    // Written since it was read: active again, so it stays.
                    if conversations.get(patient.key())?.as_ref() != Some(value) {
                        continue;
                    }
                    conversations.remove(&patient.key())?;
                    for (_, key) in check_in_keys.iter().filter(|(p, _)| p == patient) {
                        schedule.remove(key)?;
                    }
                    purged += 1;
                }
                Ok(purged)
            })
            .map_err(storage_error)
    }

    fn audit(&self, since: Option<Timestamp>) -> Result<Vec<AuditEntry>, StoreError> {
        let start = since.map_or([0u8; 24], |s| audit_key(s, PatientId(i64::MIN), 0));
        let mut entries = Vec::new();
        for item in self.audit.range(start..) {
            let (key, value) = item?;
            let patient = PatientId::from_key(&key[8..16]).ok_or_else(|| StoreError::Corrupt("audit key".into()))?;
            entries.push(AuditEntry { patient, event: decode_audit(&value)? });
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
                Ok(())
            })
            .map_err(storage_error)
    }

    fn next_offset(&self) -> Result<Option<i64>, StoreError> {
        let Some(bytes) = self.meta.get(OFFSET_KEY)? else { return Ok(None) };
        let array: [u8; 8] = bytes.as_ref().try_into().map_err(|_| StoreError::Corrupt("update offset".into()))?;
        Ok(Some(i64::from_be_bytes(array)))
    }

    fn inbox_head(&self, limit: usize) -> Result<Vec<(i64, Vec<u8>)>, StoreError> {
        let mut updates = Vec::new();
        for item in self.inbox.iter().take(limit) {
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
            Some(c) if !processed.forget => Some(encode(&ConversationRecord::from(c).active_at(Some(processed.at)))?),
            _ => None,
        };
        let mut events = Vec::with_capacity(processed.audit.len());
        for event in processed.audit {
            events.push((audit_key(event.at, processed.patient, self.next_id()?), encode(event)?));
        }
        let outgoing = self.encode_outgoing(processed.outgoing)?;
        let incidents = encode_incidents(processed.incidents)?;
        // Check-in keys to remove (the patient's old plan, or the one done) and to add.
        let mut remove_check_ins = Vec::new();
        let mut add_check_ins = Vec::new();
        if processed.schedule.is_some() || processed.check_in_done.is_some() {
            for (_, key) in self.check_in_keys_of(&BTreeSet::from([processed.patient]))? {
                let Some(c) = check_in_from_key(&key) else { continue };
                if processed.schedule.is_some() || Some(c.check_in.number) == processed.check_in_done {
                    remove_check_ins.push(key);
                }
            }
        }
        for check_in in processed.schedule.unwrap_or_default() {
            add_check_ins.push(check_in_key(processed.patient, check_in).to_vec());
        }
        // A confirmed `/forget` goes last, so nothing of this update brings the patient back;
        // it also covers incidents of the patient this update writes.
        let forget = if processed.forget {
            let mut plan = self.forget_plan(processed.patient)?;
            for incident in processed.incidents.iter().filter(|i| i.patient == processed.patient.0) {
                if !plan.incidents.iter().any(|id| id == incident.id.as_bytes()) {
                    plan.incidents.push(incident.id.as_bytes().to_vec());
                }
            }
            plan.check_ins.extend(add_check_ins.iter().cloned());
            Some(plan)
        } else {
            None
        };
        let update_key = signed_key(processed.update_id);
        let done_at = processed.at.as_second().to_be_bytes();
        let patient_key = processed.patient.key();
        self.unflushed.write(&keys_of(&outgoing), || {
            (
                &self.conversations,
                &self.audit,
                &self.outbox,
                &self.processed,
                &self.inbox,
                &self.incidents,
                &self.open_incidents,
                &self.check_ins,
                &self.check_ins_by_due,
                &self.meta,
            )
                .transaction(
                    |(
                        conversations,
                        audit,
                        outbox,
                        done,
                        inbox,
                        incident_tree,
                        open_index,
                        by_patient,
                        by_due,
                        meta,
                    )| {
                        let schedule = Schedule { by_patient, by_due };
                        for key in &remove_check_ins {
                            schedule.remove(key)?;
                        }
                        for key in &add_check_ins {
                            schedule.insert(key)?;
                        }
                        put_incidents(&incidents, incident_tree, open_index, meta)?;
                        if let Some(record) = &conversation {
                            conversations.insert(&patient_key, record.as_slice())?;
                        }
                        for (key, value) in &events {
                            audit.insert(key, value.as_slice())?;
                        }
                        for (key, value) in &outgoing {
                            outbox.insert(&key.bytes(), value.as_slice())?;
                        }
                        if let Some(plan) = &forget {
                            plan.apply(conversations, &schedule, incident_tree, meta)?;
                        }
                        done.insert(&update_key, &done_at)?;
                        inbox.remove(&update_key)?;
                        Ok(())
                    },
                )
                .map_err(storage_error)
        })
    }

    fn outbox_keys(&self, lane: Lane, limit: usize) -> Result<Vec<OutboxKey>, StoreError> {
        let keys = self
            .outbox
            .scan_prefix([lane as u8])
            .keys()
            .map(|key| OutboxKey::from_bytes(&key?).ok_or_else(|| StoreError::Corrupt("outbox key".into())));
        self.unflushed.durable(keys, limit)
    }

    fn outbox_item(&self, key: OutboxKey) -> Result<Option<Outgoing>, StoreError> {
        self.outbox.get(key.bytes())?.map(|value| decode_outgoing(&value)).transpose()
    }

    fn delivered(&self, key: OutboxKey) -> Result<(), StoreError> {
        let Some(value) = self.outbox.get(key.bytes())? else { return Ok(()) };
        let delivered = decode_outgoing(&value)?;
        let next = self.encode_outgoing(delivered.next())?;
        self.unflushed.write(&keys_of(&next), || {
            self.outbox
                .transaction(|outbox| {
                    outbox.remove(&key.bytes())?;
                    for (next_key, next) in &next {
                        outbox.insert(&next_key.bytes(), next.as_slice())?;
                    }
                    Ok(())
                })
                .map_err(storage_error)
        })
    }

    fn incident(&self, id: &str) -> Result<Option<Incident>, StoreError> {
        self.incidents.get(id.as_bytes())?.map(|value| decode_incident(&value)).transpose()
    }

    fn open_incidents(&self) -> Result<Vec<Incident>, StoreError> {
        self.indexed_incidents(self.open_incidents.iter(), None)
    }

    fn open_incidents_of(&self, patient: PatientId) -> Result<Vec<Incident>, StoreError> {
        self.indexed_incidents(self.open_incidents.scan_prefix(patient.key()), None)
    }

    fn open_incident_count(&self) -> Result<usize, StoreError> {
        Ok(self.open_incidents.len())
    }

    fn incidents_to_page(&self, until: Timestamp) -> Result<Vec<Incident>, StoreError> {
        // The index holds milliseconds: it narrows, the incident's own time decides.
        let due_by = signed_key(until.as_millisecond());
        let candidates = self.indexed_incidents(self.open_incidents.iter(), Some(due_by))?;
        Ok(candidates.into_iter().filter(|i| i.next_page_at.is_some_and(|at| at <= until)).collect())
    }

    fn save_incidents(&self, incidents: &[Incident], outgoing: &[Outgoing]) -> Result<(), StoreError> {
        let incidents = encode_incidents(incidents)?;
        let items = self.encode_outgoing(outgoing)?;
        self.unflushed.write(&keys_of(&items), || {
            (&self.incidents, &self.open_incidents, &self.outbox, &self.meta)
                .transaction(|(incident_tree, open_index, outbox, meta)| {
                    put_incidents(&incidents, incident_tree, open_index, meta)?;
                    for (key, value) in &items {
                        outbox.insert(&key.bytes(), value.as_slice())?;
                    }
                    Ok(())
                })
                .map_err(storage_error)
        })
    }

    fn due_check_ins(&self, until: Timestamp) -> Result<Vec<ScheduledCheckIn>, StoreError> {
        let mut last = [u8::MAX; 20];
        last[..8].copy_from_slice(&signed_key(until.as_second()));
        let mut due = Vec::new();
        for key in self.check_ins_by_due.range(..=last).keys() {
            due.push(check_in_from_due_key(&key?).ok_or_else(|| StoreError::Corrupt("check-in index key".into()))?);
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

    fn export(&self) -> Result<Vec<BackupItem>, StoreError> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("{what} key"));
        let mut items = Vec::new();
        items.extend(self.next_offset()?.map(|record| BackupItem::NextOffset { record }));
        for item in self.conversations.iter() {
            let (key, value) = item?;
            let patient = PatientId::from_key(&key).ok_or_else(|| corrupt("conversation"))?;
            items.push(BackupItem::Conversation { key: patient.0, record: decode_conversation(&value)? });
        }
        for item in self.audit.iter() {
            let (key, value) = item?;
            let patient = key.get(8..16).and_then(PatientId::from_key).ok_or_else(|| corrupt("audit"))?;
            let sequence = key.get(16..24).and_then(|b| b.try_into().ok()).ok_or_else(|| corrupt("audit"))?;
            let key = AuditKey { patient: patient.0, sequence: u64::from_be_bytes(sequence) };
            items.push(BackupItem::Audit { key, record: decode_audit(&value)? });
        }
        for (key, record) in self.inbox()? {
            items.push(BackupItem::Inbox { key, record });
        }
        for item in self.processed.iter() {
            let (key, value) = item?;
            let id = from_signed_key(&key).ok_or_else(|| corrupt("processed"))?;
            let second = value.as_ref().try_into().map(i64::from_be_bytes).map_err(|_| corrupt("processed"))?;
            let at = Timestamp::from_second(second).map_err(|_| corrupt("processed"))?;
            items.push(BackupItem::Processed { key: id, record: at });
        }
        for item in self.outbox.iter() {
            let (key, value) = item?;
            let key = OutboxKey::from_bytes(&key).ok_or_else(|| corrupt("outbox"))?;
            items.push(BackupItem::Outbox { key, record: decode_outgoing(&value)? });
        }
        for item in self.incidents.iter() {
            let (key, value) = item?;
            let id = String::from_utf8(key.to_vec()).map_err(|_| corrupt("incident"))?;
            items.push(BackupItem::Incident { key: id, record: IncidentRecord::V1(decode_incident(&value)?) });
        }
        for item in self.check_ins.iter() {
            let (key, _) = item?;
            let c = check_in_from_key(&key).ok_or_else(|| corrupt("check-in"))?;
            let key = CheckInKey { due_at: c.check_in.due_at, patient: c.patient.0, number: c.check_in.number };
            items.push(BackupItem::CheckIn { key });
        }
        for item in self.meta.scan_prefix(ANONYMISE_PREFIX) {
            let (key, _) = item?;
            let id = String::from_utf8(key[ANONYMISE_PREFIX.len()..].to_vec()).map_err(|_| corrupt("mark"))?;
            items.push(BackupItem::AnonymiseOnResolve { key: id });
        }
        Ok(items)
    }

    fn import(&self, items: &[BackupItem]) -> Result<(), StoreError> {
        if !self.is_empty()? {
            return Err(StoreError::NotEmpty);
        }
        // Encoded first, inserted in one transaction: a failed restore leaves the store empty.
        // In the order of `all_trees`.
        let mut writes: [Vec<(Vec<u8>, Vec<u8>)>; 10] = Default::default();
        let [meta, conversations, audit, inbox, processed, outbox, incidents, open_incidents, check_ins, check_ins_by_due] =
            &mut writes;
        for item in items {
            match item {
                BackupItem::NextOffset { record } => meta.push((OFFSET_KEY.to_vec(), record.to_be_bytes().to_vec())),
                BackupItem::Conversation { key, record } => {
                    conversations.push((PatientId(*key).key().to_vec(), encode(record)?));
                }
                BackupItem::Audit { key, record } => {
                    let key = audit_key(record.at, PatientId(key.patient), key.sequence);
                    audit.push((key.to_vec(), encode(record)?));
                }
                BackupItem::Inbox { key, record } => inbox.push((signed_key(*key).to_vec(), record.clone())),
                BackupItem::Processed { key, record } => {
                    processed.push((signed_key(*key).to_vec(), record.as_second().to_be_bytes().to_vec()));
                }
                BackupItem::Outbox { key, record } => outbox.push((key.bytes().to_vec(), encode(record)?)),
                BackupItem::Incident { key, record } => {
                    let IncidentRecord::V1(incident) = record;
                    if let Some(value) = open_index_value(incident) {
                        open_incidents.push((open_incident_key(incident.patient, key), value.to_vec()));
                    }
                    incidents.push((key.as_bytes().to_vec(), encode(record)?));
                }
                BackupItem::CheckIn { key } => {
                    let check_in = DueCheckIn { number: key.number, due_at: key.due_at };
                    let key = check_in_key(PatientId(key.patient), &check_in);
                    check_ins_by_due.push((by_due_key(&key)?.to_vec(), Vec::new()));
                    check_ins.push((key.to_vec(), Vec::new()));
                }
                BackupItem::AnonymiseOnResolve { key } => meta.push((anonymise_key(key.as_bytes()), Vec::new())),
            }
        }
        let floor = match items.iter().filter_map(BackupItem::sequence).max() {
            Some(largest) => {
                let floor = largest.checked_add(1).ok_or_else(|| StoreError::Corrupt("sequence number".into()))?;
                let floor = floor.max(self.sequence_floor.load(Ordering::SeqCst));
                meta.push((SEQUENCE_FLOOR_KEY.to_vec(), floor.to_be_bytes().to_vec()));
                Some(floor)
            }
            None => None,
        };
        self.all_trees()[..]
            .transaction(|trees| {
                for (tree, entries) in trees.iter().zip(&writes) {
                    for (key, value) in entries {
                        tree.insert(key.as_slice(), value.as_slice())?;
                    }
                }
                Ok(())
            })
            .map_err(storage_error)?;
        if let Some(floor) = floor {
            self.sequence_floor.store(floor, Ordering::SeqCst);
        }
        Ok(())
    }

    fn is_empty(&self) -> Result<bool, StoreError> {
        for item in self.meta.iter() {
            let (key, _) = item?;
            if key != SCHEMA_KEY && key != SEQUENCE_FLOOR_KEY {
                return Ok(false);
            }
        }
        // All but `meta`, whose marks were looked at above.
        Ok(self.all_trees()[1..].iter().all(|tree| tree.is_empty()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_schema_1_directory_is_upgraded_with_its_check_ins() {
        let dir = tempfile::tempdir().unwrap();
        let due_at: Timestamp = "2026-06-10T16:00:00Z".parse().unwrap();
        {
            // What a schema 1 build left: a check-in keyed by due time, then patient, then number.
            let store = SledStore::open(dir.path()).unwrap();
            let mut old_key = Vec::new();
            old_key.extend(signed_key(due_at.as_second()));
            old_key.extend(PatientId(42).key());
            old_key.extend(3u32.to_be_bytes());
            store.check_ins.insert(old_key, &[]).unwrap();
            store.meta.insert(SCHEMA_KEY, &1u32.to_be_bytes()).unwrap();
            store.flush().unwrap();
        }
        let store = SledStore::open(dir.path()).unwrap();
        let due = store.due_check_ins(due_at).unwrap();
        assert_eq!(due, [ScheduledCheckIn { patient: PatientId(42), check_in: DueCheckIn { number: 3, due_at } }]);
        assert_eq!(store.meta.get(SCHEMA_KEY).unwrap().unwrap().as_ref(), SCHEMA_VERSION.to_be_bytes());
        // Replacing the patient's plan finds the upgraded key.
        store
            .commit(&ProcessedUpdate { schedule: Some(&[]), ..ProcessedUpdate::empty(1, due_at, PatientId(42)) })
            .unwrap();
        assert!(store.due_check_ins(due_at).unwrap().is_empty());
    }

    #[test]
    fn a_schema_2_directory_gets_its_index_of_open_incidents() {
        let dir = tempfile::tempdir().unwrap();
        let created: Timestamp = "2026-06-10T12:00:00Z".parse().unwrap();
        let incident = |id: &str, state| Incident {
            id: id.into(),
            patient: 42,
            episode_started: created,
            disposition: crate::triage::Disposition::Emergency,
            intent: "chest_cardiac".into(),
            summary: String::new(),
            state,
            created,
            level: 0,
            next_page_at: (state == crate::escalation::State::Triggered).then_some(created),
            acknowledged_by: None,
            events: Vec::new(),
        };
        let open = incident("E-2222", crate::escalation::State::Triggered);
        {
            // What a schema 2 build left: incidents, and no index.
            let store = SledStore::open(dir.path()).unwrap();
            for i in [open.clone(), incident("E-3333", crate::escalation::State::Resolved)] {
                store.incidents.insert(i.id.clone().into_bytes(), encode(&IncidentRecord::V1(i)).unwrap()).unwrap();
            }
            store.open_incidents.clear().unwrap();
            store.meta.insert(SCHEMA_KEY, &2u32.to_be_bytes()).unwrap();
            store.flush().unwrap();
        }
        let store = SledStore::open(dir.path()).unwrap();
        assert_eq!(store.open_incidents_of(PatientId(42)).unwrap(), std::slice::from_ref(&open));
        assert_eq!(store.incidents_to_page(created).unwrap(), [open]);
        assert_eq!(store.meta.get(SCHEMA_KEY).unwrap().unwrap().as_ref(), SCHEMA_VERSION.to_be_bytes());
    }

    #[test]
    fn a_schema_3_directory_gets_its_index_of_check_ins_by_due_time() {
        let dir = tempfile::tempdir().unwrap();
        let check_in = |number, time: &str| DueCheckIn { number, due_at: time.parse().unwrap() };
        let (later, sooner) = (check_in(1, "2026-06-11T12:00:00Z"), check_in(2, "2026-06-10T16:00:00Z"));
        {
            // What a schema 3 build left: the schedule by patient, and no index.
            let store = SledStore::open(dir.path()).unwrap();
            store.check_ins.insert(check_in_key(PatientId(41), &later), &[]).unwrap();
            store.check_ins.insert(check_in_key(PatientId(42), &sooner), &[]).unwrap();
            store.check_ins_by_due.clear().unwrap();
            store.meta.insert(SCHEMA_KEY, &3u32.to_be_bytes()).unwrap();
            store.flush().unwrap();
        }
        let store = SledStore::open(dir.path()).unwrap();
        let due = store.due_check_ins("2026-06-12T00:00:00Z".parse().unwrap()).unwrap();
        let scheduled = |patient, check_in| ScheduledCheckIn { patient: PatientId(patient), check_in };
        assert_eq!(due, [scheduled(42, sooner), scheduled(41, later)], "earliest first");
        assert_eq!(store.due_check_ins(sooner.due_at).unwrap(), [scheduled(42, sooner)], "only the due ones");
        assert_eq!(store.meta.get(SCHEMA_KEY).unwrap().unwrap().as_ref(), SCHEMA_VERSION.to_be_bytes());
    }
}
