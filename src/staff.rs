//! The staff side of escalation, for every adapter: turning an alert into an incident and its
//! pages (with Acknowledge and Resolve buttons), and the staff actions: the buttons and the
//! commands `/open`, `/ack ID`, `/resolve ID note`, `/oncall`, `/reply ID text`, `/followups`.
//! Only chats on the roster (or the configured staff chat) may use them; the adapters refuse
//! anyone else, and the attempt is recorded. Results are effects to store and send, in order.

use crate::escalation::{self, Incident, Opened, Paging, State};
use crate::store::{Lane, Outgoing, OutgoingKind, PatientId, Store, StoreError};
use crate::triage::dialogue::Alert;
use crate::triage::dialogue::{AuditEvent, Button, Input};
use jiff::Timestamp;

/// The staff command words.
pub const COMMANDS: &[&str] = &["/open", "/ack", "/resolve", "/oncall", "/reply", "/followups"];

/// `/treated PATIENT TIME` from staff: the patient's chat id and the time words ("today 2pm").
pub fn treated_command(input: &Input) -> Option<(i64, String)> {
    let text = match input {
        Input::Text(text) => text.trim(),
        Input::Command { command: crate::triage::dialogue::Command::Treated, argument } => {
            let (patient, when) = argument.trim().split_once(char::is_whitespace).unwrap_or((argument.trim(), ""));
            return Some((patient.parse().ok()?, when.trim().to_string()));
        }
        _ => return None,
    };
    let rest = text.strip_prefix("/treated")?;
    let (patient, when) = rest.trim().split_once(char::is_whitespace).unwrap_or((rest.trim(), ""));
    Some((patient.parse().ok()?, when.trim().to_string()))
}

/// What a staff action changes: messages to send, incidents to store, audit events.
#[derive(Debug, Default)]
pub struct Effects {
    pub outgoing: Vec<Outgoing>,
    pub incidents: Vec<Incident>,
    pub audit: Vec<AuditEvent>,
}

impl Effects {
    fn say(&mut self, chat: i64, text: impl Into<String>) {
        self.outgoing.push(message(Lane::Urgent, chat, text.into(), Vec::new()));
    }
}

/// A message in a lane.
pub fn message(lane: Lane, chat: i64, text: String, buttons: Vec<Button>) -> Outgoing {
    Outgoing::new(lane, OutgoingKind::Message { chat, text, buttons })
}

/// The audit kind recorded when an incident had nobody to page.
pub const PAGE_NOT_SENT: &str = "page_not_sent";

/// What the patient is told when someone has seen their alert.
fn seen_by(actor: &str) -> String {
    if actor.starts_with("The ") {
        format!("{actor} has seen your message.")
    } else {
        format!("{actor} from the clinic has seen your message.")
    }
}

/// Sent to the patient once the first page was accepted by Telegram.
pub const ALERTED: &str = "The on-call clinician has been alerted.";

/// Opens (or updates) the patient's incident for an alert, with its pages.
pub fn page(
    store: &dyn Store,
    paging: &Paging<'_>,
    alert: &Alert,
    patient: i64,
    now: Timestamp,
) -> Result<Effects, StoreError> {
    let mut effects = Effects::default();
    // The open incident of this episode: an older episode's may still be open beside it.
    let existing =
        store.open_incidents_of(PatientId(patient))?.into_iter().find(|i| i.episode_started == alert.episode_started);
    let taken = |id: &str| store.incident(id).ok().flatten().is_some();
    let (incident, opened) = escalation::open(existing, alert, patient, now, paging, taken);
    let (pages, tell_patient, appended) = match opened {
        Opened::New(pages) => (pages, true, false),
        Opened::Escalated(pages) => (pages, false, false),
        Opened::Appended => (Vec::new(), false, true),
    };
    if pages.is_empty() && !appended {
        effects.audit.push(AuditEvent { at: now, kind: PAGE_NOT_SENT.into(), detail: incident.id.clone() });
    }
    for (i, page) in pages.into_iter().enumerate() {
        let mut item = message(Lane::Urgent, page.chat, page.text, page_buttons(&page.incident));
        if i == 0 && tell_patient {
            // The patient hears it only once the page was accepted.
            item = item.then(message(Lane::Urgent, patient, ALERTED.to_string(), Vec::new()));
        }
        effects.outgoing.push(item);
    }
    effects.audit.push(AuditEvent {
        at: now,
        kind: "incident".into(),
        detail: format!("{} {}", incident.id, incident.state.as_str()),
    });
    effects.incidents.push(incident);
    Ok(effects)
}

/// The buttons on a page.
pub fn page_buttons(id: &str) -> Vec<Button> {
    vec![Button::new("Acknowledge", format!("ack:{id}")), Button::new("Resolve", format!("res:{id}"))]
}

/// Whether a text is a staff command (so a patient sending one is refused, not triaged).
pub fn is_staff_command(input: &Input) -> bool {
    let text = match input {
        Input::Text(text) => text.trim(),
        _ => return false,
    };
    let word = text.split_whitespace().next().unwrap_or("").split('@').next().unwrap_or("");
    COMMANDS.contains(&word.to_ascii_lowercase().as_str())
}

