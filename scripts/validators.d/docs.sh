#!/usr/bin/env bash
# Validator for `hearth docs`: Graphviz renders topology.dot to topology.svg, and the
# hearth-docs tests check that `dot -Tsvg` accepts every generated DOT file.
# .ci/run runs `apt-get update` before the scripts in this folder.
set -euo pipefail
source "$(dirname "$0")/../lib/install.sh"
apt_install graphviz
dot -V
