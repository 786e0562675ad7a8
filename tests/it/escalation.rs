//! On-call escalation end to end: the real `aftercare serve` with a roster, against the Bot API
//! stand-in, with acknowledgement timeouts of a few seconds.

use crate::aftercare;
use crate::support::app::{expect, App, WAIT};
use crate::support::bot_api::{BotApi, Fault, Sent};
use std::path::Path;
use std::time::Duration;

const PRIMARY: i64 = 501;
const BACKUP: i64 = 502;
const GROUP: i64 = -900;

/// A roster of two, on call around the clock, with acknowledgement timeouts of `timeout`.
fn roster(timeout: &str) -> String {
    format!(
        r#"[telegram]
poll_timeout = "1s"
per_chat_interval = "50ms"
[roster]
staff_group = {GROUP}
ack_timeout_emergency = "{timeout}"
ack_timeout_urgent = "{timeout}"
repeat_every = "{timeout}"
[[roster.staff]]
id = "ana"
name = "Dr Ana"
chat_id = {PRIMARY}
role = "psychiatrist"
[[roster.staff]]
id = "ben"
name = "Nurse Ben"
chat_id = {BACKUP}
role = "nurse"
[[roster.shift]]
days = ["daily"]
from = "00:00"
to = "24:00"
primary = "ana"
backup = "ben""#
    )
}

fn spawn(api: &BotApi, timeout: &'static str) -> App {
    App::spawn(api, |_: &Path| roster(timeout))
}

fn pages_to(api: &BotApi, chat: i64) -> Vec<Sent> {
    api.sent().into_iter().filter(|s| s.chat_id == chat && s.text.contains("Patient chat")).collect()
}

fn incident_id(page: &Sent) -> String {
    page.text.split_whitespace().next().unwrap().to_string()
}

#[test]
fn paging_climbs_the_levels_until_acknowledged_then_resolves() {
    let api = BotApi::start();
    let app = spawn(&api, "2s");
    let patient = 3001;
    api.push_text(patient, "I can't breathe properly");
    let page = expect(&api, PRIMARY, "breathing_difficulty");
    assert!(page.buttons.iter().any(|(label, data)| label == "Acknowledge" && data.starts_with("ack:")), "{page:?}");
    expect(&api, patient, "The on-call clinician has been alerted");
    // Not acknowledged: backup and primary again, then the staff group, then everyone again.
    expect(&api, BACKUP, "not acknowledged yet");
    assert!(api.wait_until(|api| pages_to(api, PRIMARY).len() >= 2, WAIT), "the primary is paged again");
    expect(&api, GROUP, "not acknowledged yet");
    assert!(api.wait_until(|api| pages_to(api, GROUP).len() >= 2, WAIT), "paging repeats: {:#?}", api.sent());
    // The primary acknowledges with the button: paging stops, the patient is told who saw it.
    let id = incident_id(&page);
    api.push_callback(PRIMARY, page.message_id, &format!("ack:{id}"));
    expect(&api, patient, "Dr Ana from the clinic has seen your message");
    expect(&api, PRIMARY, "acknowledged by Dr Ana");
    let pages_after_ack = api.sent().iter().filter(|s| s.text.contains("Patient chat")).count();
    std::thread::sleep(Duration::from_secs(5));
    let pages_later = api.sent().iter().filter(|s| s.text.contains("Patient chat")).count();
    assert_eq!(pages_after_ack, pages_later, "no pages after the acknowledgement");
    // Resolve with a note; /open shows nothing open.
    api.push_text(BACKUP, &format!("/resolve {id} called the patient, fine now"));
    expect(&api, BACKUP, "resolved by Nurse Ben");
    api.push_text(BACKUP, "/open");
    expect(&api, BACKUP, "No open incidents");
    drop(app);
}

#[test]
fn staff_commands_are_refused_outside_the_roster() {
    let api = BotApi::start();
    let app = spawn(&api, "60s");
    api.push_text(3002, "my lips are swelling up");
    let page = expect(&api, PRIMARY, "allergic_reaction");
    let id = incident_id(&page);
    // Another patient cannot see or acknowledge it.
    api.push_text(3003, &format!("/ack {id}"));
    expect(&api, 3003, "only for the clinic's staff");
    api.push_text(3003, "/open");
    assert!(api.wait_until(|api| api.sent().iter().filter(|s| s.chat_id == 3003).count() >= 2, WAIT));
    assert!(api.sent().iter().filter(|s| s.chat_id == 3003).all(|s| !s.text.contains(&id)), "{:#?}", api.sent());
    api.push_text(PRIMARY, "/oncall");
    expect(&api, PRIMARY, "On call now: Dr Ana (backup: Nurse Ben)");
    api.push_text(PRIMARY, &format!("/reply {id} I'm calling you now"));
    expect(&api, 3002, "Dr Ana from the clinic: I'm calling you now");
    drop(app);
}

