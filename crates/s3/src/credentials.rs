//! Where the S3 client's credentials come from, in the order AWS's SDKs look:
//!
//! 1. `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY` (and `AWS_SESSION_TOKEN`): static keys.
//! 2. `AWS_WEB_IDENTITY_TOKEN_FILE` with `AWS_ROLE_ARN` (Kubernetes service accounts, EKS
//!    IRSA): STS `AssumeRoleWithWebIdentity` with the token file's current contents.
//! 3. The shared files' profile (`AWS_PROFILE`, else `default`; `AWS_SHARED_CREDENTIALS_FILE`
//!    and `AWS_CONFIG_FILE`, else `~/.aws/credentials` and `~/.aws/config`): its static keys,
//!    or its `role_arn` with `web_identity_token_file`.
//! 4. The EC2 instance metadata service (IMDSv2) — for AWS S3 itself, or wherever
//!    `AWS_EC2_METADATA_SERVICE_ENDPOINT` points; `AWS_EC2_METADATA_DISABLED=true` skips it.
//!
//! Nothing found: requests go unsigned (public buckets, S3-compatible servers that allow it).
//! Temporary credentials (2 and 4) are fetched when first needed and again five minutes
//! before they expire, so a long-running server never signs with expired ones.

use crate::client::xml_text;
use bytes::Bytes;
use http::{Method, Request};
use http_body_util::{BodyExt, Full};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use riskops_core::secret::Secret;
use riskops_core::{Error, Result};
use std::path::{Path, PathBuf};
use std::time::Duration;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub(crate) type HttpClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// Temporary credentials are renewed this long before they expire.
const RENEW_BEFORE: time::Duration = time::Duration::minutes(5);
/// The instance metadata service is on the local link: it answers at once or not at all.
const IMDS_TIMEOUT: Duration = Duration::from_secs(2);
const STS_TIMEOUT: Duration = Duration::from_secs(15);
/// The address of EC2's instance metadata service.
pub const DEFAULT_IMDS_ENDPOINT: &str = "http://169.254.169.254";

/// Keys to sign with. `Debug` shows the key id only.
#[derive(Clone, PartialEq)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: Secret<String>,
    pub session_token: Option<Secret<String>>,
    /// When temporary credentials stop working; `None` for static keys.
    pub expires: Option<OffsetDateTime>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("expires", &self.expires)
            .finish_non_exhaustive()
    }
}

/// Where credentials come from when they are not static keys in the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialSource {
    /// The configuration's own keys, or none (unsigned requests).
    Static,
    /// STS `AssumeRoleWithWebIdentity` with the token read from `token_file` at each renewal
    /// (the orchestrator rotates it).
    WebIdentity { role_arn: String, token_file: PathBuf, session_name: String, sts_endpoint: String },
    /// EC2's instance metadata service (IMDSv2: a session token first, then the role's keys).
    InstanceMetadata { endpoint: String },
}

impl CredentialSource {
    /// For logs and messages: where the keys come from, never the keys.
    pub fn describe(&self) -> String {
        match self {
            CredentialSource::Static => "the configured keys".to_string(),
            CredentialSource::WebIdentity { role_arn, .. } => format!("role {role_arn} by web identity (STS)"),
            CredentialSource::InstanceMetadata { endpoint } => format!("the instance metadata service at {endpoint}"),
        }
    }
}

/// What the environment and the shared files say, before anything is fetched.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Resolved {
    pub keys: Option<Credentials>,
    pub source: Option<CredentialSource>,
    /// The profile's region, used when no `AWS_REGION` is set.
    pub region: Option<String>,
}

