//! PostgreSQL over TLS, as libpq's `sslmode` says (rustls with the ring provider):
//!
//! - `disable`, `prefer` or none: plain TCP (riskops does not try TLS unless asked);
//! - `require`: encrypted, the server's certificate not checked — unless `sslrootcert=FILE`
//!   names a CA, which then must have signed it (libpq does the same);
//! - `verify-ca`: the certificate chains to `sslrootcert` (else the system's roots);
//! - `verify-full`: that, and it names the host connected to.
//!
//! tokio-postgres parses only `disable|prefer|require`, so `verify-ca`, `verify-full` and
//! `sslrootcert` are taken out of the URL here before it parses the rest.

use riskops_core::{Error, Result};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect};

/// How the connection is secured, from the URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Mode {
    Plain,
    /// Encrypted; `roots` given: the chain is checked against them.
    Require {
        roots: Option<String>,
    },
    VerifyCa {
        roots: Option<String>,
    },
    VerifyFull {
        roots: Option<String>,
    },
}

/// Splits `sslmode` and `sslrootcert` off a `postgres://` URL: the URL tokio-postgres can
/// parse, and the mode.
pub(crate) fn split_url(url: &str) -> Result<(String, Mode)> {
    let Some((base, query)) = url.split_once('?') else { return Ok((url.to_string(), Mode::Plain)) };
    let mut kept = Vec::new();
    let (mut mode, mut roots) = (None, None);
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("sslmode", m)) => mode = Some(m.to_string()),
            Some(("sslrootcert", file)) => roots = Some(file.to_string()),
            _ => kept.push(pair),
        }
    }
    let mode = match mode.as_deref() {
        None | Some("disable" | "prefer" | "allow") => Mode::Plain,
        Some("require") => Mode::Require { roots },
        Some("verify-ca") => Mode::VerifyCa { roots },
        Some("verify-full") => Mode::VerifyFull { roots },
        Some(other) => {
            return Err(Error::invalid(
                "database-url",
                format!("sslmode={other} is not one of disable, prefer, require, verify-ca, verify-full"),
            ));
        }
    };
    // TLS is negotiated by the connector below; tokio-postgres must ask for it.
    if mode != Mode::Plain {
        kept.push("sslmode=require");
    }
    let url = if kept.is_empty() { base.to_string() } else { format!("{base}?{}", kept.join("&")) };
    Ok((url, mode))
}

/// The rustls connector for a mode other than `Plain`.
pub(crate) fn connector(mode: &Mode) -> Result<MakeRustls> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| Error::internal(format!("TLS versions: {e}")))?;
    let (roots, check_chain, check_host) = match mode {
        Mode::Plain => return Err(Error::internal("no TLS connector for a plain connection")),
        Mode::Require { roots } => (roots, roots.is_some(), false),
        Mode::VerifyCa { roots } => (roots, true, false),
        Mode::VerifyFull { roots } => (roots, true, true),
    };
    let chain = match check_chain {
        true => Some(
            rustls::client::WebPkiServerVerifier::builder_with_provider(
                Arc::new(root_store(roots.as_deref())?),
                provider.clone(),
            )
            .build()
            .map_err(|e| Error::invalid("database-url", format!("sslrootcert: {e}")))?,
        ),
        false => None,
    };
    let config = builder
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(Verifier { chain, check_host, provider }))
        .with_no_client_auth();
    Ok(MakeRustls { config: Arc::new(config) })
}