/// The refusal for someone not on the roster.
pub fn refuse(chat: i64, now: Timestamp) -> Effects {
    let mut effects = Effects::default();
    effects.say(chat, "Sorry, that command is only for the clinic's staff.");
    effects.audit.push(AuditEvent { at: now, kind: "staff_command_refused".into(), detail: format!("chat={chat}") });
    effects
}

/// Handles a staff member's input: `actor` is their name.
pub fn handle(
    store: &dyn Store,
    paging: &Paging<'_>,
    chat: i64,
    actor: &str,
    input: &Input,
    now: Timestamp,
) -> Result<Effects, StoreError> {
    let mut effects = Effects::default();
    let text = match input {
        Input::Button(data) => {
            let (verb, id) = data.split_once(':').unwrap_or((data, ""));
            match verb {
                "ack" => acknowledge(store, &mut effects, chat, actor, id, now)?,
                "res" => resolve(store, &mut effects, chat, actor, id, "", now)?,
                _ => effects.say(chat, "That button is not in use any more."),
            }
            return Ok(effects);
        }
        Input::Text(text) => text.trim().to_string(),
        Input::Command { command, argument } => format!("/{command:?} {argument}").to_lowercase(),
        Input::Edited(_) | Input::NonText { .. } | Input::CheckInDue { .. } => return Ok(effects),
    };
    let mut words = text.splitn(3, char::is_whitespace);
    let command = words.next().unwrap_or("").split('@').next().unwrap_or("").to_ascii_lowercase();
    let id = words.next().unwrap_or("").trim().to_ascii_uppercase();
    let rest = words.next().unwrap_or("").trim().to_string();
    match command.as_str() {
        "/open" => {
            let open = store.open_incidents()?;
            let lines: Vec<String> = open
                .iter()
                .map(|i| {
                    let by = i.acknowledged_by.as_deref().map(|b| format!(" by {b}")).unwrap_or_default();
                    format!("{} {} {}{by}: {}", i.id, i.disposition, i.state.as_str(), i.intent)
                })
                .collect();
            let text = if lines.is_empty() { "No open incidents.".to_string() } else { lines.join("\n") };
            effects.say(chat, text);
        }
        "/ack" => acknowledge(store, &mut effects, chat, actor, &id, now)?,
        "/resolve" => resolve(store, &mut effects, chat, actor, &id, &rest, now)?,
        "/reply" => match store.incident(&id)? {
            Some(incident) if !rest.is_empty() => {
                let relayed = format!("{actor} from the clinic: {rest}");
                effects.outgoing.push(message(Lane::Urgent, incident.patient, relayed, Vec::new()));
                let mut incident = incident;
                incident.record(now, actor, "replied", "");
                effects.incidents.push(incident);
                effects.say(chat, format!("Sent to the patient of {id}."));
            }
            Some(_) => effects.say(chat, "Usage: /reply ID your message"),
            None => effects.say(chat, format!("No incident {id}.")),
        },
        "/oncall" => {
            let text = match paging.roster.and_then(|r| r.on_call(now)) {
                Some(on_call) => {
                    let backup = on_call.backup.map_or("none".to_string(), |b| b.name.clone());
                    format!("On call now: {} (backup: {backup})", on_call.primary.name)
                }
                None => "No roster is configured: pages go to the staff chat.".to_string(),
            };
            effects.say(chat, text);
        }
        "/followups" => {
            let since = now.checked_sub(jiff::SignedDuration::from_hours(24 * 7)).unwrap_or(now);
            let entries = follow_up_queue(&store.audit(Some(since))?);
            let text = if entries.is_empty() {
                "The follow-up queue is empty (last 7 days).".to_string()
            } else {
                format!("Follow-up queue (last 7 days):\n{}", entries.join("\n"))
            };
            effects.say(chat, text);
        }
        _ => effects.say(chat, "Staff commands: /open, /ack ID, /resolve ID note, /oncall, /reply ID text, /followups"),
    }
    effects.audit.push(AuditEvent { at: now, kind: "staff_command".into(), detail: format!("{command} by {actor}") });
    Ok(effects)
}

/// The follow-up queue, read from the audit log: cases sent to the clinic, and check-ins from
/// the 24-hour one on that the patient has not answered (nothing from them since).
pub fn follow_up_queue(audit: &[crate::store::AuditEntry]) -> Vec<String> {
    let mut lines = Vec::new();
    for (i, entry) in audit.iter().enumerate() {
        let patient = entry.patient.0;
        let event = &entry.event;
        if event.kind == "follow_up" {
            lines.push(format!("{} patient chat {patient}: {}", event.at, event.detail));
        }
        let late_check_in = event.kind == "check_in"
            && event.detail.strip_prefix("number=").and_then(|n| n.parse::<u32>().ok()).is_some_and(|n| n >= 2);
        let answered = audit[i + 1..]
            .iter()
            .any(|later| later.patient == entry.patient && PATIENT_ACTIVITY.contains(&later.event.kind.as_str()));
        if late_check_in && !answered {
            lines.push(format!("{} patient chat {patient}: check-in unanswered ({})", event.at, event.detail));
        }
    }
    lines
}

