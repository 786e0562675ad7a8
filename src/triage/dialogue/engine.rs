//! The dialogue state machine: `step(conversation, input, now) -> (conversation, actions)`.
//!
//! How to drive it: load the patient's [`Conversation`] (a default one for a new patient), call
//! [`Engine::step`] with the input and the current time, store the returned conversation, then
//! carry out the actions in order (replies first when `urgent`). The engine never does IO and
//! never reads the clock; the same input, state and time always give the same result.
//!
//! Rules it follows (specification sections 2-5): every message is scanned for red flags first,
//! in every state; a red flag escalates at once; a negated or hypothetical red flag gets one
//! confirming question; symptoms get their screen questions, then severity and trend, then
//! advice or escalation; the episode's disposition only rises; other intents found in the same
//! message are handled after the current one; a question expires after the configured time.

use super::action::{Action, Alert, AuditEvent, Button, FollowUp, Reply};
use super::answers;
use super::input::{Command, Input};
use super::settings::Settings;
use super::state::{Conversation, Episode, Pending, Question, Queued, ScreenAnswer, Treatment, YesNo};
use super::wording;
use crate::triage::catalogue::{Group, Intent, LastingOutcome, ScreenOutcome};
use crate::triage::classification::{Classification, IntentMatch};
use crate::triage::disposition::Disposition;
use crate::triage::matcher::classify_with;
use crate::triage::normalise::FoldedText;
use crate::triage::readings;
use crate::triage::Catalogue;
use jiff::Timestamp;
use regex::Regex;
use std::sync::LazyLock;
use std::time::Duration;

/// The intent ids the dialogue treats specially.
mod ids {
    pub const SELF_HARM: &str = "self_harm";
    pub const FEEL_WORSE: &str = "feel_worse";
    pub const GREETING: &str = "greeting";
    pub const THANKS: &str = "thanks";
    pub const HELP: &str = "help";
    pub const HUMAN: &str = "human";
    pub const STOP: &str = "stop";
    pub const FORGET: &str = "forget";
}

/// Words that try to wave away the self-harm flow; a single one does not end it.
static DISMISSAL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?-u:\b)(?:never ?mind|nvm|forget (?:it|that|i said)|ignore (?:it|that|me|what i said)|(?:im|i am) (?:fine|ok|okay|alright)|(?:just )?(?:joking|kidding)|its nothing|dont worry|didnt mean it|all good)(?-u:\b)")
        .expect("valid regex")
});

/// The new state and what to do after one input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub conversation: Conversation,
    pub actions: Vec<Action>,
}

/// The dialogue engine over a catalogue and the clinic's settings.
#[derive(Debug, Clone, Copy)]
pub struct Engine<'a> {
    catalogue: &'a Catalogue,
    settings: &'a Settings,
}

impl<'a> Engine<'a> {
    pub fn new(catalogue: &'a Catalogue, settings: &'a Settings) -> Self {
        Self { catalogue, settings }
    }

    pub fn catalogue(&self) -> &'a Catalogue {
        self.catalogue
    }

    pub fn settings(&self) -> &'a Settings {
        self.settings
    }

    /// Runs one input through the dialogue.
    pub fn step(&self, conversation: &Conversation, input: &Input, now: Timestamp) -> Step {
        let mut turn = Turn { engine: *self, c: conversation.clone(), actions: Vec::new(), now, message: None };
        turn.run(input);
        Step { conversation: turn.c, actions: turn.actions }
    }
}

/// How far a symptom's questions have got, in the order they are asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Progress {
    Nothing,
    Time,
    Reading,
    Screens,
    Severity,
    Trend,
}

/// What a typed or tapped answer said.
#[derive(Debug, Clone)]
enum Answer {
    YesNo(YesNo),
    Severity(u8),
    Trend(super::state::Trend),
    When(Timestamp),
    Route(super::state::Route),
    Forget(bool),
    /// Free text for a question that takes any words (what feels worse).
    Words,
    /// A reading question answered "no" (no monitor).
    NoReading,
    CheckIn(CheckInAnswer),
}

/// The answers to a check-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CheckInAnswer {
    Fine,
    SideEffect,
    NeedHelp,
}

struct Turn<'a> {
    engine: Engine<'a>,
    c: Conversation,
    actions: Vec<Action>,
    now: Timestamp,
    /// The patient's text this turn, when there is one.
    message: Option<String>,
}

