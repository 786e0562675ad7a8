//! The integration-test binary: one binary for every suite, with shared helpers here.

mod audit;
mod backup;
mod catalogue;
mod chat;
mod cli;
mod conversations;
mod escalation;
mod eval;
mod fuzz_properties;
mod matcher;
mod ops;
mod properties;
mod serve;
mod store;
mod support;

use aftercare::triage::Catalogue;
use std::process::Command;
use std::sync::LazyLock;

/// The built-in catalogue, compiled once for all tests.
pub fn catalogue() -> &'static Catalogue {
    static CATALOGUE: LazyLock<Catalogue> = LazyLock::new(|| match Catalogue::embedded() {
        Ok(catalogue) => catalogue,
        Err(problems) => panic!("the built-in catalogue has problems:\n{problems}"),
    });
    &CATALOGUE
}

/// The real `aftercare` binary built by cargo for this test run.
pub fn aftercare() -> Command {
    Command::new(env!("CARGO_BIN_EXE_aftercare"))
}

/// The repository's root folder.
pub fn repo_path(relative: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}
