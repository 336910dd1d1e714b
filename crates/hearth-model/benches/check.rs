//! `cargo bench -p hearth-model --bench check`: load_str + analyze, the work of `hearth check`
//! without file reading and rendering, on the largest example and on synthetic specs written by
//! scripts/gen-spec.py (generated at bench time into target/bench-data/, so nothing large is
//! committed). Set HEARTH_BENCH_QUICK=1 to skip the 1000-guest spec.

use std::path::{Path, PathBuf};
use std::process::Command;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The largest file in examples/.
fn largest_example() -> (String, String) {
    let mut best: Option<(u64, PathBuf)> = None;
    for e in std::fs::read_dir(root().join("examples")).expect("examples/").flatten() {
        let p = e.path();
        if p.extension().is_some_and(|x| x == "yaml") {
            let len = e.metadata().map(|m| m.len()).unwrap_or(0);
            if best.as_ref().is_none_or(|(l, _)| len > *l) {
                best = Some((len, p));
            }
        }
    }
    let (_, p) = best.expect("an example");
    let name = p.file_name().unwrap().to_string_lossy().into_owned();
    (name, std::fs::read_to_string(&p).expect("read example"))
}

/// Runs scripts/gen-spec.py once per size and returns the spec text.
fn generated(guests: usize, services: usize) -> String {
    let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| root().join("target"));
    let dir = target.join("bench-data");
    std::fs::create_dir_all(&dir).expect("target/bench-data");
    let out = dir.join(format!("gen-{guests}-{services}.yaml"));
    if !out.exists() {
        let status = Command::new("python3")
            .arg(root().join("scripts/gen-spec.py"))
            .arg(guests.to_string())
            .arg(services.to_string())
            .arg(&out)
            .status()
            .expect("python3 scripts/gen-spec.py");
        assert!(status.success(), "gen-spec.py failed");
    }
    std::fs::read_to_string(&out).expect("read generated spec")
}

fn check(name: &str, text: &str) -> usize {
    let loaded = hearth_spec::load_str(name, text);
    let analysis =
        hearth_model::analyze(&loaded.spec, hearth_catalog::builtin(), &hearth_model::Allocations::default());
    loaded.diagnostics.len() + analysis.diagnostics.len() + analysis.model.services.len()
}

fn assert_no_errors(name: &str, text: &str) {
    let loaded = hearth_spec::load_str(name, text);
    let analysis =
        hearth_model::analyze(&loaded.spec, hearth_catalog::builtin(), &hearth_model::Allocations::default());
    let errors: Vec<_> = loaded.diagnostics.iter().chain(&analysis.diagnostics).filter(|d| d.is_error()).collect();
    assert!(errors.is_empty(), "{name}: {} errors, first: {}", errors.len(), errors[0].message);
}

fn bench(c: &mut Criterion) {
    let (name, text) = largest_example();
    assert_no_errors(&name, &text);
    let mut g = c.benchmark_group("check");
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.bench_function(format!("example/{name}"), |b| b.iter(|| check(&name, black_box(&text))));
    g.finish();

    let mut sizes = vec![(100, 1000)];
    if std::env::var_os("HEARTH_BENCH_QUICK").is_none() {
        sizes.push((1000, 10000));
    }
    let mut g = c.benchmark_group("check-generated");
    g.sample_size(10);
    g.measurement_time(std::time::Duration::from_secs(30));
    for (guests, services) in sizes {
        let text = generated(guests, services);
        let name = format!("gen-{guests}-{services}.yaml");
        assert_no_errors(&name, &text);
        g.throughput(Throughput::Elements(services as u64));
        g.bench_function(format!("{guests}g-{services}s"), |b| b.iter(|| check(&name, black_box(&text))));
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
