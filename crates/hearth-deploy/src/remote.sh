# Hearth's machine-side commands, sent with every call as `sh -c SCRIPT hearth COMMAND ARGS`.
# Output is line-oriented, fields separated by tabs. Nothing here prints a secret file's content
# or a plain hash of it.
set -eu
H=/var/lib/hearth
umask 077
mkdir -p "$H/generations"
T=$(printf '\t')
fail() { echo "$*" >&2; exit 1; }
busy() {
  case $(systemctl show -p ActiveState --value "$1" 2>/dev/null || true) in
    active | activating | deactivating | reloading) return 0 ;;
  esac
  return 1
}
current() { readlink "$H/current" 2>/dev/null | sed 's|^generations/||' || true; }
# Waits for a running activation, then undoes a generation a controller left unconfirmed (it
# died, or lost the machine): the state every later command starts from is a confirmed one.
settle() {
  while busy hearth-activate.service; do sleep 0.2; done
  if [ -f "$H/pending" ]; then
    g=$(cat "$H/pending")
    systemctl stop hearth-rollback.timer >/dev/null 2>&1 || true
    sh "$H/generations/$g/rollback.sh" </dev/null
  fi
  rm -rf "$H"/generations/.staging-*
}
generations() {
  for d in "$H"/generations/[0-9]*; do
    [ -d "$d" ] || continue
    c=0; [ -e "$d/confirmed" ] && c=1
    echo "gen$T${d##*/}$T$(cat "$d/result" 2>/dev/null || echo staged)$T$c$T$(stat -c %Y "$d")"
  done
}
# Keeps the newest ten generations, the confirmed one and the one its revert restores.
prune() {
  prev=$(sed -n 's/^  "previous": \([0-9][0-9]*\).*/\1/p' "$H/generations/$1/manifest.json")
  keep=" $(ls "$H/generations" | grep -E '^[0-9]+$' | sort -n | tail -n 10 | tr '\n' ' ') $1 $prev "
  for d in "$H"/generations/[0-9]*; do
    case $keep in *" ${d##*/} "*) ;; *) rm -rf "$d" ;; esac
  done
}
cmd=$1
shift
case $cmd in
state)
  nonce=$1
  [ "$2" = settle ] && settle
  cur=$(current)
  echo "current$T${cur:--}"
  echo "pending$T$(cat "$H/pending" 2>/dev/null || echo -)"
  generations
  # The desired paths come on stdin: the plan shows which of them Hearth would take over.
  while IFS= read -r path; do
    if [ -e "$path" ] || [ -L "$path" ]; then echo "exists$T$path"; fi
  done
  if [ -n "$cur" ]; then
    D=$H/generations/$cur
    while IFS=$T read -r mode owner group path; do
      if [ ! -e "$path" ]; then echo "drift$T$path${T}missing"
      elif ! cmp -s "$D/files$path" "$path"; then echo "drift$T$path${T}content"
      elif [ "$(stat -c '%a %U %G' "$path")" != "$mode $owner $group" ]; then echo "drift$T$path${T}metadata"
      fi
      if [ -e "$H/originals$path" ] || [ -L "$H/originals$path" ]; then echo "kept$T$path"; fi
    done <"$D/paths"
    while IFS= read -r path; do
      echo "keyed$T$path$T$({ printf %s "$nonce"; cat "$D/files$path"; } | sha256sum | cut -d' ' -f1)"
    done <"$D/secrets"
    echo manifest
    cat "$D/manifest.json"
  fi
  ;;
manifest)
  [ -f "$H/generations/$1/manifest.json" ] || fail "no generation $1"
  cat "$H/generations/$1/manifest.json"
  ;;
stage)
  g=$1 expect=$2 clone=$3
  [ "$(current)" = "${expect#-}" ] || fail "the current generation changed since the plan (expected ${expect}, found $(current))"
  [ ! -f "$H/pending" ] || fail "generation $(cat "$H/pending") awaits confirmation"
  [ ! -e "$H/generations/$g" ] || fail "generation $g already exists"
  S=$H/generations/.staging-$g
  rm -rf "$S"
  mkdir -p "$S"
  if [ "$clone" != - ]; then cp -a "$H/generations/$clone/files" "$S/files"; fi
  tar -x -f - -C "$S" --no-same-owner
  mv "$S" "$H/generations/$g"
  D=$H/generations/$g
  systemctl reset-failed hearth-activate.service >/dev/null 2>&1 || true
  systemd-run --quiet --collect --unit=hearth-activate /bin/sh "$D/activate.sh"
  while [ ! -e "$D/result" ]; do
    if ! busy hearth-activate.service && [ ! -e "$D/result" ]; then
      tail -n 40 "$D/activate.log" >&2 || true
      fail "the activation of generation $g ended without a result"
    fi
    sleep 0.2
  done
  r=$(cat "$D/result")
  echo "result$T$r"
  if [ "$r" != activated ]; then
    # What failed comes just before the marker line; the revert after it writes a line per file
    # it undoes, which would push the cause out of a plain tail: each part gets its own limit,
    # and of the revert only what is not a routine file operation.
    sed -n '/^hearth: activation failed; restoring/q;p' "$D/activate.log" | tail -n 40
    sed -n '/^hearth: activation failed; restoring/,$p' "$D/activate.log" |
      grep -v '^hearth: \(remove\|place\|keep the original\|restore the original\) ' | tail -n 15
  fi
  ;;
confirm)
  g=$1
  exec 9>"$H/lock"
  flock 9
  if [ "$(cat "$H/pending" 2>/dev/null)" = "$g" ]; then
    systemctl stop hearth-rollback.timer hearth-rollback.service >/dev/null 2>&1 || true
    rm -f "$H/pending"
    touch "$H/generations/$g/confirmed"
    prune "$g"
    echo confirmed
  else
    echo "not-pending$T$(cat "$H/generations/$g/result" 2>/dev/null || echo staged)"
  fi
  ;;
*) fail "unknown command $cmd" ;;
esac
