#!/usr/bin/env bash
# Validators for the database exporters' environment files (crates/hearth-render/src/native_env.rs):
# Debian's own exporters, run by crates/hearth-render/tests/data.rs with the rendered file against
# the throwaway PostgreSQL cluster and redis-server (data.sh installs those); their metrics must
# say they reached the server (`pg_up 1`, `redis_up 1`). The packages' units are not started
# here: the tests start each binary on a loopback port of their own.
set -euo pipefail
source "$(dirname "$0")/../lib/install.sh"
apt_install prometheus-postgres-exporter prometheus-redis-exporter
