//! Where the bucket is and how to sign for it: `s3://bucket/prefix` plus the usual AWS
//! environment variables, checked before any request is made.

use crate::credentials::CredentialSource;
use http::uri::{Scheme, Uri};
use riskops_core::secret::Secret;
use riskops_core::{Error, Result};

/// The region AWS tools assume when none is configured.
pub const DEFAULT_REGION: &str = "us-east-1";

/// How to reach one bucket. Build it with [`S3Config::from_url`] (URL plus process
/// environment) or [`S3Config::new`] plus the `with_*` methods; the fields are public so a
/// caller can also fill them from its own configuration file.
///
/// `Debug` is safe to log: the secret key and session token are [`Secret`]s.
#[derive(Debug, Clone)]
pub struct S3Config {
    /// The bucket name (`my-artifacts`).
    pub bucket: String,
    /// Key prefix under which objects are laid out, without leading or trailing `/`; may be
    /// empty. Lets several deployments share one bucket.
    pub prefix: String,
    /// An S3-compatible endpoint (`http://127.0.0.1:9000`, MinIO, Ceph); requests then use
    /// path-style addressing (`<endpoint>/<bucket>/<key>`), which every such server accepts.
    /// `None` means AWS S3 itself, addressed virtual-host style.
    pub endpoint: Option<String>,
    /// The signing region (`us-east-1` unless configured).
    pub region: String,
    /// With `secret_access_key`, signs every request (SigV4). Neither set means anonymous
    /// requests, for public or policy-opened buckets.
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<Secret<String>>,
    /// For temporary credentials (STS, SSO).
    pub session_token: Option<Secret<String>>,
    /// Where keys come from when they are not the three fields above: a web identity or the
    /// instance metadata service, fetched and renewed by the client.
    pub credential_source: CredentialSource,
    /// Permits an `http://` endpoint. Off unless asked for (`AWS_ALLOW_HTTP=true`), so that
    /// artifacts and signed requests never travel in clear by a typo in a URL.
    pub allow_http: bool,
}

impl S3Config {
    /// A bucket on AWS S3 in the default region, anonymous, no prefix.
    pub fn new(bucket: impl Into<String>) -> Self {
        S3Config {
            bucket: bucket.into(),
            prefix: String::new(),
            endpoint: None,
            region: DEFAULT_REGION.to_string(),
            access_key_id: None,
            secret_access_key: None,
            session_token: None,
            credential_source: CredentialSource::Static,
            allow_http: false,
        }
    }

    /// `s3://bucket[/prefix]`, completed from the process environment: `AWS_ENDPOINT_URL_S3`,
    /// `AWS_ENDPOINT_URL` or `AWS_ENDPOINT`; `AWS_REGION` or `AWS_DEFAULT_REGION`;
    /// credentials as AWS's SDKs find them (see [`crate::credentials`]: keys in the
    /// environment, a web identity token, the shared profile files, the instance metadata
    /// service); `AWS_ALLOW_HTTP`.
    pub fn from_url(url: &str) -> Result<Self> {
        Self::from_url_and_env(url, |name| std::env::var(name).ok())
    }

    /// As [`S3Config::from_url`], reading variables through `env` (for tests and for
    /// callers that keep settings elsewhere). Empty values count as unset.
    pub fn from_url_and_env(url: &str, env: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let var = |name: &str| env(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let rest = url
            .strip_prefix("s3://")
            .ok_or_else(|| Error::invalid("artifact store URL", "must look like s3://bucket or s3://bucket/prefix"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let mut config = S3Config::new(bucket);
        config.prefix = prefix.trim_matches('/').to_string();
        config.endpoint =
            var("AWS_ENDPOINT_URL_S3").or_else(|| var("AWS_ENDPOINT_URL")).or_else(|| var("AWS_ENDPOINT"));
        if let Some(region) = var("AWS_REGION").or_else(|| var("AWS_DEFAULT_REGION")) {
            config.region = region;
        }
        let resolved = crate::credentials::resolve(&var, config.endpoint.is_some())?;
        if let Some(keys) = resolved.keys {
            config.access_key_id = Some(keys.access_key_id);
            config.secret_access_key = Some(keys.secret_access_key);
            config.session_token = keys.session_token;
        }
        if let Some(region) = resolved.region
            && var("AWS_REGION").or_else(|| var("AWS_DEFAULT_REGION")).is_none()
        {
            config.region = region;
        }
        config.credential_source = resolved.source.unwrap_or(CredentialSource::Static);
        config.allow_http =
            var("AWS_ALLOW_HTTP").is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "true" | "1" | "yes"));
        config.validate()?;
        Ok(config)
    }

    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into().trim_matches('/').to_string();
        self
    }

