//! `riskops serve` configuration, in two stages: raw values from flags, environment and
//! file are merged once here, then validated into [`riskops_server::Settings`]; the rest of
//! the code sees only valid values.

use crate::cli::{LogFormat, ServeArgs};
use anyhow::{Context, Result, bail};
use riskops_core::secret::Secret;
use riskops_server::{DEFAULT_BATCH_LIMIT, DEFAULT_BODY_LIMIT, DEFAULT_UPLOAD_LIMIT, Settings};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_DATA_DIR: &str = "riskops-data";
pub const DEFAULT_CONFIG_FILE: &str = "riskops.toml";

/// The optional `riskops.toml`. Unknown keys are errors, so a typo is not silently ignored.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<SocketAddr>,
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    database_ca: Option<PathBuf>,
    artifact_store: Option<String>,
    body_limit: Option<toml::Value>,
    upload_limit: Option<toml::Value>,
    batch_limit: Option<toml::Value>,
    log_format: Option<LogFormat>,
    signing_key_file: Option<PathBuf>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    bootstrap_token: Option<String>,
    window_quiet: Option<u64>,
    webhook_allow_hosts: Option<Vec<String>>,
    endpoint_batch_rows: Option<u64>,
    endpoint_timeout: Option<u64>,
    endpoint_retries: Option<u32>,
    drain_seconds: Option<u64>,
    http_listen: Option<SocketAddr>,
    integrity_interval: Option<u64>,
    access_failed_sign_ins: Option<u32>,
    access_unauthenticated: Option<u32>,
    access_forbidden: Option<u32>,
    access_audit_export: Option<u32>,
    access_window: Option<u64>,
    access_incident_project: Option<String>,
}

/// Settings for the server plus what only the CLI needs.
#[derive(Debug)]
pub struct ServeConfig {
    pub settings: Settings,
    pub log_format: LogFormat,
}

impl std::fmt::Debug for FileConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileConfig")
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .finish_non_exhaustive()
    }
}

