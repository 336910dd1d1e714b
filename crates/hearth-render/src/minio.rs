//! MinIO buckets, users and policies per S3 server that has buckets, on the server's machine
//! under `/etc/hearth/minio/`:
//!
//! - `init.sh`: the MinIO client `mc` makes every bucket (`mc mb --ignore-existing`), then per
//!   consumer a policy `hearth-<consumer>` allowing read and write on its own buckets only, a
//!   user named after the consumer (the `access_key` the consumers get) and the attachment.
//!   `mc admin user add` and `mc admin policy create` overwrite, so re-running rotates keys and
//!   updates policies. The alias comes from `MC_HOST_hearth`, built in the script from the root
//!   login, so no `mc` config file holds credentials; the policies go in on stdin.
//! - `credentials.env` (secret, mode 0600): the root login and one `MINIO_SECRET_KEY_<CONSUMER>`
//!   per consumer (the secret `<server>-<consumer>-secret-key`).
//!
//! A native server also gets `/etc/default/minio`, the `EnvironmentFile=` of the unit MinIO's
//! `.deb` installs, which refuses to start without `MINIO_VOLUMES`: the data folder, the listen
//! addresses of both ports (`MINIO_OPTS`) and the service's environment, root login included
//! (secret, mode 0600: systemd reads it as root before starting `minio-user`'s process).
//!
//! For a Docker server `mc` runs inside the container (the image ships it). For a native one it
//! is `mcli` on the PATH, the name MinIO's own client package installs it under (Debian's `mc`
//! is Midnight Commander); `HEARTH_MC` replaces it.

use std::collections::BTreeMap;

use hearth_catalog::Provides;
use hearth_model::model::{Bucket, Service, Template};

use crate::native;
use crate::query::{listen_port, provides};
use crate::reader::Runner;
use crate::shell::{docker_exec, env_name, sh_quote};
use crate::{Activation, Context, File, Kind, Output, fill};

pub fn render(cx: &Context, out: &mut Output) {
    let model = cx.model;
    for (name, s) in &model.services {
        if !provides(cx, s, Provides::S3) {
            continue;
        }
        if let Some(path) = native::config(cx, s).filter(|p| p.starts_with("/etc/default/")) {
            let file = File::new(s.on.name(), path, Kind::EnvSecret, default_env(cx, name, s));
            out.push(Runner::of(cx, name, s).env(file).from(format!("service/{name}")));
        }
        let buckets: Vec<&Bucket> = model.buckets.iter().filter(|b| b.server == *name).collect();
        if buckets.is_empty() {
            continue;
        }
        // Consumer -> its buckets.
        let mut consumers: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for b in &buckets {
            for c in &b.consumers {
                consumers.entry(c.as_str()).or_default().push(b.name.as_str());
            }
        }
        let machine = s.on.name();
        let source = format!("service/{name}");
        let files = [
            File::new(machine, "/etc/hearth/minio/init.sh", Kind::MinioInit, init_sh(name, s, &buckets, &consumers))
                .mode(0o755),
            File::new(
                machine,
                "/etc/hearth/minio/credentials.env",
                Kind::EnvSecret,
                credentials(cx, name, s, &consumers),
            ),
        ];
        for f in files {
            let f = f.activate(Activation::Run { argv: vec!["/bin/sh".into(), "/etc/hearth/minio/init.sh".into()] });
            let f = consumers.keys().fold(f.from(&source), |f, c| f.from(format!("service/{c}")));
            out.push(f);
        }
    }
}

/// `/etc/default/minio`: what MinIO's unit starts the server with (`minio server $MINIO_OPTS
/// $MINIO_VOLUMES`) and the service's environment.
fn default_env(cx: &Context, name: &str, s: &Service) -> String {
    let data = native::data_dir(cx, s).unwrap_or_else(|| "/var/lib/minio".to_string());
    let api = listen_port(s, &["api"]).unwrap_or(9000);
    let console = s.port("console").map_or(9001, |p| p.listen);
    let mut out = format!(
        "# MinIO server `{name}`, rendered by Hearth: the environment of MinIO's minio.service.\n\
         # Secret: keep it mode 0600.\n\
         MINIO_VOLUMES={}\n\
         MINIO_OPTS={}\n",
        sh_quote(&data),
        sh_quote(&format!("--address :{api} --console-address :{console}")),
    );
    let mut env = s.env.clone();
    env.entry("MINIO_ROOT_USER".to_string()).or_insert_with(|| Template::text("admin"));
    env.entry("MINIO_ROOT_PASSWORD".to_string())
        .or_insert_with(|| Template::secret(format!("secret:{name}-root-password")));
    for (var, value) in &env {
        out.push_str(&format!("{var}={}\n", sh_quote(&fill(value, cx.secrets))));
    }
    out
}

