//! aftercare: a Telegram bot that looks after patients in the hours and days after ketamine
//! treatment. The [`triage`] engine is pure; the adapters in [`cli`] drive it.

pub mod cli;
pub mod config;
pub mod escalation;
pub mod metrics;

pub mod problem;
pub mod roster;
pub mod staff;
pub mod store;
pub mod telegram;
pub mod triage;
