//! Image references: their repository and tag, and which catalog app (or companion, or database
//! engine) an image is.

use hearth_catalog::{App, Catalog};

/// `(repository, tag)` of an image reference; the digest is dropped, the tag may be absent.
pub fn split(image: &str) -> (String, Option<String>) {
    let without_digest = image.split('@').next().unwrap_or(image);
    let slash = without_digest.rfind('/').map_or(0, |i| i + 1);
    match without_digest[slash..].find(':') {
        Some(i) => (without_digest[..slash + i].to_string(), Some(without_digest[slash + i + 1..].to_string())),
        None => (without_digest.to_string(), None),
    }
}

/// A repository in a form that compares equal across the ways of writing it: Docker Hub's
/// `docker.io/` and `library/` dropped, LinuxServer's images on any registry alike.
pub fn normalize(repo: &str) -> String {
    let r = repo.to_ascii_lowercase();
    let r = r.strip_prefix("docker.io/").or_else(|| r.strip_prefix("index.docker.io/")).unwrap_or(&r).to_string();
    let r = r.strip_prefix("library/").unwrap_or(&r).to_string();
    for registry in ["lscr.io/", "ghcr.io/"] {
        if let Some(rest) = r.strip_prefix(registry)
            && rest.starts_with("linuxserver/")
        {
            return rest.to_string();
        }
    }
    r
}

/// A database engine a sidecar container runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Postgres,
    Mysql,
    Mongo,
    Redis,
}

impl Engine {
    /// The catalog app that serves this engine.
    pub fn app(self) -> &'static str {
        match self {
            Engine::Postgres => "postgresql",
            Engine::Mysql => "mariadb",
            Engine::Mongo => "mongodb",
            Engine::Redis => "redis",
        }
    }
}

/// The engine of a database image, by the image's name (its last path segment).
pub fn engine(repo: &str) -> Option<Engine> {
    let last = repo.rsplit('/').next().unwrap_or(repo).to_ascii_lowercase();
    match last.as_str() {
        "postgres" | "postgresql" | "pgvecto-rs" | "postgis" | "timescaledb" | "timescaledb-ha" | "pgvector" => {
            Some(Engine::Postgres)
        }
        "mariadb" | "mysql" | "mysql-server" | "percona-server" => Some(Engine::Mysql),
        "mongo" | "mongodb" | "mongodb-community-server" => Some(Engine::Mongo),
        "redis" | "valkey" | "keydb" | "redis-stack-server" => Some(Engine::Redis),
        _ => None,
    }
}

/// What an image is in the catalog.
pub enum Match<'c> {
    /// A catalog app's own image.
    App(&'c App),
    /// The image of a catalog app's companion container: `(app, companion name)`.
    Companion(&'c App, String),
    /// A database image the catalog app of its engine can run (with `image:` kept).
    Engine(&'c App, Engine),
    None,
}

/// Finds the catalog entry an image belongs to.
pub fn find<'c>(catalog: &'c Catalog, image: &str) -> Match<'c> {
    let (repo, _) = split(image);
    let repo = normalize(&repo);
    let same = |img: &str| normalize(&split(img).0) == repo;
    if let Some(app) = catalog.apps.iter().find(|a| same(&a.image.value)) {
        return Match::App(app);
    }
    for app in &catalog.apps {
        for (cname, c) in app.companions.iter() {
            if c.image.as_deref().is_some_and(same) {
                return Match::Companion(app, cname.to_string());
            }
        }
    }
    if let Some(e) = engine(&repo)
        && let Some(app) = catalog.get(e.app())
    {
        return Match::Engine(app, e);
    }
    Match::None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references() {
        assert_eq!(split("postgres:16"), ("postgres".into(), Some("16".into())));
        assert_eq!(split("reg:5000/a/b:1.2@sha256:ab"), ("reg:5000/a/b".into(), Some("1.2".into())));
        assert_eq!(split("reg:5000/a/b"), ("reg:5000/a/b".into(), None));
        assert_eq!(normalize("docker.io/library/redis"), "redis");
        assert_eq!(normalize("lscr.io/linuxserver/sonarr"), "linuxserver/sonarr");
        assert_eq!(engine("tensorchord/pgvecto-rs"), Some(Engine::Postgres));
        assert_eq!(engine("bitnami/nginx"), None);
    }

    #[test]
    fn catalog_matches() {
        let c = hearth_catalog::builtin();
        let name = |img: &str| match find(c, img) {
            Match::App(a) => format!("app {}", a.name.value),
            Match::Companion(a, n) => format!("companion {}/{n}", a.name.value),
            Match::Engine(a, _) => format!("engine {}", a.name.value),
            Match::None => "none".into(),
        };
        assert_eq!(name("lscr.io/linuxserver/sonarr:4.0.0"), "app sonarr");
        assert_eq!(name("linuxserver/sonarr"), "app sonarr");
        assert_eq!(name("postgres:15-alpine"), "app postgresql");
        assert_eq!(name("ghcr.io/immich-app/immich-machine-learning:release"), "companion immich/machine-learning");
        assert_eq!(name("mysql:8"), "engine mariadb");
        assert_eq!(name("ghcr.io/me/thing:1"), "none");
    }
}
