#!/usr/bin/env bash
# Validators for the observability renderers (DNS, Prometheus, Alertmanager, Grafana, Loki,
# agents, Homepage). Debian 12 packages only; idempotent.
#
# - promtool (`prometheus`): `promtool check config` / `promtool check rules`
# - amtool (`prometheus-alertmanager`): `amtool check-config`
# - unbound-checkconf (`unbound`)
# - prometheus-blackbox-exporter: `--config.check` of the probe modules
# - prometheus-node-exporter: started on loopback, it serves the backup jobs' textfile metrics
# - dnsmasq (`dnsmasq-base`: the binary without the system service): `dnsmasq --test`
# - python3-yaml: structural tests of the files no Debian package can check (Loki, Grafana
#   provisioning, Homepage, AdGuard Home, Promtail). Loki, Alloy, Grafana and AdGuard Home are
#   not packaged in Debian or PyPI.
set -euo pipefail

source "$(dirname "$0")/../lib/install.sh"
apt_install prometheus prometheus-alertmanager prometheus-blackbox-exporter prometheus-node-exporter unbound dnsmasq-base python3-yaml

for tool in promtool amtool prometheus-blackbox-exporter prometheus-node-exporter unbound-checkconf dnsmasq; do
    command -v "$tool" >/dev/null || { echo "observability validators: \`$tool\` missing after install" >&2; exit 1; }
done
