#!/usr/bin/env bash
# Validators for the provisioning renderers (nftables, Proxmox guests, cloud-init, cloudflared,
# WireGuard). Debian 12 only; idempotent.
#
# - nftables (Debian 12: 1.0.6): `nft -c -f FILE` checks every rendered ruleset; as root the
#   firewall test also loads them into throwaway network namespaces.
# - iproute2: `ip netns` and veth pairs for that test; python3 (already present) runs its
#   listeners and connection attempts.
# - cloud-init (Debian 12: 22.4.2): `cloud-init schema --config-file FILE` validates the user-data
#   offline. Its services are never started here (no init in CI containers).
# - python3-yaml: YAML parsing for the structural checks of the cloudflared config.
# The Proxmox API parameters are checked by the test itself against
# schemas/proxmox/pve-apidata.json (the schema of the API, from pve-docs); cloudflared and
# wg-quick have no offline config checker in Debian 12 (cloudflared is not packaged; `wg` cannot
# parse wg-quick's own keys), so those files get structural checks and reviewed snapshots.
set -euo pipefail

source "$(dirname "$0")/../lib/install.sh"
apt_install nftables iproute2 cloud-init python3-yaml
