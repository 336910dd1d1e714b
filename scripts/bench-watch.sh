#!/usr/bin/env bash
# Benchmark of `hearth watch` against Debian's prometheus-blackbox-exporter, side by side in one
# run: N checks (a third HTTP, a third TCP, a third DNS over TCP) every INTERVAL seconds against
# targets this script starts on loopback only (nginx listening on PORTS ports with many paths;
# unbound on one port). The watcher runs them through its daemon (crates/hearth-watch/examples/
# bench.rs: the same scheduler, probes, SQLite recorder and web server as `hearth watch`); the
# Blackbox exporter gets the same targets at the same interval from a Prometheus whose
# generated config relabels them to /probe. Both are measured the same way: CPU time from
# /proc/PID/stat over MEASURE seconds after WARMUP seconds (so every check has run at least
# once), and the largest VmRSS sampled every 5 s. Only the watcher and the exporter are
# measured, not nginx, unbound or Prometheus.
#
# Usage: scripts/bench-watch.sh [N] [INTERVAL] [WARMUP] [MEASURE]   (defaults 10000 30 45 180)
# Needs: nginx, unbound, prometheus, prometheus-blackbox-exporter (scripts/validators.d/watch.sh).
set -euo pipefail
N=${1:-10000}
INTERVAL=${2:-30}
WARMUP=${3:-45}
MEASURE=${4:-180}
PORTS=20
cd "$(dirname "$0")/.."
for tool in nginx unbound prometheus prometheus-blackbox-exporter; do
    command -v "$tool" >/dev/null || [[ -x /usr/sbin/$tool ]] || { echo "bench-watch: \`$tool\` is not installed (run scripts/validators.d/watch.sh)" >&2; exit 2; }
done
export PATH="$PATH:/usr/sbin"

work=$(mktemp -d /tmp/hearth-bench-watch.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    [[ -n ${KEEP:-} ]] || rm -rf "$work"
}
trap cleanup EXIT

# A block of 100 loopback ports below the ephemeral range (32768 and up) with nothing listening.
base=$((20000 + ($$ % 100) * 100))
for _ in $(seq 100); do
    [[ -z $(ss -Htln "sport >= :$base and sport <= :$((base + 99))") ]] && break
    base=$((base >= 32000 ? 20000 : base + 100))
done
dns_port=$((base + 90))
bb_port=$((base + 91))
prom_port=$((base + 92))

echo "building the watcher (release)" >&2
cargo build -q --release -p hearth-watch --example bench
bench_bin=target/release/examples/bench

# nginx: PORTS ports on 127.0.0.1, any path answers 200.
mkdir -p "$work/nginx/logs"
{
    echo "worker_processes 1; daemon off; pid $work/nginx/nginx.pid; error_log $work/nginx/error.log;"
    echo "events { worker_connections 4096; }"
    echo "http { access_log off; client_body_temp_path $work/nginx; proxy_temp_path $work/nginx; fastcgi_temp_path $work/nginx; uwsgi_temp_path $work/nginx; scgi_temp_path $work/nginx;"
    echo "  server {"
    for ((p = 0; p < PORTS; p++)); do echo "    listen 127.0.0.1:$((base + p));"; done
    echo "    location / { return 200 'ok'; }"
    echo "  }"
    echo "}"
} >"$work/nginx.conf"
nginx -p "$work/nginx" -c "$work/nginx.conf" 2>"$work/nginx.log" &
pids+=($!)

# unbound on one loopback port, answering bench.test (and anything under it) with 127.0.0.1.
cat >"$work/unbound.conf" <<EOF
server:
  interface: 127.0.0.1@$dns_port
  port: $dns_port
  do-daemonize: no
  chroot: ""
  username: ""
  directory: "$work"
  pidfile: "$work/unbound.pid"
  use-syslog: no
  logfile: ""
  access-control: 127.0.0.0/8 allow
  incoming-num-tcp: 256
  local-zone: "bench.test." redirect
  local-data: "bench.test. A 127.0.0.1"
remote-control:
  control-enable: no
EOF
unbound -c "$work/unbound.conf" 2>"$work/unbound.log" &
pids+=($!)

# The targets: a third each. The same list drives the watcher and Prometheus.
third=$((N / 3))
: >"$work/targets.txt"
: >"$work/http.txt"
: >"$work/tcp.txt"
for ((i = 0; i < N; i++)); do
    port=$((base + i % PORTS))
    if ((i < third)); then
        echo "http 127.0.0.1:$port /p$i" >>"$work/targets.txt"
        echo "        - http://127.0.0.1:$port/p$i" >>"$work/http.txt"
    elif ((i < 2 * third)); then
        echo "tcp 127.0.0.1:$port" >>"$work/targets.txt"
        echo "        - 127.0.0.1:$port#$i" >>"$work/tcp.txt"
    else
        echo "dns 127.0.0.1:$dns_port bench.test 127.0.0.1" >>"$work/targets.txt"
    fi
