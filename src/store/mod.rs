//! Persistence behind a small trait, with an in-memory implementation for tests and a sled one
//! for real use; one contract test suite (tests/it/store.rs) runs against both.
//!
//! Durability is explicit: `save` records a step, `flush` makes everything saved so far durable.
//! An adapter saves a batch of steps, flushes once (group commit), and only then sends the
//! replies: nothing is reported as done before it is safe on disk.
//!
//! Patient data leaves the store two ways: `/forget` ([`Store::forget`], also what a
//! commit with `forget` does) and retention ([`Store::purge_conversations_older_than`]); audit
//! events hold ids and dispositions, not patient words, and stay. A backup ([`Store::export`],
//! [`Store::import`]) copies every record as it is stored.

mod memory;
pub mod outbox;
pub mod record;
mod sled_store;

pub use memory::MemoryStore;
pub use outbox::{Lane, OutboxKey, Outgoing, OutgoingKind};
pub use record::{AuditKey, BackupItem, CheckInKey};
pub use sled_store::SledStore;

/// The schema version of the stored data this build writes and reads (kept in the sled data
/// directory and in every backup's header).
pub const SCHEMA_VERSION: u32 = 4;

/// What an anonymised incident says instead of its summary.
pub const FORGOTTEN_SUMMARY: &str = "[removed at the patient's request]";

use crate::escalation::Incident;
use crate::triage::dialogue::check_ins::DueCheckIn;
use crate::triage::dialogue::{AuditEvent, Conversation};
use jiff::Timestamp;

/// A patient, identified by their private chat with the bot (a Telegram chat id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PatientId(pub i64);

impl PatientId {
    /// Big-endian key bytes that sort in numeric order.
    pub fn key(self) -> [u8; 8] {
        signed_key(self.0)
    }

    pub fn from_key(bytes: &[u8]) -> Option<PatientId> {
        from_signed_key(bytes).map(PatientId)
    }
}

/// Big-endian bytes of a signed number that sort in numeric order (sign bit flipped).
fn signed_key(value: i64) -> [u8; 8] {
    ((value as u64) ^ (1 << 63)).to_be_bytes()
}

fn from_signed_key(bytes: &[u8]) -> Option<i64> {
    let array: [u8; 8] = bytes.try_into().ok()?;
    Some((u64::from_be_bytes(array) ^ (1 << 63)) as i64)
}

/// Everything one processed update changes, committed together: the conversation, its audit
/// events, what to send, and the mark that the update is done (so a re-delivered update
/// changes nothing twice). The update leaves the inbox in the same step.
#[derive(Debug, Clone, Copy)]
pub struct ProcessedUpdate<'a> {
    pub update_id: i64,
    pub at: Timestamp,
    pub patient: PatientId,
    /// The new conversation; `None` when the update touched none (a group chat, say).
    pub conversation: Option<&'a Conversation>,
    /// A confirmed `/forget`: after this update's other changes, the same as
    /// [`Store::forget`] (conversation and check-ins deleted, incidents anonymised).
    pub forget: bool,
    pub audit: &'a [AuditEvent],
    pub outgoing: &'a [Outgoing],
    /// Incidents created or changed by this update (stored before any page about them is sent).
    pub incidents: &'a [Incident],
    /// A new plan of check-ins for this patient, replacing any still pending (`Some(&[])` clears).
    pub schedule: Option<&'a [DueCheckIn]>,
    /// A check-in of this patient that is now done (sent or skipped): it leaves the schedule.
    pub check_in_done: Option<u32>,
}

impl ProcessedUpdate<'_> {
    /// An update that changes nothing but is marked done; fill in what it does change with
    /// struct update syntax (`ProcessedUpdate { outgoing: &out, ..ProcessedUpdate::empty(..) }`).
    pub fn empty(update_id: i64, at: Timestamp, patient: PatientId) -> Self {
        ProcessedUpdate {
            update_id,
            at,
            patient,
            conversation: None,
            forget: false,
            audit: &[],
            outgoing: &[],
            incidents: &[],
            schedule: None,
            check_in_done: None,
        }
    }
}

