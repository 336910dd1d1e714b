//! The remote ends of `rsync:` and `git:` repositories: where a copy goes over SSH, read from
//! what the spec wrote, so the resolver, the checks and the flows agree on the host it names.

/// An rsync destination `[user@]host:path`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RsyncTarget<'a> {
    pub user: Option<&'a str>,
    pub host: &'a str,
    pub path: &'a str,
}

/// Splits `[user@]host:path`. `None` when there is no host before the colon: rsync would then
/// copy into a local folder, which a `dir:` repository says better.
pub fn rsync_target(target: &str) -> Option<RsyncTarget<'_>> {
    let (authority, path) = target.split_once(':')?;
    if authority.contains('/') || path.starts_with("//") {
        return None;
    }
    let (user, host) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    if host.is_empty() || user.is_some_and(str::is_empty) {
        return None;
    }
    Some(RsyncTarget { user, host, path })
}

/// The host a git remote is fetched from and the SSH port when the remote goes over SSH:
/// `ssh://[user@]host[:port]/path`, the scp-like `[user@]host:path`, `git://` and
/// `http(s)://` (no SSH port). A local path or `file://` URL has no host.
pub fn git_host(url: &str) -> Option<(&str, Option<u16>)> {
    if let Some((scheme, rest)) = url.split_once("://") {
        let authority = rest.split('/').next()?;
        let authority = authority.rsplit('@').next()?;
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) => (h, p.parse().ok()),
            None => (authority, None),
        };
        return match scheme {
            "ssh" | "git+ssh" | "ssh+git" => Some((host, Some(port.unwrap_or(22)))),
            "file" => None,
            _ if host.is_empty() => None,
            _ => Some((host, None)),
        };
    }
    let t = rsync_target(url)?;
    Some((t.host, Some(22)))
}

/// Whether a git remote is written in a form git understands: a URL with a scheme, the scp-like
/// `host:path`, or an absolute local path.
pub fn git_url_valid(url: &str) -> bool {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            ["ssh", "git+ssh", "ssh+git", "git", "http", "https", "file"].contains(&scheme) && !rest.is_empty()
        }
        None => url.starts_with('/') || rsync_target(url).is_some_and(|t| !t.path.is_empty()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_rsync(input: &str, expected: Option<(Option<&str>, &str, &str)>) {
        let got = rsync_target(input).map(|t| (t.user, t.host, t.path));
        assert_eq!(got, expected, "{input}");
    }

    #[test]
    fn rsync_targets() {
        check_rsync(
            "admin@storage-server:/exports/backups/",
            Some((Some("admin"), "storage-server", "/exports/backups/")),
        );
        check_rsync("nas:/srv/copy", Some((None, "nas", "/srv/copy")));
        check_rsync("nas:backups", Some((None, "nas", "backups")));
        check_rsync("/mnt/backup", None);
        check_rsync("@nas:/x", None);
        check_rsync("rsync://nas/module", None);
    }

    fn check_git(input: &str, expected: Option<(&str, Option<u16>)>) {
        assert_eq!(git_host(input), expected, "{input}");
    }

    #[test]
    fn git_hosts() {
        check_git("ssh://git@forge:2222/lab/nixos.git", Some(("forge", Some(2222))));
        check_git("ssh://git@forge/lab/nixos.git", Some(("forge", Some(22))));
        check_git("git@github.com:lab/nixos.git", Some(("github.com", Some(22))));
        check_git("https://github.com/yourusername/nix-omarchy.git", Some(("github.com", None)));
        check_git("/srv/git/nixos.git", None);
        check_git("file:///srv/git/nixos.git", None);
        assert!(git_url_valid("/srv/git/nixos.git"));
        assert!(git_url_valid("git@forge:lab/nixos.git"));
        assert!(!git_url_valid("forge/lab/nixos.git"));
        assert!(!git_url_valid("ftp://forge/lab"));
    }
}
