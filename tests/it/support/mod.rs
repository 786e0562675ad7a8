//! Helpers shared by the end-to-end suites.

pub mod app;
pub mod bot_api;
