//! Copies of folders to `rsync:` and `git:` repositories: targets written so rsync and git read
//! them as a remote (E864, E869), hosts that name a machine of the spec (E865), absolute folders
//! and one working tree per git policy (E866), no retention the far end cannot keep (E867), and
//! policies whose kinds fit what they copy (E868); an SSH `port:` only on an `rsync:` target (E922).

use hearth_spec::ast::{Policy, Repository};
use hearth_spec::decode::{NamedMap, Sp};
use hearth_spec::{Code, Diagnostic, Spec, suggest};

use crate::remotes;

/// Whether a repository is a copy target (`rsync:` or `git:`) rather than a backup store.
fn is_copy(r: &Repository) -> bool {
    r.rsync.is_some() || r.git.is_some()
}

pub(super) fn copies(spec: &Spec, out: &mut Vec<Diagnostic>) {
    let Some(b) = &spec.backups else { return };
    for e in &b.repositories.entries {
        if let Some(t) = &e.value.rsync {
            rsync_target(spec, &e.name, t, out);
        }
        if let Some(url) = &e.value.git {
            git_url(spec, &e.name, url, out);
        }
        port(&e.name, &e.value, out);
    }
    for e in &b.policies.entries {
        policy(spec, &b.repositories, &e.name, &e.value, out);
    }
    services_naming_copies(spec, &b.repositories, &b.policies, out);
}

/// `port:` is the SSH port of an `rsync:` target (E922): a restic, PBS or folder repository has no
/// SSH connection to give it to, and a git remote states its port in its `ssh://` URL.
fn port(repo: &str, r: &Repository, out: &mut Vec<Diagnostic>) {
    let Some(port) = r.port.as_ref().filter(|_| r.rsync.is_none()) else { return };
    let span = r.spans.key("port").map_or(port.span, |k| k.to(port.span));
    let help = if r.git.is_some() {
        format!("remove `port:` and write the port in the remote: `ssh://user@host:{}/path`", port.value)
    } else {
        "remove `port:`".to_string()
    };
    out.push(
        Diagnostic::new(
            Code::PortWithoutSsh,
            port.span,
            format!("repository `{repo}` has a `port:` but is no `rsync:` target"),
        )
        .label("only rsync connects over SSH with it")
        .help(help)
        .suggest_removal(span),
    );
}

/// `[user@]host:/absolute/path`, whose host is a machine of the spec when it is a bare name.
fn rsync_target(spec: &Spec, repo: &str, t: &Sp<String>, out: &mut Vec<Diagnostic>) {
    let Some(target) = remotes::rsync_target(&t.value) else {
        out.push(
            Diagnostic::new(
                Code::RsyncTargetInvalid,
                t.span,
                format!("rsync repository `{repo}` is `{}`, which names no machine to copy to", t.value),
            )
            .label("rsync needs `[user@]host:/path`")
            .help("write the receiving machine before the folder, as in `admin@storage-server:/exports/backups/`; a folder of the job's own machine is a `dir:` repository"),
        );
        return;
    };
    if !target.path.starts_with('/') {
        // Relative to the login's home folder on the far end, which the spec does not know.
        let fixed = format!("{}:/{}", &t.value[..t.value.len() - target.path.len() - 1], target.path);
        out.push(
            Diagnostic::new(
                Code::RsyncTargetInvalid,
                t.span,
                format!(
                    "rsync repository `{repo}` copies into `{}`, a folder relative to the login's home on `{}`",
                    target.path, target.host
                ),
            )
            .label("where this lands depends on the remote account")
            .help(format!("write the folder from the root: `{fixed}`"))
            .suggest(t.span, fixed),
        );
    }
    host_known(spec, repo, "rsync", target.host, t, out);
}

/// A git remote git can read, whose SSH host is a machine of the spec when it is a bare name.
fn git_url(spec: &Spec, repo: &str, url: &Sp<String>, out: &mut Vec<Diagnostic>) {
    if !remotes::git_url_valid(&url.value) {
        out.push(
            Diagnostic::new(
                Code::GitUrlInvalid,
                url.span,
                format!("git repository `{repo}` is `{}`, which git cannot read as a remote", url.value),
            )
            .label("not a git URL")
            .help(
                "write `ssh://user@host/path.git`, `user@host:path.git`, `https://host/path.git` or an absolute path",
            ),
        );
        return;
    }
    if let Some((host, Some(_))) = remotes::git_host(&url.value) {
        host_known(spec, repo, "git", host, url, out);
    }
}

/// A single-label host (no dot, not an address) resolves only through a search domain: in a
/// homelab spec it is meant to be one of its machines.
fn host_known(spec: &Spec, repo: &str, kind: &str, host: &str, at: &Sp<String>, out: &mut Vec<Diagnostic>) {
    let bare = !host.contains('.') && !host.contains(':') && host != "localhost";
    let known = spec.guests.is_declared(host)
        || spec.hosts.is_declared(host)
        || spec.guests.entries.iter().any(|g| g.value.hostname.as_ref().is_some_and(|h| h.value == host));
    if !bare || known {
        return;
    }
    let candidates: Vec<&str> = spec.guests.names().chain(spec.hosts.names()).collect();
    let mut d = Diagnostic::new(
        Code::CopyHostUnknown,
        at.span,
        format!("{kind} repository `{repo}` copies to `{host}`, which is no guest or host of this spec"),
    )
    .label("a bare name resolves only through a search domain");
    match suggest::did_you_mean(host, candidates.iter().copied()) {
        Some(best) => {
            d = d.help(format!("did you mean `{best}`?")).suggest_part(at.span, host, best);
        }
        None => d = d.help("name a guest or host of the spec, or write the machine's address or full DNS name"),
    }
    out.push(d);
}

