#!/usr/bin/env bash
# Validators for the reverse-proxy renderers (Traefik, Caddy, NGINX). Debian 12 and PyPI only;
# idempotent.
#
# - check-jsonschema (PyPI): the Traefik static and dynamic files, converted YAML -> JSON, against
#   SchemaStore's traefik-v3.json and traefik-v3-file-provider.json (Traefik itself is not in
#   Debian 12 and its release binary is not a Debian package).
# - caddy (Debian 12: 2.6.2): `caddy validate --adapter caddyfile --config FILE`.
# - nginx (`nginx-light` is enough: it has the ssl, http_auth_request and upstream modules):
#   `nginx -t -p PREFIX -c nginx.conf` with a wrapper configuration that includes the rendered file.
# - openssl: the self-signed certificates the NGINX test places at the referenced paths.
# - python3-yaml: the YAML -> JSON conversion and the structural assertions.
set -euo pipefail

packages=(caddy nginx-light openssl python3-yaml python3-pip)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    # The packaged caddy and nginx services must not start during the install (no init in CI
    # containers, and they would take ports 80/443); only the binaries are needed.
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

if ! command -v check-jsonschema >/dev/null 2>&1; then
    # Debian 12 marks its Python as externally managed (PEP 668); a python3 from pyenv or a venv
    # does not, so only pass the override where pip refuses without it.
    pip3 install --quiet 'check-jsonschema==0.29.4' ||
        pip3 install --quiet --break-system-packages 'check-jsonschema==0.29.4'
fi
