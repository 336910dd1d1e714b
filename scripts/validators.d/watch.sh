#!/usr/bin/env bash
# What the tests of `hearth watch` (crates/hearth-watch/tests/) need: headless Chromium loads
# the status page (`--dump-dom`, `--screenshot`), promtool checks `/metrics`, and the benchmark
# (scripts/bench-watch.sh) runs Debian's Blackbox exporter, nginx and dnsmasq beside the
# watcher. Debian 12 packages only; idempotent; the packages' own services are kept from
# starting.
set -euo pipefail
source "$(dirname "$0")/../lib/install.sh"
apt_install chromium prometheus prometheus-blackbox-exporter nginx-light dnsmasq-base

for tool in chromium promtool prometheus-blackbox-exporter; do
    command -v "$tool" >/dev/null || { echo "watch: \`$tool\` missing after install" >&2; exit 1; }
done
