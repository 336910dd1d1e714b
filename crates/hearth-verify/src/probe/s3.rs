//! S3: an AWS SigV4-signed `ListObjectsV2` (`max-keys=1`) of a bucket, path-style, over plain
//! HTTP to the address with the given `Host` header (the probe reaches MinIO or Garage directly
//! or through an SSH forward, not through the TLS proxy).
//!
//! The signer follows AWS's "Signature Version 4 for S3" (header-based, unsigned-payload hash of
//! the empty body) and is tested against the examples AWS publishes for it. S3's error codes
//! tell the failures apart: `InvalidAccessKeyId` and `SignatureDoesNotMatch` (credentials),
//! `AccessDenied` (a policy), `NoSuchBucket`.

use std::net::SocketAddr;
use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use super::clock::Utc;
use super::{ProbeError, Secret, tidy, web, within};

/// SHA-256 of the empty payload.
const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// A bucket and the credentials to read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bucket {
    /// The `Host` header (and signed host): the endpoint's name and port as clients use it.
    pub host: String,
    /// The signing region (`us-east-1` for MinIO unless configured).
    pub region: String,
    pub bucket: String,
    pub access_key: String,
    pub secret_key: Secret,
}

/// What the listing returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    /// `KeyCount` of the answer (0 or 1 with `max-keys=1`).
    pub key_count: u32,
}

/// Lists at most one key of the bucket.
pub async fn list(addr: SocketAddr, bucket: &Bucket, timeout: Duration) -> Result<Listing, ProbeError> {
    within(addr, timeout, run(addr, bucket, timeout)).await
}

async fn run(addr: SocketAddr, bucket: &Bucket, timeout: Duration) -> Result<Listing, ProbeError> {
    let date = Utc::now().amz();
    let path = format!("/{}", uri_encode(&bucket.bucket, false));
    let query = [("list-type", "2"), ("max-keys", "1")];
    let headers =
        [("host", bucket.host.as_str()), ("x-amz-content-sha256", EMPTY_SHA256), ("x-amz-date", date.as_str())];
    let request = Request { method: "GET", path: &path, query: &query, headers: &headers, payload_hash: EMPTY_SHA256 };
    let signer = Signer {
        access_key: &bucket.access_key,
        secret_key: bucket.secret_key.expose(),
        region: &bucket.region,
        service: "s3",
    };
    let authorization = signer.authorization(&date, &request);
    let url = format!("http://{addr}{path}?{}", canonical_query(&query));
    let response = web::plain(timeout)?
        .get(url)
        .header("host", &bucket.host)
        .header("x-amz-content-sha256", EMPTY_SHA256)
        .header("x-amz-date", &date)
        .header("authorization", authorization)
        .send()
        .await
        .map_err(|e| web::failed(addr, timeout, e))?;
    let status = response.status();
    let body = response.text().await.map_err(|e| web::failed(addr, timeout, e))?;
    if status.is_success() {
        let key_count = element(&body, "KeyCount").and_then(|k| k.parse().ok()).unwrap_or(0);
        return Ok(Listing { key_count });
    }
    let code = element(&body, "Code").unwrap_or_default();
    let message = element(&body, "Message").unwrap_or_default();
    let reason = format!("{status} {code}: {}", tidy(&message));
    let user = bucket.access_key.clone();
    Err(match code.as_str() {
        "InvalidAccessKeyId" | "SignatureDoesNotMatch" | "InvalidToken" => ProbeError::Auth { user, reason },
        "AccessDenied" | "AllAccessDisabled" => ProbeError::Denied { user, reason },
        "NoSuchBucket" => ProbeError::Missing { name: bucket.bucket.clone(), reason },
        _ => ProbeError::Protocol(format!("S3 refused the listing of `{}`: {reason}", bucket.bucket)),
    })
}

/// The text of the first `<name>…</name>` of an XML answer (S3's answers are flat enough).
fn element(xml: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let start = xml.find(&open)? + open.len();
    let end = start + xml[start..].find(&format!("</{name}>"))?;
    Some(xml[start..end].to_string())
}

/// A request as SigV4 sees it. Header names are lower case; every header given is signed.
struct Request<'a> {
    method: &'a str,
    /// The URI-encoded path.
    path: &'a str,
    query: &'a [(&'a str, &'a str)],
    headers: &'a [(&'a str, &'a str)],
    payload_hash: &'a str,
}

/// Credentials and scope.
struct Signer<'a> {
    access_key: &'a str,
    secret_key: &'a str,
    region: &'a str,
    service: &'a str,
}

