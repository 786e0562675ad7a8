//! On-call escalation, pure: opening incidents from alerts, deciding whom to page at each level
//! and when, acknowledging and resolving. The adapters store incidents and send the pages; the
//! clock comes in as `now`.
//!
//! Levels: 0 pages the primary; 1 (no acknowledgement within the timeout) the backup and the
//! primary again; 2 the staff group; from 3 on, everyone again every `repeat_every`, until
//! someone acknowledges. It never gives up silently.

pub mod incident;

pub use incident::{short_id, Event, Incident, State};

use crate::roster::Roster;
use crate::triage::dialogue::Alert;
use crate::triage::Disposition;
use jiff::{SignedDuration, Timestamp};
use std::time::Duration;

/// Whom pages go to: the roster when one is configured, else one fallback chat.
#[derive(Debug, Clone, Copy)]
pub struct Paging<'a> {
    pub roster: Option<&'a Roster>,
    /// `telegram.staff_chat_id`: used when there is no roster, and as a last resort.
    pub fallback_chat: Option<i64>,
}

/// A page to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub chat: i64,
    pub incident: String,
    pub text: String,
}

const DEFAULT_ACK_EMERGENCY: Duration = Duration::from_secs(5 * 60);
const DEFAULT_ACK_URGENT: Duration = Duration::from_secs(10 * 60);
const DEFAULT_REPEAT: Duration = Duration::from_secs(10 * 60);

impl Paging<'_> {
    /// The chats paged at `level`, at time `at`; never empty while anyone can be paged.
    pub fn recipients(&self, level: u32, at: Timestamp) -> Vec<i64> {
        let mut chats = Vec::new();
        if let Some(roster) = self.roster {
            let on_call = roster.on_call(at);
            let primary = on_call.as_ref().map(|o| o.primary.chat_id);
            let backup = on_call.as_ref().and_then(|o| o.backup.map(|b| b.chat_id));
            match level {
                0 => chats.extend(primary),
                1 => chats.extend(backup.into_iter().chain(primary)),
                2 => chats.extend(roster.staff_group),
                _ => chats.extend(primary.into_iter().chain(backup).chain(roster.staff_group)),
            }
            if chats.is_empty() {
                // Nobody at this level (no backup, no group): page everyone we know of.
                chats.extend(primary.into_iter().chain(backup).chain(roster.staff_group));
            }
        }
        if chats.is_empty() {
            chats.extend(self.fallback_chat);
        }
        chats.dedup();
        chats
    }

    /// How long to wait for an acknowledgement after paging `level`.
    pub fn wait_after(&self, disposition: Disposition, level: u32) -> Duration {
        match (self.roster, level) {
            (Some(roster), 0 | 1) => roster.ack_timeout(disposition),
            (Some(roster), _) => roster.repeat_every,
            (None, 0 | 1) if disposition == Disposition::Emergency => DEFAULT_ACK_EMERGENCY,
            (None, 0 | 1) => DEFAULT_ACK_URGENT,
            (None, _) => DEFAULT_REPEAT,
        }
    }

    fn deadline(&self, disposition: Disposition, level: u32, now: Timestamp) -> Option<Timestamp> {
        let wait = SignedDuration::try_from(self.wait_after(disposition, level)).ok()?;
        now.checked_add(wait).ok()
    }
}

/// The text of a page.
pub fn page_text(incident: &Incident, level: u32) -> String {
    let repeat = if level == 0 { String::new() } else { format!(" (not acknowledged yet, page {})", level + 1) };
    format!(
        "{} {}{repeat}\nPatient chat {}\n{}\nAcknowledge with the button or /ack {}.",
        incident.id,
        incident.state.as_str(),
        incident.patient,
        incident.summary,
        incident.id
    )
}

/// What opening an alert did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Opened {
    /// A new incident: page its recipients now.
    New(Vec<Page>),
    /// The episode's open incident became more urgent: page again from the first level.
    Escalated(Vec<Page>),
    /// Appended to the episode's open incident; nobody is paged again.
    Appended,
}

