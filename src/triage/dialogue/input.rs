//! What reaches the engine from a patient, whatever the channel.

/// A bot command (`/start`, `/help`, `/treated`, `/stop`, `/forget`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// First contact or coming back; may carry a deep-link payload (an enrolment code).
    Start,
    Help,
    /// A new treatment session (the argument may say when: "/treated today at 2pm").
    Treated,
    /// No more check-ins.
    Stop,
    /// Delete my data (after a confirmation).
    Forget,
}

impl Command {
    /// Parses `/name` (an optional `@botname` suffix is ignored); `None` for unknown commands.
    pub fn parse(word: &str) -> Option<Command> {
        let name = word.strip_prefix('/')?.split('@').next()?.to_ascii_lowercase();
        Some(match name.as_str() {
            "start" => Command::Start,
            "help" => Command::Help,
            "treated" => Command::Treated,
            "stop" => Command::Stop,
            "forget" => Command::Forget,
            _ => return None,
        })
    }
}

/// One patient input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A text message.
    Text(String),
    /// A message the patient edited: matched again ("no chest pain" edited to "chest pain" escalates).
    Edited(String),
    /// A button pressed: its data.
    Button(String),
    Command {
        command: Command,
        argument: String,
    },
    /// A sticker, photo, voice note, document...: its caption, if any.
    NonText {
        caption: Option<String>,
    },
    /// A proactive check-in has fallen due (number 1 is the first after the treatment). Comes
    /// from the adapter's scheduler, not from the patient.
    CheckInDue {
        number: u32,
    },
}

impl Input {
    /// Reads a typed line: a known `/command` becomes a command, anything else is text.
    pub fn from_text(text: &str) -> Input {
        let trimmed = text.trim();
        if trimmed.starts_with('/') {
            let (word, argument) = trimmed.split_once(char::is_whitespace).unwrap_or((trimmed, ""));
            if let Some(command) = Command::parse(word) {
                return Input::Command { command, argument: argument.trim().to_string() };
            }
        }
        Input::Text(text.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_and_text() {
        assert_eq!(Input::from_text("/start abc"), Input::Command { command: Command::Start, argument: "abc".into() });
        assert_eq!(
            Input::from_text("/help@aftercare_bot"),
            Input::Command { command: Command::Help, argument: "".into() }
        );
        assert_eq!(Input::from_text("/nope"), Input::Text("/nope".into()));
        assert_eq!(Input::from_text("dizzy"), Input::Text("dizzy".into()));
    }
}