impl Signer<'_> {
    /// The `Authorization` header value for a request made at `amz_date` (`YYYYMMDDTHHMMSSZ`).
    fn authorization(&self, amz_date: &str, request: &Request<'_>) -> String {
        let day = &amz_date[..8];
        let mut headers: Vec<(String, String)> =
            request.headers.iter().map(|(k, v)| (k.to_ascii_lowercase(), v.trim().to_string())).collect();
        headers.sort();
        let signed: Vec<&str> = headers.iter().map(|(k, _)| k.as_str()).collect();
        let signed = signed.join(";");
        let canonical_headers: String = headers.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
        let canonical = format!(
            "{}\n{}\n{}\n{canonical_headers}\n{signed}\n{}",
            request.method,
            request.path,
            canonical_query(request.query),
            request.payload_hash
        );
        let scope = format!("{day}/{}/{}/aws4_request", self.region, self.service);
        let to_sign = format!("AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}", hex(&Sha256::digest(canonical)));
        let key = [day, self.region, self.service, "aws4_request"]
            .iter()
            .fold(format!("AWS4{}", self.secret_key).into_bytes(), |key, part| hmac(&key, part.as_bytes()));
        let signature = hex(&hmac(&key, to_sign.as_bytes()));
        format!("AWS4-HMAC-SHA256 Credential={}/{scope},SignedHeaders={signed},Signature={signature}", self.access_key)
    }
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Sorted `key=value` pairs, both URI-encoded.
fn canonical_query(query: &[(&str, &str)]) -> String {
    let mut pairs: Vec<(String, String)> =
        query.iter().map(|(k, v)| (uri_encode(k, true), uri_encode(v, true))).collect();
    pairs.sort();
    pairs.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&")
}

/// AWS's URI encoding: every byte but the unreserved characters as `%XX`; `/` kept in paths.
fn uri_encode(text: &str, encode_slash: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            b'/' if !encode_slash => out.push('/'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The credentials of AWS's SigV4 examples for S3 (documentation values, not a secret).
    fn example() -> Signer<'static> {
        Signer {
            access_key: "AKIAIOSFODNN7EXAMPLE",
            secret_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            region: "us-east-1",
            service: "s3",
        }
    }

    fn signature(authorization: &str) -> &str {
        authorization.rsplit("Signature=").next().unwrap()
    }

    const HOST: &str = "examplebucket.s3.amazonaws.com";
    const DATE: &str = "20130524T000000Z";

    /// "Example: GET Bucket (List Objects)": two query parameters, signed sorted.
    #[test]
    fn aws_list_objects_example() {
        let headers = [("host", HOST), ("x-amz-content-sha256", EMPTY_SHA256), ("x-amz-date", DATE)];
        let request = Request {
            method: "GET",
            path: "/",
            query: &[("prefix", "J"), ("max-keys", "2")],
            headers: &headers,
            payload_hash: EMPTY_SHA256,
        };
        let auth = example().authorization(DATE, &request);
        assert_eq!(signature(&auth), "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
        assert!(auth.starts_with(
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,\
             SignedHeaders=host;x-amz-content-sha256;x-amz-date,"
        ));
    }

    /// "Example: GET Object": an extra signed header (`Range`), no query.
    #[test]
    fn aws_get_object_example() {
        let headers =
            [("Host", HOST), ("Range", "bytes=0-9"), ("x-amz-content-sha256", EMPTY_SHA256), ("x-amz-date", DATE)];
        let request =
            Request { method: "GET", path: "/test.txt", query: &[], headers: &headers, payload_hash: EMPTY_SHA256 };
        assert_eq!(
            signature(&example().authorization(DATE, &request)),
            "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        );
    }

    /// "Example: GET Bucket Lifecycle": a query parameter without a value signs as `lifecycle=`.
    #[test]
    fn aws_get_bucket_lifecycle_example() {
        let headers = [("host", HOST), ("x-amz-content-sha256", EMPTY_SHA256), ("x-amz-date", DATE)];
        let request = Request {
            method: "GET",
            path: "/",
            query: &[("lifecycle", "")],
            headers: &headers,
            payload_hash: EMPTY_SHA256,
        };
        assert_eq!(
            signature(&example().authorization(DATE, &request)),
            "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"
        );
    }

    #[test]
    fn encoding_keeps_only_unreserved_characters() {
        assert_eq!(uri_encode("a-b_c.d~e", true), "a-b_c.d~e");
        assert_eq!(uri_encode("a b/c+d=é", true), "a%20b%2Fc%2Bd%3D%C3%A9");
        assert_eq!(uri_encode("a b/c", false), "a%20b/c");
    }

    #[test]
    fn errors_are_read_from_the_xml_answer() {
        let xml = "<?xml version=\"1.0\"?><Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message></Error>";
        assert_eq!(element(xml, "Code").as_deref(), Some("NoSuchBucket"));
        assert_eq!(element(xml, "KeyCount"), None);
    }
}
