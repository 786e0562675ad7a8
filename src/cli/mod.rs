//! Command-line adapters over the triage engine: the console chat, batch classification,
//! catalogue checks and evaluation against a labelled file.

pub mod audit;
pub mod backup;
pub mod chat;
pub mod classify;
pub mod eval;
