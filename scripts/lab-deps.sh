#!/usr/bin/env bash
# Installs what `hearth lab` (crates/hearth-lab) needs on a fresh Debian 12 machine whose Docker
# engine already runs:
#
# - debootstrap: the lab's base image is built from Debian packages into a folder and then
#   `docker import`ed; nothing is pulled from a container registry.
# - tinyproxy: the package proxy lab machines reach apt through (they have no route out). The
#   lab starts its own instances, bound to the lab bridges' gateway addresses; the Debian
#   service is disabled so no instance listens on every address.
# - openssh-client: `ssh-keygen` makes the lab's key and each machine's host key, `ssh` reaches them.
# - iptables: the lab lets its own networks route to each other in Docker's `DOCKER-USER` chain.
# - an inotify limit that lets many systemd machines boot (see the end of this script).
# - the Compose v2 plugin, through the Compose validator's script: `lab up` copies it into the
#   image (Debian 12's docker-compose is v1 and rejects the top-level `name:` of rendered projects).
#
# Idempotent; runs as root after `apt-get update`.
set -euo pipefail

here=$(dirname "$0")
source "$here/lib/install.sh"
apt_install debootstrap tinyproxy openssh-client iptables

if command -v systemctl >/dev/null 2>&1 && [[ -d /run/systemd/system ]]; then
    systemctl disable --now tinyproxy >/dev/null 2>&1 || true
fi

bash "$here/validators.d/compose.sh"

debootstrap --version
tinyproxy -v

# Every lab machine runs systemd, which takes several inotify instances; the kernel's default
# of 128 per user (root, for containers without user namespaces) stops the 17th or so machine
# from booting (systemd exits with 255). `lab up` checks this limit and names this fix.
echo "fs.inotify.max_user_instances = 8192" >/etc/sysctl.d/60-hearth-lab.conf
sysctl -q -w fs.inotify.max_user_instances=8192
