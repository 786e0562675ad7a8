//! Engine replies as Telegram messages: plain text (no parse mode, so nothing needs escaping),
//! split below Telegram's 4096-character limit, buttons as an inline keyboard.

use crate::triage::dialogue::{Button, Reply};

/// Telegram's limit is 4096 characters; stay a little under it.
const MAX_CHARS: usize = 4000;

/// A reply split into message texts; the buttons go with the last one.
pub fn split(reply: &Reply) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    for line in reply.text.split_inclusive('\n') {
        for piece in chunks(line, MAX_CHARS) {
            if current.chars().count() + piece.chars().count() > MAX_CHARS && !current.is_empty() {
                parts.push(std::mem::take(&mut current));
            }
            current.push_str(piece);
        }
    }
    if !current.trim().is_empty() || parts.is_empty() {
        parts.push(current);
    }
    parts.into_iter().map(|p| p.trim_end().to_string()).filter(|p| !p.is_empty()).collect()
}

/// Cuts a long line at character boundaries.
fn chunks(line: &str, size: usize) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut start = 0;
    let mut count = 0;
    for (index, _) in line.char_indices() {
        if count == size {
            pieces.push(&line[start..index]);
            start = index;
            count = 0;
        }
        count += 1;
    }
    pieces.push(&line[start..]);
    pieces
}

/// Callback data is at most 64 bytes; longer data is a bug in the engine's buttons.
pub fn valid_buttons(buttons: &[Button]) -> Vec<Button> {
    buttons.iter().filter(|b| !b.data.is_empty() && b.data.len() <= 64).cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(text: &str) -> Reply {
        Reply { text: text.to_string(), buttons: Vec::new(), urgent: false }
    }

    #[test]
    fn short_text_is_one_message() {
        assert_eq!(split(&reply("hello\nthere")), vec!["hello\nthere".to_string()]);
    }

    #[test]
    fn long_text_is_split_below_the_limit() {
        let text = format!("{}\n{}", "a".repeat(3000), "é".repeat(5000));
        let parts = split(&reply(&text));
        assert!(parts.len() >= 3);
        assert!(parts.iter().all(|p| p.chars().count() <= 4096));
        assert_eq!(parts.concat().chars().filter(|c| *c != '\n').count(), 8000);
    }
}