/// A check-in waiting in the schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScheduledCheckIn {
    pub patient: PatientId,
    pub check_in: DueCheckIn,
}

/// The key of a scheduled check-in: patient first, so replacing or forgetting one patient's
/// check-ins reads only theirs (the sled store also keeps them by due time, for the timer).
fn check_in_key(patient: PatientId, check_in: &DueCheckIn) -> [u8; 20] {
    let mut key = [0u8; 20];
    key[..8].copy_from_slice(&patient.key());
    key[8..12].copy_from_slice(&check_in.number.to_be_bytes());
    key[12..].copy_from_slice(&signed_key(check_in.due_at.as_second()));
    key
}

fn check_in_from_key(key: &[u8]) -> Option<ScheduledCheckIn> {
    let patient = PatientId::from_key(key.get(..8)?)?;
    let number = u32::from_be_bytes(key.get(8..12)?.try_into().ok()?);
    let due_at = Timestamp::from_second(from_signed_key(key.get(12..20)?)?).ok()?;
    Some(ScheduledCheckIn { patient, check_in: DueCheckIn { number, due_at } })
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
    #[error("the data directory {path} is in use by another aftercare process (stop `aftercare serve` first)")]
    InUse { path: String },
    #[error("a stored record cannot be read: {0}")]
    Corrupt(String),
    #[error("the data directory was written by a newer version (schema {found}, this build reads up to {supported})")]
    NewerSchema { found: u32, supported: u32 },
    #[error("the data directory is not empty: a backup is restored only into a new, empty one")]
    NotEmpty,
}

/// An incident with nothing left that points at the patient: the chat becomes 0, the summary
/// [`FORGOTTEN_SUMMARY`], and each event keeps its time, kind and actor (the bot or a staff
/// member) but loses its detail (a resolution note may quote the patient). Its id,
/// disposition, intent, state, times, paging level and who acknowledged it stay.
pub fn anonymise(incident: &Incident) -> Incident {
    let mut anonymous = incident.clone();
    anonymous.patient = 0;
    anonymous.summary = FORGOTTEN_SUMMARY.to_string();
    for event in &mut anonymous.events {
        event.detail.clear();
    }
    anonymous
}

/// The last activity `save` records (it has no clock of its own): the latest of what the
/// previous record knew and the times of the step's audit events.
fn saved_activity(previous: Option<&record::ConversationRecord>, audit: &[AuditEvent]) -> Option<Timestamp> {
    previous.and_then(record::ConversationRecord::last_activity).into_iter().chain(audit.iter().map(|e| e.at)).max()
}