/// Steps 1 to 4 of the module's order, reading variables through `var` (empty counts as
/// unset) and the shared files from disk. `custom_endpoint`: the bucket is not on AWS S3.
pub(crate) fn resolve(var: &dyn Fn(&str) -> Option<String>, custom_endpoint: bool) -> Result<Resolved> {
    let region_hint = var("AWS_REGION").or_else(|| var("AWS_DEFAULT_REGION"));
    let sts_endpoint = |region: Option<&str>| {
        var("AWS_ENDPOINT_URL_STS").unwrap_or_else(|| match region {
            Some(region) => format!("https://sts.{region}.amazonaws.com"),
            None => "https://sts.amazonaws.com".to_string(),
        })
    };
    let session_name = || var("AWS_ROLE_SESSION_NAME").unwrap_or_else(|| "riskops".to_string());
    if let Some(access_key_id) = var("AWS_ACCESS_KEY_ID") {
        let Some(secret) = var("AWS_SECRET_ACCESS_KEY") else {
            return Err(Error::invalid(
                "AWS_SECRET_ACCESS_KEY",
                "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together",
            ));
        };
        let keys = Credentials {
            access_key_id,
            secret_access_key: Secret::new(secret),
            session_token: var("AWS_SESSION_TOKEN").map(Secret::new),
            expires: None,
        };
        return Ok(Resolved { keys: Some(keys), source: Some(CredentialSource::Static), region: None });
    }
    if var("AWS_SECRET_ACCESS_KEY").is_some() {
        return Err(Error::invalid(
            "AWS_SECRET_ACCESS_KEY",
            "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together",
        ));
    }
    if let (Some(token_file), Some(role_arn)) = (var("AWS_WEB_IDENTITY_TOKEN_FILE"), var("AWS_ROLE_ARN")) {
        let source = CredentialSource::WebIdentity {
            role_arn,
            token_file: PathBuf::from(token_file),
            session_name: session_name(),
            sts_endpoint: sts_endpoint(region_hint.as_deref()),
        };
        return Ok(Resolved { keys: None, source: Some(source), region: None });
    }
    if let Some(profile) = read_profile(var)? {
        let region = profile.get("region");
        if let (Some(id), Some(secret)) = (profile.get("aws_access_key_id"), profile.get("aws_secret_access_key")) {
            let keys = Credentials {
                access_key_id: id,
                secret_access_key: Secret::new(secret),
                session_token: profile.get("aws_session_token").map(Secret::new),
                expires: None,
            };
            return Ok(Resolved { keys: Some(keys), source: Some(CredentialSource::Static), region });
        }
        if let (Some(role_arn), Some(token_file)) = (profile.get("role_arn"), profile.get("web_identity_token_file")) {
            let source = CredentialSource::WebIdentity {
                role_arn,
                token_file: PathBuf::from(token_file),
                session_name: profile.get("role_session_name").unwrap_or_else(session_name),
                sts_endpoint: sts_endpoint(region_hint.as_deref().or(region.as_deref())),
            };
            return Ok(Resolved { keys: None, source: Some(source), region });
        }
        if profile.explicit {
            let kind = ["sso_session", "sso_start_url", "credential_process", "source_profile"]
                .into_iter()
                .find(|k| profile.get(k).is_some());
            let message = match kind {
                Some(kind) => format!(
                    "profile {:?} gets its keys through {kind}, which riskops does not run: export the keys \
                     (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN) or use a profile with them",
                    profile.name
                ),
                None => format!("profile {:?} has no aws_access_key_id and aws_secret_access_key", profile.name),
            };
            return Err(Error::invalid("AWS_PROFILE", message));
        }
        if region.is_some() {
            // The default profile may hold only a region; keys then come from further down.
            let rest = Resolved { region, ..instance_metadata(var, custom_endpoint) };
            return Ok(rest);
        }
    }
    Ok(instance_metadata(var, custom_endpoint))
}

fn instance_metadata(var: &dyn Fn(&str) -> Option<String>, custom_endpoint: bool) -> Resolved {
    let disabled = var("AWS_EC2_METADATA_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let endpoint = var("AWS_EC2_METADATA_SERVICE_ENDPOINT");
    // Off AWS (a MinIO, a moto), asking a metadata service that is not there would only
    // delay the start: it is asked only for AWS S3 itself, or where it is named.
    if disabled || (custom_endpoint && endpoint.is_none()) {
        return Resolved::default();
    }
    let endpoint = endpoint.unwrap_or_else(|| DEFAULT_IMDS_ENDPOINT.to_string()).trim_end_matches('/').to_string();
    Resolved { keys: None, source: Some(CredentialSource::InstanceMetadata { endpoint }), region: None }
}

/// One profile's settings, from the credentials file and the config file (credentials win).
struct Profile {
    name: String,
    /// Named by `AWS_PROFILE`, not the implicit `default`: missing keys are then an error.
    explicit: bool,
    values: Vec<(String, String)>,
}

impl Profile {
    fn get(&self, key: &str) -> Option<String> {
        self.values.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone()).filter(|v| !v.is_empty())
    }
}