/// Merges flags and environment (already combined by clap) over the file over defaults.
/// `bootstrap_env` is RISKOPS_BOOTSTRAP_TOKEN, passed in so tests need not touch the
/// process environment.
pub fn resolve(args: ServeArgs, bootstrap_env: Option<String>) -> Result<ServeConfig> {
    let file = load_file(args.config.as_deref())?;
    let listen = match args.listen.or(file.listen) {
        Some(addr) => addr,
        None => DEFAULT_LISTEN.parse().context("default listen address")?,
    };
    let data_dir = args.data_dir.or(file.data_dir).unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
    let database_url = args.database_url.map(|u| u.expose().clone()).or(file.database_url).filter(|u| !u.is_empty());
    if let Some(url) = &database_url
        && !(url.starts_with("postgres://") || url.starts_with("postgresql://"))
    {
        bail!(
            "--database-url must be a postgres:// or postgresql:// URL (leave it out to use SQLite in the data directory)"
        );
    }
    let database_url = match (database_url, args.database_ca.or(file.database_ca)) {
        (Some(url), Some(ca)) => Some(with_database_ca(&url, &ca)?),
        (None, Some(_)) => bail!("--database-ca goes with a PostgreSQL --database-url"),
        (url, None) => url,
    };
    let body_limit = size_setting("body_limit", args.body_limit, file.body_limit)?.unwrap_or(DEFAULT_BODY_LIMIT);
    let upload_limit =
        size_setting("upload_limit", args.upload_limit, file.upload_limit)?.map_or(DEFAULT_UPLOAD_LIMIT, |n| n as u64);
    let batch_limit = size_setting("batch_limit", args.batch_limit, file.batch_limit)?.unwrap_or(DEFAULT_BATCH_LIMIT);
    let artifact_store = args.artifact_store.or(file.artifact_store).filter(|u| !u.is_empty());
    if let Some(url) = &artifact_store
        && !url.starts_with("s3://")
    {
        bail!(
            "--artifact-store must be an s3://bucket/prefix URL (leave it out for the artifacts/ folder in the data directory)"
        );
    }
    // Endpoint, region and credentials come from the usual AWS_* variables.
    let artifact_store = artifact_store.map(|url| riskops_s3::S3Config::from_url(&url)).transpose()?;
    let webhook_allow_hosts = if args.webhook_allow_host.is_empty() {
        file.webhook_allow_hosts.unwrap_or_default()
    } else {
        args.webhook_allow_host
    };
    for entry in &webhook_allow_hosts {
        riskops_core::webhook_guard::validate_allow_entry(entry)
            .map_err(anyhow::Error::msg)
            .context("--webhook-allow-host")?;
    }
    let access = access_settings(
        [
            ("access_failed_sign_ins", args.access_failed_sign_ins.or(file.access_failed_sign_ins)),
            ("access_unauthenticated", args.access_unauthenticated.or(file.access_unauthenticated)),
            ("access_forbidden", args.access_forbidden.or(file.access_forbidden)),
        ],
        args.access_audit_export.or(file.access_audit_export),
        args.access_window.or(file.access_window),
    )?;
    let access_project = args.access_incident_project.or(file.access_incident_project);
    if let Some(p) = &access_project {
        riskops_core::project::validate_name("access_incident_project", p)
            .map_err(|e| anyhow::anyhow!("access_incident_project: {}", e.message))?;
    }
    let bootstrap_token = bootstrap_env.filter(|t| !t.is_empty()).or(file.bootstrap_token).map(Secret::new);
    Ok(ServeConfig {
        settings: Settings {
            listen,
            data_dir,
            database_url: database_url.map(Secret::new),
            bootstrap_token,
            body_limit,
            upload_limit,
            batch_limit,
            artifact_store,
            // Relative to the working directory like data_dir; in the data directory by default.
            signing_key_file: args.signing_key_file.or(file.signing_key_file),
            checkpoint_interval: riskops_server::DEFAULT_CHECKPOINT_INTERVAL,
            alerting: riskops_server::AlertingSettings {
                quiet: args
                    .window_quiet
                    .or(file.window_quiet)
                    .map(std::time::Duration::from_secs)
                    .unwrap_or(riskops_server::AlertingSettings::default().quiet),
                webhook_allow_hosts,
                ..riskops_server::AlertingSettings::default()
            },
            endpoints: endpoint_settings(
                args.endpoint_batch_rows.or(file.endpoint_batch_rows),
                args.endpoint_timeout.or(file.endpoint_timeout),
                args.endpoint_retries.or(file.endpoint_retries),
            )?,
            drain: std::time::Duration::from_secs(args.drain_seconds.or(file.drain_seconds).unwrap_or(0)),
            http_listen: args.http_listen.or(file.http_listen),
            access,
            access_flush_interval: riskops_server::DEFAULT_ACCESS_FLUSH_INTERVAL,
            access_project,
            integrity_interval: args
                .integrity_interval
                .or(file.integrity_interval)
                .map_or(riskops_server::DEFAULT_INTEGRITY_INTERVAL, std::time::Duration::from_secs),
            tls: match (args.tls_cert.or(file.tls_cert), args.tls_key.or(file.tls_key)) {
                (Some(cert), Some(key)) => Some(riskops_server::tls::TlsFiles { cert, key }),
                (None, None) => None,
                _ => bail!("TLS needs both a certificate (tls_cert) and its key (tls_key)"),
            },
        },
        log_format: args.log_format.or(file.log_format).unwrap_or(LogFormat::Text),
    })
}

/// The URL with `sslrootcert` set to the CA file (the store's TLS reads it as libpq does),
/// and `sslmode=verify-full` unless the URL chose a mode.
fn with_database_ca(url: &str, ca: &std::path::Path) -> Result<String> {
    let ca = ca
        .to_str()
        .filter(|p| !p.contains(['&', '?', '#', ' ']))
        .ok_or_else(|| anyhow::anyhow!("--database-ca {}: give a path without spaces, &, ? or #", ca.display()))?;
    if url.contains("sslrootcert=") {
        bail!("--database-ca and sslrootcert in --database-url say the same thing: give one");
    }
    let sep = if url.contains('?') { '&' } else { '?' };
    let mode = if url.contains("sslmode=") { "" } else { "&sslmode=verify-full" };
    Ok(format!("{url}{sep}sslrootcert={ca}{mode}"))
}