#[test]
fn every_page_goes_out_exactly_once_through_429_and_500() {
    let api = BotApi::start();
    api.fail_next("sendMessage", 3, Fault::TooManyRequests { retry_after: 1 });
    let app = spawn(&api, "60s");
    api.push_text(3004, "my chest feels crushed");
    let page = expect(&api, PRIMARY, "chest_cardiac");
    api.fail_next("sendMessage", 1, Fault::ServerError);
    expect(&api, 3004, "has been alerted");
    api.push_callback(PRIMARY, page.message_id, &format!("ack:{}", incident_id(&page)));
    expect(&api, 3004, "has seen your message");
    assert_eq!(pages_to(&api, PRIMARY).len(), 1, "{:#?}", api.sent());
    assert_eq!(api.sent().iter().filter(|s| s.chat_id == 3004 && s.text.contains("has been alerted")).count(), 1);
    drop(app);
}

#[test]
fn a_page_stored_before_a_crash_goes_out_once_after_restart_and_timers_resume() {
    let api = BotApi::start();
    let mut app = spawn(&api, "4s");
    // Every send fails for a while: the incident is stored, its page waits in the outbox.
    api.fail_next("sendMessage", 1000, Fault::TooManyRequests { retry_after: 30 });
    api.push_text(3005, "he's having a seizure right now");
    assert!(api.wait_until(|api| api.calls("sendMessage") >= 1, WAIT), "the bot tried to send");
    app.kill();
    api.clear_faults();
    app.restart(&api);
    expect(&api, PRIMARY, "unresponsive_or_seizure");
    expect(&api, 3005, "has been alerted");
    // The acknowledgement timer resumed: the backup is paged a few seconds later.
    expect(&api, BACKUP, "not acknowledged yet");
    assert_eq!(pages_to(&api, PRIMARY).iter().filter(|p| !p.text.contains("not acknowledged")).count(), 1);
}

#[test]
fn the_audit_export_lists_the_incident_events() {
    let api = BotApi::start();
    let mut app = spawn(&api, "60s");
    api.push_text(3006, "I want to end my life");
    let page = expect(&api, PRIMARY, "self_harm");
    let id = incident_id(&page);
    api.push_text(PRIMARY, &format!("/ack {id}"));
    expect(&api, 3006, "has seen your message");
    api.push_text(PRIMARY, &format!("/resolve {id} safe with family"));
    expect(&api, PRIMARY, "resolved");
    api.push_text(3007, &format!("/ack {id}"));
    expect(&api, 3007, "only for the clinic's staff");
    app.kill();
    let output = aftercare().args(["audit", "--format", "jsonl", "--config"]).arg(&app.config).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let text = String::from_utf8_lossy(&output.stdout);
    for kind in ["\"escalated\"", "\"incident\"", "\"acknowledged\"", "\"resolved\"", "\"staff_command_refused\""] {
        assert!(text.contains(kind), "{kind} missing from the audit export:\n{text}");
    }
    assert!(!text.contains("end my life"), "no patient text in the audit log");
}

#[test]
fn staff_can_record_a_treatment_for_a_patient() {
    let api = BotApi::start();
    let _app = spawn(&api, "60s");
    api.push_text(PRIMARY, "/treated 3010 just now, iv infusion");
    expect(&api, PRIMARY, "Recorded a treatment for patient chat 3010");
    expect(&api, 3010, "noted your treatment");
    // A patient cannot record one for someone else: it is their own /treated.
    api.push_text(3011, "/treated 3010 just now");
    expect(&api, 3011, "How was it given");
    assert_eq!(api.sent().iter().filter(|s| s.chat_id == 3010).count(), 1, "{:#?}", api.sent());
}

#[test]
fn the_daily_follow_up_digest_goes_to_the_staff_group_once() {
    let api = BotApi::start();
    // Due from midnight: already due whenever the test runs.
    let mut app =
        App::spawn(&api, |_: &Path| roster("60s").replace("[telegram]\n", "[telegram]\ndigest_at = \"00:00\"\n"));
    expect(&api, GROUP, "Daily follow-up digest");
    std::thread::sleep(Duration::from_millis(500));
    app.kill();
    app.restart(&api);
    api.push_text(PRIMARY, "/oncall");
    expect(&api, PRIMARY, "On call now");
    std::thread::sleep(Duration::from_secs(2));
    let digests = api.sent().iter().filter(|s| s.chat_id == GROUP && s.text.contains("digest")).count();
    assert_eq!(digests, 1, "once a day, even across a restart: {:#?}", api.sent());
}
