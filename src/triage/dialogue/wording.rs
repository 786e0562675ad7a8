//! The dialogue's own sentences: questions, prompts and fixed replies. Clinical advice lives in
//! the catalogue (`intents/`); these are the connecting words around it.

use super::action::Button;
use super::settings::Settings;
use super::state::Route;

pub fn emergency_line(settings: &Settings) -> String {
    format!("If this is an emergency, call {} now.", settings.emergency_number)
}

pub fn emergency_numbers(settings: &Settings, with_crisis_line: bool) -> String {
    let mut text = format!("Emergency number: {}", settings.emergency_number);
    if with_crisis_line {
        text.push_str(&format!("\nCrisis line: {}", settings.crisis_line));
    }
    text
}

pub fn yes_no_buttons() -> Vec<Button> {
    vec![Button::new("Yes", "yes"), Button::new("No", "no"), Button::new("Not sure", "unsure")]
}

/// Several screen questions asked at once.
pub fn screen_any(questions: &[&str]) -> String {
    let mut text = String::from("First, a few quick checks. Is any of these true?");
    for question in questions {
        text.push_str("\n- ");
        text.push_str(question);
    }
    text
}

pub const SEVERITY_QUESTION: &str = "How strong is it right now, from 0 (nothing) to 10 (the worst you can imagine)?";

pub fn severity_buttons() -> Vec<Button> {
    vec![
        Button::new("Mild (1-3)", "sev:2"),
        Button::new("Moderate (4-6)", "sev:5"),
        Button::new("Strong (7)", "sev:7"),
        Button::new("Severe (8-10)", "sev:9"),
    ]
}

pub const TREND_QUESTION: &str = "Since it started, is it getting better, staying the same, or getting worse?";

pub fn trend_buttons() -> Vec<Button> {
    vec![Button::new("Better", "trend:better"), Button::new("Same", "trend:same"), Button::new("Worse", "trend:worse")]
}

pub const TREATMENT_TIME_QUESTION: &str =
    "When was your last ketamine treatment? You can tap an answer or write it (\"2 hours ago\", \"this morning\", \"yesterday at 3pm\").";

/// Treatment-time buttons carry minutes before now.
pub fn treatment_time_buttons() -> Vec<Button> {
    vec![
        Button::new("Within the last hour", "when:30"),
        Button::new("1-4 hours ago", "when:150"),
        Button::new("Earlier today", "when:360"),
        Button::new("Yesterday", "when:1440"),
        Button::new("2 or more days ago", "when:2880"),
    ]
}

pub const ROUTE_QUESTION: &str = "How was it given?";

pub fn route_buttons() -> Vec<Button> {
    Route::ALL.iter().map(|r| Button::new(r.label(), format!("route:{}", r.as_str()))).collect()
}

pub const READING_QUESTION: &str =
    "If you have a blood-pressure monitor, what does it read now? Write it like \"150/95\", or your pulse like \"pulse 110\". If you can't measure it, just say no.";

pub const WHAT_FEELS_WORSE: &str =
    "I'm sorry you feel worse. What feels worse? Tell me in your own words, for example \"more dizzy\", \"headache\", \"low mood\".";

pub const SAFE_NOW_QUESTION: &str = "Are you somewhere safe right now?";

pub const FORGET_QUESTION: &str =
    "Do you want me to delete everything I keep about you (your conversation, treatment times and check-ins)? Records of past alerts are kept without your name.";

pub fn forget_buttons() -> Vec<Button> {
    vec![Button::new("Yes, delete my data", "forget:yes"), Button::new("No, keep it", "forget:no")]
}

pub const NOT_UNDERSTOOD: &str = "Sorry, I'm not sure I understood.";

pub fn fallback(settings: &Settings) -> String {
    format!(
        "{NOT_UNDERSTOOD} Is it one of these? You can also describe how you feel in your own words.\n{}",
        emergency_line(settings)
    )
}

