//! `aftercare serve` end to end: the real binary against the Bot API stand-in, with a sled
//! store in a temporary directory. Conversations, buttons, edits, stickers, groups, a red flag
//! paged to staff, SIGKILL in the middle of a conversation, and 429/500 answers.

use crate::aftercare;
use crate::support::app::{count, expect, App, WAIT};
use crate::support::bot_api::{BotApi, Fault};
use std::time::Duration;

const STAFF: i64 = 777;

/// Polling, quick pacing, pages to one staff chat.
fn spawn(api: &BotApi) -> App {
    App::spawn(api, |_| {
        format!("[telegram]\npoll_timeout = \"1s\"\nper_chat_interval = \"50ms\"\nstaff_chat_id = {STAFF}")
    })
}

#[test]
fn a_conversation_with_text_and_buttons() {
    let api = BotApi::start();
    let _app = spawn(&api);
    let chat = 1001;
    api.push_text(chat, "I feel really dizzy");
    let screen = expect(&api, chat, "Is any of these true");
    assert!(screen.buttons.iter().any(|(label, data)| label == "No" && data == "no"), "{screen:?}");
    let callback = api.push_callback(chat, screen.message_id, "no");
    expect(&api, chat, "How strong");
    assert!(api.wait_until(|api| api.answered_callbacks().contains(&callback), WAIT), "the button press is answered");
    api.push_text(chat, "3");
    expect(&api, chat, "getting better");
    api.push_text(chat, "better");
    expect(&api, chat, "drive");
    assert!(api.commands().iter().any(|c| c == "treated"), "commands registered: {:?}", api.commands());
    assert_eq!(count(&api, STAFF, ""), 0, "no page for dizziness");
}

#[test]
fn a_red_flag_pages_staff_and_the_patient_is_told_only_after() {
    let api = BotApi::start();
    let _app = spawn(&api);
    let chat = 1002;
    api.push_text(chat, "my chest is really tight and it hurts");
    expect(&api, chat, "911");
    let page = expect(&api, STAFF, "EMERGENCY");
    assert!(page.text.contains("chest_cardiac"), "{page:?}");
    expect(&api, chat, "The on-call clinician has been alerted");
    let sent = api.sent();
    let instruction = sent.iter().position(|s| s.chat_id == chat && s.text.contains("911")).unwrap();
    let paged = sent.iter().position(|s| s.chat_id == STAFF).unwrap();
    let told = sent.iter().position(|s| s.chat_id == chat && s.text.contains("has been alerted")).unwrap();
    assert!(instruction < told && paged < told, "instruction first, told only after the page: {sent:#?}");
}

#[test]
fn an_edited_message_is_matched_again() {
    let api = BotApi::start();
    let _app = spawn(&api);
    let chat = 1003;
    let first = api.push_text(chat, "no chest pain, just tired");
    expect(&api, chat, "chest pain");
    assert_eq!(count(&api, STAFF, ""), 0);
    api.push_edit(chat, first, "chest pain, just tired");
    expect(&api, STAFF, "chest_cardiac");
    expect(&api, chat, "911");
}

#[test]
fn stickers_photos_and_groups_get_a_sensible_answer() {
    let api = BotApi::start();
    let _app = spawn(&api);
    api.push_sticker(1004);
    expect(&api, 1004, "I can only read text");
    api.push_photo(1005, Some("my face is swelling up"));
    expect(&api, 1005, "911");
    api.push_group_text(-5000, 1006, "hello bot");
    expect(&api, -5000, "private chat");
}

#[test]
fn sigkill_in_the_middle_of_a_conversation_loses_and_repeats_nothing() {
    let api = BotApi::start();
    let mut app = spawn(&api);
    let chat = 1007;
    api.push_text(chat, "so dizzy and the room is spinning");
    expect(&api, chat, "Is any of these true");
    // Between turns: the bot has had time to record that the question went out. (A kill in the
    // millisecond between Telegram accepting a message and the bot recording it would send that
    // message again on restart: Telegram has no way to make a send idempotent.)
    std::thread::sleep(Duration::from_millis(500));
    app.kill();
    // The patient answers while the bot is down.
    api.push_text(chat, "no");
    app.restart(&api);
    expect(&api, chat, "How strong");
    api.push_text(chat, "2");
    expect(&api, chat, "getting better");
    assert_eq!(count(&api, chat, "Is any of these true"), 1, "no repeated question: {:#?}", api.sent());
    assert_eq!(count(&api, chat, "How strong"), 1, "no repeated question: {:#?}", api.sent());
    assert_eq!(count(&api, chat, "getting better"), 1);
}

