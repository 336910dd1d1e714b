#!/usr/bin/env bash
# Validators for the shares renderer (crates/hearth-render/tests/shares.rs): `testparm` from
# Debian's samba-common-bin checks the rendered smb.conf, `exportfs` from nfs-kernel-server parses
# the rendered exports (in a mount namespace of its own, made with util-linux's `unshare`), and
# systemd's `systemd-analyze verify` checks the mount units.
set -euo pipefail
source "$(dirname "$0")/../lib/install.sh"
apt_install samba-common-bin nfs-kernel-server util-linux systemd
