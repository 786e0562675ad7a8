//! Matcher benchmarks: classification throughput over the development set (target: at least
//! 50,000 messages per second on one core) and catalogue compile time (target: under 200 ms).
//!
//! Run with `cargo bench --bench matcher`.

use aftercare::triage::catalogue::CatalogueSource;
use aftercare::triage::matcher::classify;
use aftercare::triage::Catalogue;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;

fn dev_messages() -> Vec<String> {
    let data = include_str!("../tests/data/dev.jsonl");
    data.lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter_map(|v| v.get("text").and_then(|t| t.as_str()).map(str::to_string))
        .collect()
}

fn classify_throughput(c: &mut Criterion) {
    let catalogue = Catalogue::embedded().expect("the built-in catalogue is valid");
    let messages = dev_messages();
    let mut group = c.benchmark_group("classify");
    group.throughput(Throughput::Elements(messages.len() as u64));
    group.bench_function("dev set", |b| {
        b.iter(|| {
            for message in &messages {
                black_box(classify(&catalogue, black_box(message)));
            }
        })
    });
    group.finish();
}

fn catalogue_compile(c: &mut Criterion) {
    let source = CatalogueSource::embedded();
    let mut group = c.benchmark_group("catalogue");
    group.sample_size(20);
    group.bench_function("compile", |b| b.iter(|| Catalogue::compile(black_box(&source)).expect("valid")));
    group.bench_function("compile and check examples", |b| {
        b.iter(|| Catalogue::load(black_box(&source)).expect("valid"))
    });
    group.finish();
}

criterion_group!(benches, classify_throughput, catalogue_compile);
criterion_main!(benches);
