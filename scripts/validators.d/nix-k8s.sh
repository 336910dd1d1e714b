#!/usr/bin/env bash
# Validators for the NixOS and Kubernetes renderers. Debian 12 and PyPI only; idempotent.
#
# - nix-bin (Debian 12: Nix 2.8): `nix-instantiate --parse FILE` checks every rendered .nix file
#   against the real Nix grammar. Parsing needs no store or daemon; the test points
#   NIX_STATE_DIR / NIX_STORE_DIR / NIX_LOG_DIR at a temporary folder so nothing under /nix is
#   touched.
# - kubernetes-validate (PyPI): validates every rendered manifest offline against the OpenAPI
#   schemas of the Kubernetes versions it ships, with `--strict` (unknown fields are errors).
# - python3-yaml: the structural assertions of the tests.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

source "$(dirname "$0")/../lib/install.sh"
# nix-bin's maintainer scripts would start nix-daemon; parsing needs no daemon.
apt_install nix-bin python3-yaml python3-pip

command -v kubernetes-validate >/dev/null 2>&1 || pip_install 'kubernetes-validate==1.31.0'
