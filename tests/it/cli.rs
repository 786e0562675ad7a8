//! The command line, run as the real binary: `classify`, `check` and `eval`.

use crate::{aftercare, repo_path};
use regex::Regex;
use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn run_with_stdin(mut command: Command, stdin: &[u8]) -> Output {
    let mut child = command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

fn json_lines(output: &Output) -> Vec<serde_json::Value> {
    String::from_utf8(output.stdout.clone())
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).expect("every output line is JSON"))
        .collect()
}

#[test]
fn classify_writes_one_verdict_per_line() {
    let mut command = aftercare();
    command.arg("classify");
    let output = run_with_stdin(command, b"my chest feels tight\n\nno nausea just dizzy\n\xff\xfe broken bytes\n");
    assert!(output.status.success());
    let lines = json_lines(&output);
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[0]["intent"], "chest_cardiac");
    assert_eq!(lines[0]["disposition"], "emergency");
    assert_eq!(lines[0]["text"], "my chest feels tight");
    assert_eq!(lines[1]["intent"], "none");
    assert_eq!(lines[1]["disposition"], "none");
    assert_eq!(lines[2]["intent"], "dizziness");
    let nausea = lines[2]["intents"].as_array().unwrap().iter().find(|m| m["id"] == "nausea_vomiting").unwrap();
    assert_eq!(nausea["negated"], true);
    assert_eq!(nausea["hypothetical"], false);
    assert!(nausea["span"].as_array().unwrap().len() == 2);
    assert!(lines[3]["text"].as_str().unwrap().contains("broken bytes"));
}

#[test]
fn classify_reads_json_lines_and_survives_bad_ones() {
    let mut command = aftercare();
    command.args(["classify", "--jsonl"]);
    let input = b"{\"id\": 1, \"text\": \"no chest pain, just tired\"}\nnot json\n{\"nope\": 2}\n";
    let output = run_with_stdin(command, input);
    assert!(output.status.success());
    let lines = json_lines(&output);
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["intent"], "drowsiness");
    assert_eq!(lines[0]["confirm"], serde_json::json!(["chest_cardiac"]));
    assert!(lines[1]["error"].as_str().unwrap().contains("not JSON"));
    assert_eq!(lines[1]["intent"], "none");
    assert!(lines[2]["error"].as_str().unwrap().contains("text"));
}

#[test]
fn check_passes_on_the_real_catalogue_and_config() {
    let output = aftercare()
        .args(["check", "--intents"])
        .arg(repo_path("intents"))
        .arg("--config")
        .arg(repo_path("config/aftercare.toml"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(stdout.starts_with("ok: 37 intents"), "{stdout}");
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

fn edit(dir: &Path, file: &str, pattern: &str, replacement: &str) {
    let path = dir.join(file);
    let text = fs::read_to_string(&path).unwrap();
    let re = Regex::new(pattern).unwrap();
    assert!(re.is_match(&text), "{file} has no {pattern}");
    fs::write(&path, re.replacen(&text, 1, replacement).as_ref()).unwrap();
}

#[test]
fn check_lists_every_problem_of_a_broken_catalogue_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let intents = dir.path().join("intents");
    copy_dir(&repo_path("intents"), &intents);
    edit(&intents, "dizziness.toml", r"(?m)^patterns = \[", "patterns = [\n  'dizz((',");
    edit(&intents, "headache.toml", r#"(?m)^disposition = "self_care""#, r#"disposition = "sorta_urgent""#);
    edit(&intents, "nausea_vomiting.toml", r"(?m)^examples = \[", "examples = [\n  \"I would like a pizza\",");
    edit(
        &intents,
        "vision_changes.toml",
        r"(?m)^counter_examples = \[",
        "counter_examples = [\n  \"everything is blurry\",",
    );
    edit(&intents, "drowsiness.toml", r#"yes = "emergency""#, r#"yes_intent = "nobody_home""#);
    edit(&intents, "thanks.toml", r"(?m)^advice =", "advise =");
    fs::copy(intents.join("greeting.toml"), intents.join("greeting2.toml")).unwrap();
    fs::write(
        config_path(dir.path()),
        "[clinic]\ntime_zone = \"Nowhere/Land\"\n[dialogue]\nquestion_expiry = \"soon\"\n",
    )
    .unwrap();

    let output = aftercare()
        .args(["check", "--intents"])
        .arg(&intents)
        .arg("--config")
        .arg(config_path(dir.path()))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(2), "{stdout}");
    for expected in [
        r"dizziness\.toml:\d+: patterns\[0\]: bad regex",
        r"headache\.toml:\d+: disposition: unknown disposition `sorta_urgent`",
        r"nausea_vomiting\.toml:\d+: examples\[0\]: does not match `nausea_vomiting`",
        r"vision_changes\.toml:\d+: counter_examples\[0\]: matches `vision_changes`",
        r"drowsiness\.toml:\d+: screen\[\d+\]\.yes_intent: unknown intent `nobody_home`",
        r"thanks\.toml:\d+: toml: unknown field `advise`",
        r"thanks\.toml:1: id: the intent `thanks` is required by the engine and missing",
        r"greeting2\.toml:\d+: id: `greeting` differs from the file name `greeting2\.toml`",
        r"greeting2\.toml:\d+: id: duplicate id `greeting`",
        r"aftercare\.toml:2: clinic\.time_zone: unknown time zone",
        r"aftercare\.toml:4: dialogue\.question_expiry: not a duration",
    ] {
        assert!(Regex::new(expected).unwrap().is_match(&stdout), "missing /{expected}/ in:\n{stdout}");
    }
    assert!(stdout.trim_end().ends_with("problem(s) found"), "{stdout}");
}

fn config_path(dir: &Path) -> std::path::PathBuf {
    dir.join("aftercare.toml")
}

#[test]
fn eval_prints_the_figures() {
    let output = aftercare().arg("eval").arg(repo_path("tests/data/dev.jsonl")).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    for label in
        ["top-intent accuracy", "disposition accuracy", "red-flag recall", "false-alarm rate", "negation accuracy"]
    {
        assert!(stdout.contains(label), "missing {label}");
    }
    let json = aftercare().args(["eval", "--json"]).arg(repo_path("tests/data/dev.jsonl")).output().unwrap();
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert!(report["red_flag_recall"].as_f64().unwrap() > 0.0);
    assert!(report["per_intent"]["dizziness"]["support"].as_u64().unwrap() > 0);
}

#[test]
fn every_command_has_help() {
    for command in ["classify", "check", "eval"] {
        let output = aftercare().args([command, "--help"]).output().unwrap();
        assert!(output.status.success(), "{command} --help");
        assert!(String::from_utf8_lossy(&output.stdout).contains("Usage"));
    }
}
