//! The operations endpoint (`[http] listen`): `GET /healthz` and `GET /metrics`.
//!
//! `/healthz` answers 200 "ok" while the store takes a write and a flush and a Bot API call
//! succeeded within `http.telegram_stale_after`; otherwise 503 with the reason. `/metrics` is the
//! Prometheus text format, rendered by `metrics-exporter-prometheus` (see [`crate::metrics`]).
//!
//! The same task keeps the exporter tidy (histogram upkeep) and, when nothing else has talked to
//! Telegram for a while (a quiet webhook), asks `getMe` so that `/healthz` tells a quiet bot
//! from a cut-off one.

use super::{health, Shared};
use crate::store::Lane;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use std::sync::Arc;
use std::time::Duration;
use teloxide::prelude::*;
use tokio::sync::watch;

/// The content type of the Prometheus text format.
const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// How often the exporter's histograms are drained and freshness is looked at.
const HOUSEKEEPING: Duration = Duration::from_secs(5);

pub(crate) async fn run(shared: Arc<Shared>, listen: std::net::SocketAddr, shutdown: watch::Receiver<bool>) {
    let housekeeping = tokio::spawn(housekeeping(shared.clone(), shutdown.clone()));
    let app = Router::new().route("/healthz", get(healthz)).route("/metrics", get(metrics)).with_state(shared);
    // Should it fail, the patients' service goes on without it.
    serve(listen, app, "/healthz and /metrics", shutdown).await;
    let _ = housekeeping.await;
}

/// Serves `app` on `listen` until shutdown; `what` names it in the logs. A failure to listen or
/// to serve is logged, and the rest of the bot goes on.
pub(crate) async fn serve(listen: std::net::SocketAddr, app: Router, what: &str, mut shutdown: watch::Receiver<bool>) {
    let listener = match tokio::net::TcpListener::bind(listen).await {
        Ok(listener) => listener,
        Err(e) => {
            tracing::error!(%listen, error = %e, "cannot listen for {what}");
            return;
        }
    };
    tracing::info!(%listen, "{what} listening");
    let stop = async move {
        let _ = shutdown.changed().await;
    };
    if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(stop).await {
        tracing::error!(error = %e, "the {what} server failed");
    }
}

async fn healthz(State(shared): State<Arc<Shared>>) -> impl IntoResponse {
    let checked = tokio::task::spawn_blocking(move || health::check(&shared))
        .await
        .unwrap_or_else(|e| Err(format!("the health check failed: {e}")));
    let text_plain = [(header::CONTENT_TYPE, "text/plain; charset=utf-8")];
    match checked {
        Ok(()) => (StatusCode::OK, text_plain, "ok\n".to_string()),
        Err(reason) => {
            tracing::warn!(reason, "unhealthy");
            (StatusCode::SERVICE_UNAVAILABLE, text_plain, format!("{reason}\n"))
        }
    }
}

async fn metrics(State(shared): State<Arc<Shared>>) -> impl IntoResponse {
    let handle = crate::metrics::install();
    // The outbox as it stands now, not as the senders last saw it.
    let refreshed = tokio::task::spawn_blocking(move || {
        for lane in [Lane::Urgent, Lane::Routine] {
            match shared.store.outbox_keys(lane, usize::MAX) {
                Ok(keys) => shared.health.outbox_ages.observe(lane, &keys),
                Err(e) => tracing::warn!(error = %e, "cannot read the outbox for /metrics"),
            }
        }
    })
    .await;
    if let Err(e) = refreshed {
        tracing::warn!(error = %e, "cannot read the outbox for /metrics");
    }
    ([(header::CONTENT_TYPE, PROMETHEUS_TEXT)], handle.render())
}

async fn housekeeping(shared: Arc<Shared>, mut shutdown: watch::Receiver<bool>) {
    let handle = crate::metrics::install();
    let quiet_for = shared.config.http.telegram_stale_after / 2;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(HOUSEKEEPING) => {}
            _ = shutdown.changed() => return,
        }
        handle.run_upkeep();
        if shared.health.since_telegram_ok().is_none_or(|age| age >= quiet_for) {
            let asked = tokio::select! {
                asked = tokio::time::timeout(HOUSEKEEPING, shared.bot.get_me().send()) => asked,
                _ = shutdown.changed() => return,
            };
            match asked {
                Ok(Ok(_)) => shared.health.telegram_ok(),
                Ok(Err(e)) => tracing::warn!(error = %e, "getMe failed: Telegram cannot be reached"),
                Err(_) => tracing::warn!("getMe timed out: Telegram cannot be reached"),
            }
        }
    }
}