/// Audit kinds that show the patient wrote or pressed something.
const PATIENT_ACTIVITY: &[&str] = &["message", "check_in_answered", "command", "edited"];

fn acknowledge(
    store: &dyn Store,
    effects: &mut Effects,
    chat: i64,
    actor: &str,
    id: &str,
    now: Timestamp,
) -> Result<(), StoreError> {
    incident_action(store, effects, (chat, actor, now), id, "acknowledged", |incident| {
        escalation::acknowledge(incident, actor, now)
    })
}

fn resolve(
    store: &dyn Store,
    effects: &mut Effects,
    chat: i64,
    actor: &str,
    id: &str,
    note: &str,
    now: Timestamp,
) -> Result<(), StoreError> {
    incident_action(store, effects, (chat, actor, now), id, "resolved", |incident| {
        escalation::resolve(incident, actor, note, now)
    })
}

/// Looks up an incident, applies a staff action, and says so: to the staff member, to the
/// patient (the first time anyone from the clinic has seen it), and in the audit log.
fn incident_action(
    store: &dyn Store,
    effects: &mut Effects,
    (chat, actor, now): (i64, &str, Timestamp),
    id: &str,
    done: &str,
    apply: impl FnOnce(&mut Incident) -> Result<(), escalation::ActionError>,
) -> Result<(), StoreError> {
    let Some(mut incident) = store.incident(&id.to_ascii_uppercase())? else {
        effects.say(chat, format!("No incident {id}."));
        return Ok(());
    };
    let first_seen = incident.state == State::Triggered;
    if let Err(e) = apply(&mut incident) {
        effects.say(chat, e.to_string());
        return Ok(());
    }
    let paging_note = if done == "acknowledged" { " Paging has stopped." } else { "" };
    effects.say(chat, format!("{} {done} by {actor}.{paging_note}", incident.id));
    if first_seen {
        effects.outgoing.push(message(Lane::Urgent, incident.patient, seen_by(actor), Vec::new()));
    }
    effects.audit.push(AuditEvent { at: now, kind: done.into(), detail: format!("{} by {actor}", incident.id) });
    effects.incidents.push(incident);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{AuditEntry, MemoryStore};
    use crate::triage::Disposition;

    fn alert(episode_started: &str) -> Alert {
        Alert::sample(Disposition::Urgent, "psychosis", episode_started.parse().unwrap())
    }

    /// Stores what a page did and says whether it paged anyone.
    fn page_and_store(store: &MemoryStore, alert: &Alert, now: &str) -> (String, bool) {
        let paging = Paging { roster: None, fallback_chat: Some(-77) };
        let effects = page(store, &paging, alert, 9, now.parse().unwrap()).unwrap();
        store.save_incidents(&effects.incidents, &effects.outgoing).unwrap();
        (effects.incidents[0].id.clone(), !effects.outgoing.is_empty())
    }

    #[test]
    fn an_alert_joins_the_open_incident_of_its_own_episode() {
        let store = MemoryStore::new();
        let (yesterday, paged) = page_and_store(&store, &alert("2026-06-10T14:00:00Z"), "2026-06-10T14:00:00Z");
        assert!(paged);
        // Still open from yesterday: today's episode gets its own incident...
        let (today, paged) = page_and_store(&store, &alert("2026-06-11T09:00:00Z"), "2026-06-11T09:00:00Z");
        assert!(paged && today != yesterday);
        // ...and its next alert joins today's, though yesterday's is listed first (its id sorts
        // first).
        assert!(yesterday < today);
        let (again, paged) = page_and_store(&store, &alert("2026-06-11T09:00:00Z"), "2026-06-11T09:05:00Z");
        assert_eq!((again.as_str(), paged), (today.as_str(), false));
        assert_eq!(store.open_incident_count().unwrap(), 2);
    }

    fn entry(patient: i64, at: &str, kind: &str, detail: &str) -> AuditEntry {
        AuditEntry {
            patient: PatientId(patient),
            event: AuditEvent { at: at.parse().unwrap(), kind: kind.into(), detail: detail.into() },
        }
    }

    #[test]
    fn the_queue_holds_follow_ups_and_unanswered_late_check_ins() {
        let audit = [
            entry(1, "2026-06-10T10:00:00Z", "follow_up", "intent=bladder_urinary"),
            entry(2, "2026-06-10T11:00:00Z", "check_in", "number=1"),
            entry(3, "2026-06-10T11:00:00Z", "check_in", "number=2"),
            entry(3, "2026-06-10T12:00:00Z", "message", "intent=none disposition=none"),
            entry(4, "2026-06-10T13:00:00Z", "check_in", "number=2"),
        ];
        let queue = follow_up_queue(&audit);
        assert_eq!(queue.len(), 2, "{queue:?}");
        assert!(queue[0].contains("patient chat 1") && queue[0].contains("bladder_urinary"));
        assert!(queue[1].contains("patient chat 4") && queue[1].contains("check-in unanswered"));
    }
}
