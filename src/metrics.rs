//! Operational metrics of `aftercare serve`, in the Prometheus text format.
//!
//! The code records through the [`metrics`] facade; `metrics-exporter-prometheus` keeps the
//! values and renders them. Its recorder is installed once per process, only when the HTTP
//! endpoint is on ([`install`]); until then every recording is a cheap no-op. The exporter's own
//! HTTP listener is not used: `/metrics` is served by the bot's own endpoint
//! (`src/telegram/http.rs`).
//!
//! Labels hold ids only (intent ids, dispositions, incident states, lanes): never patient text,
//! never chat ids.

use crate::escalation::incident::{Incident, State};
use crate::store::{Lane, OutboxKey};
use jiff::Timestamp;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::Instant;

/// Updates run through the processor (each Telegram update once, re-deliveries included).
pub const UPDATES_PROCESSED: &str = "aftercare_updates_processed_total";
/// Patient messages by the intent matched and the disposition given.
pub const INTENTS: &str = "aftercare_intents_total";
/// Incident transitions by the state entered (`triggered`, `acknowledged`, `resolved`).
pub const INCIDENTS: &str = "aftercare_incidents_total";
/// Incidents not resolved yet.
pub const INCIDENTS_OPEN: &str = "aftercare_incidents_open";
/// Seconds from an incident's trigger to its acknowledgement.
pub const ACK_SECONDS: &str = "aftercare_ack_seconds";
/// Items waiting in an outbox lane.
pub const OUTBOX_DEPTH: &str = "aftercare_outbox_depth";
/// How long the oldest item of an outbox lane has waited.
pub const OUTBOX_OLDEST_SECONDS: &str = "aftercare_outbox_oldest_seconds";
/// Seconds from the processor taking up an update to its effects being durable.
pub const UPDATE_SECONDS: &str = "aftercare_update_seconds";

/// Time to acknowledge: from half a minute to a day.
const ACK_BUCKETS: &[f64] = &[30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0, 14400.0, 86400.0];
/// Update latency: from a millisecond to ten seconds.
const UPDATE_BUCKETS: &[f64] = &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// Installs the Prometheus recorder (once per process) and returns the handle that renders it.
pub fn install() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full(ACK_SECONDS.to_string()), ACK_BUCKETS)
            .and_then(|b| b.set_buckets_for_metric(Matcher::Full(UPDATE_SECONDS.to_string()), UPDATE_BUCKETS))
            .expect("the bucket lists are not empty");
        // Not `install_recorder()`: when another recorder is already global (an embedding
        // program's), this one still renders, though it then sees nothing.
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("another metrics recorder is installed: /metrics will stay empty");
        }
        describe();
        handle
    })
}

/// HELP lines, and zero values for the series that exist from the start.
fn describe() {
    metrics::describe_counter!(UPDATES_PROCESSED, "Telegram updates processed (re-deliveries included).");
    metrics::describe_counter!(INTENTS, "Patient messages by the intent matched and the disposition given.");
    metrics::describe_counter!(INCIDENTS, "Incident transitions, by the state entered.");
    metrics::describe_gauge!(INCIDENTS_OPEN, "Incidents not resolved yet.");
    metrics::describe_histogram!(ACK_SECONDS, "Seconds from an incident's trigger to its acknowledgement by staff.");
    metrics::describe_gauge!(OUTBOX_DEPTH, "Items waiting to be sent, by lane.");
    metrics::describe_gauge!(OUTBOX_OLDEST_SECONDS, "Seconds the oldest item of a lane has waited (0 when empty).");
    metrics::describe_histogram!(
        UPDATE_SECONDS,
        "Seconds from the processor taking up an update to its effects being committed and flushed."
    );
    metrics::counter!(UPDATES_PROCESSED).absolute(0);
    for state in [State::Triggered, State::Acknowledged, State::Resolved] {
        metrics::counter!(INCIDENTS, "state" => state.as_str()).absolute(0);
    }
}

/// Updates processed, each with its latency in seconds.
///
/// The latencies go in before the count, so that a scrape which sees the count sees them too.
pub fn updates_processed(latencies: &[f64]) {
    let histogram = metrics::histogram!(UPDATE_SECONDS);
    for seconds in latencies {
        histogram.record(*seconds);
    }
    metrics::counter!(UPDATES_PROCESSED).increment(latencies.len() as u64);
}

