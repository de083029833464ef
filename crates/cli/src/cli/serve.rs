//! The grammar of the server and its settings.

use super::*;

/// `riskops serve`. Each setting comes from its flag, else its RISKOPS_* variable, else the
/// config file (`--config`, or ./riskops.toml when present), else its default.
#[derive(Args, Debug, Default)]
#[command(after_help = "The first start on an empty store creates the user `admin`. Its API token is \
                        RISKOPS_BOOTSTRAP_TOKEN when set, otherwise a random token printed once to stderr.\n\n\
                        Logs go to stderr; RISKOPS_LOG sets the level (e.g. `debug` or `info,riskops_store=debug`).")]
pub struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "RISKOPS_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Directory for the SQLite file and the artifacts/ folder [default: ./riskops-data].
    #[arg(long, env = "RISKOPS_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Keep metadata in PostgreSQL instead of SQLite: postgres://user@host:5432/db.
    #[arg(long, env = "RISKOPS_DATABASE_URL", hide_env_values = true, value_parser = secret)]
    pub database_url: Option<Secret<String>>,
    /// The CA that signed PostgreSQL's certificate: the connection is then TLS, verified
    /// against it (`sslmode=verify-full` unless the URL says otherwise; `sslrootcert` in
    /// libpq's terms).
    #[arg(long, env = "RISKOPS_DATABASE_CA", value_name = "FILE")]
    pub database_ca: Option<PathBuf>,
    /// Keep artifacts in S3-compatible storage: s3://bucket/prefix (AWS_ENDPOINT_URL,
    /// AWS_REGION and AWS_ALLOW_HTTP configure it; credentials are found as AWS's SDKs find
    /// them: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_WEB_IDENTITY_TOKEN_FILE with
    /// AWS_ROLE_ARN, AWS_PROFILE in ~/.aws/credentials and ~/.aws/config, then the EC2
    /// instance metadata service) [default: the artifacts/ folder in the data directory].
    #[arg(long, env = "RISKOPS_ARTIFACT_STORE")]
    pub artifact_store: Option<String>,
    /// Largest accepted request body, e.g. 2MiB, 512KiB or a number of bytes [default: 2MiB].
    #[arg(long, env = "RISKOPS_BODY_LIMIT")]
    pub body_limit: Option<String>,
    /// Largest accepted dataset or model file, e.g. 16GiB [default: 16GiB].
    #[arg(long, env = "RISKOPS_UPLOAD_LIMIT")]
    pub upload_limit: Option<String>,
    /// Largest prediction or label batch, as sent and once decompressed (a gzip body is
    /// refused with 413 as soon as it would expand past it) [default: 64MiB].
    #[arg(long, env = "RISKOPS_BATCH_LIMIT")]
    pub batch_limit: Option<String>,
    /// Log lines as text or as JSON objects [default: text].
    #[arg(long, env = "RISKOPS_LOG_FORMAT", value_enum)]
    pub log_format: Option<LogFormat>,
    /// The Ed25519 private key (PKCS#8) that signs audit checkpoints and production models;
    /// created with mode 0600 on first start [default: signing-key.pk8 in the data directory].
    #[arg(long, env = "RISKOPS_SIGNING_KEY_FILE")]
    pub signing_key_file: Option<PathBuf>,
    /// Serve HTTPS (TLS 1.2 and 1.3) with this PEM certificate chain; needs --tls-key. Both
    /// are read again on SIGHUP, so a renewed certificate needs no restart.
    #[arg(long, env = "RISKOPS_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, env = "RISKOPS_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// With TLS, also listen here in plain HTTP, for load balancers and health checks on a
    /// private network: /healthz and /readyz are answered, every other request is redirected
    /// (308) to the same path over HTTPS. Off unless asked for.
    #[arg(long, env = "RISKOPS_HTTP_LISTEN", value_name = "ADDR", requires = "tls_cert")]
    pub http_listen: Option<SocketAddr>,
    /// How long a monitoring window that has ended must go without new records before it
    /// closes and monitors judge it, in seconds (a record of a later window closes it at
    /// once) [default: 10].
    #[arg(long, env = "RISKOPS_WINDOW_QUIET")]
    pub window_quiet: Option<u64>,
    /// A webhook receiver allowed although it is at a loopback, private or link-local
    /// address (refused by default, so project users cannot make the server call internal
    /// services): HOST for every port or HOST:PORT; repeat for several.
    #[arg(long = "webhook-allow-host", value_name = "HOST[:PORT]")]
    pub webhook_allow_host: Vec<String>,
    /// Rows per scoring request to a model endpoint (`model register --endpoint`) [default: 1000].
    #[arg(long, env = "RISKOPS_ENDPOINT_BATCH_ROWS", value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub endpoint_batch_rows: Option<u64>,
    /// The longest one request to a model endpoint may take, in seconds [default: 30].
    #[arg(long, env = "RISKOPS_ENDPOINT_TIMEOUT", value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub endpoint_timeout: Option<u64>,
    /// Further attempts after a model endpoint did not answer, timed out or answered 429/5xx,
    /// waiting 0.25 s, then twice as long each time [default: 3].
    #[arg(long, env = "RISKOPS_ENDPOINT_RETRIES", value_parser = clap::value_parser!(u32).range(0..=10))]
    pub endpoint_retries: Option<u32>,
    /// On SIGTERM or Ctrl-C, go on serving this many seconds with `/readyz` answering 503, so
    /// a load balancer stops sending first; then stop accepting and finish the requests in
    /// flight [default: 0].
    #[arg(long, env = "RISKOPS_DRAIN_SECONDS", value_parser = clap::value_parser!(u64).range(0..=3600))]
    pub drain_seconds: Option<u64>,
    /// How often every deployed version is verified again, in seconds: its artifact hashed
    /// against its digest, the registry's digest compared, a production signature checked;
    /// a failure opens a critical security incident [default: 3600; also once at start].
    #[arg(long, env = "RISKOPS_INTEGRITY_INTERVAL", value_parser = clap::value_parser!(u64).range(10..=604_800))]
    pub integrity_interval: Option<u64>,
    /// Failed password sign-ins against one user name (from any client) within
    /// --access-window that open a security incident naming the user [default: 20].
    #[arg(long, env = "RISKOPS_ACCESS_FAILED_SIGN_INS", value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub access_failed_sign_ins: Option<u32>,
    /// Answers 401 or 429 to one unauthenticated client (by address) within --access-window
    /// that open a security incident naming the client [default: 20].
    #[arg(long, env = "RISKOPS_ACCESS_UNAUTHENTICATED", value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub access_unauthenticated: Option<u32>,
    /// Answers 403 to one principal within --access-window that open a security incident
    /// naming it [default: 20].
    #[arg(long, env = "RISKOPS_ACCESS_FORBIDDEN", value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub access_forbidden: Option<u32>,
    /// Audit events one principal may read within --access-window (the events route, `riskops
    /// audit export`) before a security incident names it as a bulk export [default: 10000].
    #[arg(long, env = "RISKOPS_ACCESS_AUDIT_EXPORT", value_parser = clap::value_parser!(u32).range(1..=1_000_000_000))]
    pub access_audit_export: Option<u32>,
    /// File access incidents under this project, so its webhooks hear them and its roles see
    /// them (create it first, e.g. `security`) [default: none: only identities with a global
    /// role see them, and no webhook hears them].
    #[arg(long, env = "RISKOPS_ACCESS_INCIDENT_PROJECT", value_name = "PROJECT")]
    pub access_incident_project: Option<String>,
    /// The window of the access rules above, in seconds [default: 300]. Denied
    /// requests (401, 403, 429) are also written to the audit trail as one `access.denied`
    /// event per principal (or client address), route and minute, with their count; a
    /// lockout by the sign-in throttle and every role granted (a new admin included) open a
    /// security incident too (`riskops incident list --kind security`).
    #[arg(long, env = "RISKOPS_ACCESS_WINDOW", value_parser = clap::value_parser!(u64).range(10..=86_400))]
    pub access_window: Option<u64>,
    /// A TOML file with the same settings (listen, data_dir, database_url, database_ca, artifact_store,
    /// body_limit, upload_limit, batch_limit, log_format, signing_key_file, tls_cert, tls_key, bootstrap_token, window_quiet,
    /// webhook_allow_hosts, endpoint_batch_rows, endpoint_timeout, endpoint_retries, drain_seconds, http_listen, integrity_interval,
    /// access_failed_sign_ins, access_unauthenticated, access_forbidden, access_audit_export, access_window,
    /// access_incident_project)
    /// [default: ./riskops.toml if it exists].
    #[arg(long, env = "RISKOPS_CONFIG")]
    pub config: Option<PathBuf>,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}
