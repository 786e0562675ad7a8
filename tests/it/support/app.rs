//! A running `aftercare serve` for end-to-end tests: started against the Bot API stand-in with
//! a config file and a temporary data directory, killed (SIGKILL) or stopped (SIGTERM) at will.

use super::bot_api::{BotApi, Sent};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;

pub const TOKEN: &str = "123456:TESTtokenTESTtokenTESTtokenTESTtoken";

/// Generous: a debug build under a parallel test run starts slowly (it checks every catalogue
/// example at start).
pub const WAIT: Duration = Duration::from_secs(60);

/// Starts the real binary with this config. Logs go to stderr when AFTERCARE_TEST_LOG is set
/// (a tracing filter, e.g. `aftercare=debug`).
pub fn start(api: &BotApi, config: &Path, env: &[(String, String)]) -> Child {
    crate::aftercare()
        .args(["serve", "--config"])
        .arg(config)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("TELOXIDE_TOKEN", TOKEN)
        .env("TELOXIDE_API_URL", api.url())
        .env("RUST_LOG", std::env::var("AFTERCARE_TEST_LOG").unwrap_or_else(|_| "off".into()))
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the aftercare binary starts")
}

/// A running bot, its temporary directory and its config file.
pub struct App {
    pub child: Child,
    /// Kept so the directory lives as long as the bot.
    _dir: tempfile::TempDir,
    pub config: PathBuf,
    env: Vec<(String, String)>,
}

impl App {
    /// Writes the config that `write` returns (given the data directory) and starts the bot.
    pub fn spawn(api: &BotApi, write: impl FnOnce(&Path) -> String) -> App {
        Self::spawn_with_env(api, &[], write)
    }

    /// The same, with extra environment variables for the bot.
    pub fn spawn_with_env(api: &BotApi, env: &[(&str, &str)], write: impl FnOnce(&Path) -> String) -> App {
        let env: Vec<(String, String)> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("aftercare.toml");
        let data = dir.path().join("data");
        std::fs::write(&config, format!("{}\n[storage]\ndata_dir = \"{}\"\n", write(&data), data.display())).unwrap();
        let child = start(api, &config, &env);
        App { child, _dir: dir, config, env }
    }

    /// SIGKILL: no chance to finish anything.
    pub fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    pub fn restart(&mut self, api: &BotApi) {
        self.child = start(api, &self.config, &self.env);
    }

    /// SIGTERM, then wait for the exit.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
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

/// Messages sent to `chat` containing `needle`.
pub fn count(api: &BotApi, chat: i64, needle: &str) -> usize {
    api.sent().iter().filter(|s| s.chat_id == chat && s.text.contains(needle)).count()
}

/// Waits for a message to `chat` containing `needle`, or fails with everything sent.
pub fn expect(api: &BotApi, chat: i64, needle: &str) -> Sent {
    match api.wait_for_sent(|s| s.chat_id == chat && s.text.contains(needle), WAIT) {
        Some(sent) => sent,
        None => panic!("no message to {chat} containing {needle:?}; sent: {:#?}", api.sent()),
    }
}