fn read_profile(var: &dyn Fn(&str) -> Option<String>) -> Result<Option<Profile>> {
    let explicit = var("AWS_PROFILE");
    let name = explicit.clone().unwrap_or_else(|| "default".to_string());
    let home = var("HOME").map(PathBuf::from);
    let file = |variable: &str, default: &str| {
        var(variable).map(PathBuf::from).or_else(|| home.as_ref().map(|h| h.join(".aws").join(default)))
    };
    let credentials = file("AWS_SHARED_CREDENTIALS_FILE", "credentials");
    let config = file("AWS_CONFIG_FILE", "config");
    let mut values = Vec::new();
    let mut found = false;
    if let Some(path) = &credentials
        && let Some(text) = read_optional(path)?
        && let Some(section) = ini_section(&text, &name)
    {
        found = true;
        values.extend(section);
    }
    // The config file names profiles `[profile x]`, except the default one.
    let config_name = if name == "default" { name.clone() } else { format!("profile {name}") };
    if let Some(path) = &config
        && let Some(text) = read_optional(path)?
        && let Some(section) = ini_section(&text, &config_name)
    {
        found = true;
        values.extend(section);
    }
    match (found, explicit.is_some()) {
        (true, _) => Ok(Some(Profile { name, explicit: explicit.is_some(), values })),
        (false, true) => Err(Error::invalid(
            "AWS_PROFILE",
            format!(
                "profile {name:?} is in neither {} nor {}",
                credentials.map_or_else(|| "~/.aws/credentials".into(), |p| p.display().to_string()),
                config.map_or_else(|| "~/.aws/config".into(), |p| p.display().to_string())
            ),
        )),
        (false, false) => Ok(None),
    }
}

fn read_optional(path: &Path) -> Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::invalid("AWS_SHARED_CREDENTIALS_FILE", format!("cannot read {}: {e}", path.display()))),
    }
}

