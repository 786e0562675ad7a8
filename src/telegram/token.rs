//! The bot token: read from `TELOXIDE_TOKEN`, checked for shape, and never printed.

use std::fmt;

/// A Telegram bot token ("123456:ABC-DEF..."). `Debug` and `Display` hide it.
#[derive(Clone, PartialEq, Eq)]
pub struct BotToken(String);

/// Why a token was refused. The messages never include the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("TELOXIDE_TOKEN is not set: create a bot with @BotFather and export its token")]
    Missing,
    #[error("TELOXIDE_TOKEN does not look like a bot token (expected digits, a colon, then at least 30 letters, digits, '-' or '_')")]
    Malformed,
}

impl BotToken {
    /// Checks a token's shape: `<bot id digits>:<secret>`.
    pub fn parse(text: &str) -> Result<BotToken, TokenError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(TokenError::Missing);
        }
        let (id, secret) = text.split_once(':').ok_or(TokenError::Malformed)?;
        let id_ok = !id.is_empty() && id.len() <= 20 && id.bytes().all(|b| b.is_ascii_digit());
        let secret_ok =
            secret.len() >= 30 && secret.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if id_ok && secret_ok {
            Ok(BotToken(text.to_string()))
        } else {
            Err(TokenError::Malformed)
        }
    }

    /// Reads `TELOXIDE_TOKEN`.
    pub fn from_env() -> Result<BotToken, TokenError> {
        BotToken::parse(&std::env::var("TELOXIDE_TOKEN").unwrap_or_default())
    }

    /// The secret itself, for the HTTP client only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for BotToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BotToken(<hidden>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        assert!(BotToken::parse("123456:ABCdefGHIjklMNOpqrSTUvwxYZ0123456789_-").is_ok());
        assert_eq!(BotToken::parse(""), Err(TokenError::Missing));
        assert_eq!(BotToken::parse("nonsense"), Err(TokenError::Malformed));
        assert_eq!(BotToken::parse("12ab:ABCdefGHIjklMNOpqrSTUvwxYZ0123456789"), Err(TokenError::Malformed));
        assert_eq!(BotToken::parse("123:short"), Err(TokenError::Malformed));
    }

    #[test]
    fn never_printed() {
        let token = BotToken::parse("123456:ABCdefGHIjklMNOpqrSTUvwxYZ0123456789_-").unwrap();
        assert!(!format!("{token:?}").contains("ABCdef"));
    }
}
