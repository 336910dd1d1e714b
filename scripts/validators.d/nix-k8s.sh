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

packages=(nix-bin python3-yaml python3-pip)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    # nix-bin's maintainer scripts try to start nix-daemon; no init runs in CI containers and the
    # daemon is not needed for parsing.
    policy=/usr/sbin/policy-rc.d
    created=0
    if [[ ! -e $policy ]]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy"
        chmod +x "$policy"
        created=1
    fi
    apt-get install -y --no-install-recommends -o DPkg::Lock::Timeout=900 "${missing[@]}"
    if ((created)); then rm -f "$policy"; fi
fi

if ! command -v kubernetes-validate >/dev/null 2>&1; then
    # Debian 12 marks its Python as externally managed (PEP 668); a python3 from pyenv or a venv
    # does not, so only pass the override where pip refuses without it.
    pip3 install --quiet 'kubernetes-validate==1.31.0' ||
        pip3 install --quiet --break-system-packages 'kubernetes-validate==1.31.0'
fi
