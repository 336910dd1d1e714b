//! `hearth import compose`: Docker Compose projects read as Compose reads them and written as a
//! spec fragment that `include:` takes, with a report of everything the fragment does not carry
//! over as Compose had it.
//!
//! Pure: files are read through [`Files`], and the environment Compose would interpolate from is
//! passed in, so tests run without a disk or a shell. The pipeline, one module per step:
//! `project` (files, `.env`, `extends`, profiles) → `service` (one compose service read) →
//! `plan` (names, catalog apps, `via`, `after`, ports and volumes) → `relations` (sidecar
//! databases as `uses`) → `traefik` (routes) → `secrets` (secret values as references) →
//! `fragment` (the YAML). `report` holds the findings, each at its compose `file:line`.

mod dotenv;
mod fragment;
mod images;
mod interpolate;
mod plan;
mod ports;
mod project;
mod relations;
mod report;
mod secrets;
mod service;
mod traefik;
mod volumes;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use report::{Finding, Level};

/// How the importer reads files.
pub trait Files {
    fn read(&self, path: &Path) -> std::io::Result<String>;
    fn is_dir(&self, path: &Path) -> bool;
    fn exists(&self, path: &Path) -> bool;
}

/// The importer's inputs besides the files.
pub struct Options {
    /// The machine every imported service runs `on`.
    pub on: String,
    /// The environment Compose would interpolate from (it wins over `.env`).
    pub env: BTreeMap<String, String>,
    /// The folder relative paths are taken from (relative bind mounts become absolute).
    pub cwd: PathBuf,
}

/// What an import produced.
#[derive(Debug)]
pub struct Imported {
    /// The spec fragment (YAML).
    pub fragment: String,
    /// Everything not carried over as it was, sorted by file and line.
    pub findings: Vec<Finding>,
    /// Services written to the fragment.
    pub services: usize,
}

/// Why an import could not run at all (problems with single services are findings instead).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read `{path}`: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("`{dir}` holds no compose file (looked for `{looked_for}`)")]
    NoComposeFile { dir: PathBuf, looked_for: String },
    #[error("{path}:{line}: {message}")]
    Yaml { path: PathBuf, line: usize, message: String },
    #[error("nothing to import: give compose files or folders holding one")]
    NoInput,
}

