//! Update intake by webhook: Telegram posts each update to the configured path. The secret in
//! `X-Telegram-Bot-Api-Secret-Token` is checked (401 without it), and the update is stored and
//! flushed before the answer is 200; when it cannot be stored the answer is 500, so Telegram
//! sends it again. teloxide's own webhook answers 200 before anything is stored, hence this.

use super::Shared;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use std::sync::Arc;
use tokio::sync::watch;

const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";

struct Hook {
    shared: Arc<Shared>,
    secret: String,
}

pub(crate) async fn run(
    shared: Arc<Shared>,
    listen: std::net::SocketAddr,
    path: String,
    secret: String,
    shutdown: watch::Receiver<bool>,
) {
    let app = Router::new().route(&path, post(receive)).with_state(Arc::new(Hook { shared, secret }));
    super::http::serve(listen, app, "the webhook", shutdown).await;
}

async fn receive(State(hook): State<Arc<Hook>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let secret_ok = headers.get(SECRET_HEADER).is_some_and(|v| v.as_bytes() == hook.secret.as_bytes());
    if !secret_ok {
        return StatusCode::UNAUTHORIZED;
    }
    let Some(update_id) = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v.get("update_id").and_then(serde_json::Value::as_i64))
    else {
        return StatusCode::BAD_REQUEST;
    };
    // Telegram reached us: the connection works.
    hook.shared.health.telegram_ok();
    let stored = {
        let _offset = hook.shared.health.offset_lock();
        hook.shared.store.receive(&[(update_id, body.to_vec())], update_id + 1)
    }
    .and_then(|()| hook.shared.store.flush());
    match stored {
        Ok(()) => {
            hook.shared.inbox_ready.notify_one();
            StatusCode::OK
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot store a webhook update; Telegram will send it again");
            StatusCode::INTERNAL_SERVER_ERROR
        }
    }
}