/// The `key = value` lines of section `[name]` of an INI file as AWS writes them (comments
/// with `#` or `;`, keys lower-cased, nested `s3 =` blocks skipped), or `None` without it.
fn ini_section(text: &str, name: &str) -> Option<Vec<(String, String)>> {
    let mut inside = false;
    let mut found = false;
    let mut values = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        if let Some(header) = trimmed.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
            inside = header.trim() == name;
            found |= inside;
            continue;
        }
        // Indented lines belong to a nested block (`s3 =` settings): not credentials.
        if !inside || line.starts_with([' ', '\t']) {
            continue;
        }
        if let Some((key, value)) = trimmed.split_once('=') {
            values.push((key.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
    }
    found.then_some(values)
}

/// The keys to sign with now: fetched from the source and kept until shortly before they
/// expire. Shared by every clone of a client.
#[derive(Debug)]
pub(crate) struct CredentialCache {
    source: CredentialSource,
    keys: tokio::sync::Mutex<Option<Credentials>>,
}

impl CredentialCache {
    pub fn new(source: CredentialSource, keys: Option<Credentials>) -> Self {
        CredentialCache { source, keys: tokio::sync::Mutex::new(keys) }
    }

    pub fn source(&self) -> &CredentialSource {
        &self.source
    }

    /// The keys to sign a request made at `now` with; `None`: unsigned.
    pub async fn get(&self, http: &HttpClient, now: OffsetDateTime) -> Result<Option<Credentials>> {
        let mut keys = self.keys.lock().await;
        let fresh = |k: &Credentials| k.expires.is_none_or(|at| at - now > RENEW_BEFORE);
        if self.source == CredentialSource::Static || keys.as_ref().is_some_and(fresh) {
            return Ok(keys.clone());
        }
        let fetched = match &self.source {
            CredentialSource::Static => return Ok(keys.clone()),
            CredentialSource::WebIdentity { role_arn, token_file, session_name, sts_endpoint } => {
                web_identity(http, role_arn, token_file, session_name, sts_endpoint).await?
            }
            CredentialSource::InstanceMetadata { endpoint } => instance_keys(http, endpoint).await?,
        };
        tracing::info!(source = %self.source.describe(), expires = ?fetched.expires, "S3 credentials renewed");
        *keys = Some(fetched.clone());
        Ok(Some(fetched))
    }
}

/// `AssumeRoleWithWebIdentity`: an unsigned form POST to STS with the token file's contents.
async fn web_identity(
    http: &HttpClient,
    role_arn: &str,
    token_file: &Path,
    session_name: &str,
    sts_endpoint: &str,
) -> Result<Credentials> {
    let token = std::fs::read_to_string(token_file).map_err(|e| {
        Error::unavailable(format!("cannot read the web identity token file {}: {e}", token_file.display()))
    })?;
    // A form body is encoded as a query string is.
    let form = crate::sigv4::canonical_query(&[
        ("Action", "AssumeRoleWithWebIdentity"),
        ("Version", "2011-06-15"),
        ("RoleArn", role_arn),
        ("RoleSessionName", session_name),
        ("WebIdentityToken", token.trim()),
        ("DurationSeconds", "3600"),
    ]);
    let request = Request::builder()
        .method(Method::POST)
        .uri(format!("{}/", sts_endpoint.trim_end_matches('/')))
        .header(http::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(http::header::CONTENT_LENGTH, form.len())
        .body(Full::new(Bytes::from(form)))
        .map_err(|e| Error::invalid("AWS_ENDPOINT_URL_STS", format!("cannot build a request to STS: {e}")))?;
    let doing = format!("assuming role {role_arn} at {sts_endpoint}");
    let (status, body) = call(http, request, STS_TIMEOUT, &doing).await?;
    if !status.is_success() {
        let code = xml_text(&body, "Code").unwrap_or_default();
        let message = xml_text(&body, "Message").unwrap_or_default();
        return Err(Error::unavailable(format!("STS refused {doing}: HTTP {status} {code}: {message}")));
    }
    let field = |tag: &str| {
        xml_text(&body, tag).ok_or_else(|| Error::unavailable(format!("STS answered {doing} without {tag}")))
    };
    Ok(Credentials {
        access_key_id: field("AccessKeyId")?,
        secret_access_key: Secret::new(field("SecretAccessKey")?),
        session_token: Some(Secret::new(field("SessionToken")?)),
        expires: Some(expiration(&field("Expiration")?, &doing)?),
    })
}

/// IMDSv2: a session token (PUT), the instance role's name, then its keys (JSON).
async fn instance_keys(http: &HttpClient, endpoint: &str) -> Result<Credentials> {
    let doing = format!("asking the instance metadata service at {endpoint} for credentials");
    let request = |method: Method, path: &str, header: (&'static str, &str)| {
        Request::builder()
            .method(method)
            .uri(format!("{endpoint}{path}"))
            .header(header.0, header.1)
            .body(Full::new(Bytes::new()))
            .map_err(|e| Error::invalid("AWS_EC2_METADATA_SERVICE_ENDPOINT", format!("not a usable URL: {e}")))
    };
    let token_request = request(Method::PUT, "/latest/api/token", ("x-aws-ec2-metadata-token-ttl-seconds", "21600"))?;
    let token = expect_ok(call(http, token_request, IMDS_TIMEOUT, &doing).await?, &doing)?;
    let path = "/latest/meta-data/iam/security-credentials/";
    let roles = expect_ok(
        call(http, request(Method::GET, path, ("x-aws-ec2-metadata-token", token.trim()))?, IMDS_TIMEOUT, &doing)
            .await?,
        &doing,
    )?;
    let role = roles.lines().map(str::trim).find(|l| !l.is_empty()).ok_or_else(|| {
        Error::unavailable(format!("{doing}: this instance has no IAM role (attach an instance profile)"))
    })?;
    let keys_request = request(Method::GET, &format!("{path}{role}"), ("x-aws-ec2-metadata-token", token.trim()))?;
    let json = expect_ok(call(http, keys_request, IMDS_TIMEOUT, &doing).await?, &doing)?;
    let value: serde_json::Value =
        serde_json::from_str(&json).map_err(|e| Error::unavailable(format!("{doing}: the answer is not JSON: {e}")))?;
    let field = |name: &str| {
        value[name]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| Error::unavailable(format!("{doing}: the answer has no {name}")))
    };
    Ok(Credentials {
        access_key_id: field("AccessKeyId")?,
        secret_access_key: Secret::new(field("SecretAccessKey")?),
        session_token: Some(Secret::new(field("Token")?)),
        expires: Some(expiration(&field("Expiration")?, &doing)?),
    })
}

fn expiration(text: &str, doing: &str) -> Result<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339)
        .map_err(|e| Error::unavailable(format!("{doing}: the expiration {text:?} is not an RFC 3339 time: {e}")))
}

