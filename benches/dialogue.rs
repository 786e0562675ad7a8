//! Dialogue benchmarks: engine steps per second with no storage (target: at least 200,000), and
//! durable sled-backed steps per second where every step is flushed before its reply would be
//! sent (target: at least 2,000), using group commit: one flush for a batch of steps.
//!
//! Run with `cargo bench --bench dialogue`.

use aftercare::config::Config;
use aftercare::store::{PatientId, SledStore, Store};
use aftercare::triage::dialogue::{Action, Conversation, Engine, Input, Settings};
use aftercare::triage::Catalogue;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use jiff::{SignedDuration, Timestamp};
use std::hint::black_box;

/// A typical conversation: a symptom, its screen answers, severity and trend.
const SCRIPT: &[&str] = &["I feel really dizzy", "no", "no", "3", "better", "thanks"];

fn engine_steps(c: &mut Criterion) {
    let catalogue = Catalogue::embedded().expect("valid catalogue");
    let settings = Settings::from(&Config::default());
    let engine = Engine::new(&catalogue, &settings);
    let inputs: Vec<Input> = SCRIPT.iter().map(|t| Input::from_text(t)).collect();
    let start: Timestamp = "2026-06-10T14:00:00Z".parse().unwrap();
    let mut group = c.benchmark_group("dialogue");
    group.throughput(Throughput::Elements(inputs.len() as u64));
    group.bench_function("engine steps (one conversation)", |b| {
        b.iter(|| {
            let mut conversation = Conversation::default();
            for (i, input) in inputs.iter().enumerate() {
                let step = engine.step(&conversation, input, start + SignedDuration::from_secs(i as i64 * 30));
                conversation = step.conversation;
            }
            black_box(conversation)
        })
    });
    group.finish();
}

fn durable_steps(c: &mut Criterion) {
    const BATCH: usize = 64;
    let catalogue = Catalogue::embedded().expect("valid catalogue");
    let settings = Settings::from(&Config::default());
    let engine = Engine::new(&catalogue, &settings);
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    let start: Timestamp = "2026-06-10T14:00:00Z".parse().unwrap();
    let mut round = 0usize;
    let mut group = c.benchmark_group("dialogue");
    group.throughput(Throughput::Elements(BATCH as u64));
    group.sample_size(30);
    group.bench_function("durable sled steps (group commit, 64 per flush)", |b| {
        b.iter_batched(
            || {
                round += 1;
                round
            },
            |round| {
                let text = SCRIPT[round % SCRIPT.len()];
                for patient in 0..BATCH {
                    let id = PatientId(patient as i64);
                    let conversation = store.conversation(id).unwrap().unwrap_or_default();
                    let now = start + SignedDuration::from_secs(round as i64 * 30);
                    let step = engine.step(&conversation, &Input::from_text(text), now);
                    let audit: Vec<_> = step
                        .actions
                        .iter()
                        .filter_map(|a| if let Action::Record(e) = a { Some(e.clone()) } else { None })
                        .collect();
                    store.save(id, &step.conversation, &audit).unwrap();
                }
                // One flush makes the whole batch durable before any reply is sent.
                store.flush().unwrap();
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, engine_steps, durable_steps);
criterion_main!(benches);
