//! What a Telegram update means for the bot: a patient input (text, edit, button, command,
//! non-text), a group chat to refuse politely, or nothing to do.

use crate::triage::dialogue::Input;
use teloxide::types::{MaybeInaccessibleMessage, Message, Update, UpdateKind};

/// An update, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    /// A patient's private chat.
    Patient {
        chat: i64,
        input: Input,
        /// The button press to answer, and the message whose buttons to clear.
        callback: Option<(String, Option<i32>)>,
    },
    /// Someone wrote in a group: only the staff group is served.
    Group { chat: i64, from: Option<i64>, input: Input, callback: Option<(String, Option<i32>)> },
    /// Nothing for the bot (a channel post, a poll, an unknown kind...).
    Ignore,
}

/// Reads an update.
pub fn read(update: &Update) -> Incoming {
    match &update.kind {
        UpdateKind::Message(message) => from_message(message, false),
        UpdateKind::EditedMessage(message) => from_message(message, true),
        UpdateKind::CallbackQuery(query) => {
            let Some(message) = &query.message else { return Incoming::Ignore };
            let (chat, message_id) = match message {
                MaybeInaccessibleMessage::Regular(m) => (m.chat.id.0, Some(m.id.0)),
                MaybeInaccessibleMessage::Inaccessible(m) => (m.chat.id.0, None),
            };
            let data = query.data.clone().unwrap_or_default();
            let callback = Some((query.id.0.clone(), message_id));
            if chat < 0 {
                let from = i64::try_from(query.from.id.0).ok();
                return Incoming::Group { chat, from, input: Input::Button(data), callback };
            }
            Incoming::Patient { chat, input: Input::Button(data), callback }
        }
        _ => Incoming::Ignore,
    }
}

fn from_message(message: &Message, edited: bool) -> Incoming {
    let chat = message.chat.id.0;
    let input = match (message.text(), message.caption()) {
        (Some(text), _) if edited => Input::Edited(text.to_string()),
        (Some(text), _) => Input::from_text(text),
        (None, caption) => Input::NonText { caption: caption.map(str::to_string) },
    };
    if !message.chat.is_private() {
        return if message.chat.is_group() || message.chat.is_supergroup() {
            let from = message.from.as_ref().and_then(|u| i64::try_from(u.id.0).ok());
            Incoming::Group { chat, from, input, callback: None }
        } else {
            Incoming::Ignore
        };
    }
    Incoming::Patient { chat, input, callback: None }
}
