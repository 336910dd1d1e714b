//! Shell text: quoting words for POSIX sh, running a program in a compose service's container
//! (or a cluster service's pod),
//! and environment variable names made from free names.

use hearth_model::model::{CLUSTER_NAMESPACE, Placement, Service};
use hearth_spec::ast::Form;

/// A word for POSIX sh: as is when it only holds safe characters, else single-quoted.
pub fn sh_quote(s: &str) -> String {
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:@%+=,".contains(c)) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// The shell prefix that runs a program in a compose service's container (`-i` in `flags` to
/// pass stdin), or `None` for a native service. On a cluster it is `kubectl exec` into the
/// service's Deployment, run on the control plane (see `kubernetes::relocate`).
pub(crate) fn docker_exec(name: &str, s: &Service, flags: &str) -> Option<String> {
    if matches!(s.on, Placement::Cluster(_)) {
        return Some(format!(
            "{} exec{flags} --namespace={CLUSTER_NAMESPACE} {} --",
            crate::kubernetes::KUBECTL,
            sh_quote(&format!("deployment/{name}"))
        ));
    }
    (s.form == Form::Docker).then(|| {
        format!(
            "docker exec{flags} \"$(docker ps -q --filter label=com.docker.compose.project={} --filter label=com.docker.compose.service={})\"",
            sh_quote(&s.stack),
            sh_quote(name)
        )
    })
}

/// An environment variable name from a free name: `github-runner` -> `GITHUB_RUNNER`.
pub(crate) fn env_name(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect()
}