/// An IAM policy allowing read and write on the given buckets and nothing else.
pub(crate) fn policy(buckets: &[&str]) -> String {
    let resources: Vec<serde_json::Value> = buckets
        .iter()
        .flat_map(|b| [format!("arn:aws:s3:::{b}"), format!("arn:aws:s3:::{b}/*")])
        .map(serde_json::Value::String)
        .collect();
    let doc = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Action": [
                "s3:GetBucketLocation",
                "s3:ListBucket",
                "s3:ListBucketMultipartUploads",
                "s3:GetObject",
                "s3:PutObject",
                "s3:DeleteObject",
                "s3:AbortMultipartUpload",
                "s3:ListMultipartUploadParts"
            ],
            "Resource": resources,
        }],
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}

fn init_sh(name: &str, s: &Service, buckets: &[&Bucket], consumers: &BTreeMap<&str, Vec<&str>>) -> String {
    let port = listen_port(s, &["api"]).unwrap_or(9000);
    let mc = match docker_exec(name, s, " -i") {
        Some(exec) => exec.replacen("docker exec -i", "docker exec -i -e MC_HOST_hearth", 1) + " mc",
        // Not `mc`: the function is called that, so it would call itself.
        None => "${HEARTH_MC:-mcli}".to_string(),
    };
    let mut sh = format!(
        "#!/bin/sh\n\
         # Buckets, users and policies of MinIO server `{name}`, rendered by Hearth. Idempotent.\n\
         set -eu\n\
         set -a\n\
         . \"${{HEARTH_MINIO_CREDENTIALS:-/etc/hearth/minio/credentials.env}}\"\n\
         set +a\n\
         MC_HOST_hearth=\"http://${{MINIO_ROOT_USER}}:${{MINIO_ROOT_PASSWORD}}@127.0.0.1:{port}\"\n\
         export MC_HOST_hearth\n\
         # Word splitting of the command is wanted: it is a command line.\n\
         # shellcheck disable=SC2086\n\
         mc() {{ {mc} \"$@\"; }}\n\n"
    );
    for b in buckets {
        sh.push_str(&format!("mc mb --ignore-existing {}\n", sh_quote(&format!("hearth/{}", b.name))));
    }
    for (consumer, theirs) in consumers {
        let policy_name = format!("hearth-{consumer}");
        sh.push_str(&format!(
            "\n# {consumer}: read and write on {list}\n\
             mc admin policy create hearth {p} /dev/stdin <<'JSON'\n{json}\nJSON\n\
             mc admin user add hearth {user} \"$MINIO_SECRET_KEY_{var}\"\n\
             # attach refuses a policy that is already attached: that is the state wanted.\n\
             mc admin policy attach hearth {p} --user {user} 2>/dev/null || true\n",
            list = theirs.join(", "),
            p = sh_quote(&policy_name),
            json = policy(theirs),
            user = sh_quote(consumer),
            var = env_name(consumer),
        ));
    }
    sh
}

fn credentials(cx: &Context, name: &str, s: &Service, consumers: &BTreeMap<&str, Vec<&str>>) -> String {
    let user = s.env.get("MINIO_ROOT_USER").map_or_else(|| "admin".to_string(), ToString::to_string);
    let root = s
        .env
        .get("MINIO_ROOT_PASSWORD")
        .cloned()
        .unwrap_or_else(|| Template::secret(format!("secret:{name}-root-password")));
    let mut out = format!(
        "# Logins for MinIO server `{name}`, rendered by Hearth. Secret: keep it mode 0600.\n\
         MINIO_ROOT_USER={}\n\
         MINIO_ROOT_PASSWORD={}\n",
        sh_quote(&user),
        sh_quote(&fill(&root, cx.secrets))
    );
    for consumer in consumers.keys() {
        let key = fill(&Template::secret(format!("secret:{name}-{consumer}-secret-key")), cx.secrets);
        out.push_str(&format!("MINIO_SECRET_KEY_{}={}\n", env_name(consumer), sh_quote(&key)));
    }
    out
}