impl Turn<'_> {
    fn settings(&self) -> &Settings {
        self.engine.settings
    }

    fn intent(&self, id: &str) -> Option<&Intent> {
        self.engine.catalogue.get(id)
    }

    fn run(&mut self, input: &Input) {
        self.c.first_seen.get_or_insert(self.now);
        self.expire_pending();
        match input {
            Input::Text(text) => self.text(text),
            Input::Edited(text) => {
                self.audit("edited", "message edited: matched again");
                self.text(text)
            }
            Input::NonText { caption: Some(caption) } if !caption.trim().is_empty() => self.text(caption),
            Input::NonText { .. } => {
                self.reply(wording::non_text(self.settings()), Vec::new());
                self.repeat_pending();
            }
            Input::Button(data) => self.button(data),
            Input::CheckInDue { number } => self.check_in(*number),
            Input::Command { command, argument } => self.command(*command, argument),
        }
    }

    // ----- actions -----

    fn reply(&mut self, text: impl Into<String>, buttons: Vec<Button>) {
        self.c.offered.clone_from(&buttons);
        self.actions.push(Action::Reply(Reply { text: text.into(), buttons, urgent: false }));
    }

    fn urgent_reply(&mut self, text: impl Into<String>, buttons: Vec<Button>) {
        self.c.offered.clone_from(&buttons);
        // Emergency instructions go first, ahead of anything already decided this turn.
        self.actions.insert(0, Action::Reply(Reply { text: text.into(), buttons, urgent: true }));
    }

    fn audit(&mut self, kind: &str, detail: impl Into<String>) {
        self.actions.push(Action::Record(AuditEvent { at: self.now, kind: kind.to_string(), detail: detail.into() }));
    }

    fn ask(&mut self, question: Question, text: impl Into<String>, buttons: Vec<Button>, then: Option<String>) {
        if matches!(question, Question::TreatmentTime { .. }) {
            self.c.treatment_asked = true;
        }
        self.c.pending = Some(Pending { question, asked_at: self.now, then });
        self.reply(text, buttons);
    }

    // ----- state upkeep -----

    fn expire_pending(&mut self) {
        let expiry = self.settings().question_expiry;
        let expired = self.c.pending.as_ref().is_some_and(|p| self.elapsed_since(p.asked_at) > expiry);
        let stale_episode =
            self.c.pending.is_none() && self.c.episode.as_ref().is_some_and(|e| self.elapsed_since(e.started) > expiry);
        if expired || stale_episode {
            self.c.pending = None;
            self.c.queue.clear();
            self.c.episode = None;
            self.c.offered.clear();
        }
    }

    fn elapsed_since(&self, then: Timestamp) -> Duration {
        Duration::try_from(self.now.duration_since(then)).unwrap_or_default()
    }

    fn episode(&mut self, intent: &str) -> &mut Episode {
        let now = self.now;
        self.c.episode.get_or_insert_with(|| Episode {
            started: now,
            intent: intent.to_string(),
            disposition: Disposition::None,
            reasons: Vec::new(),
            answers: Vec::new(),
            severity: None,
            trend: None,
            current: Disposition::None,
            paged: None,
            followed_up: Vec::new(),
            self_harm: false,
        })
    }

    /// Raises the current intent and the episode to at least `disposition` (never lowers them).
    fn raise(&mut self, intent: &str, disposition: Disposition, reasons: &[String]) {
        let episode = self.episode(intent);
        episode.current = episode.current.max(disposition);
        if disposition > episode.disposition {
            episode.disposition = disposition;
            episode.intent = intent.to_string();
        }
        for reason in reasons {
            if !episode.reasons.contains(reason) {
                episode.reasons.push(reason.clone());
            }
        }
    }

    // ----- inputs -----

    fn text(&mut self, text: &str) {
        if text.trim().is_empty() {
            self.reply(wording::non_text(self.settings()), Vec::new());
            self.repeat_pending();
            return;
        }
        self.c.remember(text);
        self.message = Some(text.to_string());
        let since = self.c.since_treatment(self.now);
        let found = classify_with(self.engine.catalogue, text, since);
        self.audit("message", format!("intent={} disposition={}", found.intent, found.disposition));

        // Red flags first, in every state; but "I am not safe" to "Are you somewhere safe?" is the
        // answer, whose "no" already carries the emergency and crisis numbers: only an emergency of
        // another kind is news then.
        let safety_no = matches!(self.c.pending.as_ref().map(|p| &p.question), Some(Question::SafeNow))
            && answers::yes_no(text) == Some(YesNo::No);
        let answered_by_safety_no =
            |m: &IntentMatch| safety_no && (m.id == ids::SELF_HARM || m.disposition < Disposition::Emergency);
        let red_flag = found.ranked().into_iter().find(|m| m.disposition.pages_on_call() && !answered_by_safety_no(m));
        if let Some(top) = red_flag {
            let (id, disposition, reasons) = (top.id.clone(), top.disposition, top.reasons.clone());
            let pending = self.c.pending.take();
            self.c.queue.clear();
            self.escalate(&id, disposition, &reasons);
            if let Some(pending) = pending.filter(|_| safety_no) {
                self.answer(pending, Answer::YesNo(YesNo::No));
            }
            return;
        }
        if let Some((at, route)) = answers::treatment_report(text, self.now, &self.settings().time_zone) {
            self.note_treatment(at, route);
            if matches!(self.c.pending.as_ref().map(|p| &p.question), Some(Question::TreatmentTime { .. })) {
                let then = self.c.pending.take().and_then(|p| p.then);
                self.resume(then, &Question::TreatmentTime { route: None });
                return;
            }
        }
        if self.c.episode.as_ref().is_some_and(|e| e.self_harm) && DISMISSAL.is_match(FoldedText::new(text).as_str()) {
            self.reply(wording::still_with_you(self.settings()), Vec::new());
            return;
        }
        if let Some(pending) = self.c.pending.clone() {
            if let Some(answer) = self.read_answer(&pending.question, text) {
                self.c.pending = None;
                self.answer(pending, answer);
                return;
            }
            let has_news = !found.ranked().is_empty() || !found.confirm.is_empty();
            if !has_news {
                let (question, buttons) = self.question_text(&pending.question);
                self.c.pending = Some(Pending { asked_at: self.now, ..pending });
                self.reply(wording::ask_again(&question), buttons);
                return;
            }
            // A new symptom or question: handle it, and come back to the one we were on.
            if let Some(item) = self.interrupted(&pending) {
                self.c.queue.insert(0, item);
            }
            self.c.pending = None;
        }
        self.handle(&found);
    }

    fn button(&mut self, data: &str) {
        if let Some(id) = data.strip_prefix("fx:") {
            self.c.pending = None;
            if self.intent(id).is_some() {
                let disposition = self.intent(id).map(|i| i.disposition).unwrap_or_default();
                self.start(id, disposition, &[]);
            } else {
                self.reply("Please tell me in a few words how you are feeling.", Vec::new());
            }
            return;
        }
        let Some(pending) = self.c.pending.clone() else {
            self.reply(
                format!(
                    "That question has already been answered or has expired. How are you feeling now? {}",
                    wording::emergency_line(self.settings())
                ),
                Vec::new(),
            );
            return;
        };
        match decode_button(data, self.now).filter(|a| fits(&pending.question, a)) {
            Some(answer) => {
                self.c.pending = None;
                self.answer(pending, answer);
            }
            None => self.repeat_pending(),
        }
    }

    /// A proactive check-in: asked only when the patient has not opted out and nothing else is
    /// waiting for an answer (a question in progress is more important than a check-in).
    fn check_in(&mut self, number: u32) {
        if self.c.check_ins_off || self.c.pending.is_some() {
            self.audit("check_in_skipped", format!("number={number}"));
            return;
        }
        self.audit("check_in", format!("number={number}"));
        let text = wording::check_in(self.settings());
        self.ask(Question::CheckIn, text, wording::check_in_buttons(), None);
    }

    fn command(&mut self, command: Command, argument: &str) {
        self.audit("command", format!("{command:?}").to_lowercase());
        match command {
            Command::Start => {
                if !argument.is_empty() {
                    self.audit("enrolment_code", "start with a deep-link payload");
                }
                if self.c.check_ins_off {
                    self.c.check_ins_off = false;
                    self.actions.push(Action::CheckIns { enabled: true });
                    self.reply(wording::check_ins_resumed(), Vec::new());
                }
                self.control(ids::GREETING);
            }
            Command::Help => self.control(ids::HELP),
            Command::Stop => self.control(ids::STOP),
            Command::Forget => self.control(ids::FORGET),
            Command::Treated => match answers::when(argument, self.now, &self.settings().time_zone) {
                Some(at) => {
                    let route = answers::route(argument);
                    self.record_treatment(at, route, None);
                }
                None => {
                    let buttons = wording::treatment_time_buttons();
                    let question = Question::TreatmentTime { route: answers::route(argument) };
                    self.ask(question, wording::TREATMENT_TIME_QUESTION, buttons, None);
                }
            },
        }
    }

    // ----- classification to intents -----

    /// Handles what a message says: red flags to confirm first, then the asserted intents, most
    /// urgent first; what is not handled now goes ahead of anything already waiting.
    fn handle(&mut self, found: &Classification) {
        let ranked = found.ranked();
        let has_clinical = ranked.iter().any(|m| self.intent(&m.id).is_some_and(|i| i.group != Group::Control));
        let has_symptom = ranked.iter().any(|m| self.intent(&m.id).is_some_and(|i| i.group.is_symptom()));
        if has_symptom && ranked.iter().any(|m| m.id == ids::HUMAN) {
            // Asking for a person while unwell: a clinician calls (spec: `human` with distress).
            self.escalate(ids::HUMAN, Disposition::Urgent, &["asked for a person while unwell".to_string()]);
            return;
        }
        let mut items: Vec<Queued> = found.confirm.iter().map(|id| Queued::Confirm(id.clone())).collect();
        let asserted = ranked
            .iter()
            // A greeting or thanks next to a symptom needs no answer of its own.
            .filter(|m| !(has_clinical && (m.id == ids::GREETING || m.id == ids::THANKS)));
        items.extend(asserted.map(|m| Queued::Intent(m.id.clone(), m.disposition)));
        if items.is_empty() {
            self.fallback();
            return;
        }
        let first = items.remove(0);
        items.append(&mut self.c.queue);
        self.c.queue = items;
        match first {
            Queued::Confirm(id) => self.ask_confirm(&id),
            Queued::Intent(id, disposition) => {
                let reasons = ranked.iter().find(|m| m.id == id).map(|m| m.reasons.clone()).unwrap_or_default();
                self.start(&id, disposition, &reasons);
            }
        }
    }

    /// What to come back to after the patient interrupted `pending` with something new.
    fn interrupted(&self, pending: &Pending) -> Option<Queued> {
        let disposition = self.c.episode.as_ref().map_or(Disposition::None, |e| e.current);
        match &pending.question {
            Question::Confirm { intent } => Some(Queued::Confirm(intent.clone())),
            question => {
                let intent = question.intent().map(str::to_string).or_else(|| pending.then.clone())?;
                Some(Queued::Intent(intent, disposition))
            }
        }
    }

    fn fallback(&mut self) {
        let buttons = wording::COMMON_EFFECTS
            .iter()
            .filter_map(|id| self.intent(id).map(|i| Button::new(i.title.clone(), format!("fx:{id}"))))
            .chain([Button::new("Something else", "fx:other")])
            .collect();
        self.reply(wording::fallback(self.settings()), buttons);
    }

    fn ask_confirm(&mut self, red_flag: &str) {
        let Some(question) = self.intent(red_flag).and_then(|i| i.confirm.clone()) else {
            return;
        };
        self.ask(Question::Confirm { intent: red_flag.to_string() }, question, wording::yes_no_buttons(), None);
    }

    /// Starts handling one intent, with the disposition the message gave it.
    fn start(&mut self, id: &str, disposition: Disposition, reasons: &[String]) {
        let Some(intent) = self.intent(id).cloned() else {
            self.next_in_queue();
            return;
        };
        if intent.red_flag || disposition.pages_on_call() {
            self.escalate(id, disposition.max(intent.disposition), reasons);
            return;
        }
        match intent.group {
            Group::Question => {
                self.reply(intent.advice.trim(), Vec::new());
                self.next_in_queue();
            }
            Group::Control => self.control(id),
            _ => {
                self.episode(id).current = Disposition::None;
                self.raise(id, disposition, reasons);
                self.continue_symptom(&intent, None);
            }
        }
    }

    /// Asks the next thing a symptom needs, or finishes it. `after` is the question just
    /// answered. The order: treatment time (when the intent depends on it and it is unknown), a
    /// reading (blood pressure), the screen questions (all at once first when there are several),
    /// severity, trend; then the outcome.
    fn continue_symptom(&mut self, intent: &Intent, after: Option<&Question>) {
        let id = intent.id.clone();
        if id == ids::FEEL_WORSE && after.is_none() {
            self.ask(Question::WhatFeelsWorse, wording::WHAT_FEELS_WORSE, Vec::new(), None);
            return;
        }
        // How far the symptom has got, and the next screen question to ask.
        let (done, next_screen) = match after {
            None => (Progress::Nothing, 0),
            Some(Question::TreatmentTime { .. } | Question::TreatmentRoute) => (Progress::Time, 0),
            Some(Question::Reading { .. }) => (Progress::Reading, 0),
            Some(Question::ScreenAny { .. }) => (Progress::Screens, intent.screen.len()),
            Some(Question::Screen { index, .. }) => (Progress::Screens, index + 1),
            Some(Question::Severity { .. }) => (Progress::Severity, 0),
            Some(_) => (Progress::Trend, 0),
        };
        if done < Progress::Time && !intent.lasting.is_empty() && self.c.treatment.is_none() {
            let buttons = wording::treatment_time_buttons();
            self.ask(Question::TreatmentTime { route: None }, wording::TREATMENT_TIME_QUESTION, buttons, Some(id));
            return;
        }
        let message_has_reading =
            self.message.as_deref().is_some_and(|m| !readings::find(FoldedText::new(m).as_str()).is_empty());
        if done < Progress::Reading && intent.readings.is_some() && !message_has_reading {
            self.ask(Question::Reading { intent: id }, wording::READING_QUESTION, Vec::new(), None);
            return;
        }
        if done < Progress::Screens && intent.screen.len() > 1 {
            let questions: Vec<&str> = intent.screen.iter().map(|q| q.ask.as_str()).collect();
            let text = wording::screen_any(&questions);
            self.ask(Question::ScreenAny { intent: id }, text, wording::yes_no_buttons(), None);
            return;
        }
        if done <= Progress::Screens {
            if let Some(screen) = intent.screen.get(next_screen) {
                let question = Question::Screen { intent: id, index: next_screen };
                self.ask(question, screen.ask.clone(), wording::yes_no_buttons(), None);
                return;
            }
            if intent.ask_severity {
                self.ask(
                    Question::Severity { intent: id },
                    wording::SEVERITY_QUESTION,
                    wording::severity_buttons(),
                    None,
                );
                return;
            }
        }
        if done == Progress::Severity && intent.ask_severity {
            self.ask(Question::Trend { intent: id }, wording::TREND_QUESTION, wording::trend_buttons(), None);
            return;
        }
        self.finish(intent);
    }

    /// Gives the advice and the outcome of a symptom, then moves on to the next queued intent.
    fn finish(&mut self, intent: &Intent) {
        // The time since treatment may have been learned during the questions.
        if let Some(rule) = self.c.since_treatment(self.now).and_then(|since| intent.lasting_at(since)) {
            let reason = rule.reason.clone();
            match &rule.outcome {
                LastingOutcome::Raise(to) => self.raise(&intent.id, *to, &[reason]),
                LastingOutcome::Becomes(target) if *target != intent.id => {
                    if let Some(target) = self.intent(target).cloned() {
                        self.raise(&target.id, target.disposition, &[reason]);
                        self.finish_with(&target);
                        return;
                    }
                }
                LastingOutcome::Becomes(_) => {}
            }
        }
        self.finish_with(intent);
    }

    fn finish_with(&mut self, intent: &Intent) {
        let (severity, trend) = self.c.episode.as_ref().map_or((None, None), |e| (e.severity, e.trend));
        let past_window = self.past_expected_window(intent);
        if severity.is_some_and(|s| s >= 8) || (trend == Some(super::state::Trend::Worse) && past_window) {
            let reason = if severity.is_some_and(|s| s >= 8) {
                "severity 8 or more"
            } else {
                "getting worse past the expected time"
            };
            self.raise(&intent.id, Disposition::ContactClinic, &[reason.to_string()]);
        }
        let current = self.c.episode.as_ref().map_or(intent.disposition, |e| e.current);
        if current.pages_on_call() {
            let reasons = self.c.episode.as_ref().map(|e| e.reasons.clone()).unwrap_or_default();
            self.escalate(&intent.id, current, &reasons);
            return;
        }
        let mut text = intent.advice.trim().to_string();
        text.push_str("\n\n");
        if current >= Disposition::ContactClinic {
            text.push_str(&wording::follow_up_note(self.settings()));
            self.follow_up(intent);
        } else {
            text.push_str(wording::self_care_note());
        }
        self.reply(text, Vec::new());
        self.next_in_queue();
    }

    fn past_expected_window(&self, intent: &Intent) -> bool {
        let Some(since) = self.c.since_treatment(self.now) else {
            return false;
        };
        intent.lasting.iter().map(|rule| rule.after).min().is_some_and(|window| since >= window)
    }

    fn follow_up(&mut self, intent: &Intent) {
        let episode = self.episode(&intent.id);
        if episode.followed_up.contains(&intent.id) {
            return;
        }
        episode.followed_up.push(intent.id.clone());
        let (reasons, severity, trend) = (episode.reasons.clone(), episode.severity, episode.trend);
        self.actions.push(Action::FollowUp(FollowUp {
            intent: intent.id.clone(),
            intent_title: intent.title.clone(),
            reasons,
            severity,
            trend,
            recent_messages: self.c.recent.clone(),
        }));
        self.audit("follow_up", format!("intent={}", intent.id));
    }

    /// Moves on to what is waiting: a red flag to confirm, another intent, or (on first contact)
    /// the question about the last treatment.
    fn next_in_queue(&mut self) {
        if self.c.queue.is_empty() && self.c.pending.is_none() && self.c.treatment.is_none() && !self.c.treatment_asked
        {
            // First contact began with something else: now ask about the last treatment.
            let buttons = wording::treatment_time_buttons();
            self.ask(Question::TreatmentTime { route: None }, wording::TREATMENT_TIME_QUESTION, buttons, None);
            return;
        }
        while !self.c.queue.is_empty() {
            match self.c.queue.remove(0) {
                Queued::Confirm(id) if self.intent(&id).is_some_and(|i| i.confirm.is_some()) => {
                    self.ask_confirm(&id);
                    return;
                }
                Queued::Intent(id, disposition) => {
                    let Some(intent) = self.intent(&id).cloned() else { continue };
                    if intent.group.is_symptom() {
                        self.reply(wording::also_mentioned(&intent.title), Vec::new());
                    }
                    self.start(&id, disposition.max(intent.disposition), &[]);
                    return;
                }
                Queued::Confirm(_) => {}
            }
        }
    }

    /// Pages on-call for a red flag (or anything raised to urgent or emergency) and tells the
    /// patient what to do now. The instruction is the first action of the turn.
    fn escalate(&mut self, id: &str, disposition: Disposition, reasons: &[String]) {
        let Some(intent) = self.intent(id).cloned() else {
            return;
        };
        let disposition = disposition.max(intent.disposition).max(Disposition::Urgent);
        self.raise(id, disposition, reasons);
        let self_harm = id == ids::SELF_HARM;
        let since_treatment = self.c.since_treatment(self.now);
        let route = self.c.treatment.and_then(|t| t.route);
        let recent_messages = self.c.recent.clone();
        let episode = self.c.episode.as_mut().expect("raise opened the episode");
        episode.self_harm |= self_harm;
        let already_paged = episode.paged.is_some_and(|p| p >= disposition);
        if !already_paged {
            episode.paged = Some(disposition);
        }
        let alert = Alert {
            disposition,
            intent: id.to_string(),
            intent_title: intent.title.clone(),
            reasons: episode.reasons.clone(),
            answers: episode.answers.clone(),
            severity: episode.severity,
            trend: episode.trend,
            since_treatment,
            route,
            recent_messages,
            episode_started: episode.started,
        };

        // Red flags carry their own instructions; anything else raised this far gets the plain one.
        let emergency = disposition == Disposition::Emergency || self_harm;
        let instruction = match (intent.red_flag, emergency) {
            (true, true) => {
                format!("{}\n\n{}", intent.advice.trim(), wording::emergency_numbers(self.settings(), self_harm))
            }
            (true, false) => format!("{}\n\n{}", intent.advice.trim(), wording::urgent_note(self.settings())),
            (false, true) => wording::emergency_now(self.settings()),
            (false, false) => wording::urgent_note(self.settings()),
        };
        self.urgent_reply(instruction, Vec::new());
        if !already_paged {
            self.actions.push(Action::Escalate(Box::new(alert)));
            self.audit("escalated", format!("intent={id} disposition={disposition}"));
        }
        self.c.queue.clear();
        if self_harm {
            self.ask(Question::SafeNow, wording::SAFE_NOW_QUESTION, wording::yes_no_buttons(), None);
        }
    }

    fn control(&mut self, id: &str) {
        let advice = self.intent(id).map(|i| i.advice.trim().to_string()).unwrap_or_default();
        match id {
            ids::GREETING if self.c.treatment.is_none() => {
                self.reply(advice, Vec::new());
                let buttons = wording::treatment_time_buttons();
                self.ask(Question::TreatmentTime { route: None }, wording::TREATMENT_TIME_QUESTION, buttons, None);
            }
            ids::HELP => {
                let text = wording::help(self.settings(), &advice);
                self.reply(text, Vec::new());
            }
            ids::HUMAN => {
                self.reply(format!("{advice}\n\n{}", wording::follow_up_note(self.settings())), Vec::new());
                if let Some(intent) = self.intent(ids::HUMAN).cloned() {
                    self.raise(ids::HUMAN, Disposition::ContactClinic, &["asked to talk to a person".to_string()]);
                    self.follow_up(&intent);
                }
            }
            ids::STOP => {
                self.c.check_ins_off = true;
                self.actions.push(Action::CheckIns { enabled: false });
                self.reply(format!("{advice}\n\n{}", wording::check_ins_stopped()), Vec::new());
            }
            ids::FORGET => {
                self.ask(Question::ForgetConfirm, wording::FORGET_QUESTION, wording::forget_buttons(), None);
            }
            _ => self.reply(advice, Vec::new()),
        }
        if !matches!(
            self.c.pending,
            Some(Pending { question: Question::ForgetConfirm | Question::TreatmentTime { .. }, .. })
        ) {
            self.next_in_queue();
        }
    }

    /// Records a treatment session (check-ins follow it); the route carries over when unsaid.
    fn note_treatment(&mut self, at: Timestamp, route: Option<super::state::Route>) -> Option<super::state::Route> {
        let route = route.or(self.c.treatment.and_then(|t| t.route));
        self.c.treatment = Some(Treatment { at, route });
        self.actions.push(Action::ScheduleCheckIns { treated_at: at });
        self.audit("treatment_recorded", format!("route={}", route.map_or("unknown", |r| r.as_str())));
        route
    }

    fn record_treatment(&mut self, at: Timestamp, route: Option<super::state::Route>, then: Option<String>) {
        let route = self.note_treatment(at, route);
        if route.is_none() {
            self.ask(Question::TreatmentRoute, wording::ROUTE_QUESTION, wording::route_buttons(), then);
            return;
        }
        let when = describe_ago(self.now, at);
        self.reply(wording::treatment_recorded(&when, route), Vec::new());
        self.resume(then, &Question::TreatmentTime { route: None });
    }

    /// Goes back to the intent that was waiting, or the queue.
    fn resume(&mut self, then: Option<String>, answered: &Question) {
        match then.and_then(|id| self.intent(&id).cloned()) {
            Some(intent) => self.continue_symptom(&intent, Some(answered)),
            None if self.c.pending.is_none() => self.next_in_queue(),
            None => {}
        }
    }

    fn repeat_pending(&mut self) {
        if let Some(pending) = self.c.pending.clone() {
            let (question, buttons) = self.question_text(&pending.question);
            self.reply(question, buttons);
        }
    }

    fn question_text(&self, question: &Question) -> (String, Vec<Button>) {
        match question {
            Question::TreatmentTime { .. } => {
                (wording::TREATMENT_TIME_QUESTION.into(), wording::treatment_time_buttons())
            }
            Question::TreatmentRoute => (wording::ROUTE_QUESTION.into(), wording::route_buttons()),
            Question::ScreenAny { intent } => {
                let questions: Vec<String> =
                    self.intent(intent).map(|i| i.screen.iter().map(|q| q.ask.clone()).collect()).unwrap_or_default();
                let questions: Vec<&str> = questions.iter().map(String::as_str).collect();
                (wording::screen_any(&questions), wording::yes_no_buttons())
            }
            Question::Screen { intent, index } => {
                let text = self.intent(intent).and_then(|i| i.screen.get(*index)).map(|q| q.ask.clone());
                (text.unwrap_or_default(), wording::yes_no_buttons())
            }
            Question::Confirm { intent } => {
                (self.intent(intent).and_then(|i| i.confirm.clone()).unwrap_or_default(), wording::yes_no_buttons())
            }
            Question::Severity { .. } => (wording::SEVERITY_QUESTION.into(), wording::severity_buttons()),
            Question::Trend { .. } => (wording::TREND_QUESTION.into(), wording::trend_buttons()),
            Question::Reading { .. } => (wording::READING_QUESTION.into(), Vec::new()),
            Question::WhatFeelsWorse => (wording::WHAT_FEELS_WORSE.into(), Vec::new()),
            Question::SafeNow => (wording::SAFE_NOW_QUESTION.into(), wording::yes_no_buttons()),
            Question::ForgetConfirm => (wording::FORGET_QUESTION.into(), wording::forget_buttons()),
            Question::CheckIn => (wording::check_in(self.settings()), wording::check_in_buttons()),
        }
    }

    // ----- answers -----

    fn read_answer(&self, question: &Question, text: &str) -> Option<Answer> {
        match question {
            Question::ScreenAny { .. } | Question::Screen { .. } | Question::Confirm { .. } | Question::SafeNow => {
                answers::yes_no(text).map(Answer::YesNo)
            }
            Question::ForgetConfirm => answers::yes_no(text).map(|a| Answer::Forget(a == YesNo::Yes)),
            Question::Severity { .. } => answers::severity(text).map(Answer::Severity),
            Question::Trend { .. } => answers::trend(text).map(Answer::Trend),
            Question::TreatmentTime { .. } => {
                answers::when(text, self.now, &self.settings().time_zone).map(Answer::When)
            }
            Question::TreatmentRoute => answers::route(text).map(Answer::Route),
            Question::Reading { .. } => {
                let found = readings::find(FoldedText::new(text).as_str());
                if !found.is_empty() {
                    Some(Answer::Words)
                } else if answers::yes_no(text) == Some(YesNo::No) {
                    Some(Answer::NoReading)
                } else {
                    None
                }
            }
            Question::WhatFeelsWorse => Some(Answer::Words),
            Question::CheckIn => answers::feeling_fine(text).then_some(Answer::CheckIn(CheckInAnswer::Fine)),
        }
    }

    fn answer(&mut self, pending: Pending, answer: Answer) {
        let question = pending.question.clone();
        match (&question, answer) {
            (Question::Screen { intent, index }, Answer::YesNo(yes_no)) => self.screen_answer(intent, *index, yes_no),
            (Question::ScreenAny { intent }, Answer::YesNo(yes_no)) => {
                let Some(i) = self.intent(intent).cloned() else { return };
                if yes_no == YesNo::No {
                    for screen in &i.screen {
                        self.record_answer(intent, screen.ask.clone(), YesNo::No);
                    }
                    self.continue_symptom(&i, Some(&question));
                } else {
                    // Which one? Ask them one by one; "not sure" still counts as yes on each.
                    let first = Question::Screen { intent: intent.clone(), index: 0 };
                    let text = i.screen[0].ask.clone();
                    self.ask(first, text, wording::yes_no_buttons(), None);
                }
            }
            (Question::Confirm { intent }, Answer::YesNo(yes_no)) => {
                self.record_answer(
                    intent,
                    self.intent(intent).and_then(|i| i.confirm.clone()).unwrap_or_default(),
                    yes_no,
                );
                if yes_no.counts_as_yes() {
                    let worst = self.worst_case(intent);
                    self.escalate(intent, worst, &["confirmed by the patient".to_string()]);
                } else {
                    self.reply(wording::confirm_no(), Vec::new());
                    self.next_in_queue();
                }
            }
            (Question::SafeNow, Answer::YesNo(yes_no)) => {
                self.record_answer(ids::SELF_HARM, wording::SAFE_NOW_QUESTION.to_string(), yes_no);
                if yes_no == YesNo::Yes {
                    self.reply(wording::safe_yes(), Vec::new());
                } else {
                    let text = wording::safe_no(self.settings());
                    self.urgent_reply(text, Vec::new());
                }
            }
            (Question::ForgetConfirm, Answer::Forget(true)) => {
                self.c = Conversation::default();
                self.actions.push(Action::Forget);
                self.audit("forget", "patient data deleted on request");
                self.reply(wording::forgotten(), Vec::new());
            }
            (Question::ForgetConfirm, _) => {
                self.reply(wording::not_forgotten(), Vec::new());
            }
            (Question::Severity { intent }, Answer::Severity(value)) => {
                self.episode(intent).severity = Some(value);
                if let Some(i) = self.intent(intent).cloned() {
                    self.continue_symptom(&i, Some(&question));
                }
            }
            (Question::Trend { intent }, Answer::Trend(trend)) => {
                self.episode(intent).trend = Some(trend);
                if let Some(i) = self.intent(intent).cloned() {
                    self.finish(&i);
                }
            }
            (Question::TreatmentTime { route: said }, Answer::When(at)) => {
                let route = self.message.as_deref().and_then(answers::route).or(*said);
                self.record_treatment(at, route, pending.then);
            }
            (Question::TreatmentRoute, Answer::Route(route)) => {
                if let Some(treatment) = self.c.treatment.as_mut() {
                    treatment.route = Some(route);
                }
                let at = self.c.treatment.map_or(self.now, |t| t.at);
                let when = describe_ago(self.now, at);
                self.reply(wording::treatment_recorded(&when, Some(route)), Vec::new());
                self.audit("treatment_recorded", format!("route={}", route.as_str()));
                self.resume(pending.then, &question);
            }
            (Question::Reading { intent }, answer) => {
                let Some(i) = self.intent(intent).cloned() else { return };
                if let (Answer::Words, Some(thresholds), Some(text)) = (answer, i.readings, self.message.clone()) {
                    let (systolic, diastolic, pulse) = readings::find(FoldedText::new(&text).as_str()).peaks();
                    let high = systolic >= thresholds.systolic_at_least
                        || diastolic >= thresholds.diastolic_at_least
                        || pulse >= thresholds.pulse_at_least;
                    if high {
                        self.escalate(intent, thresholds.to, &["reading at or over the threshold".to_string()]);
                        return;
                    }
                }
                self.continue_symptom(&i, Some(&question));
            }
            (Question::CheckIn, Answer::CheckIn(answer)) => {
                self.audit("check_in_answered", format!("{answer:?}").to_lowercase());
                match answer {
                    CheckInAnswer::Fine => self.reply(wording::CHECK_IN_FINE, Vec::new()),
                    CheckInAnswer::SideEffect => self.reply(wording::CHECK_IN_EFFECT, Vec::new()),
                    CheckInAnswer::NeedHelp => self.control(ids::HUMAN),
                }
            }
            (Question::WhatFeelsWorse, _) => {
                let text = self.message.clone().unwrap_or_default();
                let since = self.c.since_treatment(self.now);
                let found = classify_with(self.engine.catalogue, &text, since);
                let specific = found.ranked().iter().any(|m| m.id != ids::FEEL_WORSE);
                if specific {
                    self.handle(&found);
                } else if let Some(i) = self.intent(ids::FEEL_WORSE).cloned() {
                    self.raise(ids::FEEL_WORSE, i.disposition, &[]);
                    self.finish(&i);
                }
            }
            _ => self.repeat_pending_question(pending),
        }
    }

    fn repeat_pending_question(&mut self, pending: Pending) {
        self.c.pending = Some(pending);
        self.repeat_pending();
    }

    fn record_answer(&mut self, intent: &str, question: String, answer: YesNo) {
        let entry = ScreenAnswer { intent: intent.to_string(), question, answer };
        self.episode(intent).answers.push(entry);
    }

    fn screen_answer(&mut self, id: &str, index: usize, answer: YesNo) {
        let Some(intent) = self.intent(id).cloned() else { return };
        let Some(question) = intent.screen.get(index).cloned() else { return };
        self.record_answer(id, question.ask.clone(), answer);
        if answer.counts_as_yes() {
            match &question.on_yes {
                ScreenOutcome::Raise(to) if to.pages_on_call() => {
                    self.escalate(id, *to, &[format!("screen: {}", question.ask)]);
                    return;
                }
                ScreenOutcome::Raise(to) => self.raise(id, *to, &[format!("screen: {}", question.ask)]),
                ScreenOutcome::Intent(target) => {
                    let disposition = self.intent(target).map(|t| self.worst_case(&t.id)).unwrap_or_default();
                    self.start(target, disposition, &[format!("screen: {}", question.ask)]);
                    return;
                }
            }
        }
        let asked = Question::Screen { intent: id.to_string(), index };
        self.continue_symptom(&intent, Some(&asked));
    }

    /// The most urgent disposition an intent can reach: what a confirmed red flag is paged at
    /// ("yes" to "are you having chest pain right now?" is the chest-pain case, not palpitations).
    fn worst_case(&self, id: &str) -> Disposition {
        self.intent(id).map_or(Disposition::Urgent, |i| {
            i.raises.iter().filter(|r| !r.with_high_reading).map(|r| r.to).fold(i.disposition, Disposition::max)
        })
    }
}

