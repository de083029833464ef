//! AWS Signature Version 4 for S3 requests (header-based, payload hash signed).
//!
//! Written here rather than taken from an SDK: the store needs six request kinds, and the
//! signing is a page of code checked below against AWS's published examples.

use hmac::{Hmac, KeyInit, Mac};
pub(crate) use riskops_core::encode::hex;
use riskops_core::{Error, Result};
use sha2::{Digest as _, Sha256};

/// SHA-256 of an empty payload, which GET, HEAD and DELETE sign.
pub(crate) const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// What goes into a signature. `headers` must hold every header to sign, with lowercase
/// names, including `host`, `x-amz-date` and `x-amz-content-sha256`.
pub(crate) struct Request<'a> {
    pub method: &'a str,
    /// The URI path exactly as sent (already encoded with [`encode_path`]).
    pub path: &'a str,
    /// The query string exactly as sent (built with [`canonical_query`]).
    pub query: &'a str,
    pub headers: &'a [(String, String)],
    pub payload_sha256: &'a str,
}

pub(crate) struct Key<'a> {
    pub access_key_id: &'a str,
    pub secret_access_key: &'a str,
    pub region: &'a str,
}

/// The `Authorization` header value for `request` at `amz_date` (`20130524T000000Z`).
pub(crate) fn authorization(request: &Request<'_>, key: &Key<'_>, amz_date: &str) -> Result<String> {
    let mut headers: Vec<(&str, String)> =
        request.headers.iter().map(|(name, value)| (name.as_str(), value.trim().to_string())).collect();
    headers.sort_by(|a, b| a.0.cmp(b.0));
    let signed_headers = headers.iter().map(|(name, _)| *name).collect::<Vec<_>>().join(";");
    let canonical_headers: String = headers.iter().map(|(name, value)| format!("{name}:{value}\n")).collect();
    let canonical_request = format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        request.method, request.path, request.query, canonical_headers, signed_headers, request.payload_sha256
    );
    let date = amz_date.get(..8).ok_or_else(|| Error::internal("a SigV4 date must be YYYYMMDDTHHMMSSZ"))?;
    let scope = format!("{date}/{}/s3/aws4_request", key.region);
    let string_to_sign =
        format!("AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}", hex(&Sha256::digest(canonical_request.as_bytes())));
    let mut signing_key = hmac(format!("AWS4{}", key.secret_access_key).as_bytes(), date.as_bytes())?;
    for part in [key.region, "s3", "aws4_request"] {
        signing_key = hmac(&signing_key, part.as_bytes())?;
    }
    let signature = hex(&hmac(&signing_key, string_to_sign.as_bytes())?);
    Ok(format!(
        "AWS4-HMAC-SHA256 Credential={}/{scope},SignedHeaders={signed_headers},Signature={signature}",
        key.access_key_id
    ))
}

fn hmac(key: &[u8], data: &[u8]) -> Result<Vec<u8>> {
    // HMAC takes keys of any length; the error branch exists only in the type.
    let mut mac = Hmac::<Sha256>::new_from_slice(key).map_err(|_| Error::internal("HMAC rejected its key"))?;
    mac.update(data);
    Ok(mac.finalize().into_bytes().to_vec())
}

/// AWS's URI encoding: everything but `A-Z a-z 0-9 - . _ ~` as `%XX` (uppercase), and `/`
/// kept only in paths.
fn encode(text: &str, keep_slash: bool, out: &mut String) {
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') || (keep_slash && b == b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
}

/// A URI path from raw segments (bucket, object key), each encoded, `/` between them kept.
/// S3 signs the path encoded once, as sent.
pub(crate) fn encode_path(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len() + 8);
    encode(raw, true, &mut out);
    out
}

/// The query string, sorted by name then value and fully encoded: used both as sent and
/// as signed, so the two cannot disagree.
pub(crate) fn canonical_query(params: &[(&str, &str)]) -> String {
    let mut encoded: Vec<(String, String)> = params
        .iter()
        .map(|(name, value)| {
            let (mut n, mut v) = (String::new(), String::new());
            encode(name, false, &mut n);
            encode(value, false, &mut v);
            (n, v)
        })
        .collect();
    encoded.sort();
    encoded.iter().map(|(n, v)| format!("{n}={v}")).collect::<Vec<_>>().join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: Key<'static> = Key {
        access_key_id: "AKIAIOSFODNN7EXAMPLE",
        secret_access_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        region: "us-east-1",
    };
    const DATE: &str = "20130524T000000Z";

    fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect()
    }

    // The examples of AWS's "Signature Calculations for the Authorization Header:
    // Transferring Payload in a Single Chunk" (S3 API reference).
    #[test]
    fn get_object_example() {
        let headers = headers(&[
            ("host", "examplebucket.s3.amazonaws.com"),
            ("range", "bytes=0-9"),
            ("x-amz-content-sha256", EMPTY_SHA256),
            ("x-amz-date", DATE),
        ]);
        let request =
            Request { method: "GET", path: "/test.txt", query: "", headers: &headers, payload_sha256: EMPTY_SHA256 };
        assert_eq!(
            authorization(&request, &KEY, DATE).unwrap(),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,\
             SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,\
             Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        );
    }

    #[test]
    fn put_object_example() {
        let body = b"Welcome to Amazon S3.";
        let payload = hex(&Sha256::digest(body));
        let headers = headers(&[
            ("date", "Fri, 24 May 2013 00:00:00 GMT"),
            ("host", "examplebucket.s3.amazonaws.com"),
            ("x-amz-content-sha256", &payload),
            ("x-amz-date", DATE),
            ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
        ]);
        let path = encode_path("/test$file.text");
        assert_eq!(path, "/test%24file.text");
        let request = Request { method: "PUT", path: &path, query: "", headers: &headers, payload_sha256: &payload };
        assert!(
            authorization(&request, &KEY, DATE)
                .unwrap()
                .ends_with("Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd")
        );
    }

    #[test]
    fn list_objects_example() {
        let query = canonical_query(&[("prefix", "J"), ("max-keys", "2")]);
        assert_eq!(query, "max-keys=2&prefix=J");
        let headers = headers(&[
            ("host", "examplebucket.s3.amazonaws.com"),
            ("x-amz-content-sha256", EMPTY_SHA256),
            ("x-amz-date", DATE),
        ]);
        let request =
            Request { method: "GET", path: "/", query: &query, headers: &headers, payload_sha256: EMPTY_SHA256 };
        assert!(
            authorization(&request, &KEY, DATE)
                .unwrap()
                .ends_with("Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7")
        );
    }

    #[test]
    fn encoding_follows_aws_rules() {
        assert_eq!(encode_path("/b/a b+c~d/é"), "/b/a%20b%2Bc~d/%C3%A9");
        assert_eq!(
            canonical_query(&[("uploadId", "a/b+c="), ("partNumber", "2")]),
            "partNumber=2&uploadId=a%2Fb%2Bc%3D"
        );
        assert_eq!(canonical_query(&[("uploads", "")]), "uploads=");
    }
}
