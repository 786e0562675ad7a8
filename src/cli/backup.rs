//! `aftercare backup FILE` and `aftercare restore FILE`: every stored record as JSON Lines, and
//! back into a new, empty data directory.
//!
//! The file is versioned twice: each line carries the backup format (`"backup":1`), and the
//! first line is a header with the store's schema version and the number of records that
//! follow, so a newer file is refused rather than misread and a cut-off file is refused rather
//! than half restored:
//!
//! ```text
//! {"backup":1,"kind":"header","schema":4,"records":3,"program":"aftercare 0.1.0"}
//! {"backup":1,"kind":"next_offset","record":13}
//! {"backup":1,"kind":"conversation","key":-100,"record":{"v":"1","first_seen":"2026-06-10T10:00:00Z",...}}
//! {"backup":1,"kind":"incident","key":"E-2345","record":{"v":"1","id":"E-2345",...}}
//! ```
//!
//! One line per record (see [`BackupItem`] for the kinds, keys and records), in a fixed order,
//! so backing up a restored store gives the same file again. Records keep their own version
//! tags (`"v"`). The file holds patient data: it is written owner-only, like the data directory.

use crate::store::{BackupItem, Store, StoreError, SCHEMA_VERSION};
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::Path;

/// The version of the line format this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// What can stop a backup or a restore.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error(transparent)]
    Store(StoreError),
    #[error("the data directory is not empty: a backup is restored only into a new, empty data directory")]
    NotEmpty,
    #[error("cannot write the backup: {0}")]
    Write(io::Error),
    #[error("cannot read the backup: {0}")]
    Read(io::Error),
    #[error("{path}: {source}")]
    File { path: String, source: io::Error },
    #[error("line {line}: {reason}")]
    Line { line: usize, reason: String },
    #[error("not an aftercare backup: the file is empty")]
    NoHeader,
    #[error("the backup was written by a newer version (backup format {found}, this build reads up to {supported})")]
    NewerFormat { found: u64, supported: u32 },
    #[error("the backup was written by a newer version (schema {found}, this build reads up to {supported})")]
    NewerSchema { found: u32, supported: u32 },
    #[error("the backup is incomplete: its header announces {expected} records but it holds {found}")]
    Incomplete { expected: usize, found: usize },
}

impl From<StoreError> for BackupError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotEmpty => BackupError::NotEmpty,
            e => BackupError::Store(e),
        }
    }
}

/// The first line.
#[derive(Debug, Serialize, Deserialize)]
struct Header {
    backup: u32,
    kind: String,
    /// The store schema the records were written with.
    schema: u32,
    /// How many record lines follow.
    records: usize,
    /// The program that wrote it (information only).
    #[serde(default)]
    program: String,
}

/// A record line.
#[derive(Serialize)]
struct Line<'a> {
    backup: u32,
    #[serde(flatten)]
    item: &'a BackupItem,
}

/// Writes every record of `store` to `out`; returns how many records (the header not counted).
pub fn backup(store: &dyn Store, out: &mut impl Write) -> Result<usize, BackupError> {
    let items = store.export()?;
    let mut out = BufWriter::new(out);
    let header = Header {
        backup: FORMAT_VERSION,
        kind: "header".into(),
        schema: SCHEMA_VERSION,
        records: items.len(),
        program: format!("aftercare {}", env!("CARGO_PKG_VERSION")),
    };
    write_line(&mut out, &header)?;
    for item in &items {
        write_line(&mut out, &Line { backup: FORMAT_VERSION, item })?;
    }
    out.flush().map_err(BackupError::Write)?;
    Ok(items.len())
}

fn write_line(out: &mut impl Write, value: &impl Serialize) -> Result<(), BackupError> {
    serde_json::to_writer(&mut *out, value).map_err(|e| BackupError::Write(e.into()))?;
    out.write_all(b"\n").map_err(BackupError::Write)
}

/// Loads a backup into `store`, which must be empty; returns how many records. The whole file
/// is read and checked before anything is stored, and it is stored in one transaction, then
/// flushed: a bad file leaves the store empty.
pub fn restore(store: &dyn Store, input: impl BufRead) -> Result<usize, BackupError> {
    if !store.is_empty()? {
        return Err(BackupError::NotEmpty);
    }
    let mut header: Option<Header> = None;
    let mut items = Vec::new();
    for (index, line) in input.lines().enumerate() {
        let number = index + 1;
        let line = line.map_err(BackupError::Read)?;
        if line.trim().is_empty() {
            continue;
        }
        let bad = |reason: String| BackupError::Line { line: number, reason };
        let value: serde_json::Value = serde_json::from_str(&line).map_err(|e| bad(format!("not JSON: {e}")))?;
        let format = value.get("backup").and_then(serde_json::Value::as_u64);
        let Some(format) = format else {
            return Err(bad("not an aftercare backup line (no \"backup\" format version)".into()));
        };
        if format > u64::from(FORMAT_VERSION) {
            return Err(BackupError::NewerFormat { found: format, supported: FORMAT_VERSION });
        }
        let is_header = value.get("kind").and_then(serde_json::Value::as_str) == Some("header");
        match (&header, is_header) {
            (None, true) => {
                let read: Header = serde_json::from_value(value).map_err(|e| bad(format!("header: {e}")))?;
                if read.schema > SCHEMA_VERSION {
                    return Err(BackupError::NewerSchema { found: read.schema, supported: SCHEMA_VERSION });
                }
                header = Some(read);
            }
            (None, false) => return Err(bad("not an aftercare backup: the first line is not its header".into())),
            (Some(_), true) => return Err(bad("a second header".into())),
            (Some(_), false) => {
                items.push(serde_json::from_value::<BackupItem>(value).map_err(|e| bad(e.to_string()))?)
            }
        }
    }
    let header = header.ok_or(BackupError::NoHeader)?;
    if header.records != items.len() {
        return Err(BackupError::Incomplete { expected: header.records, found: items.len() });
    }
    // Records read the same in schemas 1 to 4 (2 changed only how check-ins are keyed on disk,
    // 3 and 4 added indexes of open incidents and of check-ins by due time, both rebuilt on
    // import); a later schema that changes records would upgrade older ones here, item by item.
    store.import(&items)?;
    store.flush()?;
    Ok(items.len())
}

/// [`backup`] to a file: written owner-only next to it (`FILE.partial`), synced, then renamed
/// over `path`, so an existing backup is replaced only by a complete one.
pub fn backup_to_file(store: &dyn Store, path: &Path) -> Result<usize, BackupError> {
    let file_error = |path: &Path| {
        let path = path.display().to_string();
        move |source| BackupError::File { path, source }
    };
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    let partial = Path::new(&partial);
    let mut options = File::options();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(partial).map_err(file_error(partial))?;
    let count = backup(store, &mut file)?;
    file.sync_all().map_err(file_error(partial))?;
    drop(file);
    std::fs::rename(partial, path).map_err(file_error(path))?;
    // The rename is durable once the folder is synced (Unix; elsewhere it cannot be opened).
    #[cfg(unix)]
    if let Some(folder) = path.parent().map(|p| if p.as_os_str().is_empty() { Path::new(".") } else { p }) {
        File::open(folder).and_then(|f| f.sync_all()).map_err(file_error(folder))?;
    }
    Ok(count)
}

/// [`restore`] from a file.
pub fn restore_from_file(store: &dyn Store, path: &Path) -> Result<usize, BackupError> {
    let file = File::open(path).map_err(|source| BackupError::File { path: path.display().to_string(), source })?;
    restore(store, BufReader::new(file))
}
