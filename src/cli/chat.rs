//! `aftercare chat`: a conversation in the terminal with the same engine the Telegram bot uses.
//! Buttons are shown as numbered options (typing the number, or the label, picks one). Alerts
//! that would page on-call are printed as `alert:` lines. State persists in the data directory.
//!
//! Not a terminal on stdin: one patient message per line, each reply line starting `bot: `, so
//! the chat can be scripted.

use crate::store::{PatientId, Store, StoreError};
use crate::triage::dialogue::{Action, Alert, Conversation, Engine, FollowUp, Input, Question, Reply};
use jiff::Timestamp;
use std::io::{self, BufRead, Write};

/// Everything the console chat needs from outside: the engine, the store and a clock.
pub struct Chat<'a> {
    pub engine: Engine<'a>,
    pub store: &'a dyn Store,
    pub patient: PatientId,
    pub clock: &'a dyn Fn() -> Timestamp,
}

/// A failure that ends the chat.
#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Io(#[from] io::Error),
}

impl Chat<'_> {
    /// Runs the chat until the input ends. `interactive` adds a banner and a prompt.
    pub fn run(&self, input: impl BufRead, out: &mut impl Write, interactive: bool) -> Result<(), ChatError> {
        if interactive {
            writeln!(
                out,
                "aftercare console chat: you are the patient. Type how you feel, /help for help, Ctrl-D to leave.\n\
                 (Emergency number configured: {})",
                self.engine.settings().emergency_number
            )?;
        }
        for line in input.split(b'\n') {
            if interactive {
                write!(out, "you> ")?;
                out.flush()?;
            }
            let line = String::from_utf8_lossy(&line?).trim_end_matches('\r').to_string();
            self.say(&line, out)?;
        }
        Ok(())
    }

    /// Handles one typed line and prints what the bot does.
    pub fn say(&self, line: &str, out: &mut impl Write) -> Result<(), ChatError> {
        let conversation = self.store.conversation(self.patient)?.unwrap_or_default();
        let input = read_line(&conversation, line);
        let step = self.engine.step(&conversation, &input, (self.clock)());
        let audit: Vec<_> = step
            .actions
            .iter()
            .filter_map(|a| match a {
                Action::Record(event) => Some(event.clone()),
                _ => None,
            })
            .collect();
        self.store.save(self.patient, &step.conversation, &audit)?;
        if step.actions.iter().any(|a| matches!(a, Action::Forget)) {
            self.store.forget(self.patient)?;
        }
        // Durable before anything is shown as done.
        self.store.flush()?;
        for action in &step.actions {
            match action {
                Action::Reply(reply) => print_reply(reply, out)?,
                Action::Escalate(alert) => {
                    print_alert(alert, out)?;
                    writeln!(out, "bot: The on-call clinician has been alerted.")?;
                }
                Action::FollowUp(follow_up) => print_follow_up(follow_up, out)?,
                Action::ScheduleCheckIns { .. } | Action::CheckIns { .. } | Action::Forget | Action::Record(_) => {}
            }
        }
        out.flush()?;
        Ok(())
    }
}

/// A typed line as an input: a number or a label picks an offered button.
fn read_line(conversation: &Conversation, line: &str) -> Input {
    let trimmed = line.trim();
    let expects_number = matches!(conversation.pending.as_ref().map(|p| &p.question), Some(Question::Severity { .. }));
    if !expects_number {
        if let Some(button) = trimmed.parse::<usize>().ok().and_then(|n| conversation.offered.get(n.wrapping_sub(1))) {
            return Input::Button(button.data.clone());
        }
    }
    if let Some(button) = conversation.offered.iter().find(|b| b.label.eq_ignore_ascii_case(trimmed)) {
        return Input::Button(button.data.clone());
    }
    Input::from_text(line)
}

fn print_reply(reply: &Reply, out: &mut impl Write) -> io::Result<()> {
    for line in reply.text.lines().filter(|l| !l.trim().is_empty()) {
        writeln!(out, "bot: {line}")?;
    }
    if !reply.buttons.is_empty() {
        let options: Vec<String> =
            reply.buttons.iter().enumerate().map(|(i, b)| format!("[{}] {}", i + 1, b.label)).collect();
        writeln!(out, "bot:   {}", options.join("  "))?;
    }
    Ok(())
}

fn print_alert(alert: &Alert, out: &mut impl Write) -> io::Result<()> {
    writeln!(out, "alert: {}", alert.summary())
}

fn print_follow_up(follow_up: &FollowUp, out: &mut impl Write) -> io::Result<()> {
    let mut line =
        format!("followup: {} ({}) for the clinic's follow-up queue", follow_up.intent_title, follow_up.intent);
    if !follow_up.reasons.is_empty() {
        line.push_str(&format!(" | reasons: {}", follow_up.reasons.join("; ")));
    }
    writeln!(out, "{line}")
}
