//! The console chat, run as the real binary with piped input.

use crate::aftercare;
use std::io::Write;
use std::process::{Output, Stdio};

fn chat(data: &std::path::Path, input: &str) -> Output {
    let mut child = aftercare()
        .arg("chat")
        .arg("--data")
        .arg(data)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn a_red_flag_gets_the_emergency_instruction_and_an_alert_first() {
    let dir = tempfile::tempdir().unwrap();
    let output = chat(dir.path(), "I cant breathe properly\n");
    assert!(output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines[0].starts_with("bot: "), "{stdout}");
    let alert = lines.iter().position(|l| l.starts_with("alert: ")).expect("an alert line");
    assert!(lines[..alert].iter().all(|l| l.starts_with("bot: ")));
    assert!(stdout[..stdout.find("alert: ").unwrap()].contains("911"), "the emergency number comes first:\n{stdout}");
    assert!(lines[alert].contains("EMERGENCY") && lines[alert].contains("breathing_difficulty"), "{stdout}");
}

#[test]
fn a_dizzy_patient_gets_a_sensible_conversation() {
    let dir = tempfile::tempdir().unwrap();
    let output = chat(dir.path(), "hi\nI feel really dizzy\nno\n3\nbetter\n");
    assert!(output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.lines().all(|l| l.starts_with("bot: ") || l.starts_with("followup: ")), "{stdout}");
    assert!(!stdout.contains("alert: "), "{stdout}");
    assert!(stdout.to_lowercase().contains("drive"), "dizziness advice says not to drive:\n{stdout}");
}

#[test]
fn state_persists_between_runs() {
    let dir = tempfile::tempdir().unwrap();
    let first = chat(dir.path(), "I feel really dizzy\n");
    let first = String::from_utf8_lossy(&first.stdout);
    assert!(first.contains("Is any of these true?"), "the bot asks its screen questions:\n{first}");
    // The answer arrives in a second run: the question was kept in the data directory.
    let second = chat(dir.path(), "no\n");
    let second = String::from_utf8_lossy(&second.stdout);
    assert!(!second.contains("didn't quite get that"), "{second}");
    assert!(second.contains("How strong is it"), "the next question follows:\n{second}");
}

#[test]
fn odd_input_gets_an_answer_and_no_crash() {
    let dir = tempfile::tempdir().unwrap();
    let huge = "a".repeat(100_000);
    let output = chat(dir.path(), &format!("\n👍👍\n{huge}\n\u{0}\u{7}\n"));
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.matches("bot: ").count() >= 4, "{stdout}");
}

#[test]
fn the_console_opens_incidents_and_acknowledges_them_as_the_on_call_clinician() {
    let dir = tempfile::tempdir().unwrap();
    let first = chat(dir.path(), "my lips are swelling up\n");
    let first = String::from_utf8_lossy(&first.stdout);
    let alert = first.lines().find(|l| l.starts_with("alert: ")).expect("an alert line");
    let id = alert.split_whitespace().nth(1).unwrap().to_string();
    assert!(id.starts_with("E-"), "{alert}");
    let second = chat(dir.path(), &format!("/ack {id}\n/open\n/resolve {id} called back\n/open\n"));
    let second = String::from_utf8_lossy(&second.stdout);
    assert!(second.contains(&format!("staff: {id} acknowledged")), "{second}");
    assert!(second.contains("bot: The on-call clinician has seen your message."), "{second}");
    assert!(second.contains(&format!("staff: {id} resolved")), "{second}");
    assert!(second.trim_end().ends_with("staff: No open incidents."), "{second}");
}

#[test]
fn backup_and_restore_through_the_command_line_keep_the_conversation() {
    let dir = tempfile::tempdir().unwrap();
    let (data, copy, file) = (dir.path().join("data"), dir.path().join("copy"), dir.path().join("backup.jsonl"));
    let first = chat(&data, "I feel really dizzy\n");
    assert!(String::from_utf8_lossy(&first.stdout).contains("Is any of these true?"));
    let backup = aftercare().args(["backup"]).arg(&file).arg("--data").arg(&data).output().unwrap();
    assert!(backup.status.success(), "{}", String::from_utf8_lossy(&backup.stderr));
    let restore = aftercare().args(["restore"]).arg(&file).arg("--data").arg(&copy).output().unwrap();
    assert!(restore.status.success(), "{}", String::from_utf8_lossy(&restore.stderr));
    // The restored directory holds the same conversation: the answer continues it.
    let second = chat(&copy, "no\n");
    assert!(
        String::from_utf8_lossy(&second.stdout).contains("How strong"),
        "{}",
        String::from_utf8_lossy(&second.stdout)
    );
    // Restoring over a directory that is not empty is refused.
    let again = aftercare().args(["restore"]).arg(&file).arg("--data").arg(&copy).output().unwrap();
    assert_eq!(again.status.code(), Some(2));
}
