//! TLS for the listener (`riskops serve --tls-cert FILE --tls-key FILE`): rustls with the
//! ring provider, TLS 1.2 and 1.3 only. The certificate and key are read at start and again
//! on SIGHUP, so a renewed certificate is served without a restart; a reload that fails keeps
//! the one in use and says why.

use riskops_core::{Error, Result};
use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

/// Where the PEM certificate chain and private key are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// The acceptor in use, replaced whole on reload (connections in progress keep theirs).
pub struct Tls {
    files: TlsFiles,
    current: RwLock<tokio_rustls::TlsAcceptor>,
}

impl Tls {
    /// Reads the files; a start with an unreadable certificate or key fails, naming it.
    pub fn load(files: TlsFiles) -> Result<Arc<Tls>> {
        let acceptor = acceptor(&files)?;
        Ok(Arc::new(Tls { files, current: RwLock::new(acceptor) }))
    }

    pub fn acceptor(&self) -> tokio_rustls::TlsAcceptor {
        match self.current.read() {
            Ok(a) => a.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Reads the files again; on failure the acceptor in use stays.
    pub fn reload(&self) -> Result<()> {
        let fresh = acceptor(&self.files)?;
        match self.current.write() {
            Ok(mut a) => *a = fresh,
            Err(poisoned) => *poisoned.into_inner() = fresh,
        }
        Ok(())
    }

    /// Reloads on every SIGHUP until the process ends.
    pub fn reload_on_sighup(self: &Arc<Tls>) -> Result<()> {
        use tokio::signal::unix::{SignalKind, signal};
        let mut hangups = signal(SignalKind::hangup())
            .map_err(|e| Error::internal(format!("cannot listen for SIGHUP to reload the certificate: {e}")))?;
        let tls = Arc::downgrade(self);
        tokio::spawn(async move {
            while hangups.recv().await.is_some() {
                let Some(tls) = tls.upgrade() else { break };
                match tls.reload() {
                    Ok(()) => tracing::info!(cert = %tls.files.cert.display(), "reloaded the TLS certificate and key"),
                    Err(e) => {
                        tracing::warn!(error = %e.message, "the TLS certificate was not reloaded; the old one stays")
                    }
                }
            }
        });
        Ok(())
    }
}

fn acceptor(files: &TlsFiles) -> Result<tokio_rustls::TlsAcceptor> {
    let unreadable = |path: &Path, what: &str, e: &dyn std::fmt::Display| {
        Error::invalid("tls", format!("{} holds no {what} riskops can read: {e}", path.display()))
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&files.cert)
        .map_err(|e| unreadable(&files.cert, "PEM certificate", &e))?
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| unreadable(&files.cert, "PEM certificate", &e))?;
    if certs.is_empty() {
        return Err(unreadable(&files.cert, "PEM certificate", &"no CERTIFICATE block"));
    }
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|e| unreadable(&files.key, "PEM private key", &e))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| Error::internal(format!("TLS versions: {e}")))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| Error::invalid("tls", format!("the certificate and key do not make a TLS identity: {e}")))?;
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}