fn root_store(file: Option<&str>) -> Result<RootCertStore> {
    let mut store = RootCertStore::empty();
    match file {
        Some(path) => {
            let certs = CertificateDer::pem_file_iter(path)
                .map_err(|e| Error::invalid("database-url", format!("sslrootcert {path}: {e}")))?;
            for cert in certs {
                let cert = cert.map_err(|e| Error::invalid("database-url", format!("sslrootcert {path}: {e}")))?;
                store.add(cert).map_err(|e| Error::invalid("database-url", format!("sslrootcert {path}: {e}")))?;
            }
        }
        None => {
            for cert in rustls_native_certs::load_native_certs().certs {
                let _ = store.add(cert);
            }
        }
    }
    if store.is_empty() {
        return Err(Error::invalid("database-url", "no CA certificate to verify PostgreSQL's against (sslrootcert)"));
    }
    Ok(store)
}

/// What is checked of PostgreSQL's certificate. Always: the handshake's signatures (the
/// session is really keyed to the certificate presented). With `chain` (`verify-ca`,
/// `verify-full`, or `require` with `sslrootcert`): that a trusted CA issued it, and with
/// `check_host` that it names the host. Without `chain`: nothing more — libpq's `require`.
#[derive(Debug)]
struct Verifier {
    chain: Option<Arc<rustls::client::WebPkiServerVerifier>>,
    check_host: bool,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        let Some(chain) = &self.chain else { return Ok(ServerCertVerified::assertion()) };
        match chain.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
            Err(rustls::Error::InvalidCertificate(rustls::CertificateError::NotValidForName))
            | Err(rustls::Error::InvalidCertificate(rustls::CertificateError::NotValidForNameContext { .. }))
                if !self.check_host =>
            {
                Ok(ServerCertVerified::assertion())
            }
            other => other,
        }
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

/// tokio-postgres's TLS hook over rustls.
#[derive(Clone)]
pub(crate) struct MakeRustls {
    config: Arc<ClientConfig>,
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send + 'static> MakeTlsConnect<S> for MakeRustls {
    type Stream = RustlsStream<S>;
    type TlsConnect = RustlsConnect;
    type Error = rustls::pki_types::InvalidDnsNameError;

    fn make_tls_connect(&mut self, domain: &str) -> std::result::Result<RustlsConnect, Self::Error> {
        let name = ServerName::try_from(domain.to_string())?;
        Ok(RustlsConnect { connector: tokio_rustls::TlsConnector::from(self.config.clone()), name })
    }
}

pub(crate) struct RustlsConnect {
    connector: tokio_rustls::TlsConnector,
    name: ServerName<'static>,
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send + 'static> TlsConnect<S> for RustlsConnect {
    type Stream = RustlsStream<S>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<RustlsStream<S>>> + Send>>;

    fn connect(self, stream: S) -> Self::Future {
        Box::pin(async move { self.connector.connect(self.name, stream).await.map(RustlsStream) })
    }
}

pub(crate) struct RustlsStream<S>(tokio_rustls::client::TlsStream<S>);

impl<S: AsyncRead + AsyncWrite + Unpin> tokio_postgres::tls::TlsStream for RustlsStream<S> {
    fn channel_binding(&self) -> ChannelBinding {
        // No tls-server-end-point binding: SCRAM still authenticates, without binding to TLS.
        ChannelBinding::none()
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for RustlsStream<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for RustlsStream<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mode_and_root_file_come_out_of_the_url() {
        let (url, mode) = split_url("postgres://u@h/db").unwrap();
        assert_eq!((url.as_str(), mode), ("postgres://u@h/db", Mode::Plain));
        let (url, mode) =
            split_url("postgres://u@h/db?sslmode=verify-full&sslrootcert=/ca.pem&connect_timeout=5").unwrap();
        assert_eq!(url, "postgres://u@h/db?connect_timeout=5&sslmode=require");
        assert_eq!(mode, Mode::VerifyFull { roots: Some("/ca.pem".into()) });
        assert_eq!(split_url("postgres://h/db?sslmode=require").unwrap().1, Mode::Require { roots: None });
        assert_eq!(split_url("postgres://h/db?sslmode=prefer").unwrap().1, Mode::Plain);
        assert!(split_url("postgres://h/db?sslmode=maybe").is_err());
    }
}
