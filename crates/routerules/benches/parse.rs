//! What the rules cost at check-token's start-up (parsing, and working out what each route's
//! wildcard reaches) and per request (a token's policy), for 50 routes.
//!
//! `cargo bench -p routerules` (or `make bench`).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use routerules::Rules;

/// 50 routes of a REST-style API: collections, items, nested items, a few admin-only ones.
fn fifty() -> String {
    (0..10)
        .flat_map(|i| {
            [
                format!("GET /r{i} *"),
                format!("POST /r{i} writer"),
                format!("GET /r{i}/{{id}} reader"),
                format!("DELETE /r{i}/{{id}} admin"),
                format!("GET /r{i}/{{id}}/secret admin"),
            ]
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn bench(c: &mut Criterion) {
    let text = fifty();
    c.bench_function("parse 50 rules (start-up)", |b| {
        b.iter(|| Rules::parse(black_box(&text)).unwrap())
    });
    let rules = Rules::parse(&text).unwrap();
    let roles = vec!["reader".to_string()];
    c.bench_function("policy of a reader over 50 rules (per request)", |b| {
        b.iter(|| rules.policy(black_box(&roles)).allow.len())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