    /// An S3-compatible endpoint; `http://` ones also need [`S3Config::with_allow_http`].
    pub fn with_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = Some(endpoint.into());
        self
    }

    pub fn with_region(mut self, region: impl Into<String>) -> Self {
        self.region = region.into();
        self
    }

    pub fn with_credentials(mut self, access_key_id: impl Into<String>, secret_access_key: impl Into<String>) -> Self {
        self.access_key_id = Some(access_key_id.into());
        self.secret_access_key = Some(Secret::new(secret_access_key.into()));
        self
    }

    pub fn with_session_token(mut self, token: impl Into<String>) -> Self {
        self.session_token = Some(Secret::new(token.into()));
        self
    }

    pub fn with_allow_http(mut self, allow: bool) -> Self {
        self.allow_http = allow;
        self
    }

    /// Checks everything that can be checked without a request; every message names the
    /// setting at fault and never a credential.
    pub fn validate(&self) -> Result<()> {
        self.target().map(|_| ())
    }

    /// The endpoint as shown in messages: scheme and host only.
    pub fn endpoint_display(&self) -> String {
        match self.target() {
            Ok(target) => target.display(),
            Err(_) => "<invalid endpoint>".to_string(),
        }
    }

    /// `s3://bucket/prefix`, for logs and health output.
    pub fn location(&self) -> String {
        if self.prefix.is_empty() {
            format!("s3://{}", self.bucket)
        } else {
            format!("s3://{}/{}", self.bucket, self.prefix)
        }
    }

    pub(crate) fn target(&self) -> Result<Target> {
        check_bucket(&self.bucket)?;
        if self.region.is_empty()
            || !self.region.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(Error::invalid("AWS_REGION", "must be a region name such as us-east-1"));
        }
        match (&self.access_key_id, &self.secret_access_key) {
            (Some(_), None) | (None, Some(_)) => {
                return Err(Error::invalid(
                    "AWS_SECRET_ACCESS_KEY",
                    "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together",
                ));
            }
            _ => {}
        }
        let Some(endpoint) = &self.endpoint else {
            // Dotted bucket names do not match the wildcard certificate of virtual-host
            // addressing, so AWS itself must be addressed path-style for them.
            let path_style = self.bucket.contains('.');
            let authority = if path_style {
                format!("s3.{}.amazonaws.com", self.region)
            } else {
                format!("{}.s3.{}.amazonaws.com", self.bucket, self.region)
            };
            return Ok(Target { https: true, authority, base_path: String::new(), path_style });
        };
        let uri: Uri = endpoint.parse().map_err(|_| {
            Error::invalid("AWS_ENDPOINT_URL", "must be a URL such as https://s3.example.com or http://127.0.0.1:9000")
        })?;
        let https = match uri.scheme() {
            Some(s) if *s == Scheme::HTTPS => true,
            Some(s) if *s == Scheme::HTTP => false,
            _ => return Err(Error::invalid("AWS_ENDPOINT_URL", "must start with https:// or http://")),
        };
        let authority =
            uri.authority().ok_or_else(|| Error::invalid("AWS_ENDPOINT_URL", "must name a host"))?.as_str().to_string();
        if authority.contains('@') {
            // Never echo the URL: what precedes '@' is a credential.
            return Err(Error::invalid(
                "AWS_ENDPOINT_URL",
                "must not contain credentials; use AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
            ));
        }
        if uri.query().is_some() {
            return Err(Error::invalid("AWS_ENDPOINT_URL", "must not contain a query string"));
        }
        let target =
            Target { https, authority, base_path: uri.path().trim_end_matches('/').to_string(), path_style: true };
        if !https && !self.allow_http {
            return Err(Error::invalid(
                "AWS_ALLOW_HTTP",
                format!("the endpoint {} is plain HTTP; set AWS_ALLOW_HTTP=true to allow it", target.display()),
            ));
        }
        Ok(target)
    }
}

