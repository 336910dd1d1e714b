#!/usr/bin/env bash
# Fuzz the whole path a user hits: arbitrary bytes -> load_str -> (if it decoded) analyze ->
# (if it has no errors) render every file and the manifest; every diagnostic is printed in both
# report formats (graphical miette, with and without colour, and short). It must never panic.
# Both engines run the same function, hearth_fuzz::load_check (fuzz/src/lib.rs).
#
# usage: scripts/fuzz.sh [SECONDS] [ENGINE]
#   SECONDS  how long to run (default 300)
#   ENGINE   libfuzzer (default: cargo-fuzz, stable toolchain with RUSTC_BOOTSTRAP=1)
#            mutate    (the self-contained structure-aware mutator, plain stable, no cargo-fuzz)
# Extra libFuzzer flags can go in FUZZ_ARGS (e.g. FUZZ_ARGS="-jobs=2 -workers=2").
# Seeds: examples/*.yaml and tests/invalid/*.yaml, copied into fuzz/corpus/load_check (ignored by git).
# libFuzzer crashes land in fuzz/artifacts/load_check/; the mutator writes fuzz/crashes-found/.
set -euo pipefail
secs="${1:-300}"
engine="${2:-libfuzzer}"
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root/fuzz"
mkdir -p corpus/load_check
cp -n "$root"/examples/*.yaml corpus/load_check/ 2>/dev/null || true
if compgen -G "$root/tests/invalid/*.yaml" >/dev/null; then
  cp -n "$root"/tests/invalid/*.yaml corpus/load_check/ 2>/dev/null || true
fi
case "$engine" in
  libfuzzer)
    command -v cargo-fuzz >/dev/null || { echo "cargo-fuzz missing: cargo install cargo-fuzz (or use ENGINE=mutate)" >&2; exit 2; }
    # -O: optimised build with debug assertions on; -rss_limit_mb and -timeout catch blow-ups
    # (alias bombs, quadratic paths) as crashes too. dict gives libFuzzer the spec's tokens.
    RUSTC_BOOTSTRAP=1 exec cargo fuzz run -O load_check corpus/load_check -- \
      -max_total_time="$secs" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
      -dict="$root/fuzz/hearth.dict" -print_final_stats=1 ${FUZZ_ARGS:-}
    ;;
  mutate)
    cargo build --release --no-default-features --bin mutate
    exec "$root/fuzz/target/release/mutate" "$secs"
    ;;
  *) echo "unknown engine $engine (libfuzzer | mutate)" >&2; exit 2 ;;
esac
