#!/bin/sh
# Regenerates crates/hearth-model/data/tzdb/zones.txt: every zone and link name of the IANA tz
# database, one a line, sorted, from Debian's tzdata (`/usr/share/zoneinfo/tzdata.zi`, the zic input
# the package ships). The checker refuses a `timezone:` not on the list. Run it after a tzdata
# update, then update the version in SOURCE.md beside the list.
#
# usage: scripts/gen-tzdb.sh [TZDATA_ZI]
set -eu
src=${1:-/usr/share/zoneinfo/tzdata.zi}
out=$(dirname "$0")/../crates/hearth-model/data/tzdb/zones.txt
# `Z NAME ...` declares a zone; `L TARGET NAME` declares NAME as another name for TARGET.
awk '$1 == "Z" { print $2 } $1 == "L" { print $3 }' "$src" | LC_ALL=C sort -u > "$out"
echo "$(wc -l < "$out") names from $(head -n 1 "$src" | sed 's/^# //') written to $out" >&2
