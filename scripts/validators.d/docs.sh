#!/usr/bin/env bash
# Validator for `hearth docs`: Graphviz renders topology.dot to topology.svg, and the
# hearth-docs tests check that `dot -Tsvg` accepts every generated DOT file.
# .ci/run runs `apt-get update` before the scripts in this folder.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
if ! command -v dot >/dev/null 2>&1; then
  apt-get install -y -qq --no-install-recommends graphviz >/dev/null
fi
dot -V
