#!/usr/bin/env bash
# Brings each example up in the lab, applies it, runs `hearth verify --lab --run-backups` and
# takes the lab down again, then writes the table of docs/LAB-EXAMPLES.md: per example, the guests
# created through the lab's Proxmox simulators (and those simulated only), the checks that passed,
# failed and were skipped, and every skip reason with its count.
#
#   scripts/lab-examples.sh [EXAMPLE.yaml…]        (default: every file in examples/)
#
# Needs what the lab needs (root, the Docker engine, scripts/lab-deps.sh). Each example is copied
# into a scratch folder first, so its lock file, secret store and lab state never land in the
# repository; the per-example logs and verify reports stay in $OUT (default: a temporary folder).
# Exit status: 1 when a step failed or a check failed in any example.
set -uo pipefail
cd "$(dirname "$0")/.."

cargo build --quiet -p hearth
out="${OUT:-$(mktemp -d -t hearth-lab-examples.XXXXXX)}"
mkdir -p "$out"
# A copy of the binary, so that a build during the run cannot change it halfway.
cp target/debug/hearth "$out/hearth"
hearth="$out/hearth"
examples=("$@")
[ ${#examples[@]} -gt 0 ] || examples=(examples/*.yaml)

status=0
for ex in "${examples[@]}"; do
  name="$(basename "$ex" .yaml)"
  work="$out/$name"
  rm -rf "$work" && mkdir -p "$work"
  cp "$ex" "$work/hearth.yaml"
  spec="$work/hearth.yaml"
  log="$work/log.txt"
  echo "== $name (log: $log)" >&2
  step() {
    local what="$1"; shift
    local t0=$SECONDS
    if "$@" >>"$log" 2>&1; then
      echo "$what $((SECONDS - t0))" >>"$work/steps"
      return 0
    fi
    echo "$what FAILED $((SECONDS - t0))" >>"$work/steps"
    echo "   $what failed; see $log" >&2
    return 1
  }
  : >"$work/steps"
  if step resolve "$hearth" resolve "$spec" && step up "$hearth" lab up "$spec"; then
    step apply "$hearth" apply "$spec" --lab --yes || status=1
    # The guests the nodes' simulators created through the API, and those simulated only
    # (appliances), from apply's report.
    # An appliance is created but never started (`ok: created`, no `started`).
    created=$(grep -E '^[0-9]+ [^ ]+ on [^ ]+: ok: created' "$log" | grep -c 'started$')
    simulated=$(grep -E '^[0-9]+ [^ ]+ on [^ ]+: ok: created' "$log" | grep -vc 'started$')
    echo "$created $simulated" >"$work/guests"
    # verify runs even when apply failed: its report says what is not there.
    "$hearth" verify "$spec" --lab --run-backups --json >"$work/verify.json" 2>>"$log"
    code=$?
    echo "verify exit $code" >>"$work/steps"
    [ $code -eq 0 ] || status=1
  else
    status=1
  fi
  step down "$hearth" lab down "$spec" || status=1
done

python3 scripts/lib/lab_examples_table.py "$out" "${examples[@]}"
exit $status