/// Opens an incident for an alert, or adds it to the patient's open incident of the same
/// episode. `existing` is that open incident, if any; `id_taken` says whether an id is in use.
pub fn open(
    existing: Option<Incident>,
    alert: &Alert,
    patient: i64,
    now: Timestamp,
    paging: &Paging<'_>,
    id_taken: impl Fn(&str) -> bool,
) -> (Incident, Opened) {
    let summary = alert.summary();
    if let Some(mut incident) = existing.filter(|i| i.is_open() && i.episode_started == alert.episode_started) {
        if alert.disposition > incident.disposition {
            incident.disposition = alert.disposition;
            incident.intent = alert.intent.clone();
            incident.summary = summary;
            incident.state = State::Triggered;
            incident.acknowledged_by = None;
            incident.level = 0;
            incident.next_page_at = paging.deadline(incident.disposition, 0, now);
            incident.record(now, "bot", "escalated", format!("now {} ({})", alert.disposition, alert.intent));
            let pages = pages(&incident, paging, now);
            return (incident, Opened::Escalated(pages));
        }
        incident.summary = summary;
        incident.record(now, "bot", "appended", format!("{} ({})", alert.disposition, alert.intent));
        return (incident, Opened::Appended);
    }
    let id = (0..)
        .map(|attempt| short_id(alert.disposition, patient, now, attempt))
        .find(|id| !id_taken(id))
        .expect("an unused id exists");
    let mut incident = Incident {
        id,
        patient,
        episode_started: alert.episode_started,
        disposition: alert.disposition,
        intent: alert.intent.clone(),
        summary,
        state: State::Triggered,
        created: now,
        level: 0,
        next_page_at: paging.deadline(alert.disposition, 0, now),
        acknowledged_by: None,
        events: Vec::new(),
    };
    incident.record(now, "bot", "triggered", format!("{} ({})", alert.disposition, alert.intent));
    let pages = pages(&incident, paging, now);
    (incident, Opened::New(pages))
}

fn pages(incident: &Incident, paging: &Paging<'_>, now: Timestamp) -> Vec<Page> {
    paging
        .recipients(incident.level, now)
        .into_iter()
        .map(|chat| Page { chat, incident: incident.id.clone(), text: page_text(incident, incident.level) })
        .collect()
}

/// Pages the next level of an incident whose acknowledgement time has passed; nothing otherwise.
pub fn escalate_if_due(incident: &mut Incident, now: Timestamp, paging: &Paging<'_>) -> Vec<Page> {
    let due = incident.state == State::Triggered && incident.next_page_at.is_some_and(|at| at <= now);
    if !due {
        return Vec::new();
    }
    incident.level += 1;
    incident.next_page_at = paging.deadline(incident.disposition, incident.level, now);
    let pages = pages(incident, paging, now);
    let to: Vec<String> = pages.iter().map(|p| p.chat.to_string()).collect();
    incident.record(now, "bot", "re-paged", format!("level {}: {}", incident.level + 1, to.join(", ")));
    pages
}

/// Why a staff action was not applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActionError {
    #[error("{0} is already resolved")]
    Resolved(String),
    #[error("{0} was already acknowledged by {1}")]
    AlreadyAcknowledged(String, String),
}

/// A staff member has seen it: paging stops.
pub fn acknowledge(incident: &mut Incident, by: &str, now: Timestamp) -> Result<(), ActionError> {
    match incident.state {
        State::Resolved => Err(ActionError::Resolved(incident.id.clone())),
        State::Acknowledged => Err(ActionError::AlreadyAcknowledged(
            incident.id.clone(),
            incident.acknowledged_by.clone().unwrap_or_default(),
        )),
        State::Triggered => {
            incident.state = State::Acknowledged;
            incident.acknowledged_by = Some(by.to_string());
            incident.next_page_at = None;
            incident.record(now, by, "acknowledged", "");
            Ok(())
        }
    }
}

