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

source "$(dirname "$0")/../lib/install.sh"
apt_install caddy nginx-light openssl python3-yaml python3-pip

command -v check-jsonschema >/dev/null 2>&1 || pip_install 'check-jsonschema==0.29.4'
