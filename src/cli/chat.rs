//! `aftercare chat`: a conversation in the terminal with the same engine the Telegram bot uses.
//! Buttons are shown as numbered options (typing the number, or the label, picks one). Alerts
//! that would page on-call are printed as `alert:` lines. State persists in the data directory.
//!
//! Not a terminal on stdin: one patient message per line, each reply line starting `bot: `, so
//! the chat can be scripted.
//!
//! Escalations open real incidents in the data directory (printed as `alert:` lines with their
//! id). To try the staff side without Telegram, type `/ack ID`, `/resolve ID note`, `/open` or
//! `/oncall`: the console then speaks as the on-call clinician, and what staff would receive is
//! printed on `staff:` lines.

use crate::escalation::Paging;
use crate::staff::{self, Effects};
use crate::store::{OutgoingKind, PatientId, Store, StoreError};
use crate::triage::dialogue::{Action, Conversation, Engine, FollowUp, Input, Question, Reply};
use jiff::Timestamp;
use std::io::{self, BufRead, Write};

/// Everything the console chat needs from outside: the engine, the store and a clock.
pub struct Chat<'a> {
    pub engine: Engine<'a>,
    pub store: &'a dyn Store,
    /// Whom alerts would page (the roster, or the configured staff chat).
    pub paging: Paging<'a>,
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
        let now = (self.clock)();
        let conversation = self.store.conversation(self.patient)?.unwrap_or_default();
        let input = read_line(&conversation, line);
        if staff::is_staff_command(&input) {
            return self.act_as_staff(&input, now, out);
        }
        let step = self.engine.step(&conversation, &input, now);
        let mut audit: Vec<_> = step
            .actions
            .iter()
            .filter_map(|a| match a {
                Action::Record(event) => Some(event.clone()),
                _ => None,
            })
            .collect();
        let mut pages = Vec::new();
        for action in &step.actions {
            if let Action::Escalate(alert) = action {
                let effects = staff::page(self.store, &self.paging, alert, self.patient.0, now)?;
                audit.extend(effects.audit.iter().cloned());
                pages.push(effects);
            }
        }
        self.store.save(self.patient, &step.conversation, &audit)?;
        for effects in &pages {
            self.store.save_incidents(&effects.incidents, &[])?;
        }
        if step.actions.iter().any(|a| matches!(a, Action::Forget)) {
            self.store.forget(self.patient)?;
        }
        // Durable before anything is shown as done.
        self.store.flush()?;
        let mut pages = pages.iter();
        for action in &step.actions {
            match action {
                Action::Reply(reply) => print_reply(reply, out)?,
                Action::Escalate(alert) => {
                    let id = pages.next().and_then(|p| p.incidents.first()).map_or("-".to_string(), |i| i.id.clone());
                    writeln!(out, "alert: {id} {}", alert.summary())?;
                    writeln!(out, "bot: {}", staff::ALERTED)?;
                }
                Action::FollowUp(follow_up) => print_follow_up(follow_up, out)?,
                Action::ScheduleCheckIns { .. } | Action::CheckIns { .. } | Action::Forget | Action::Record(_) => {}
            }
        }
        out.flush()?;
        Ok(())
    }

    /// The console speaking as the on-call clinician (`/ack`, `/resolve`, `/open`, `/oncall`).
    fn act_as_staff(&self, input: &Input, now: jiff::Timestamp, out: &mut impl Write) -> Result<(), ChatError> {
        let actor = self
            .paging
            .roster
            .and_then(|r| r.on_call(now))
            .map_or("The on-call clinician".to_string(), |o| o.primary.name.clone());
        // The console's own chat stands in for the staff member's.
        let staff_chat = 0;
        let Effects { outgoing, incidents, audit } =
            staff::handle(self.store, &self.paging, staff_chat, &actor, input, now)?;
        self.store.save_incidents(&incidents, &[])?;
        let conversation = self.store.conversation(self.patient)?.unwrap_or_default();
        self.store.save(self.patient, &conversation, &audit)?;
        self.store.flush()?;
        for item in &outgoing {
            if let OutgoingKind::Message { chat, text, .. } = item.kind() {
                let prefix = if *chat == self.patient.0 { "bot" } else { "staff" };
                for line in text.lines() {
                    writeln!(out, "{prefix}: {line}")?;
                }
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

fn print_follow_up(follow_up: &FollowUp, out: &mut impl Write) -> io::Result<()> {
    let mut line =
        format!("followup: {} ({}) for the clinic's follow-up queue", follow_up.intent_title, follow_up.intent);
    if !follow_up.reasons.is_empty() {
        line.push_str(&format!(" | reasons: {}", follow_up.reasons.join("; ")));
    }
    writeln!(out, "{line}")
}
