//! The sled store: one `Db` per process, one tree per record kind, explicit big-endian keys, a
//! schema-version key, and JSON records (readable in a backup, versioned by their own tag).

use super::record::ConversationRecord;
use super::{audit_key, AuditEntry, PatientId, Store, StoreError};
use crate::triage::dialogue::{AuditEvent, Conversation};
use jiff::Timestamp;
use sled::transaction::{ConflictableTransactionError, TransactionError};
use sled::Transactional;
use std::path::Path;

/// The schema this build writes and reads.
const SCHEMA_VERSION: u32 = 1;
const SCHEMA_KEY: &[u8] = b"schema_version";

pub struct SledStore {
    db: sled::Db,
    meta: sled::Tree,
    conversations: sled::Tree,
    audit: sled::Tree,
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
            .map_err(|e| match e {
                TransactionError::Storage(e) => StoreError::Sled(e),
                TransactionError::Abort(()) => StoreError::Corrupt("transaction aborted".into()),
            })
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
}