done
dns_count=$((N - 2 * third))

cat >"$work/blackbox.yml" <<EOF
modules:
  http_2xx:
    prober: http
    timeout: 5s
    http: { preferred_ip_protocol: ip4, headers: { Host: bench.test } }
  tcp_connect:
    prober: tcp
    timeout: 5s
    tcp: { preferred_ip_protocol: ip4 }
  dns_tcp:
    prober: dns
    timeout: 5s
    dns: { transport_protocol: tcp, preferred_ip_protocol: ip4, query_name: bench.test, query_type: A, valid_rcodes: [NOERROR] }
EOF
# Prometheus keeps one target per distinct label set, so each TCP and DNS target is listed as
# `ADDR#I` and the `#I` is cut off the probe's `target` parameter by relabelling.
{
    echo "global: { scrape_interval: ${INTERVAL}s, scrape_timeout: $((INTERVAL < 10 ? INTERVAL : 10))s }"
    echo "scrape_configs:"
    for job in http_2xx tcp_connect dns_tcp; do
        echo "  - job_name: $job"
        echo "    metrics_path: /probe"
        echo "    params: { module: [$job] }"
        echo "    static_configs:"
        echo "      - targets:"
        case $job in
            http_2xx) cat "$work/http.txt" ;;
            tcp_connect) cat "$work/tcp.txt" ;;
            dns_tcp) for ((i = 0; i < dns_count; i++)); do echo "        - 127.0.0.1:$dns_port#$i"; done ;;
        esac
        echo "    relabel_configs:"
        echo "      - { source_labels: [__address__], target_label: __param_target }"
        if [[ $job != http_2xx ]]; then
            echo "      - { source_labels: [__param_target], regex: '(.*)#.*', target_label: __param_target }"
        fi
        echo "      - { source_labels: [__address__], target_label: instance }"
        echo "      - { target_label: __address__, replacement: 127.0.0.1:$bb_port }"
    done
} >"$work/prometheus.yml"

prometheus-blackbox-exporter --config.file="$work/blackbox.yml" --web.listen-address="127.0.0.1:$bb_port" \
    --log.level=warn 2>"$work/blackbox.log" &
bb_pid=$!
pids+=($bb_pid)
sleep 1
prometheus --config.file="$work/prometheus.yml" --web.listen-address="127.0.0.1:$prom_port" \
    --storage.tsdb.path="$work/tsdb" --log.level=warn 2>"$work/prometheus.log" &
pids+=($!)

total=$((WARMUP + MEASURE + 5))
"$bench_bin" "$work/targets.txt" "$work/watch.db" "$total" "$INTERVAL" >"$work/watch.out" 2>"$work/watch.log" &
watch_pid=$!
pids+=($watch_pid)

ticks=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

sleep "$WARMUP"
w0=$(cpu $watch_pid); b0=$(cpu $bb_pid); t0=$(date +%s.%N)
wmax=0; bmax=0
end=$(($(date +%s) + MEASURE))
while (($(date +%s) < end)); do
    w=$(rss $watch_pid); b=$(rss $bb_pid)
    ((w > wmax)) && wmax=$w
    ((b > bmax)) && bmax=$b
    sleep 5
done
w1=$(cpu $watch_pid); b1=$(cpu $bb_pid); t1=$(date +%s.%N)
up=$(curl -s "http://127.0.0.1:$prom_port/api/v1/query?query=sum(probe_success)" | sed -n 's/.*"value":\[[^,]*,"\([0-9.]*\)".*/\1/p')
probes=$(curl -s "http://127.0.0.1:$prom_port/api/v1/query?query=count(probe_success)" | sed -n 's/.*"value":\[[^,]*,"\([0-9.]*\)".*/\1/p')
wait $watch_pid || true
db_size=$(du -k "$work/watch.db" | cut -f1)

awk -v w0="$w0" -v w1="$w1" -v b0="$b0" -v b1="$b1" -v t0="$t0" -v t1="$t1" -v hz="$ticks" \
    -v wmax="$wmax" -v bmax="$bmax" -v n="$N" -v i="$INTERVAL" -v m="$MEASURE" 'BEGIN {
    s = t1 - t0
    printf "%d checks every %ds (a third each HTTP, TCP, DNS over TCP), measured over %ds\n", n, i, m
    printf "%-34s %12s %10s\n", "", "CPU (% of 1 core)", "max RSS"
    printf "%-34s %12.2f %7.1f MB\n", "hearth watch (bench example)", (w1 - w0) / hz / s * 100, wmax / 1024
    printf "%-34s %12.2f %7.1f MB\n", "prometheus-blackbox-exporter 0.23", (b1 - b0) / hz / s * 100, bmax / 1024
}'
echo "watcher: $(cat "$work/watch.out" | tr '\n' ' ')database ${db_size} kB"
echo "blackbox: probe_success ${up:-?} of ${probes:-?} targets at the end"
