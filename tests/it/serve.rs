//! `aftercare serve` end to end: the real binary against the Bot API stand-in, with a sled
//! store in a temporary directory. Conversations, buttons, edits, stickers, groups, a red flag
//! paged to staff, SIGKILL in the middle of a conversation, and 429/500 answers.

use crate::aftercare;
use crate::support::bot_api::{BotApi, Fault, Sent};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;

const TOKEN: &str = "123456:TESTtokenTESTtokenTESTtokenTESTtoken";
const STAFF: i64 = 777;
const WAIT: Duration = Duration::from_secs(20);

/// A running `aftercare serve` and its data directory.
struct App {
    child: Child,
    dir: tempfile::TempDir,
}

fn write_config(dir: &Path) -> PathBuf {
    let path = dir.join("aftercare.toml");
    let text = format!(
        "[telegram]\npoll_timeout = \"1s\"\nper_chat_interval = \"50ms\"\nstaff_chat_id = {STAFF}\n[storage]\ndata_dir = \"{}\"\n",
        dir.join("data").display()
    );
    std::fs::write(&path, text).unwrap();
    path
}

fn start(api: &BotApi, dir: &Path) -> Child {
    aftercare()
        .arg("serve")
        .arg("--config")
        .arg(write_config(dir))
        .env("TELOXIDE_TOKEN", TOKEN)
        .env("TELOXIDE_API_URL", api.url())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the aftercare binary starts")
}

impl App {
    fn spawn(api: &BotApi) -> App {
        let dir = tempfile::tempdir().unwrap();
        let child = start(api, dir.path());
        App { child, dir }
    }

    /// SIGKILL: no chance to finish anything.
    fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    fn restart(&mut self, api: &BotApi) {
        self.child = start(api, self.dir.path());
    }

    /// SIGTERM, then wait for a clean exit.
    fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        self.child.wait().unwrap()
    }
}

impl Drop for App {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn to(chat: i64, needle: &'static str) -> impl Fn(&Sent) -> bool {
    move |s: &Sent| s.chat_id == chat && s.text.contains(needle)
}

fn count(api: &BotApi, chat: i64, needle: &str) -> usize {
    api.sent().iter().filter(|s| s.chat_id == chat && s.text.contains(needle)).count()
}

fn expect(api: &BotApi, chat: i64, needle: &'static str) -> Sent {
    match api.wait_for_sent(to(chat, needle), WAIT) {
        Some(sent) => sent,
        None => panic!("no message to {chat} containing {needle:?}; sent: {:#?}", api.sent()),
    }
}

#[test]
fn a_conversation_with_text_and_buttons() {
    let api = BotApi::start();
    let _app = App::spawn(&api);
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
    let _app = App::spawn(&api);
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
    let _app = App::spawn(&api);
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
    let _app = App::spawn(&api);
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
    let mut app = App::spawn(&api);
    let chat = 1007;
    api.push_text(chat, "so dizzy and the room is spinning");
    expect(&api, chat, "Is any of these true");
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
    let _app = App::spawn(&api);
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
    let mut app = App::spawn(&api);
    api.push_text(1010, "hello");
    expect(&api, 1010, "last ketamine treatment");
    let status = app.terminate();
    assert!(status.success(), "{status:?}");
}