/// Closes an incident (acknowledging it too, if nobody had).
pub fn resolve(incident: &mut Incident, by: &str, note: &str, now: Timestamp) -> Result<(), ActionError> {
    if incident.state == State::Resolved {
        return Err(ActionError::Resolved(incident.id.clone()));
    }
    if incident.acknowledged_by.is_none() {
        incident.acknowledged_by = Some(by.to_string());
    }
    incident.state = State::Resolved;
    incident.next_page_at = None;
    incident.record(now, by, "resolved", note);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::roster::{parse_days, ClockTime, Shift, StaffMember};
    use crate::triage::dialogue::Alert;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn roster() -> Roster {
        let member = |id: &str, chat_id| StaffMember { id: id.into(), name: id.into(), chat_id, role: String::new() };
        Roster {
            staff: vec![member("ana", 501), member("ben", 502)],
            shifts: vec![Shift {
                days: parse_days("daily").unwrap().to_vec(),
                from: ClockTime::new(0, 0).unwrap(),
                to: ClockTime::new(0, 0).unwrap(),
                primary: "ana".into(),
                backup: Some("ben".into()),
            }],
            staff_group: Some(-900),
            ack_timeout_emergency: Duration::from_secs(300),
            ack_timeout_urgent: Duration::from_secs(600),
            repeat_every: Duration::from_secs(600),
            ..Roster::default()
        }
    }

    fn alert(disposition: Disposition, intent: &str) -> Alert {
        Alert::sample(disposition, intent, at("2026-06-10T12:00:00Z"))
    }

    #[test]
    fn levels_climb_from_primary_to_everyone() {
        let roster = roster();
        let paging = Paging { roster: Some(&roster), fallback_chat: None };
        let now = at("2026-06-10T12:00:00Z");
        assert_eq!(paging.recipients(0, now), vec![501]);
        assert_eq!(paging.recipients(1, now), vec![502, 501]);
        assert_eq!(paging.recipients(2, now), vec![-900]);
        assert_eq!(paging.recipients(3, now), vec![501, 502, -900]);
        let fallback = Paging { roster: None, fallback_chat: Some(77) };
        assert_eq!(fallback.recipients(2, now), vec![77]);
    }

    #[test]
    fn an_incident_is_paged_again_until_acknowledged() {
        let roster = roster();
        let paging = Paging { roster: Some(&roster), fallback_chat: None };
        let now = at("2026-06-10T12:00:00Z");
        let (mut incident, opened) =
            open(None, &alert(Disposition::Emergency, "chest_cardiac"), 9, now, &paging, |_| false);
        assert!(matches!(&opened, Opened::New(pages) if pages.len() == 1 && pages[0].chat == 501));
        assert!(escalate_if_due(&mut incident, at("2026-06-10T12:04:59Z"), &paging).is_empty(), "not yet");
        let second = escalate_if_due(&mut incident, at("2026-06-10T12:05:00Z"), &paging);
        assert_eq!(second.iter().map(|p| p.chat).collect::<Vec<_>>(), vec![502, 501]);
        acknowledge(&mut incident, "ana", at("2026-06-10T12:06:00Z")).unwrap();
        assert!(escalate_if_due(&mut incident, at("2026-06-10T13:00:00Z"), &paging).is_empty(), "stopped");
        assert!(acknowledge(&mut incident, "ben", at("2026-06-10T12:07:00Z")).is_err());
        resolve(&mut incident, "ben", "called", at("2026-06-10T12:30:00Z")).unwrap();
        assert_eq!(incident.state, State::Resolved);
        let kinds: Vec<&str> = incident.events.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(kinds, ["triggered", "re-paged", "acknowledged", "resolved"]);
    }

    #[test]
    fn one_open_incident_per_episode_and_a_more_urgent_alert_pages_again() {
        let roster = roster();
        let paging = Paging { roster: Some(&roster), fallback_chat: None };
        let now = at("2026-06-10T12:00:00Z");
        let (incident, _) = open(None, &alert(Disposition::Urgent, "psychosis"), 9, now, &paging, |_| false);
        let (same, opened) =
            open(Some(incident.clone()), &alert(Disposition::Urgent, "psychosis"), 9, now, &paging, |_| false);
        assert_eq!((same.id.as_str(), &opened), (incident.id.as_str(), &Opened::Appended));
        let (raised, opened) =
            open(Some(same), &alert(Disposition::Emergency, "self_harm"), 9, now, &paging, |_| false);
        assert_eq!(raised.id, incident.id);
        assert_eq!(raised.disposition, Disposition::Emergency);
        assert!(matches!(opened, Opened::Escalated(pages) if pages[0].chat == 501));
    }
}
