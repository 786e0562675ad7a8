//! Helpers shared by the end-to-end suites.

pub mod bot_api;
