//! The Telegram adapter (`aftercare serve`): the patients' real channel, a thin layer over the
//! same engine as the console.
//!
//! Nothing is lost across crashes, restarts, Telegram errors or rate limits:
//! - intake stores every update durably (flushed) before its offset is confirmed to Telegram;
//! - processing commits, in one transaction, the new conversation, its audit events, what to
//!   send, and the mark that the update is done, so a re-read update changes nothing twice;
//! - a batch of steps is flushed once (group commit) before anything about it is sent;
//! - two senders drain the outbox: the urgent lane (emergency instructions, pages, button
//!   answers) never waits behind the routine lane; 429 `retry_after`, 5xx and network errors
//!   are retried, and an item leaves the outbox only once Telegram accepted it.
//!
//! With `[http] listen` set, a sixth task serves `GET /healthz` and `GET /metrics` (see `http.rs`
//! and [`crate::metrics`]).
//!
//! teloxide is used as the HTTP client for the Bot API only: its dispatcher and its long
//! polling confirm updates before they are handled, which would lose an update in flight.

mod check_in_timer;
mod digest;
mod escalator;
mod health;
mod http;
mod intake;
mod periodic;
mod processor;
mod render;
mod sender;
pub mod token;
pub mod update;
mod webhook;

pub use token::{BotToken, TokenError};

use crate::config::{Config, UpdateSource};
use crate::store::Store;
use crate::triage::dialogue::Settings;
use crate::triage::Catalogue;
use std::sync::Arc;
use std::time::Duration;
use teloxide::prelude::*;
use teloxide::types::BotCommand;
use tokio::sync::{watch, Notify};

/// What can stop the service.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("a background task failed: {0}")]
    Task(String),
    #[error("cannot start the processing thread: {0}")]
    Thread(std::io::Error),
}

/// Everything the tasks share.
pub(crate) struct Shared {
    pub bot: Bot,
    pub store: Arc<dyn Store>,
    pub catalogue: Catalogue,
    pub settings: Settings,
    pub config: Config,
    /// New updates are in the inbox.
    pub inbox_ready: Notify,
    /// New items are in the outbox.
    pub outbox_ready: Notify,
    /// When Telegram last answered, and the store probe for `/healthz`.
    pub health: health::Health,
}

impl Shared {
    /// Whom pages go to.
    pub(crate) fn paging(&self) -> crate::escalation::Paging<'_> {
        let roster = &self.config.roster;
        crate::escalation::Paging {
            roster: roster.is_configured().then_some(roster),
            fallback_chat: self.config.telegram.staff_chat_id,
        }
    }

    /// Whether a chat belongs to staff: a roster member, the staff group, or the fallback chat.
    pub(crate) fn is_staff_chat(&self, chat: i64) -> bool {
        self.config.roster.is_staff_chat(chat) || self.config.telegram.staff_chat_id == Some(chat)
    }

    /// A staff member's name by their chat (or user) id.
    pub(crate) fn staff_name(&self, chat: i64) -> Option<String> {
        match self.config.roster.member_by_chat(chat) {
            Some(member) => Some(member.name.clone()),
            None if self.config.telegram.staff_chat_id == Some(chat) => Some("The on-call clinician".to_string()),
            None => None,
        }
    }
}

/// The bot's commands, as shown in Telegram's menu.
fn commands() -> Vec<BotCommand> {
    vec![
        BotCommand::new("start", "Start, or turn check-ins back on"),
        BotCommand::new("help", "What I can do"),
        BotCommand::new("treated", "Tell me about a new treatment session"),
        BotCommand::new("stop", "No more check-in messages"),
        BotCommand::new("forget", "Delete your data"),
    ]
}

/// Runs the bot until `shutdown` turns true, then finishes what is in flight and flushes.
/// `webhook_secret` is required in webhook mode.
pub async fn serve(
    bot: Bot,
    store: Arc<dyn Store>,
    catalogue: Catalogue,
    config: Config,
    webhook_secret: Option<String>,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), ServeError> {
    let settings = Settings::from(&config);
    if config.http.listen.is_some() {
        // Before any task records anything.
        crate::metrics::install();
    }
    let shared = Arc::new(Shared {
        bot,
        store,
        catalogue,
        settings,
        config,
        inbox_ready: Notify::new(),
        outbox_ready: Notify::new(),
        health: health::Health::new(),
    });
    // Up while the bot announces itself, so /healthz can say that Telegram cannot be reached.
    let http =
        shared.config.http.listen.map(|listen| tokio::spawn(http::run(shared.clone(), listen, shutdown.clone())));
    announce(&shared, webhook_secret.as_deref(), &mut shutdown).await;
    let intake = match (&shared.config.telegram.source, webhook_secret) {
        (UpdateSource::Webhook(hook), Some(secret)) => {
            let (listen, path) = (hook.listen, hook.path.clone());
            tokio::spawn(webhook::run(shared.clone(), listen, path, secret, shutdown.clone()))
        }
        _ => {
            tracing::info!("serving: long polling for updates");
            tokio::spawn(intake::run(shared.clone(), shutdown.clone()))
        }
    };
    let processor = processor::start(shared.clone(), shutdown.clone()).map_err(ServeError::Thread)?;
    let escalator = tokio::spawn(escalator::run(shared.clone(), shutdown.clone()));
    let check_ins = tokio::spawn(check_in_timer::run(shared.clone(), shutdown.clone()));
    let digest = tokio::spawn(digest::run(shared.clone(), shutdown.clone()));
    let urgent = tokio::spawn(sender::run(shared.clone(), crate::store::Lane::Urgent, shutdown.clone()));
    let routine = tokio::spawn(sender::run(shared.clone(), crate::store::Lane::Routine, shutdown.clone()));

    for task in [intake, processor, escalator, check_ins, digest, urgent, routine].into_iter().chain(http) {
        task.await.map_err(|e| ServeError::Task(e.to_string()))?;
    }
    shared.store.flush()?;
    tracing::info!("stopped cleanly");
    Ok(())
}

/// Tells Telegram who we are: the webhook (or none, when polling) and the command menu.
/// Retried until it works, since nothing else can work before it does.
async fn announce(shared: &Shared, webhook_secret: Option<&str>, shutdown: &mut watch::Receiver<bool>) {
    let mut delay = Duration::from_millis(200);
    loop {
        let ready = async {
            shared.bot.get_me().await?;
            shared.health.telegram_ok();
            match &shared.config.telegram.source {
                UpdateSource::Polling => {
                    shared.bot.delete_webhook().await?;
                }
                UpdateSource::Webhook(hook) => {
                    if let Some(url) = hook.public_url.as_deref().and_then(|u| url::Url::parse(u).ok()) {
                        let mut request = shared.bot.set_webhook(url);
                        if let Some(secret) = webhook_secret {
                            request = request.secret_token(secret.to_string());
                        }
                        request.await?;
                    }
                }
            }
            shared.bot.set_my_commands(commands()).await?;
            Ok::<(), teloxide::RequestError>(())
        };
        match ready.await {
            Ok(()) => return,
            Err(e) => tracing::warn!(error = %e, "cannot reach the Bot API yet; retrying"),
        }
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = shutdown.changed() => return,
        }
        delay = (delay * 2).min(Duration::from_secs(30));
    }
}
