//! `probe::s3` against moto's S3 server (PyPI `moto[server]`), which checks SigV4 signatures and
//! IAM policies once its initial unauthenticated actions are used up: a listing that works, a
//! wrong secret key, an unknown access key, a bucket the policy does not cover and a bucket that
//! does not exist.

use std::process::Command;

use hearth_verify::probe::ProbeError;
use hearth_verify::probe::s3::{Bucket, list};

use super::common::{self, Server, TIMEOUT, TempDir};

/// The unauthenticated setup: a user, its key, its policy, two buckets and one object (seven
/// actions, the number moto is told to let through before it checks signatures).
const SETUP: &str = r#"
import boto3, json, sys
endpoint = sys.argv[1]
common = dict(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="setup", aws_secret_access_key="setup")
iam = boto3.client("iam", **common)
iam.create_user(UserName="probe")
key = iam.create_access_key(UserName="probe")["AccessKey"]
policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket",
          "Resource": ["arn:aws:s3:::probe-bucket", "arn:aws:s3:::absent-bucket"]}]}
iam.put_user_policy(UserName="probe", PolicyName="list", PolicyDocument=json.dumps(policy))
s3 = boto3.client("s3", **common)
s3.create_bucket(Bucket="probe-bucket")
s3.create_bucket(Bucket="other-bucket")
s3.put_object(Bucket="probe-bucket", Key="a", Body=b"x")
s3.put_object(Bucket="probe-bucket", Key="b", Body=b"y")
print(key["AccessKeyId"], key["SecretAccessKey"])
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moto_checks_the_signed_listing() {
    let Some(moto) = common::program("moto_server", &[]) else { return };
    let dir = TempDir::new("moto");
    let port = common::free_port();
    let mut command = Command::new(moto);
    command.args(["-H", "127.0.0.1", "-p", &port.to_string()]).env("INITIAL_NO_AUTH_ACTION_COUNT", "7");
    let mut server = Server::start("moto_server", command, dir.path().join("log"));
    server.wait_for(port);
    let endpoint = format!("http://127.0.0.1:{port}");
    let keys = common::run_ok(Command::new("python3").args(["-c", SETUP, &endpoint]), "moto setup");
    let (access_key, secret_key) = keys.trim().split_once(' ').expect("access key and secret");
    let addr = common::loopback(port);
    let bucket = |name: &str, access: &str, secret: &str| Bucket {
        host: format!("127.0.0.1:{port}"),
        region: "us-east-1".into(),
        bucket: name.into(),
        access_key: access.into(),
        secret_key: secret.into(),
    };

    let listing = list(addr, &bucket("probe-bucket", access_key, secret_key), TIMEOUT).await.unwrap();
    assert_eq!(listing.key_count, 1, "max-keys=1 caps the listing");

    let wrong = list(addr, &bucket("probe-bucket", access_key, "not-the-secret"), TIMEOUT).await.unwrap_err();
    assert!(matches!(wrong, ProbeError::Auth { .. }), "{wrong}\n{}", server.log());
    assert!(wrong.to_string().contains("SignatureDoesNotMatch"), "{wrong}");

    let unknown = list(addr, &bucket("probe-bucket", "AKIAUNKNOWNKEY000000", secret_key), TIMEOUT).await.unwrap_err();
    assert!(matches!(unknown, ProbeError::Auth { .. }), "{unknown}");
    assert!(unknown.to_string().contains("InvalidAccessKeyId"), "{unknown}");

    let denied = list(addr, &bucket("other-bucket", access_key, secret_key), TIMEOUT).await.unwrap_err();
    assert!(matches!(denied, ProbeError::Denied { .. }), "{denied}");

    let missing = list(addr, &bucket("absent-bucket", access_key, secret_key), TIMEOUT).await.unwrap_err();
    assert!(matches!(missing, ProbeError::Missing { ref name, .. } if name == "absent-bucket"), "{missing}");

    for e in [&wrong, &unknown, &denied, &missing] {
        assert!(!format!("{e} {e:?}").contains(secret_key), "{e:?}");
    }
    drop(server);
}
