//! The operations endpoint end to end: `aftercare serve` with `[http] listen` set, against the
//! Bot API stand-in. `/healthz` turns healthy once the bot reached Telegram and unhealthy when
//! Telegram goes away; `/metrics` counts updates, intents and incidents as a conversation goes.

use crate::support::app::{expect, App, WAIT};
use crate::support::bot_api::BotApi;
use std::time::{Duration, Instant};

const STAFF: i64 = 778;

/// A port that was free a moment ago.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Polling, quick pacing, pages to one staff chat, the endpoint on `port`.
fn spawn(api: &BotApi, port: u16, stale_after: &str) -> App {
    App::spawn(api, |_| {
        format!(
            "[telegram]\npoll_timeout = \"1s\"\nper_chat_interval = \"50ms\"\nstaff_chat_id = {STAFF}\n\
             [http]\nlisten = \"127.0.0.1:{port}\"\ntelegram_stale_after = \"{stale_after}\"\n"
        )
    })
}

/// `GET path`: the status, the content type and the body; `None` while nothing listens.
fn get(port: u16, path: &str) -> Option<(u16, String, String)> {
    let client = reqwest::blocking::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    let response = client.get(format!("http://127.0.0.1:{port}{path}")).send().ok()?;
    let status = response.status().as_u16();
    let content_type =
        response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    Some((status, content_type, response.text().ok()?))
}

/// Polls `path` until `done` holds for its status and body, or fails with the last answer.
fn wait_for(port: u16, path: &str, done: impl Fn(u16, &str) -> bool) -> String {
    let deadline = Instant::now() + WAIT;
    let mut last = None;
    while Instant::now() < deadline {
        last = get(port, path);
        if let Some((status, _, body)) = &last {
            if done(*status, body) {
                return body.clone();
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("GET {path} never turned as expected; last answer: {last:?}");
}

/// The sum of the samples of `name` whose labels contain every one of `labels` (`key="value"`).
fn value(metrics: &str, name: &str, labels: &[&str]) -> f64 {
    metrics
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let (series, sample) = line.rsplit_once(' ')?;
            let (metric, rest) = series.split_once('{').unwrap_or((series, ""));
            (metric == name && labels.iter().all(|l| rest.contains(l))).then(|| sample.parse::<f64>().ok())?
        })
        .sum()
}

#[test]
fn healthz_and_metrics_follow_a_conversation_and_an_incident() {
    let api = BotApi::start();
    let port = free_port();
    let _app = spawn(&api, port, "2m");
    assert_eq!(wait_for(port, "/healthz", |status, _| status == 200), "ok\n");
    assert_eq!(get(port, "/nothing-here").map(|(status, ..)| status), Some(404));

    let (status, content_type, before) = get(port, "/metrics").unwrap();
    assert_eq!(status, 200);
    assert!(content_type.starts_with("text/plain; version=0.0.4"), "{content_type}");
    assert!(before.contains("# TYPE aftercare_updates_processed_total counter"), "{before}");
    assert!(!before.contains("patient"), "no patient data in the metrics: {before}");
    let processed = value(&before, "aftercare_updates_processed_total", &[]);
    let intents = value(&before, "aftercare_intents_total", &[]);

    // A conversation: updates and intents are counted once they are done.
    let chat = 2001;
    api.push_text(chat, "I feel really dizzy");
    expect(&api, chat, "Is any of these true");
    let after = wait_for(port, "/metrics", |_, body| {
        value(body, "aftercare_updates_processed_total", &[]) > processed
            && value(body, "aftercare_intents_total", &[]) > intents
    });
    assert_eq!(
        value(&after, "aftercare_intents_total", &["intent=\"dizziness\"", "disposition=\"self_care\""]),
        1.0,
        "{after}"
    );
    assert!(value(&after, "aftercare_update_seconds_count", &[]) >= 1.0, "{after}");
    assert!(after.contains("# TYPE aftercare_update_seconds histogram"), "{after}");
    assert!(after.contains("aftercare_outbox_depth{lane=\"urgent\"}"), "{after}");
    assert!(after.contains("aftercare_outbox_oldest_seconds{lane=\"routine\"}"), "{after}");
    assert!(!after.contains("dizzy"), "no patient words in the metrics");

    // A red flag opens an incident; staff acknowledge it with the page's button.
    api.push_text(2002, "my chest is really tight and it hurts");
    let page = expect(&api, STAFF, "EMERGENCY");
    let triggered = wait_for(port, "/metrics", |_, body| {
        value(body, "aftercare_incidents_total", &["state=\"triggered\""]) == 1.0
            && value(body, "aftercare_incidents_open", &[]) == 1.0
    });
    assert_eq!(value(&triggered, "aftercare_ack_seconds_count", &[]), 0.0, "{triggered}");
    let (_, ack) = page.buttons.iter().find(|(_, data)| data.starts_with("ack:")).expect("an Acknowledge button");
    api.push_callback(STAFF, page.message_id, ack);
    let acknowledged = wait_for(port, "/metrics", |_, body| {
        value(body, "aftercare_incidents_total", &["state=\"acknowledged\""]) == 1.0
    });
    assert_eq!(value(&acknowledged, "aftercare_ack_seconds_count", &[]), 1.0, "{acknowledged}");
    assert!(acknowledged.contains("# TYPE aftercare_ack_seconds histogram"), "{acknowledged}");
    assert!(acknowledged.contains("aftercare_ack_seconds_bucket{le=\"30\"} 1"), "{acknowledged}");
    assert_eq!(get(port, "/healthz").map(|(status, ..)| status), Some(200));
}

#[test]
fn healthz_fails_when_telegram_cannot_be_reached() {
    let api = BotApi::start();
    let port = free_port();
    let mut app = spawn(&api, port, "3s");
    wait_for(port, "/healthz", |status, _| status == 200);
    // Telegram goes away: no Bot API call succeeds any more.
    drop(api);
    let reason = wait_for(port, "/healthz", |status, _| status == 503);
    assert!(reason.starts_with("telegram: no Bot API call has succeeded for"), "{reason}");
    // The endpoint stops with the bot.
    assert!(app.terminate().success());
    assert_eq!(get(port, "/healthz"), None);
}

#[test]
fn healthz_fails_until_the_bot_reached_telegram() {
    // Nothing listens at the Bot API address.
    let dead = BotApi::start();
    let port = free_port();
    let app = spawn(&dead, port, "2m");
    drop(dead);
    let reason = wait_for(port, "/healthz", |status, _| status == 503);
    assert_eq!(reason, "telegram: no Bot API call has succeeded yet\n");
    drop(app);
}
