#!/usr/bin/env bash
# End-to-end timing of `hearth check` (release build) on the largest example and on synthetic
# specs from scripts/gen-spec.py: wall time and max RSS from /usr/bin/time -v, medians from
# hyperfine when it is installed (apt-get install -y hyperfine), and a scaling table.
#
# usage: scripts/bench-cli.sh [RUNS]     (RUNS: hyperfine runs per spec, default 10)
set -euo pipefail
runs="${1:-10}"
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
cargo build --release -p hearth >&2
bin="$root/target/release/hearth"
data="$root/target/bench-data"
mkdir -p "$data"

largest="$(ls -S examples/*.yaml | head -n 1)"
specs=("$largest")
for size in "100 1000" "500 5000" "1000 10000"; do
  set -- $size
  f="$data/gen-$1-$2.yaml"
  python3 scripts/gen-spec.py "$1" "$2" "$f"
  specs+=("$f")
done

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
echo
printf '%-48s %10s %8s %12s %12s %s\n' spec bytes lines "wall(s)" "maxRSS(MB)" result
for f in "${specs[@]}"; do
  # `hearth check` exits 1 when it finds errors; record the summary line either way.
  tv="$(mktemp)"
  /usr/bin/time -v "$bin" check "$f" >/dev/null 2>"$tv" || true
  wall="$(grep 'Elapsed (wall clock)' "$tv" | awk '{print $NF}')"
  rss="$(grep 'Maximum resident set size' "$tv" | awk '{printf "%.1f", $NF/1024}')"
  summary="$(grep -E 'problems found|error|warning' "$tv" | grep -v -E 'Command|Exit' | tail -n 1)"
  printf '%-48s %10s %8s %12s %12s %s\n' "${f#$root/}" "$(wc -c <"$f")" "$(wc -l <"$f")" "$wall" "$rss" "$summary"
  rm -f "$tv"
done
echo

if command -v hyperfine >/dev/null; then
  args=()
  for f in "${specs[@]}"; do args+=("$bin check $f"); done
  hyperfine -N -i --warmup 1 --runs "$runs" --export-markdown "$data/hyperfine.md" --export-json "$data/hyperfine.json" "${args[@]}"
  echo
  cat "$data/hyperfine.md"
  echo
  python3 -c 'import json,sys
for r in json.load(open(sys.argv[1]))["results"]:
    print("median %9.1f ms  %s" % (r["median"] * 1000, r["command"].split()[-1]))' "$data/hyperfine.json"
else
  echo "hyperfine not installed; only the /usr/bin/time figures above" >&2
fi