/// What becomes of a forgotten patient's incident: anonymised now when it is resolved, else
/// kept (and marked, by the caller) until it is.
fn forgotten_incident(incident: &Incident) -> Option<Incident> {
    (!incident.is_open()).then(|| anonymise(incident))
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

    /// A confirmed `/forget`, in one transaction: deletes the patient's conversation and their
    /// scheduled check-ins, and anonymises their incidents (see [`anonymise`]). An incident
    /// still open keeps the patient's chat until it is resolved, so the on-call clinician can
    /// still reach them; it is anonymised when it is saved resolved. Audit events, which hold
    /// ids and dispositions but no patient words, stay. Not durable until [`Store::flush`].
    fn forget(&self, patient: PatientId) -> Result<(), StoreError>;

    /// Retention: deletes every conversation whose last activity
    /// ([`record::ConversationRecord::last_activity`]) is before `before`, or which holds no
    /// time at all, with the scheduled check-ins of those patients; returns how many
    /// conversations went. A conversation written meanwhile is kept. Incidents and audit
    /// events are not touched. Not durable until [`Store::flush`].
    fn purge_conversations_older_than(&self, before: Timestamp) -> Result<usize, StoreError>;

    /// Every record, in a fixed order (see [`BackupItem`]).
    fn export(&self) -> Result<Vec<BackupItem>, StoreError>;

    /// Loads exported records into an empty store, all or nothing; refuses a store that is not
    /// empty ([`StoreError::NotEmpty`]). What is added afterwards is numbered after what was
    /// loaded. Not durable until [`Store::flush`].
    fn import(&self, items: &[BackupItem]) -> Result<(), StoreError>;

    /// Whether the store holds no record at all (a fresh data directory).
    fn is_empty(&self) -> Result<bool, StoreError>;

    /// Audit events at or after `since`, oldest first.
    fn audit(&self, since: Option<Timestamp>) -> Result<Vec<AuditEntry>, StoreError>;

    /// Keeps received updates (raw, by update id) and the offset that confirms them, together.
    fn receive(&self, updates: &[(i64, Vec<u8>)], next_offset: i64) -> Result<(), StoreError>;

    /// Where update intake resumes.
    fn next_offset(&self) -> Result<Option<i64>, StoreError>;

    /// The first `limit` received updates not processed yet, oldest first (the processor takes
    /// them a batch at a time, so a flood of updates is not read into memory whole).
    fn inbox_head(&self, limit: usize) -> Result<Vec<(i64, Vec<u8>)>, StoreError>;

    /// Every received update not processed yet, oldest first.
    fn inbox(&self) -> Result<Vec<(i64, Vec<u8>)>, StoreError> {
        self.inbox_head(usize::MAX)
    }

    /// Whether an update was processed already.
    fn was_processed(&self, update_id: i64) -> Result<bool, StoreError>;

    /// Commits one processed update (see [`ProcessedUpdate`]).
    fn commit(&self, processed: &ProcessedUpdate<'_>) -> Result<(), StoreError>;

    /// The keys of the first `limit` items waiting in a lane, in order: what a sender and the
    /// metrics need each round, without reading a long queue whole or decoding it. Only items a
    /// [`Store::flush`] has made durable are waiting: what was written after the last flush
    /// began is not sent before it is safe on disk, whoever wrote it.
    fn outbox_keys(&self, lane: Lane, limit: usize) -> Result<Vec<OutboxKey>, StoreError>;

    /// A waiting item; `None` once it was delivered. An item never changes while it waits (what
    /// follows it is queued under a new key), so a reader may keep what it decoded.
    fn outbox_item(&self, key: OutboxKey) -> Result<Option<Outgoing>, StoreError>;

    /// What waits to be sent in a lane, in order.
    fn outbox(&self, lane: Lane) -> Result<Vec<(OutboxKey, Outgoing)>, StoreError> {
        let mut items = Vec::new();
        for key in self.outbox_keys(lane, usize::MAX)? {
            items.extend(self.outbox_item(key)?.map(|item| (key, item)));
        }
        Ok(items)
    }

    /// An item was accepted by Telegram: it leaves the outbox and what follows it takes its place.
    fn delivered(&self, key: OutboxKey) -> Result<(), StoreError>;

    /// The incident with this id.
    fn incident(&self, id: &str) -> Result<Option<Incident>, StoreError>;

    /// Every incident not resolved yet.
    fn open_incidents(&self) -> Result<Vec<Incident>, StoreError>;

    /// The patient's open incidents (one per episode that raised an alert).
    fn open_incidents_of(&self, patient: PatientId) -> Result<Vec<Incident>, StoreError> {
        Ok(self.open_incidents()?.into_iter().filter(|i| i.patient == patient.0).collect())
    }

    /// How many incidents are open.
    fn open_incident_count(&self) -> Result<usize, StoreError> {
        Ok(self.open_incidents()?.len())
    }

    /// The open incidents whose next page is due by `until` (the paging timer's work).
    fn incidents_to_page(&self, until: Timestamp) -> Result<Vec<Incident>, StoreError> {
        Ok(self.open_incidents()?.into_iter().filter(|i| i.next_page_at.is_some_and(|at| at <= until)).collect())
    }

    /// Saves changed incidents and what to send about them, together (re-paging on a timer).
    fn save_incidents(&self, incidents: &[Incident], outgoing: &[Outgoing]) -> Result<(), StoreError>;

    /// Check-ins due at or before `until`, earliest first.
    fn due_check_ins(&self, until: Timestamp) -> Result<Vec<ScheduledCheckIn>, StoreError>;

    /// Forgets processed-update marks older than `before` (Telegram may reuse ids after a week).
    fn prune_processed(&self, before: Timestamp) -> Result<usize, StoreError>;
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
