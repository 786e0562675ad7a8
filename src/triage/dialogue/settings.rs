//! The clinic settings the dialogue needs: names and numbers to give patients, the time zone
//! for reading times, and how long a question waits.

use jiff::tz::TimeZone;
use std::time::Duration;

/// Clinic settings for the dialogue (built from the validated configuration).
#[derive(Debug, Clone)]
pub struct Settings {
    pub clinic_name: String,
    pub emergency_number: String,
    pub crisis_line: String,
    pub time_zone: TimeZone,
    pub question_expiry: Duration,
}

impl From<&crate::config::Config> for Settings {
    fn from(config: &crate::config::Config) -> Self {
        Settings {
            clinic_name: config.clinic.name.clone(),
            emergency_number: config.clinic.emergency_number.clone(),
            crisis_line: config.clinic.crisis_line.clone(),
            time_zone: config.clinic.time_zone.clone(),
            question_expiry: config.question_expiry,
        }
    }
}
