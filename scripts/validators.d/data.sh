#!/usr/bin/env bash
# Validators for the data renderers (postgres, redis, backups, zfs, pbs, mongo, minio):
# a real PostgreSQL to run the rendered init.sql against a throwaway cluster, a real MariaDB for
# the rendered MySQL init and option file (tests/mysql.rs), a real
# redis-server to load the rendered redis.conf, restic and systemd for `systemd-analyze verify`
# of the backup and ZFS units (their ExecStart binaries must exist), the shells for `-n` and
# node for `node --check` of the mongosh script (mongosh itself is not in Debian).
set -euo pipefail
source "$(dirname "$0")/../lib/install.sh"
apt_install postgresql postgresql-client redis-server redis-tools restic systemd bash dash util-linux nodejs mariadb-server mariadb-client
