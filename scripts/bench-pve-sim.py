#!/usr/bin/env python3
"""Times the Proxmox API simulator (docs/PERFORMANCE.md): start-up until it serves, then
sequential requests over one keep-alive connection: GET /version, a refused container creation
(the full schema check of POST /nodes/{node}/lxc), and accepted creations (schema check, state,
task) with --task-ms 0.

Usage: scripts/bench-pve-sim.py [BINARY] [N]   (default target/release/hearth-pve-sim, 2000)
"""
import http.client
import subprocess
import sys
import time
import urllib.parse

binary = sys.argv[1] if len(sys.argv) > 1 else "target/release/hearth-pve-sim"
n = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
token = "root@pam!bench=bench-secret"
template = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"

t0 = time.perf_counter()
proc = subprocess.Popen(
    [binary, "--listen", "127.0.0.1:0", "--token", token, "--task-ms", "0", "--volume", template + "=120M",
     "--storage", "local=dir:vztmpl:10G", "--storage", "local-lvm=lvmthin:images,rootdir:100T"],
    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
url = proc.stdout.readline().strip()
startup = time.perf_counter() - t0
host = urllib.parse.urlparse(url).netloc
conn = http.client.HTTPConnection(host)
headers = {"Authorization": "PVEAPIToken=" + token, "Content-Type": "application/x-www-form-urlencoded"}


def run(label, count, request):
    start = time.perf_counter()
    for i in range(count):
        method, path, body, want = request(i)
        conn.request(method, "/api2/json" + path, body=body, headers=headers)
        resp = conn.getresponse()
        resp.read()
        if resp.status != want:
            sys.exit(f"{label}: {method} {path} answered {resp.status}, expected {want}")
    elapsed = time.perf_counter() - start
    print(f"{label}: {count} requests in {elapsed:.2f} s, {count / elapsed:.0f}/s, {elapsed / count * 1e3:.2f} ms each")


def form(params):
    return urllib.parse.urlencode(params)


try:
    print(f"start-up (schema loaded, listening): {startup * 1e3:.0f} ms")
    run("GET /version", n, lambda i: ("GET", "/version", None, 200))
    bad = form({"vmid": "101", "ostemplate": template, "memory": "lots", "net0": "name=eth0,bridge=vmbr0,foo=1"})
    run("refused POST /nodes/pve/lxc", n, lambda i: ("POST", "/nodes/pve/lxc", bad, 400))
    creations = n // 4
    run("accepted POST /nodes/pve/lxc", creations, lambda i: ("POST", "/nodes/pve/lxc", form({
        "vmid": str(1000 + i), "ostemplate": template, "hostname": f"ct{i}", "memory": "1024", "cores": "2",
        "rootfs": "local-lvm:8", "net0": f"name=eth0,bridge=vmbr0,ip=10.1.{i // 250}.{i % 250 + 1}/16,gw=10.1.0.1",
        "tags": "hearth"}), 200))
    run("GET /cluster/resources", n // 10, lambda i: ("GET", "/cluster/resources", None, 200))
finally:
    proc.terminate()
    proc.wait()
