//! A self-contained, structure-aware mutation fuzzer for stable Rust (no libFuzzer needed).
//!
//! `mutate SECONDS [SEED_DIR...]` reads every *.yaml in the seed dirs (default: ../examples and
//! ../tests/invalid), then until SECONDS have passed picks a seed, applies 1-8 mutations (byte
//! flips, token splices, line swaps/duplication/deletion, key swaps, value swaps, deep nesting,
//! anchors/aliases, indentation shifts, very long lines) and runs the whole path of
//! `hearth_fuzz::load_check` under catch_unwind. A panicking input is saved under crashes-found/
//! with its panic message and location. Inputs that produced a diagnostic code never seen before
//! are kept as new seeds (a crude coverage signal).

use std::collections::HashSet;
use std::fs;
use std::panic;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

static LAST_PANIC: Mutex<Option<String>> = Mutex::new(None);

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { (self.next() % n as u64) as usize }
    }
    fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len())]
    }
}

const TOKENS: &[&str] = &[
    ":", " ", "\n", "- ", "{", "}", "[", "]", ",", "&a ", "*a", "<<: *a", "!!str ", "!!int ", "? ", "|", ">",
    "\"", "'", "#", "---", "...", "\t", "%YAML 1.2\n", "~", "null", "true", "NO", "0x1F", "-1", "0",
    "4294967296", "18446744073709551616", "1e400", ".nan", ".inf", "99999999999TB", "0B", "1.5GiB",
    "-5GiB", "0s", "99999999d", "10.0.0.0/8", "0.0.0.0/0", "::/0", "fe80::1%eth0", "10.0.0.255",
    "255.255.255.255", "10.0.0.9-10.0.0.1", "10.0.0.1-10.1.0.1", "/33", "/0", "secret:", "env:",
    "op://", "secret:x", "Mon 25:61", "* * * * * *", "61 25 32 13 8", "é", "\u{202e}", "\u{feff}",
    "💥", "\0", "\r\n", "x-", "-x", "A", "on: ", "app: ", "uses: ", "expose: ",
    "ports: ", "via: ", "also_on: ", "include: ", "backup: ", "lxc: ", "vm: ", "id: ", "address: ",
];

const KEYS: &[&str] = &[
    "homelab", "domain", "include", "timezone", "networks", "router", "hosts", "guests", "clusters",
    "services", "ingress", "dns", "monitoring", "notifications", "backups", "secrets", "cidr",
    "gateway", "vlan", "zone", "bridge", "reserved", "dhcp", "allocate", "address", "network", "proxmox",
    "runtime", "os", "hardware", "cores", "threads", "memory", "disks", "storage", "size", "kind", "tier",
    "datasets", "lxc", "vm", "on", "id", "unprivileged", "nesting", "mounts", "devices", "onboot",
    "backup", "app", "version", "image", "form", "ports", "env", "volumes", "uses", "expose", "via",
    "healthcheck", "resources", "databases", "buckets", "group", "stack", "after", "compose",
    "proxy", "tls", "sso", "tunnel", "vpn", "server", "zone", "records", "repositories", "policies",
    "snapshots", "replication", "forwards", "port", "to", "to_port", "protocol", "access", "auth",
    "path", "name", "service", "db", "database", "bucket", "keep", "at", "every", "servers", "agents",
];