/// A policy to `rsync:`/`git:` repositories: it copies `paths` from `from`, keeps nothing itself,
/// and writes to no restic, PBS or folder repository beside them.
fn policy(spec: &Spec, repos: &NamedMap<Repository>, name: &str, p: &Policy, out: &mut Vec<Diagnostic>) {
    let copy: Vec<&Sp<String>> = p.to.iter().filter(|t| repos.get(&t.value).is_some_and(is_copy)).collect();
    let other: Vec<&Sp<String>> = p.to.iter().filter(|t| repos.get(&t.value).is_some_and(|r| !is_copy(r))).collect();
    let has_folders = !p.from.is_empty() || !p.paths.is_empty();
    for m in &p.from {
        if !spec.guests.is_declared(&m.value) && !spec.hosts.is_declared(&m.value) {
            let candidates: Vec<&str> = spec.guests.names().chain(spec.hosts.names()).collect();
            out.push(crate::diagnostics::unknown_reference(m.span, "guest or host", &m.value, &candidates));
        }
    }
    for path in &p.paths {
        if !path.value.starts_with('/') {
            out.push(
                Diagnostic::new(
                    Code::CopyPathInvalid,
                    path.span,
                    format!("policy `{name}` copies `{}`, which is not an absolute path", path.value),
                )
                .label("the job's working folder would decide what is copied")
                .help(format!("write the folder from the root: `/{}`", path.value))
                .suggest(path.span, format!("/{}", path.value)),
            );
        }
    }
    let git = p.to.iter().find(|t| repos.get(&t.value).is_some_and(|r| r.git.is_some()));
    if let (Some(git), Some(second)) = (git, p.paths.get(1)) {
        out.push(
            Diagnostic::new(
                Code::CopyPathInvalid,
                second.span,
                format!(
                    "policy `{name}` pushes to git repository `{}`, which takes one working tree per machine, and names a second folder",
                    git.value
                ),
            )
            .label("two working trees would push over each other")
            .help("give each folder a policy and a `git:` repository of its own"),
        );
    }
    if let Some(first) = copy.first() {
        if let Some(span) = p.spans.value("keep").or(p.spans.value("check")) {
            let key = if p.spans.value("keep") == Some(span) { "keep" } else { "check" };
            let entry = p.spans.key(key).map_or(span, |k| k.to(span));
            out.push(
                Diagnostic::new(
                    Code::CopyKeep,
                    span,
                    format!(
                        "policy `{name}` copies to `{}`, which cannot honour `{key}`: rsync keeps a mirror and git every commit",
                        first.value
                    ),
                )
                .label("nothing would prune or check the copy")
                .help(format!("remove `{key}`; to keep dated runs, send the folder to a restic or `dir:` repository"))
                .suggest_removal(entry),
            );
        }
        if !has_folders || p.from.is_empty() || p.paths.is_empty() {
            let missing = if p.from.is_empty() { "from" } else { "paths" };
            out.push(
                Diagnostic::new(
                    Code::CopyPolicyMismatch,
                    first.span,
                    format!("policy `{name}` copies to `{}` but names no `{missing}`", first.value),
                )
                .label("no job would copy anything")
                .help("add the machines under `from:` and their absolute folders under `paths:`"),
            );
        }
        if let Some(o) = other.first() {
            out.push(
                Diagnostic::new(
                    Code::CopyPolicyMismatch,
                    o.span,
                    format!(
                        "policy `{name}` copies folders to `{}` and also writes to `{}`, which takes services' backups",
                        first.value, o.value
                    ),
                )
                .label("this repository gets nothing from the policy's folders")
                .help("give the services' backups a policy of their own"),
            );
        }
    } else if has_folders {
        let span = p.spans.key("from").or(p.spans.key("paths")).unwrap_or_default();
        out.push(
            Diagnostic::new(
                Code::CopyPolicyMismatch,
                span,
                format!("policy `{name}` names folders to copy but writes to no `rsync:` or `git:` repository"),
            )
            .label("nothing would copy these folders")
            .help("send the policy to an `rsync:` or `git:` repository, or back the folders up through a service's `backup: { policy: …, paths: […] }`"),
        );
    }
}

/// A service or guest whose `backup:` names a policy that copies folders: its data would go
/// nowhere, since copy jobs take only the policy's own `from` and `paths`.
fn services_naming_copies(
    spec: &Spec,
    repos: &NamedMap<Repository>,
    policies: &NamedMap<Policy>,
    out: &mut Vec<Diagnostic>,
) {
    for (who, choice) in super::backups::backup_choices(spec) {
        for p in choice.as_ref().map(|c| c.policies()).unwrap_or_default() {
            let Some(policy) = policies.get(&p.policy.value) else { continue };
            let Some(copy) = policy.to.iter().find(|t| repos.get(&t.value).is_some_and(is_copy)) else { continue };
            out.push(
                Diagnostic::new(
                    Code::CopyPolicyMismatch,
                    p.policy.span,
                    format!(
                        "`{who}` is backed up by policy `{}`, which copies folders to `{}` and takes no service or guest",
                        p.policy.value, copy.value
                    ),
                )
                .label("this backup would not run")
                .help("name a policy that writes to a restic, PBS or `dir:` repository; to copy this service's folders, list them under the copying policy's `paths:`"),
            );
        }
    }
}
