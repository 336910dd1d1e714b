#!/usr/bin/env bash
# Servers for the protocol probes of `hearth verify` (crates/hearth-verify/tests/probes/): each
# test starts its server on a loopback port in a temporary folder. PostgreSQL, Redis, unbound,
# Caddy, Prometheus and Alertmanager come from the other scripts here (data.sh, proxy.sh,
# observability.sh); this one adds MariaDB, which only the MariaDB/MySQL probe needs.
# Debian 12 packages only; idempotent; the packages' own services are kept from starting.
set -euo pipefail
source "$(dirname "$0")/../lib/install.sh"
apt_install mariadb-server mariadb-client postgresql redis-server unbound caddy prometheus prometheus-alertmanager

for tool in mariadbd mariadb-install-db mariadb; do
    command -v "$tool" >/dev/null || [[ -x /usr/sbin/$tool ]] ||
        { echo "verify probes: \`$tool\` missing after install" >&2; exit 1; }
done

# moto's S3 server checks SigV4 signatures and IAM policies once its initial unauthenticated
# actions are used up (INITIAL_NO_AUTH_ACTION_COUNT): the S3 probe's live test. boto3 (a moto
# dependency) makes the test's user, key and buckets.
command -v moto_server >/dev/null 2>&1 || pip_install 'moto[server]==5.2.1'