fn mutate(rng: &mut Rng, input: &[u8], seeds: &[Vec<u8>]) -> Vec<u8> {
    let mut d = input.to_vec();
    let rounds = 1 + rng.below(8);
    for _ in 0..rounds {
        let len = d.len();
        match rng.below(15) {
            0 if len > 0 => {
                let i = rng.below(len);
                d[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                d[i] = rng.next() as u8;
            }
            2 => {
                let i = rng.below(len + 1);
                let t = rng.pick(TOKENS).as_bytes().to_vec();
                d.splice(i..i, t);
            }
            3 if len > 0 => {
                let i = rng.below(len);
                let n = 1 + rng.below(16.min(len - i));
                d.drain(i..i + n);
            }
            4 => {
                // splice a chunk of another seed in
                let other = rng.pick(seeds);
                if !other.is_empty() {
                    let a = rng.below(other.len());
                    let b = (a + 1 + rng.below(200)).min(other.len());
                    let i = rng.below(len + 1);
                    d.splice(i..i, other[a..b].iter().copied());
                }
            }
            5..=7 => d = line_mutation(rng, &d, seeds),
            8 => {
                // deep nesting: flow or block
                let depth = 1 + rng.below(100);
                let i = line_start(&d, rng.below(len + 1));
                let s = if rng.below(2) == 0 {
                    format!("x: {}1{}\n", "[".repeat(depth), "]".repeat(depth))
                } else {
                    let mut s = String::new();
                    for k in 0..depth {
                        s.push_str(&" ".repeat(k));
                        s.push_str("k:\n");
                    }
                    s
                };
                d.splice(i..i, s.into_bytes());
            }
            9 => {
                // anchors and aliases, including alias fan-out
                let i = line_start(&d, rng.below(len + 1));
                let n = 1 + rng.below(12);
                let mut s = String::from("a0: &a0 [x, y]\n");
                for k in 1..n {
                    s.push_str(&format!("a{k}: &a{k} [*a{p}, *a{p}, *a{p}]\n", p = k - 1));
                }
                if rng.below(2) == 0 {
                    s.push_str(&format!("b: *a{}\n", n - 1));
                }
                d.splice(i..i, s.into_bytes());
            }
            10 => {
                // key swap: replace a `key:` with another known key
                let text = String::from_utf8_lossy(&d).into_owned();
                let positions: Vec<usize> = text.match_indices(": ").map(|(p, _)| p).collect();
                if !positions.is_empty() {
                    let p = *rng.pick(&positions);
                    let start = text[..p].rfind(|c: char| c == ' ' || c == '\n' || c == '{' || c == ',').map_or(0, |x| x + 1);
                    let mut out = text[..start].to_string();
                    out.push_str(*rng.pick(KEYS));
                    out.push_str(&text[p..]);
                    d = out.into_bytes();
                }
            }
            11 => {
                // value swap: replace the value after a `: ` with a token or another line's value
                let text = String::from_utf8_lossy(&d).into_owned();
                let positions: Vec<usize> = text.match_indices(": ").map(|(p, _)| p + 2).collect();
                if !positions.is_empty() {
                    let p = *rng.pick(&positions);
                    let end = text[p..].find('\n').map_or(text.len(), |e| p + e);
                    let v = if rng.below(2) == 0 {
                        rng.pick(TOKENS).to_string()
                    } else {
                        let q = *rng.pick(&positions);
                        let qe = text[q..].find('\n').map_or(text.len(), |e| q + e);
                        text[q..qe].to_string()
                    };
                    d = format!("{}{}{}", &text[..p], v, &text[end..]).into_bytes();
                }
            }
            12 => {
                // indentation shift of one line
                let i = line_start(&d, rng.below(len + 1));
                if rng.below(2) == 0 {
                    d.splice(i..i, b"  ".iter().copied());
                } else if d.get(i) == Some(&b' ') {
                    d.remove(i);
                }
            }
            13 => {
                // a very long line (tens of thousands of columns, tabs, wide or CR characters):
                // the graphical report must still lay it out
                let i = rng.below(len + 1);
                let unit = rng.pick(&[" ", "\t", "a", "é", "\r", "[", "x: "]).as_bytes().to_vec();
                let n = 1 + rng.below(80_000 / unit.len());
                d.splice(i..i, unit.repeat(n));
            }
            _ => {
                // duplicate a region (duplicate keys, repeated entries)
                if len > 0 {
                    let a = rng.below(len);
                    let b = (a + 1 + rng.below(400)).min(len);
                    let chunk = d[a..b].to_vec();
                    let i = rng.below(len + 1);
                    d.splice(i..i, chunk);
                }
            }
        }
        if d.len() > 256 * 1024 {
            d.truncate(256 * 1024);
        }
    }
    d
}

fn line_start(d: &[u8], i: usize) -> usize {
    d[..i].iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1)
}

fn line_mutation(rng: &mut Rng, d: &[u8], seeds: &[Vec<u8>]) -> Vec<u8> {
    let mut lines: Vec<Vec<u8>> = d.split(|&b| b == b'\n').map(<[u8]>::to_vec).collect();
    let n = lines.len();
    match rng.below(4) {
        0 if n > 1 => {
            let (a, b) = (rng.below(n), rng.below(n));
            lines.swap(a, b);
        }
        1 if n > 0 => {
            let a = rng.below(n);
            let l = lines[a].clone();
            lines.insert(rng.below(n + 1), l);
        }
        2 if n > 0 => {
            lines.remove(rng.below(n));
        }
        _ => {
            let other = rng.pick(seeds);
            let ol: Vec<&[u8]> = other.split(|&b| b == b'\n').collect();
            let l = rng.pick(&ol).to_vec();
            lines.insert(rng.below(n + 1), l);
        }
    }
    lines.join(&b'\n')
}