/// Reads button data; `now` is the time of the press (time buttons count back from it).
fn decode_button(data: &str, now: Timestamp) -> Option<Answer> {
    let (kind, value) = data.split_once(':').unwrap_or((data, ""));
    Some(match kind {
        "yes" => Answer::YesNo(YesNo::Yes),
        "no" => Answer::YesNo(YesNo::No),
        "unsure" => Answer::YesNo(YesNo::Unsure),
        "sev" => Answer::Severity(value.parse().ok().filter(|v| *v <= 10)?),
        "trend" => Answer::Trend(match value {
            "better" => super::state::Trend::Better,
            "same" => super::state::Trend::Same,
            "worse" => super::state::Trend::Worse,
            _ => return None,
        }),
        "route" => Answer::Route(super::state::Route::parse(value)?),
        "forget" => Answer::Forget(value == "yes"),
        "checkin" => Answer::CheckIn(match value {
            "fine" => CheckInAnswer::Fine,
            "effect" => CheckInAnswer::SideEffect,
            "help" => CheckInAnswer::NeedHelp,
            _ => return None,
        }),
        // Minutes before now; button data can be forged, so only a sane, non-negative count.
        "when" => {
            let minutes: u32 = value.parse().ok().filter(|m| *m <= answers::MAX_AGO_MINUTES)?;
            Answer::When(now.checked_sub(jiff::SignedDuration::from_mins(i64::from(minutes))).ok()?)
        }
        _ => return None,
    })
}

/// Whether a decoded button answers this question.
fn fits(question: &Question, answer: &Answer) -> bool {
    matches!(
        (question, answer),
        (
            Question::ScreenAny { .. } | Question::Screen { .. } | Question::Confirm { .. } | Question::SafeNow,
            Answer::YesNo(_)
        ) | (Question::Severity { .. }, Answer::Severity(_))
            | (Question::Trend { .. }, Answer::Trend(_))
            | (Question::TreatmentRoute, Answer::Route(_))
            | (Question::TreatmentTime { .. }, Answer::When(_))
            | (Question::ForgetConfirm, Answer::Forget(_))
            | (Question::CheckIn, Answer::CheckIn(_))
    )
}

/// "2 hours ago", "yesterday"... for confirming a recorded time.
fn describe_ago(now: Timestamp, at: Timestamp) -> String {
    let minutes = now.duration_since(at).as_mins().max(0);
    match minutes {
        0..=5 => "just now".to_string(),
        6..=89 => format!("about {minutes} minutes ago"),
        90..=2159 => format!("about {} hours ago", (minutes + 30) / 60),
        _ => format!("about {} days ago", (minutes + 720) / 1440),
    }
}
