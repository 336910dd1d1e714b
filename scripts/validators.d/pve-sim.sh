#!/usr/bin/env bash
# For the Proxmox API simulator's tests (crates/hearth-pve-sim/tests/sim/tls.rs): `openssl`
# makes the self-signed certificate a fresh Proxmox node would have, which the simulator then
# serves over HTTPS. Debian 12 package; idempotent.
set -euo pipefail
source "$(dirname "$0")/../lib/install.sh"
apt_install openssl
command -v openssl >/dev/null || { echo "pve-sim: \`openssl\` missing after install" >&2; exit 1; }