/// The intent and disposition of an audit event of kind `message` (`intent=X disposition=Y`).
pub fn message_intent(detail: &str) -> Option<(&str, &str)> {
    let mut intent = None;
    let mut disposition = None;
    for part in detail.split_whitespace() {
        match part.split_once('=') {
            Some(("intent", value)) => intent = Some(value),
            Some(("disposition", value)) => disposition = Some(value),
            _ => {}
        }
    }
    Some((intent.filter(|v| !v.is_empty())?, disposition.filter(|v| !v.is_empty())?))
}

/// A patient message was classified.
pub fn intent(intent: &str, disposition: &str) {
    metrics::counter!(INTENTS, "intent" => intent.to_string(), "disposition" => disposition.to_string()).increment(1);
}

/// An incident as committed, given how it stood before (`None`: it is new). Counts a change of
/// state, and observes the time to acknowledge when staff took it from `triggered`.
pub fn incident_changed(before: Option<&Incident>, after: &Incident, now: Timestamp) {
    let previous = before.map(|i| i.state);
    if previous == Some(after.state) {
        return;
    }
    // Resolving an incident nobody had acknowledged acknowledges it too. The time goes in before
    // the transition's count, so that a scrape which sees the count sees the time too.
    if previous == Some(State::Triggered) && after.state != State::Triggered {
        let seconds = now.duration_since(triggered_at(after)).as_secs_f64().max(0.0);
        metrics::histogram!(ACK_SECONDS).record(seconds);
    }
    metrics::counter!(INCIDENTS, "state" => after.state.as_str()).increment(1);
}

/// When the incident was last triggered: created, or escalated to a more urgent disposition
/// (which asks for a new acknowledgement).
fn triggered_at(incident: &Incident) -> Timestamp {
    incident
        .events
        .iter()
        .rev()
        .find(|e| e.kind == "escalated" || e.kind == "triggered")
        .map_or(incident.created, |e| e.at)
}

/// Incidents not resolved yet.
pub fn incidents_open(count: usize) {
    metrics::gauge!(INCIDENTS_OPEN).set(count as f64);
}

/// Remembers when each outbox item was first seen, since stored items carry no time: an item's
/// age is counted from the first time a sender (which reads the first thousand or so of its
/// lane) or a `/metrics` scrape (which reads the whole outbox) saw it, and from the start after a
/// restart.
#[derive(Default)]
pub struct OutboxAges {
    seen: Mutex<HashMap<OutboxKey, Instant>>,
}

impl OutboxAges {
    /// Notes the first sight of the items at the head of a lane (what a sender read), without
    /// setting the gauges; items before the head were delivered and are forgotten.
    pub fn seen_at_head(&self, lane: Lane, head: &[OutboxKey]) {
        let now = Instant::now();
        let lane_byte = lane as u8;
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        match head.first() {
            Some(first) => seen.retain(|key, _| key.lane != lane_byte || key >= first),
            None => seen.retain(|key, _| key.lane != lane_byte),
        }
        for key in head {
            seen.entry(*key).or_insert(now);
        }
    }

    /// Sets the lane's depth and oldest age from what it holds now, in order.
    pub fn observe(&self, lane: Lane, items: &[OutboxKey]) {
        let now = Instant::now();
        let lane_byte = lane as u8;
        let oldest = {
            let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
            let present: HashSet<OutboxKey> = items.iter().copied().collect();
            seen.retain(|key, _| key.lane != lane_byte || present.contains(key));
            let mut oldest = now;
            for key in items {
                oldest = oldest.min(*seen.entry(*key).or_insert(now));
            }
            oldest
        };
        let name = lane_name(lane);
        metrics::gauge!(OUTBOX_DEPTH, "lane" => name).set(items.len() as f64);
        metrics::gauge!(OUTBOX_OLDEST_SECONDS, "lane" => name).set((now - oldest).as_secs_f64());
    }
}

/// The lane as a label value.
pub fn lane_name(lane: Lane) -> &'static str {
    match lane {
        Lane::Urgent => "urgent",
        Lane::Routine => "routine",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_details_are_read() {
        assert_eq!(message_intent("intent=dizziness disposition=self_care"), Some(("dizziness", "self_care")));
        assert_eq!(message_intent("disposition=none intent=none"), Some(("none", "none")));
        assert_eq!(message_intent("intent= disposition=info"), None);
        assert_eq!(message_intent("number=2"), None);
    }
}
