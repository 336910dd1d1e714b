#!/usr/bin/env bash
# Validators for the observability renderers (DNS, Prometheus, Alertmanager, Grafana, Loki,
# agents, Homepage). Debian 12 packages only; idempotent.
#
# - promtool (`prometheus`): `promtool check config` / `promtool check rules`
# - amtool (`prometheus-alertmanager`): `amtool check-config`
# - unbound-checkconf (`unbound`)
# - dnsmasq (`dnsmasq-base`: the binary without the system service): `dnsmasq --test`
# - python3-yaml: structural tests of the files no Debian package can check (Loki, Grafana
#   provisioning, Homepage, AdGuard Home, Promtail). Loki, Alloy, Grafana and AdGuard Home are
#   not packaged in Debian or PyPI.
set -euo pipefail

packages=(prometheus prometheus-alertmanager unbound dnsmasq-base python3-yaml)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    # The packaged services must not start during the install (no init in CI containers, and a
    # running unbound or dnsmasq would take port 53); only the binaries are needed.
    policy=/usr/sbin/policy-rc.d
    created=0
    if [[ ! -e $policy ]]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy"
        chmod +x "$policy"
        created=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
    if ((created)); then rm -f "$policy"; fi
fi

for tool in promtool amtool unbound-checkconf dnsmasq; do
    command -v "$tool" >/dev/null || { echo "observability validators: \`$tool\` missing after install" >&2; exit 1; }
done