/// A size from its flag (or variable), else the config file: "2MiB", "1GiB" or bytes.
fn size_setting(key: &str, flag: Option<String>, file: Option<toml::Value>) -> Result<Option<usize>> {
    Ok(Some(match (flag, file) {
        (Some(flag), _) => parse_size(&flag).with_context(|| format!("--{}", key.replace('_', "-")))?,
        (None, Some(toml::Value::Integer(n))) if n > 0 => usize::try_from(n).context(key.to_string())?,
        (None, Some(toml::Value::String(s))) => parse_size(&s).with_context(|| format!("{key} in the config file"))?,
        (None, Some(other)) => {
            bail!("{key} in the config file must be a size such as \"2MiB\", not a {}", other.type_str())
        }
        (None, None) => return Ok(None),
    }))
}

fn load_file(explicit: Option<&Path>) -> Result<FileConfig> {
    let path = match explicit {
        Some(p) => p.to_path_buf(),
        None if Path::new(DEFAULT_CONFIG_FILE).exists() => PathBuf::from(DEFAULT_CONFIG_FILE),
        None => return Ok(FileConfig::default()),
    };
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read config file {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("invalid config file {}", path.display()))
}

/// "2MiB", "512KiB", "1GiB", "10MB" or plain bytes.
pub fn parse_size(text: &str) -> Result<usize> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    let n: usize = digits.parse().with_context(|| format!("{text:?} is not a size like 2MiB or 1048576"))?;
    let factor: usize = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1_000,
        "kib" => 1 << 10,
        "m" | "mb" => 1_000_000,
        "mib" => 1 << 20,
        "g" | "gb" => 1_000_000_000,
        "gib" => 1 << 30,
        other => bail!("unknown size unit {other:?} in {text:?}; use B, KiB, MiB or GiB"),
    };
    match n.checked_mul(factor) {
        Some(0) => bail!("a size must be positive"),
        Some(v) => Ok(v),
        None => bail!("{text:?} is too large"),
    }
}

/// How the server calls model endpoints; the file's values are checked as the flags' are.
fn endpoint_settings(
    batch_rows: Option<u64>,
    timeout: Option<u64>,
    retries: Option<u32>,
) -> anyhow::Result<riskops_server::endpoint::EndpointSettings> {
    let default = riskops_server::endpoint::EndpointSettings::default();
    let batch_rows = match batch_rows {
        Some(n @ 1..=1_000_000) => n as usize,
        Some(_) => anyhow::bail!("endpoint_batch_rows: must be 1 to 1000000"),
        None => default.batch_rows,
    };
    let timeout = match timeout {
        Some(s @ 1..=3600) => std::time::Duration::from_secs(s),
        Some(_) => anyhow::bail!("endpoint_timeout: must be 1 to 3600 seconds"),
        None => default.timeout,
    };
    let retries = match retries {
        Some(n @ 0..=10) => n,
        Some(_) => anyhow::bail!("endpoint_retries: must be 0 to 10"),
        None => default.retries,
    };
    Ok(riskops_server::endpoint::EndpointSettings { batch_rows, timeout, retries, ..default })
}

