# Shared by scripts/validators.d/*.sh (sourced, not run): install what the validators need, from
# Debian's and PyPI's registries only, idempotently.

# apt_install PACKAGE...: installs the packages that are not installed yet. Their services are
# kept from starting (policy-rc.d): CI containers run no init, and a started nginx, unbound or
# PostgreSQL would take ports the tests use; only the binaries are needed.
apt_install() {
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    ((${#missing[@]})) || return 0
    local policy=/usr/sbin/policy-rc.d created=0
    if [[ ! -e $policy ]]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy"
        chmod +x "$policy"
        created=1
    fi
    local status=0
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        -o DPkg::Lock::Timeout=900 "${missing[@]}" || status=$?
    # Removed whether or not the install worked, so a failed run leaves services startable.
    if ((created)); then rm -f "$policy"; fi
    return "$status"
}

# pip_install SPEC...: installs PyPI packages. Debian 12 marks its Python as externally managed
# (PEP 668) while a pyenv or venv Python is not, so the override is passed only where pip refuses.
pip_install() {
    python3 -m pip --version >/dev/null 2>&1 || apt_install python3-pip
    python3 -m pip install --quiet --disable-pip-version-check "$@" ||
        python3 -m pip install --quiet --disable-pip-version-check --break-system-packages "$@"
}