/// Common effects offered when nothing matched.
pub const COMMON_EFFECTS: &[&str] =
    &["dizziness", "nausea_vomiting", "headache", "drowsiness", "dissociation", "anxiety", "feel_worse"];

pub fn non_text(settings: &Settings) -> String {
    format!("I can only read text. Please type how you are feeling in a few words. {}", emergency_line(settings))
}

pub fn follow_up_note(settings: &Settings) -> String {
    format!(
        "I've passed this on to the team at {}, and someone will get back to you on the next working day. If it gets worse, write to me again. {}",
        settings.clinic_name,
        emergency_line(settings)
    )
}

pub fn self_care_note() -> &'static str {
    "If it gets worse, or you notice anything new, just write to me."
}

pub fn emergency_now(settings: &Settings) -> String {
    format!(
        "From what you've told me, this needs help straight away. Please call {} now. Do not drive yourself, and if you can, ask someone to stay with you.",
        settings.emergency_number
    )
}

pub fn urgent_note(settings: &Settings) -> String {
    format!(
        "A clinician from {} will call you shortly. If it gets worse before then, call {} now.",
        settings.clinic_name, settings.emergency_number
    )
}

pub fn still_with_you(settings: &Settings) -> String {
    format!(
        "I'm glad you wrote back. Because of what you shared, a clinician will still get in touch with you. You can call the crisis line any time: {}. If you are in danger, call {} now.",
        settings.crisis_line, settings.emergency_number
    )
}

pub fn safe_yes() -> &'static str {
    "Thank you for telling me. If you can, stay with someone you trust, and keep your phone with you. I'm here if you want to write."
}

pub fn safe_no(settings: &Settings) -> String {
    format!(
        "Please call {} now, or ask someone near you to call for you. You can also call the crisis line: {}. You are not alone.",
        settings.emergency_number, settings.crisis_line
    )
}

pub fn treatment_recorded(when: &str, route: Option<Route>) -> String {
    match route {
        Some(route) => format!("Thank you. I've noted your treatment ({}) {when}.", route.label().to_lowercase()),
        None => format!("Thank you. I've noted your treatment {when}."),
    }
}

pub fn forgotten() -> &'static str {
    "Done: I've deleted your conversation, treatment times and check-ins. If you write again, we start fresh."
}

pub fn not_forgotten() -> &'static str {
    "Nothing was deleted."
}

pub fn confirm_no() -> &'static str {
    "Thank you for checking. I'm glad that's not happening."
}

pub fn check_ins_stopped() -> &'static str {
    "I won't send you any more check-in messages. You can still write to me any time, and /start turns check-ins back on."
}

pub fn check_ins_resumed() -> &'static str {
    "Check-in messages are on: I'll ask how you are at a few points after each treatment."
}

pub fn help(settings: &Settings, intro: &str) -> String {
    format!(
        "{intro}\n\nCommands:\n/treated - tell me about a new treatment session\n/stop - no more check-in messages\n/start - check-ins back on\n/forget - delete your data\n/help - this message\n\n{}",
        emergency_line(settings)
    )
}

pub fn ask_again(question: &str) -> String {
    format!("Sorry, I didn't quite get that. {question}")
}

pub fn also_mentioned(title: &str) -> String {
    format!("You also mentioned: {}.", title.to_lowercase())
}

pub fn check_in(settings: &Settings) -> String {
    format!(
        "Hello, this is the aftercare assistant of {}, checking in after your treatment. How are you feeling?",
        settings.clinic_name
    )
}

pub fn check_in_buttons() -> Vec<Button> {
    vec![
        Button::new("I'm fine", "checkin:fine"),
        Button::new("I have a side effect", "checkin:effect"),
        Button::new("I need help", "checkin:help"),
    ]
}

pub const CHECK_IN_FINE: &str = "I'm glad to hear it. If anything changes, just write to me.";
pub const CHECK_IN_EFFECT: &str = "I'm sorry to hear that. What do you notice? Tell me in your own words.";