/// The access rules' thresholds: burst counts 1..=10,000, a window of 10 s to a day (the
/// flags' ranges, checked again for values from the file).
fn access_settings(
    counts: [(&str, Option<u32>); 3],
    audit_export: Option<u32>,
    window: Option<u64>,
) -> Result<riskops_core::access::AccessSettings> {
    use riskops_core::access::{AccessSettings, Burst};
    let default = Burst::DEFAULT;
    let window = match window {
        None => default.window,
        Some(w @ 10..=86_400) => time::Duration::seconds(i64::try_from(w).unwrap_or(86_400)),
        Some(w) => bail!("access_window must be 10 to 86400 seconds, not {w}"),
    };
    let mut bursts = [default; 3];
    for (burst, (name, count)) in bursts.iter_mut().zip(counts) {
        let count = match count {
            None => default.count,
            // Each counted event is kept until the burst ends: the cap bounds memory.
            Some(c @ 1..=10_000) => c,
            Some(c) => bail!("{name} must be 1 to 10000, not {c}"),
        };
        *burst = Burst { count, window };
    }
    let [failed_sign_ins, unauthenticated, forbidden] = bursts;
    let audit_export = match audit_export {
        None => Burst::AUDIT_EXPORT.count,
        Some(c @ 1..=1_000_000_000) => c,
        Some(c) => bail!("access_audit_export must be 1 to 1000000000, not {c}"),
    };
    let audit_export = Burst { count: audit_export, window };
    Ok(AccessSettings { failed_sign_ins, unauthenticated, forbidden, audit_export })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_units() {
        assert_eq!(parse_size("2MiB").unwrap(), 2 * 1024 * 1024);
        assert_eq!(parse_size("512 KiB").unwrap(), 512 * 1024);
        assert_eq!(parse_size("1000").unwrap(), 1000);
        assert_eq!(parse_size("3mb").unwrap(), 3_000_000);
        assert!(parse_size("0").is_err());
        assert!(parse_size("lots").is_err());
        assert!(parse_size("5 parsecs").is_err());
    }

    #[test]
    fn flags_beat_the_file_which_beats_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("riskops.toml");
        std::fs::write(&file, "listen = \"127.0.0.1:9999\"\ndata_dir = \"/from/file\"\nbody_limit = \"1KiB\"\nbootstrap_token = \"file-token\"\n").unwrap();
        let args = ServeArgs { data_dir: Some("/from/flag".into()), config: Some(file.clone()), ..Default::default() };
        let cfg = resolve(args, None).unwrap();
        assert_eq!(cfg.settings.listen.to_string(), "127.0.0.1:9999");
        assert_eq!(cfg.settings.data_dir, PathBuf::from("/from/flag"));
        assert_eq!(cfg.settings.body_limit, 1024);
        assert_eq!(cfg.settings.bootstrap_token.as_ref().unwrap().expose(), "file-token");
        assert_eq!(cfg.settings.signing_key_file, None);
        assert_eq!(cfg.settings.drain, std::time::Duration::ZERO, "no drain unless asked");

        std::fs::write(dir.path().join("drain.toml"), "drain_seconds = 15\n").unwrap();
        let drain = ServeArgs { config: Some(dir.path().join("drain.toml")), ..Default::default() };
        assert_eq!(resolve(drain, None).unwrap().settings.drain, std::time::Duration::from_secs(15));

        let env_wins =
            resolve(ServeArgs { config: Some(file), ..Default::default() }, Some("env-token".into())).unwrap();
        assert_eq!(env_wins.settings.bootstrap_token.unwrap().expose(), "env-token");
    }

    #[test]
    fn access_thresholds_come_from_flags_or_the_file_and_are_checked() {
        use riskops_core::access::{AccessSettings, Burst};
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("access.toml");
        std::fs::write(&file, "access_forbidden = 5\naccess_window = 60\naccess_incident_project = \"security\"\n")
            .unwrap();
        let args = ServeArgs { config: Some(file.clone()), access_failed_sign_ins: Some(7), ..Default::default() };
        let settings = resolve(args, None).unwrap().settings;
        assert_eq!(settings.access_project.as_deref(), Some("security"));
        let access = settings.access;
        let minute = time::Duration::minutes(1);
        assert_eq!(access.failed_sign_ins, Burst { count: 7, window: minute });
        assert_eq!(access.forbidden, Burst { count: 5, window: minute });
        assert_eq!(access.unauthenticated, Burst { count: 20, window: minute });
        assert_eq!(access.audit_export, Burst { count: 10_000, window: minute });
        let none = dir.path().join("none.toml");
        std::fs::write(&none, "").unwrap();
        let defaults = resolve(ServeArgs { config: Some(none), ..Default::default() }, None).unwrap();
        assert_eq!(defaults.settings.access, AccessSettings::default());
        for bad in [
            "access_forbidden = 0\n",
            "access_failed_sign_ins = 10001\n",
            "access_window = 5\n",
            "access_audit_export = 0\n",
            "access_incident_project = \"-bad\"\n",
        ] {
            std::fs::write(&file, bad).unwrap();
            let err = resolve(ServeArgs { config: Some(file.clone()), ..Default::default() }, None).unwrap_err();
            assert!(err.to_string().contains("access_"), "{bad}: {err:#}");
        }
    }

    #[test]
    fn the_database_ca_makes_the_connection_verified_tls() {
        let url = |u: &str, ca: &str| with_database_ca(u, std::path::Path::new(ca));
        assert_eq!(
            url("postgres://h/db", "/ca.pem").unwrap(),
            "postgres://h/db?sslrootcert=/ca.pem&sslmode=verify-full"
        );
        assert_eq!(
            url("postgres://h/db?sslmode=verify-ca", "/ca.pem").unwrap(),
            "postgres://h/db?sslmode=verify-ca&sslrootcert=/ca.pem"
        );
        assert!(url("postgres://h/db?sslrootcert=/x.pem", "/ca.pem").is_err());
        assert!(url("postgres://h/db", "/my ca.pem").is_err());
        let no_database = ServeArgs { database_ca: Some("/ca.pem".into()), ..Default::default() };
        assert!(resolve(no_database, None).is_err());
    }

    #[test]
    fn tls_needs_the_certificate_and_its_key_together() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("riskops.toml");
        std::fs::write(&file, "tls_cert = \"/tls/cert.pem\"\n").unwrap();
        let half = resolve(ServeArgs { config: Some(file.clone()), ..Default::default() }, None);
        assert!(half.err().unwrap().to_string().contains("tls_key"));
        let args = ServeArgs { tls_key: Some("/tls/key.pem".into()), config: Some(file), ..Default::default() };
        let tls = resolve(args, None).unwrap().settings.tls.unwrap();
        assert_eq!((tls.cert, tls.key), (PathBuf::from("/tls/cert.pem"), PathBuf::from("/tls/key.pem")));
        assert!(resolve(ServeArgs::default(), None).unwrap().settings.tls.is_none(), "plain HTTP unless asked");
    }

    #[test]
    fn the_signing_key_file_comes_from_the_flag_or_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("riskops.toml");
        std::fs::write(&file, "signing_key_file = \"/keys/from-file.pk8\"\n").unwrap();
        let from_file = resolve(ServeArgs { config: Some(file.clone()), ..Default::default() }, None).unwrap();
        assert_eq!(from_file.settings.signing_key_file, Some(PathBuf::from("/keys/from-file.pk8")));
        let args =
            ServeArgs { signing_key_file: Some("/keys/flag.pk8".into()), config: Some(file), ..Default::default() };
        assert_eq!(resolve(args, None).unwrap().settings.signing_key_file, Some(PathBuf::from("/keys/flag.pk8")));
    }

    #[test]
    fn defaults_apply_without_a_file() {
        let cfg = resolve(ServeArgs { config: None, ..Default::default() }, None);
        // The test may run where a riskops.toml exists; only check when it does not.
        if !Path::new(DEFAULT_CONFIG_FILE).exists() {
            let cfg = cfg.unwrap();
            assert_eq!(cfg.settings.listen.to_string(), DEFAULT_LISTEN);
            assert_eq!(cfg.settings.data_dir, PathBuf::from(DEFAULT_DATA_DIR));
            assert_eq!(cfg.settings.body_limit, DEFAULT_BODY_LIMIT);
            assert!(cfg.settings.database_url.is_none());
        }
    }

    #[test]
    fn bad_files_and_urls_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("bad.toml");
        std::fs::write(&file, "listne = \"127.0.0.1:1\"\n").unwrap();
        let err = resolve(ServeArgs { config: Some(file), ..Default::default() }, None).unwrap_err();
        assert!(format!("{err:#}").contains("listne"), "{err:#}");

        let args = ServeArgs {
            database_url: Some(Secret::new("mysql://x".into())),
            config: Some(dir.path().join("none.toml")),
            ..Default::default()
        };
        assert!(resolve(args, None).is_err());
        let args = ServeArgs { database_url: Some(Secret::new("mysql://x".into())), ..Default::default() };
        let err = resolve(args, None).unwrap_err();
        assert!(format!("{err:#}").contains("postgres://"), "{err:#}");
    }

    #[test]
    fn secrets_do_not_show_in_debug() {
        let args =
            ServeArgs { database_url: Some(Secret::new("postgres://u:hunter2@h/db".into())), ..Default::default() };
        let cfg = resolve(args, Some("tok-abcdef".into())).unwrap();
        let shown = format!("{:?}", cfg.settings);
        assert!(!shown.contains("hunter2") && !shown.contains("tok-abcdef"), "{shown}");
    }
}