/// AWS's bucket naming rules (the subset every S3-compatible server accepts).
fn check_bucket(bucket: &str) -> Result<()> {
    let ok_chars = bucket.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
    let ok_ends = bucket.starts_with(|c: char| c.is_ascii_alphanumeric())
        && bucket.ends_with(|c: char| c.is_ascii_alphanumeric());
    if (3..=63).contains(&bucket.len()) && ok_chars && ok_ends && !bucket.contains("..") {
        Ok(())
    } else {
        Err(Error::invalid(
            "bucket",
            "must be 3 to 63 lowercase letters, digits, '-' or '.', starting and ending with a letter or digit",
        ))
    }
}

/// The resolved address of the bucket.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub https: bool,
    /// `host[:port]`, sent as the Host header and signed.
    pub authority: String,
    /// A path the endpoint lives under (`/s3` behind a reverse proxy), or empty.
    pub base_path: String,
    /// `<endpoint>/<bucket>/<key>` rather than `<bucket>.<host>/<key>`.
    pub path_style: bool,
}

impl Target {
    pub fn display(&self) -> String {
        format!("{}://{}{}", if self.https { "https" } else { "http" }, self.authority, self.base_path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
    }

    #[test]
    fn urls_and_environment_are_read() {
        let config = S3Config::from_url_and_env(
            "s3://my-bucket/team/artifacts/",
            env(&[
                ("AWS_ENDPOINT_URL", "http://127.0.0.1:9000"),
                ("AWS_DEFAULT_REGION", "eu-west-3"),
                ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
                ("AWS_SECRET_ACCESS_KEY", "hunter2-secret"),
                ("AWS_SESSION_TOKEN", "token-secret"),
                ("AWS_ALLOW_HTTP", "TRUE"),
            ]),
        )
        .unwrap();
        assert_eq!(config.bucket, "my-bucket");
        assert_eq!(config.prefix, "team/artifacts");
        assert_eq!(config.region, "eu-west-3");
        assert_eq!(config.endpoint_display(), "http://127.0.0.1:9000");
        assert!(config.target().unwrap().path_style);
        let debug = format!("{config:?}");
        assert!(!debug.contains("hunter2") && !debug.contains("token-secret"), "{debug}");

        let aws = S3Config::from_url_and_env("s3://plain", env(&[])).unwrap();
        assert_eq!((aws.prefix.as_str(), aws.region.as_str()), ("", DEFAULT_REGION));
        let target = aws.target().unwrap();
        assert_eq!(target.authority, "plain.s3.us-east-1.amazonaws.com");
        assert!(target.https && !target.path_style);
    }

    #[test]
    fn bad_settings_are_refused_without_echoing_secrets() {
        let refused = |url: &str, pairs: &'static [(&'static str, &'static str)]| {
            S3Config::from_url_and_env(url, env(pairs)).unwrap_err().message
        };
        assert!(refused("https://bucket", &[]).contains("s3://bucket"));
        assert!(refused("s3://B", &[]).starts_with("bucket:"));
        assert!(refused("s3://bucket", &[("AWS_ENDPOINT_URL", "http://127.0.0.1:9000")]).contains("AWS_ALLOW_HTTP"));
        assert!(refused("s3://bucket", &[("AWS_ACCESS_KEY_ID", "AKID")]).contains("together"));
        let message = refused("s3://bucket", &[("AWS_ENDPOINT_URL", "https://user:s3cr3t@minio.local")]);
        assert!(!message.contains("s3cr3t"), "{message}");
    }
}