#[test]
fn rate_limits_and_server_errors_delay_replies_but_lose_none() {
    let api = BotApi::start();
    let _app = spawn(&api);
    api.fail_next("sendMessage", 2, Fault::TooManyRequests { retry_after: 1 });
    let chat = 1008;
    api.push_text(chat, "I cant breathe properly");
    expect(&api, chat, "911");
    expect(&api, STAFF, "breathing_difficulty");
    expect(&api, chat, "has been alerted");
    api.fail_next("sendMessage", 1, Fault::ServerError);
    api.push_text(1009, "hello");
    expect(&api, 1009, "last ketamine treatment");
    for (chat, needle) in
        [(chat, "911"), (STAFF, "breathing_difficulty"), (chat, "has been alerted"), (1009, "last ketamine")]
    {
        assert_eq!(count(&api, chat, needle), 1, "{needle:?} exactly once: {:#?}", api.sent());
    }
}

#[test]
fn sigterm_stops_cleanly() {
    let api = BotApi::start();
    let mut app = spawn(&api);
    api.push_text(1010, "hello");
    expect(&api, 1010, "last ketamine treatment");
    let status = app.terminate();
    assert!(status.success(), "{status:?}");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[test]
fn webhook_mode_checks_the_secret_and_stores_before_answering() {
    let api = BotApi::start();
    let port = free_port();
    let _app = App::spawn_with_env(&api, &[("TEST_HOOK_SECRET", "s3cret-s3cret-s3cret")], |_| {
        format!(
            "[telegram]\nmode = \"webhook\"\nper_chat_interval = \"50ms\"\n[telegram.webhook]\nlisten = \"127.0.0.1:{port}\"\npath = \"/hook\"\nsecret_env = \"TEST_HOOK_SECRET\""
        )
    });
    let update = serde_json::json!({
        "update_id": 5001,
        "message": {
            "message_id": 1, "date": 1_780_000_000,
            "chat": {"id": 2001, "type": "private", "first_name": "Pat"},
            "from": {"id": 2001, "is_bot": false, "first_name": "Pat"},
            "text": "hello"
        }
    });
    let client = reqwest::blocking::Client::new();
    let url = format!("http://127.0.0.1:{port}/hook");
    let post = |secret: Option<&str>| {
        let mut request = client.post(&url).json(&update);
        if let Some(secret) = secret {
            request = request.header("X-Telegram-Bot-Api-Secret-Token", secret);
        }
        request.send().map(|r| r.status().as_u16())
    };
    let mut status = Err(());
    for _ in 0..100 {
        status = post(None).map_err(|_| ());
        if status.is_ok() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(status, Ok(401), "no secret: refused");
    assert_eq!(post(Some("wrong-wrong-wrong-wrong")).unwrap(), 401);
    assert_eq!(post(Some("s3cret-s3cret-s3cret")).unwrap(), 200);
    expect(&api, 2001, "last ketamine treatment");
    // Telegram re-delivers when unsure: the same update changes nothing twice.
    assert_eq!(post(Some("s3cret-s3cret-s3cret")).unwrap(), 200);
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(count(&api, 2001, "last ketamine treatment"), 1, "{:#?}", api.sent());
}

#[test]
fn a_missing_or_malformed_token_is_refused_with_exit_2() {
    for token in [None, Some("not-a-token")] {
        let mut command = aftercare();
        command.arg("serve").env_remove("TELOXIDE_TOKEN");
        if let Some(token) = token {
            command.env("TELOXIDE_TOKEN", token);
        }
        let output = command.output().unwrap();
        assert_eq!(output.status.code(), Some(2));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("TELOXIDE_TOKEN"), "{stderr}");
        assert!(!stderr.contains("not-a-token"), "the token is never printed: {stderr}");
    }
}

#[test]
fn check_ins_arrive_flow_into_triage_and_survive_a_restart_without_repeats() {
    let api = BotApi::start();
    let mut app = App::spawn(&api, |_| {
        "[check_ins]\noffsets = [\"3s\", \"15s\"]\nquiet_hours = \"00:00-00:00\"\ngrace = \"1h\"\n[telegram]\npoll_timeout = \"1s\"\nper_chat_interval = \"50ms\"".to_string()
    });
    let chat = 1020;
    api.push_text(chat, "/treated just now, nasal spray");
    expect(&api, chat, "noted your treatment");
    let check_in = expect(&api, chat, "checking in");
    assert!(check_in.buttons.iter().any(|(_, data)| data == "checkin:effect"), "{check_in:?}");
    api.push_callback(chat, check_in.message_id, "checkin:effect");
    expect(&api, chat, "What do you notice");
    api.push_text(chat, "feel really dizzy");
    expect(&api, chat, "Is any of these true");
    api.push_text(chat, "no");
    expect(&api, chat, "How strong");
    api.push_text(chat, "2");
    expect(&api, chat, "getting better");
    api.push_text(chat, "better");
    expect(&api, chat, "drive");
    // A restart before the second check-in: the schedule comes back from the store.
    std::thread::sleep(Duration::from_millis(500));
    app.kill();
    app.restart(&api);
    assert!(
        api.wait_until(|api| count(api, chat, "checking in") >= 2, WAIT),
        "the second check-in arrives after the restart: {:#?}",
        api.sent()
    );
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(count(&api, chat, "checking in"), 2, "each check-in exactly once: {:#?}", api.sent());
}