fn expect_ok((status, body): (http::StatusCode, String), doing: &str) -> Result<String> {
    if status.is_success() { Ok(body) } else { Err(Error::unavailable(format!("{doing}: HTTP {status}"))) }
}

/// One request with a deadline; the answer's status and (small) body as text.
async fn call(
    http: &HttpClient,
    request: Request<Full<Bytes>>,
    timeout: Duration,
    doing: &str,
) -> Result<(http::StatusCode, String)> {
    let exchange = async {
        let response = http.request(request).await.map_err(|e| crate::client::error_chain(&e))?;
        let status = response.status();
        let body = response.into_body().collect().await.map_err(|e| crate::client::error_chain(&e))?.to_bytes();
        Ok::<_, String>((status, String::from_utf8_lossy(&body).into_owned()))
    };
    match tokio::time::timeout(timeout, exchange).await {
        Ok(Ok(answer)) => Ok(answer),
        Ok(Err(e)) => Err(Error::unavailable(format!("{doing}: {e}"))),
        Err(_) => Err(Error::unavailable(format!("{doing}: no answer within {} s", timeout.as_secs()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |name| map.get(name).cloned().filter(|v| !v.is_empty())
    }

    /// A home folder with the shared files.
    fn home(credentials: &str, config: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(".aws")).unwrap();
        std::fs::write(dir.path().join(".aws/credentials"), credentials).unwrap();
        std::fs::write(dir.path().join(".aws/config"), config).unwrap();
        dir
    }

    const CREDENTIALS: &str = "# keys\n[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = s3cr3t\n\n\
                               [ci]\naws_access_key_id=AKIDCI\naws_secret_access_key=ci-secret\naws_session_token = tok\n";
    const CONFIG: &str = "[default]\nregion = eu-west-1\n; a comment\n[profile ci]\nregion = eu-central-1\ns3 =\n  \
                          addressing_style = path\n[profile sso]\nsso_session = corp\nregion = us-east-2\n\
                          [profile irsa]\nrole_arn = arn:aws:iam::123:role/r\nweb_identity_token_file = /var/token\n";

    #[test]
    fn keys_in_the_environment_come_first() {
        let dir = home(CREDENTIALS, CONFIG);
        let var = env(&[
            ("AWS_ACCESS_KEY_ID", "AKIDENV"),
            ("AWS_SECRET_ACCESS_KEY", "env-secret"),
            ("AWS_WEB_IDENTITY_TOKEN_FILE", "/var/token"),
            ("AWS_ROLE_ARN", "arn:aws:iam::123:role/r"),
            ("HOME", dir.path().to_str().unwrap()),
        ]);
        let resolved = resolve(&var, false).unwrap();
        assert_eq!(resolved.keys.unwrap().access_key_id, "AKIDENV");
        assert_eq!(resolved.source, Some(CredentialSource::Static));
        let half = env(&[("AWS_ACCESS_KEY_ID", "AKIDENV")]);
        assert_eq!(resolve(&half, false).unwrap_err().field.as_deref(), Some("AWS_SECRET_ACCESS_KEY"));
    }

    #[test]
    fn a_web_identity_token_assumes_its_role_through_sts() {
        let var = env(&[
            ("AWS_WEB_IDENTITY_TOKEN_FILE", "/var/run/token"),
            ("AWS_ROLE_ARN", "arn:aws:iam::123:role/riskops"),
            ("AWS_REGION", "eu-west-3"),
        ]);
        let resolved = resolve(&var, true).unwrap();
        assert_eq!(resolved.keys, None);
        assert_eq!(
            resolved.source,
            Some(CredentialSource::WebIdentity {
                role_arn: "arn:aws:iam::123:role/riskops".into(),
                token_file: "/var/run/token".into(),
                session_name: "riskops".into(),
                sts_endpoint: "https://sts.eu-west-3.amazonaws.com".into(),
            })
        );
    }

    #[test]
    fn profiles_come_from_the_shared_files_with_their_region() {
        let dir = home(CREDENTIALS, CONFIG);
        let h = dir.path().to_str().unwrap();
        let default = resolve(&env(&[("HOME", h)]), false).unwrap();
        assert_eq!(default.keys.unwrap().access_key_id, "AKIDDEFAULT");
        assert_eq!(default.region.as_deref(), Some("eu-west-1"));
        let ci = resolve(&env(&[("HOME", h), ("AWS_PROFILE", "ci")]), false).unwrap();
        let keys = ci.keys.unwrap();
        assert_eq!((keys.access_key_id.as_str(), keys.session_token.unwrap().expose().as_str()), ("AKIDCI", "tok"));
        assert_eq!(ci.region.as_deref(), Some("eu-central-1"), "the nested s3 block is not read as keys");
        let irsa = resolve(&env(&[("HOME", h), ("AWS_PROFILE", "irsa")]), false).unwrap();
        assert!(
            matches!(irsa.source, Some(CredentialSource::WebIdentity { ref token_file, .. }) if token_file == Path::new("/var/token"))
        );
        // Named files win over the home folder's.
        let other = home("[default]\naws_access_key_id=AKIDOTHER\naws_secret_access_key=x\n", "");
        let file = other.path().join(".aws/credentials");
        let named = env(&[("HOME", h), ("AWS_SHARED_CREDENTIALS_FILE", file.to_str().unwrap())]);
        assert_eq!(resolve(&named, false).unwrap().keys.unwrap().access_key_id, "AKIDOTHER");
    }

    #[test]
    fn a_named_profile_that_is_missing_or_needs_a_program_is_refused_with_why() {
        let dir = home(CREDENTIALS, CONFIG);
        let h = dir.path().to_str().unwrap();
        let missing = resolve(&env(&[("HOME", h), ("AWS_PROFILE", "nope")]), false).unwrap_err();
        assert!(missing.message.contains("profile \"nope\" is in neither"), "{}", missing.message);
        let sso = resolve(&env(&[("HOME", h), ("AWS_PROFILE", "sso")]), false).unwrap_err();
        assert!(sso.message.contains("sso_session, which riskops does not run"), "{}", sso.message);
        assert!(!sso.message.contains("s3cr3t"));
    }

    #[test]
    fn instance_metadata_is_asked_on_aws_only_unless_named_or_disabled() {
        let imds = |endpoint: &str| Some(CredentialSource::InstanceMetadata { endpoint: endpoint.into() });
        assert_eq!(resolve(&env(&[]), false).unwrap().source, imds(DEFAULT_IMDS_ENDPOINT));
        assert_eq!(resolve(&env(&[]), true).unwrap().source, None, "a MinIO or moto: unsigned");
        let named = env(&[("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:1338/")]);
        assert_eq!(resolve(&named, true).unwrap().source, imds("http://127.0.0.1:1338"));
        let disabled = env(&[("AWS_EC2_METADATA_DISABLED", "true")]);
        assert_eq!(resolve(&disabled, false).unwrap().source, None);
        // A default profile holding only a region still lets the metadata service give keys.
        let dir = home("", "[default]\nregion = ap-south-1\n");
        let region_only = resolve(&env(&[("HOME", dir.path().to_str().unwrap())]), false).unwrap();
        assert_eq!(
            (region_only.source, region_only.region.as_deref()),
            (imds(DEFAULT_IMDS_ENDPOINT), Some("ap-south-1"))
        );
    }
}
