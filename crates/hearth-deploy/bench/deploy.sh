#!/usr/bin/env bash
# The deploy benchmark: the same work by Hearth, by ansible-core and by a plain ssh + tar loop on
# the same ten lab machines (bench/ten.yaml): deliver the rendered files, once with nothing
# changed and once with one file changed. Prints one line per measurement.
#
# Needs the Docker engine and the lab's tools (scripts/lab-deps.sh); installs ansible-core from
# PyPI into a virtualenv of its own. The lab it starts is taken down at the end.
set -euo pipefail

root=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
work=$(mktemp -d)
cp "$root/crates/hearth-deploy/bench/ten.yaml" "$work/ten.yaml"
spec=$work/ten.yaml
cd "$root"
cargo build -q --release -p hearth-lab --example lab
cargo build -q --release -p hearth-deploy --example deploy
lab=$root/target/release/examples/lab
deploy=$root/target/release/examples/deploy
config=$work/.hearth/lab/ssh_config

cleanup() {
    "$lab" down "$spec" >/dev/null || echo "lab down failed; remove the containers labelled hearth.lab by hand" >&2
    rm -rf "$work"
}
trap cleanup EXIT
"$lab" up "$spec" >/dev/null
machines=$(sed -n 's/^Host //p' "$config" | tr '\n' ' ')

seconds() { local start=$(date +%s.%N); "$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; exit 1; }; echo "$(date +%s.%N) - $start" | bc; }

# Hearth: the first apply is not timed (packages, first generation).
"$deploy" apply "$spec" --confirm-timeout 30 >/dev/null 2>&1
hearth_noop=$(seconds "$deploy" apply "$spec")
hearth_one=$(seconds "$deploy" apply "$spec" --touch one)

# The files as Hearth delivered them last, for the other tools.
"$deploy" dump "$spec" "$work/files" --touch one

# ansible-core: copy each machine's tree, as root, with pipelining and ControlPersist.
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install -q ansible-core
{
    echo "[lab]"
    for m in $machines; do echo "$m"; done
} >"$work/inventory"
cat >"$work/ansible.cfg" <<CFG
[defaults]
inventory = $work/inventory
forks = 10
host_key_checking = True
interpreter_python = /usr/bin/python3
[ssh_connection]
ssh_args = -F $config -o ControlMaster=auto -o ControlPersist=60s
control_path_dir = $work/ansible-cp
pipelining = True
CFG
cat >"$work/play.yaml" <<PLAY
- hosts: lab
  become: true
  gather_facts: false
  tasks:
    - ansible.builtin.copy:
        src: "$work/files/{{ inventory_hostname }}/"
        dest: /
PLAY
export ANSIBLE_CONFIG=$work/ansible.cfg
"$work/venv/bin/ansible-playbook" "$work/play.yaml" >/dev/null
ansible_noop=$(seconds "$work/venv/bin/ansible-playbook" "$work/play.yaml")
first=$(find "$work/files" -name hearth.nft | sort | head -n 1)
echo "# touched again" >>"$first"
ansible_one=$(seconds "$work/venv/bin/ansible-playbook" "$work/play.yaml")

# The floor: one tar stream per machine over plain ssh, all machines at once.
tar_loop() {
    for m in $machines; do
        tar -C "$work/files/$m" -cf - . | ssh -F "$config" "$m" sudo -n tar -xf - -C / --no-same-owner &
    done
    wait
}
tar_all=$(seconds tar_loop)

printf 'machines: %s\n' "$(echo $machines | wc -w)"
printf 'hearth   no change %6.2f s   one file %6.2f s\n' "$hearth_noop" "$hearth_one"
printf 'ansible  no change %6.2f s   one file %6.2f s\n' "$ansible_noop" "$ansible_one"
printf 'ssh+tar  every file %5.2f s\n' "$tar_all"