/// Imports the compose projects at `paths` (each a compose file, or a folder holding one).
pub fn import(
    paths: &[PathBuf],
    files: &dyn Files,
    catalog: &hearth_catalog::Catalog,
    options: &Options,
) -> Result<Imported, Error> {
    if paths.is_empty() {
        return Err(Error::NoInput);
    }
    let mut cx = report::Cx::new(options.env.clone(), options.cwd.clone());
    let mut svcs = Vec::new();
    let mut volumes_top = BTreeMap::new();
    let mut sources = Vec::new();
    for path in paths {
        // Each project interpolates from the environment and its own `.env`.
        cx.env = options.env.clone();
        let project = project::load(path, files, &options.cwd, &mut cx)?;
        sources.push(format!("{} (project `{}`)", path.display(), project.name));
        for raw in &project.services {
            let svc = service::read(raw, files, &mut cx);
            svcs.push((project.name.clone(), svc));
        }
        volumes_top.extend(project.volumes);
    }
    let mut planned = plan::identify(svcs, catalog, &mut cx);
    plan::wire(&mut planned, &mut cx);
    relations::find(&mut planned, &mut cx);
    for p in planned.iter_mut() {
        let found = traefik::routes(&p.svc);
        for (label, why) in &found.dropped {
            let span = p.svc.labels.iter().find(|(k, _, _)| k == label).map_or(p.svc.span, |(_, _, s)| *s);
            cx.at(span, Level::Differs, Some(&p.svc.compose), format!("label `{label}`: {why}"));
        }
        p.routes = found.routes;
    }
    plan::recover_routes(&mut planned, &mut cx);
    plan::move_vpn_routes(&mut planned, &mut cx);
    // `ingress:` is one section per spec, so the fragment cannot hold it: say what to write.
    let proxy = planned
        .iter()
        .find(|p| !p.absorbed && p.app.is_some_and(|a| a.category == hearth_catalog::Category::Proxy))
        .map(|p| (p.name.clone(), p.svc.span, p.svc.compose.clone()));
    match (proxy, planned.iter().find(|p| !p.routes.is_empty())) {
        (Some((name, span, compose)), _) => cx.at(
            span,
            Level::Todo,
            Some(&compose),
            format!("it is the proxy: write `ingress: {{ proxy: {name} }}` in the spec so Hearth routes through it"),
        ),
        (None, Some(p)) => {
            let (span, compose) = (p.svc.span, p.svc.compose.clone());
            cx.at(
                span,
                Level::Todo,
                Some(&compose),
                "its routes need a proxy: name one with `ingress: { proxy: … }` in the spec",
            )
        }
        (None, None) => {}
    }
    for p in planned.iter_mut().filter(|p| !p.absorbed) {
        plan::shape(p, &volumes_top, &mut cx);
    }
    fragment::settle_env(&mut planned, &mut cx);
    let (envs, decls) = secrets::assign(&planned, &mut cx);
    let fragment = fragment::write(&planned, &envs, &decls, &options.on, &sources, &mut cx);
    let mut findings = cx.findings;
    findings.sort();
    findings.dedup();
    Ok(Imported { fragment, findings, services: planned.iter().filter(|p| !p.absorbed).count() })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Files held in memory, keyed by their path relative to the working folder `/w`.
    struct Mem(BTreeMap<PathBuf, String>);

    impl Mem {
        fn key(path: &Path) -> &Path {
            path.strip_prefix("/w").unwrap_or(path)
        }
    }

    impl Files for Mem {
        fn read(&self, path: &Path) -> std::io::Result<String> {
            self.0.get(Mem::key(path)).cloned().ok_or_else(|| std::io::Error::from(std::io::ErrorKind::NotFound))
        }
        fn is_dir(&self, path: &Path) -> bool {
            self.0.keys().any(|k| k.parent() == Some(Mem::key(path)))
        }
        fn exists(&self, path: &Path) -> bool {
            self.0.contains_key(Mem::key(path))
        }
    }

    /// Imports `p/compose.yaml` (plus any other files given) and checks that the fragment holds
    /// each of `fragment` and the report each of `report`.
    fn check(files: &[(&str, &str)], fragment: &[&str], report: &[&str]) {
        let mem = Mem(files.iter().map(|(p, t)| (PathBuf::from(p), t.to_string())).collect());
        let options = Options { on: "docker".into(), env: BTreeMap::new(), cwd: PathBuf::from("/w") };
        let got = import(&[PathBuf::from("p")], &mem, hearth_catalog::builtin(), &options).expect("import");
        let lines: Vec<String> = got.findings.iter().map(ToString::to_string).collect();
        for want in fragment {
            assert!(got.fragment.contains(want), "fragment lacks {want:?}:\n{}", got.fragment);
        }
        for want in report {
            assert!(lines.iter().any(|l| l.contains(want)), "report lacks {want:?}:\n{}", lines.join("\n"));
        }
    }

    #[test]
    fn interpolation_env_files_and_secrets() {
        check(
            &[
                (
                    "p/compose.yaml",
                    "services:\n  app:\n    image: ghcr.io/x/app:1.0\n    env_file: app.env\n    environment:\n      A: ${A:-dflt}\n      B: $${NOT}\n      API_TOKEN: ${TOKEN}\n      UNSET: ${NOPE}\n",
                ),
                ("p/app.env", "DB_PASSWORD=literal-secret\nPLAIN=1\n"),
                ("p/.env", "TOKEN=t0k3n\n"),
            ],
            &[
                "A: dflt",
                "B: \"${NOT}\"",
                "API_TOKEN: secret:token",
                "DB_PASSWORD: secret:app-db-password",
                "token:\n    env: TOKEN",
            ],
            &["`${NOPE}` is not set", "p/app.env:1: to do: service `app`: the value of `DB_PASSWORD` is a secret"],
        );
    }

    #[test]
    fn relations_via_and_after() {
        check(
            &[(
                "p/compose.yaml",
                "services:\n  vpn:\n    image: qmcgaw/gluetun:v3.39.1\n    ports: ['8080:8080']\n  qb:\n    image: lscr.io/linuxserver/qbittorrent:5.1.2\n    network_mode: service:vpn\n  db:\n    image: postgres:16\n    environment: { POSTGRES_USER: app, POSTGRES_PASSWORD: pw-1 }\n  app:\n    image: ghcr.io/x/app:1.0\n    depends_on: [db, qb]\n    environment: { DATABASE_HOST: db, DATABASE_USER: app, DATABASE_PASSWORD: pw-1, DATABASE_NAME: appdb }\n",
            )],
            &[
                "via: vpn",
                "http: 8080",
                "service: db\n        database: appdb",
                "after: [qb]",
                "DATABASE_PASSWORD: secret:db-app-password",
                "POSTGRES_PASSWORD: secret:db-app-password",
            ],
            &["`DATABASE_HOST` points at `db`: imported as `uses: db`"],
        );
    }

    #[test]
    fn passwords_inside_values_never_reach_the_fragment() {
        check(
            &[(
                "p/compose.yaml",
                "services:\n  app:\n    image: ghcr.io/x/app:1.0\n    command: [app, --db, 'postgres://u:pw-in-url@db.lan/x']\n    environment:\n      EXTERNAL_DB: postgres://u:pw-in-env@db.lan:5432/x\n      HOME_URL: https://example.com/\n",
            )],
            &["EXTERNAL_DB: secret:app-external-db", "HOME_URL: https://example.com/"],
            &["the command passes a secret (`a URL with a password`)"],
        );
        let mem = Mem([(
            PathBuf::from("p/compose.yaml"),
            "services:\n  a:\n    image: x/y:1\n    environment: [DSN=mysql://root:pw-x@h/d]\n".to_string(),
        )]
        .into());
        let options = Options { on: "m".into(), env: BTreeMap::new(), cwd: PathBuf::from("/w") };
        let got = import(&[PathBuf::from("p")], &mem, hearth_catalog::builtin(), &options).expect("import");
        assert!(!got.fragment.contains("pw-x"), "{}", got.fragment);
        assert!(got.findings.iter().all(|f| !f.message.contains("pw-x")));
    }

    #[test]
    fn hearths_own_connection_values_give_back_their_edges() {
        check(
            &[
                (
                    "p/compose.yaml",
                    "services:\n  app:\n    image: ghcr.io/x/app:1.0\n    env_file: [app.secrets.env]\n    labels: { hearth.service: app }\n",
                ),
                (
                    "p/app.secrets.env",
                    "DATABASE_URL=postgresql://app_user:{{secret:vm-db-app-user-password}}@10.0.0.5:5432/appdb\nREDIS_URL=redis://:{{secret:cache-password}}@10.0.0.6:6379/4\nTOKEN={{secret:app-token}}\nKEY={{env:OUTSIDE}}\n",
                ),
            ],
            &[
                "service: vm-db\n        database: appdb\n        user: app_user",
                "service: cache\n        db: 4",
                "TOKEN: secret:app-token",
                "KEY: env:OUTSIDE",
            ],
            &["imported as `uses: vm-db`", "imported as `uses: cache`"],
        );
    }

    #[test]
    fn projects_with_the_same_service_names_are_told_apart() {
        let app = "services:\n  app:\n    image: ghcr.io/x/app:1.0\n";
        let mem = Mem([
            (PathBuf::from("a/compose.yaml"), app.to_string()),
            (PathBuf::from("b/compose.yaml"), app.to_string()),
        ]
        .into());
        let options = Options { on: "m".into(), env: BTreeMap::new(), cwd: PathBuf::from("/w") };
        let got = import(&[PathBuf::from("a"), PathBuf::from("b")], &mem, hearth_catalog::builtin(), &options)
            .expect("import");
        assert!(got.fragment.contains("  a-app:\n") && got.fragment.contains("  b-app:\n"), "{}", got.fragment);
        assert!(got.fragment.contains("stack: a") && got.fragment.contains("stack: b"), "{}", got.fragment);
        assert_eq!(got.services, 2);
    }

    /// Compose-shaped texts from random pieces (a fixed-seed generator, so failures repeat):
    /// whatever they say, the import returns.
    #[test]
    fn random_compose_texts_never_panic() {
        const PIECES: &[&str] = &[
            "services:\n",
            "  a:\n",
            "  b:\n",
            "    image: ",
            "postgres:16",
            "redis",
            "x/y:1",
            "\n",
            "    ports: [",
            "'80:80'",
            "'1-3:1-3/udp'",
            "'[::1]:5:5'",
            "]\n",
            "    environment: {",
            "DB_HOST: b",
            "PASSWORD: ${P:-x}",
            "U: $$",
            "}\n",
            "    network_mode: service:b\n",
            "    extends: b\n",
            "    volumes: [",
            "'./d:/d:ro'",
            "'v:/v'",
            "    labels: [",
            "'traefik.http.routers.r.rule=Host(`h`)'",
            "    env_file: x.env\n",
            "${",
            "}",
            ":",
            "-",
            "'",
            "\"",
            "é",
            "    depends_on: [a]\n",
            "    profiles: [p]\n",
        ];
        let mut seed: u64 = 0x5eed;
        let mut next = || {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (seed >> 33) as usize
        };
        for _ in 0..500 {
            let n = 5 + next() % 30;
            let text: String = (0..n).map(|_| PIECES[next() % PIECES.len()]).collect();
            let mem = Mem([(PathBuf::from("p/compose.yaml"), text)].into());
            let options = Options { on: "m".into(), env: BTreeMap::new(), cwd: PathBuf::from("/w") };
            let _ = import(&[PathBuf::from("p")], &mem, hearth_catalog::builtin(), &options);
        }
    }

    #[test]
    fn hostile_inputs_are_findings_or_errors_never_panics() {
        let cases = [
            "",
            "services: []",
            "services:\n  a: 3\n",
            "services:\n  a:\n    image: [1]\n    ports: ['x:y', '99999:1', {target: abc}, '1-65535:1-65535/sctp']\n    volumes: [':', 'a:b:c:d', {type: bind}]\n",
            "services:\n  a:\n    extends: b\n  b:\n    extends: a\n",
            "services:\n  a:\n    extends: { service: z, file: missing.yaml }\n",
            "services:\n  a:\n    environment: ['${A:-${B:-${C', '=x', 'K=${{}}']\n    env_file: [nothing.env]\n    healthcheck: { test: 42, interval: soon }\n    deploy: { resources: { limits: { memory: lots } } }\n",
            "x: &a [*a]\n",
            "services:\n  a:\n    image: x/y:1\n    environment: ['A=${A€}', 'B=${€}', 'C=$€', 'D=${A:€x}']\n    command: 'a \"b'\n",
            "services:\n  é:\n    image: é/ü:ß\n    ports: ['€:1']\n    labels: { traefik.http.routers.é.rule: 'Host(`ü`)' }\n",
            "services:\n  '---':\n    image: ':'\n    labels: ['traefik.http.routers.r.rule=Host(', 'traefik.http.routers.r.rule=']\n",
        ];
        for text in cases {
            let mem = Mem([(PathBuf::from("p/compose.yaml"), text.to_string())].into());
            let options = Options { on: "m".into(), env: BTreeMap::new(), cwd: PathBuf::from("/") };
            let _ = import(&[PathBuf::from("p")], &mem, hearth_catalog::builtin(), &options);
        }
    }
}
