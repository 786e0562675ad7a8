//! Where the catalogue's files come from: a folder on disk (`--intents DIR`) or the copy of
//! `intents/` embedded in the binary at build time.

use std::fs;
use std::io;
use std::path::Path;

/// The intent files embedded by `build.rs`: (path, contents), sorted by path.
const EMBEDDED: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/embedded_intents.rs"));

/// One data file: its path as shown in problem reports, and its text.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: String,
    pub contents: String,
}

/// The files a catalogue is compiled from.
#[derive(Debug, Clone)]
pub struct CatalogueSource {
    pub files: Vec<SourceFile>,
}

impl CatalogueSource {
    /// The catalogue embedded in the binary.
    pub fn embedded() -> Self {
        let files = EMBEDDED
            .iter()
            .map(|(path, contents)| SourceFile { path: path.to_string(), contents: contents.to_string() })
            .collect();
        Self { files }
    }

    /// Every `*.toml` file directly inside `dir`, sorted by name.
    pub fn from_dir(dir: &Path) -> io::Result<Self> {
        let mut files = Vec::new();
        for entry in fs::read_dir(dir)? {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "toml") && path.is_file() {
                let contents = fs::read_to_string(&path)?;
                files.push(SourceFile { path: path.display().to_string(), contents });
            }
        }
        files.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(Self { files })
    }
}