fn read_seeds(dirs: &[PathBuf]) -> Vec<Vec<u8>> {
    let mut seeds = Vec::new();
    for dir in dirs {
        let Ok(rd) = fs::read_dir(dir) else { continue };
        let mut paths: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
        paths.sort();
        for p in paths {
            if p.is_file() && !p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')) {
                if let Ok(b) = fs::read(&p) {
                    seeds.push(b);
                }
            }
        }
    }
    seeds
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let secs: u64 = args.first().and_then(|s| s.parse().ok()).unwrap_or(60);
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dirs: Vec<PathBuf> = if args.len() > 1 {
        args[1..].iter().map(PathBuf::from).collect()
    } else {
        vec![here.join("../examples"), here.join("../tests/invalid"), here.join("corpus/load_check")]
    };
    let mut seeds = read_seeds(&dirs);
    if seeds.is_empty() {
        seeds.push(b"homelab: home\n".to_vec());
    }
    let crash_dir = here.join("crashes-found");
    let seed = std::env::var("FUZZ_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1
    });
    eprintln!("mutate: {} seeds, {secs}s, rng seed {seed}", seeds.len());
    let mut rng = Rng(seed);

    panic::set_hook(Box::new(|info| {
        let loc = info.location().map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column())).unwrap_or_default();
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "<non-string panic>".into());
        *LAST_PANIC.lock().unwrap() = Some(format!("{msg} at {loc}"));
    }));

    // Seeds themselves first.
    let start = Instant::now();
    let deadline = start + Duration::from_secs(secs);
    let mut execs: u64 = 0;
    let mut crashes: u64 = 0;
    let mut unique: HashSet<String> = HashSet::new();
    let mut seen_sizes: HashSet<(usize, u8)> = HashSet::new();
    let mut slowest = Duration::ZERO;
    let mut last_report = Instant::now();
    let mut idx = 0usize;
    while Instant::now() < deadline {
        let input = if idx < seeds.len() {
            idx += 1;
            seeds[idx - 1].clone()
        } else {
            let base = rng.pick(&seeds).clone();
            mutate(&mut rng, &base, &seeds)
        };
        let t0 = Instant::now();
        let r = panic::catch_unwind(|| hearth_fuzz::load_check(&input));
        let dt = t0.elapsed();
        slowest = slowest.max(dt);
        execs += 1;
        match r {
            Ok(n) => {
                // crude novelty signal: keep inputs giving a new (diagnostic count, size bucket) pair
                let key = (n.min(4096), (input.len() as f64).log2() as u8);
                if seen_sizes.insert(key) && seeds.len() < 5000 {
                    seeds.push(input);
                }
            }
            Err(_) => {
                crashes += 1;
                let why = LAST_PANIC.lock().unwrap().take().unwrap_or_default();
                let loc = why.rsplit(" at ").next().unwrap_or("").to_string();
                if unique.insert(loc.clone()) {
                    fs::create_dir_all(&crash_dir).ok();
                    let name = format!("crash-{:016x}", rng.next());
                    fs::write(crash_dir.join(format!("{name}.yaml")), &input).ok();
                    fs::write(crash_dir.join(format!("{name}.txt")), format!("{why}\n")).ok();
                    eprintln!("CRASH #{crashes}: {why} -> crashes-found/{name}.yaml");
                }
            }
        }
        if last_report.elapsed() > Duration::from_secs(30) {
            last_report = Instant::now();
            eprintln!(
                "  {:>5}s execs {execs} ({:.0}/s) corpus {} crashes {crashes} unique {} slowest {:?}",
                start.elapsed().as_secs(),
                execs as f64 / start.elapsed().as_secs_f64(),
                seeds.len(),
                unique.len(),
                slowest
            );
        }
    }
    let el = start.elapsed().as_secs_f64();
    println!(
        "mutate done: {execs} execs in {el:.0}s ({:.0}/s), corpus {}, crashes {crashes}, unique crash sites {}, slowest input {:?}",
        execs as f64 / el,
        seeds.len(),
        unique.len(),
        slowest
    );
    for u in &unique {
        println!("  crash site: {u}");
    }
    // A crash must fail the run, so scripts and CI that call the mutator notice it.
    if crashes > 0 {
        std::process::exit(1);
    }
}
