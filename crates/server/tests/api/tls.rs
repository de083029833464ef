//! `riskops serve --tls-cert/--tls-key`: HTTPS with HSTS, no plain HTTP on the same port, a
//! certificate renewed in place served after a reload, and a start refused for a bad one.

use super::*;
use riskops_server::tls::{Tls, TlsFiles};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tls").join(name)
}

/// The files a server reads, copied so a test can replace them.
fn files(dir: &Path, which: &str) -> TlsFiles {
    let files = TlsFiles { cert: dir.join("cert.pem"), key: dir.join("key.pem") };
    std::fs::copy(fixture(&format!("cert-{which}.pem")), &files.cert).unwrap();
    std::fs::copy(fixture(&format!("key-{which}.pem")), &files.key).unwrap();
    files
}

/// A TLS client trusting only `which`'s certificate: GET `path`, the whole answer as text, or
/// the handshake's error.
async fn https_get(addr: std::net::SocketAddr, which: &str, path: &str) -> Result<String, String> {
    https_request(addr, which, &format!("GET {path} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n")).await
}

/// `request` (a whole HTTP/1.1 request) over TLS, trusting only `which`'s CA.
async fn https_request(addr: std::net::SocketAddr, which: &str, request: &str) -> Result<String, String> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from_pem_file(fixture(&format!("ca-{which}.pem"))).unwrap()).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut tls =
        connector.connect(ServerName::try_from("localhost").unwrap(), tcp).await.map_err(|e| e.to_string())?;
    tls.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let _ = tls.read_to_end(&mut answer).await;
    Ok(String::from_utf8_lossy(&answer).into_owned())
}

#[tokio::test]
async fn the_server_speaks_https_with_hsts_and_nothing_in_plain_text_on_its_port() {
    let dir = tempfile::tempdir().unwrap();
    let tls_dir = tempfile::tempdir().unwrap();
    let tls_files = files(tls_dir.path(), "a");
    let s = TestServer::start_tweaked(dir, |settings| settings.tls = Some(tls_files)).await;
    let addr = s.running.as_ref().unwrap().local_addr;
    let answer = https_get(addr, "a", "/healthz").await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.to_ascii_lowercase().contains("strict-transport-security: max-age=31536000"), "{answer}");
    assert!(answer.contains("\"status\":\"ok\""), "{answer}");
    // The console's session cookie is Secure under TLS.
    let form = format!("token={TOKEN}");
    let sign_in = format!(
        "POST /sign-in HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/x-www-form-urlencoded\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{form}",
        form.len()
    );
    let answer = https_request(addr, "a", &sign_in).await.unwrap();
    let cookie = answer.lines().find(|l| l.to_ascii_lowercase().starts_with("set-cookie:")).unwrap_or_default();
    assert!(cookie.contains("HttpOnly") && cookie.ends_with("; Secure"), "{answer}");
    // A client that does not trust the certificate is refused by its own TLS stack.
    assert!(https_get(addr, "b", "/healthz").await.is_err());
    // Plain HTTP to the TLS port gets no HTTP answer.
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tcp.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").await.unwrap();
    let mut answer = Vec::new();
    let _ = tcp.read_to_end(&mut answer).await;
    assert!(!String::from_utf8_lossy(&answer).contains("HTTP/1.1 200"));
    s.stop().await;
}

#[tokio::test]
async fn a_renewed_certificate_is_served_after_a_reload_and_a_broken_one_is_not() {
    let tls_dir = tempfile::tempdir().unwrap();
    let tls_files = files(tls_dir.path(), "a");
    let tls = Tls::load(tls_files.clone()).unwrap();
    // A half-written renewal fails to load and leaves the certificate in use.
    std::fs::write(&tls_files.cert, "-----BEGIN CERTIFICATE-----\nnot base64\n").unwrap();
    let err = tls.reload().unwrap_err();
    assert!(err.message.contains("cert.pem"), "{}", err.message);
    assert_eq!(served_by(&tls).await, "a");
    files(tls_dir.path(), "b");
    tls.reload().unwrap();
    assert_eq!(served_by(&tls).await, "b");
}

/// Which fixture's certificate the acceptor presents (the one a client trusting it accepts).
async fn served_by(tls: &Tls) -> &'static str {
    for which in ["a", "b"] {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let acceptor = tls.acceptor();
        let server = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            if let Ok(mut stream) = acceptor.accept(tcp).await {
                let mut head = [0u8; 16];
                let _ = stream.read(&mut head).await;
                let _ = stream.write_all(b"HTTP/1.1 204 No Content\r\n\r\n").await;
                let _ = stream.shutdown().await;
            }
        });
        let trusted = https_get(addr, which, "/").await.is_ok();
        let _ = server.await;
        if trusted {
            return which;
        }
    }
    "neither"
}

#[tokio::test]
async fn a_certificate_that_cannot_be_read_stops_the_start_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let missing = TlsFiles { cert: dir.path().join("nope.pem"), key: fixture("key-a.pem") };
    let mut settings = test_settings(dir.path(), None, 64 * 1024, None);
    settings.tls = Some(missing);
    let started = riskops_server::start(settings, Arc::new(SystemClock), async {}).await;
    let err = started.err().expect("no server without its certificate");
    assert!(err.message.contains("nope.pem"), "{}", err.message);
}

/// Plain HTTP beside TLS only when asked: health and readiness for a balancer, every other
/// request sent to HTTPS, nothing else in clear; refused without TLS.
#[tokio::test]
async fn a_plain_http_listener_beside_tls_answers_health_and_redirects_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let tls_dir = tempfile::tempdir().unwrap();
    let tls_files = files(tls_dir.path(), "a");
    let s = TestServer::start_tweaked(dir, |settings| {
        settings.tls = Some(tls_files);
        settings.http_listen = Some("127.0.0.1:0".parse().unwrap());
    })
    .await;
    let running = s.running.as_ref().unwrap();
    let (https_port, plain) = (running.local_addr.port(), running.http_addr.unwrap());
    let client = http().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    for path in ["/healthz", "/readyz"] {
        let answer = client.get(format!("http://{plain}{path}")).send().await.unwrap();
        assert_eq!(answer.status(), StatusCode::OK, "{path}");
    }
    let answer = client
        .post(format!("http://localhost:{}/api/v1/projects?x=1", plain.port()))
        .bearer_auth(TOKEN)
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::PERMANENT_REDIRECT, "a POST stays a POST over HTTPS");
    assert_eq!(answer.headers()["location"], format!("https://localhost:{https_port}/api/v1/projects?x=1").as_str());
    assert!(answer.text().await.unwrap().is_empty(), "nothing of the API in clear");
    // A request without a host name to send it to is refused.
    let mut tcp = tokio::net::TcpStream::connect(plain).await.unwrap();
    tcp.write_all(b"GET /api/v1/projects HTTP/1.0\r\n\r\n").await.unwrap();
    let mut raw = Vec::new();
    let _ = tcp.read_to_end(&mut raw).await;
    assert!(String::from_utf8_lossy(&raw).starts_with("HTTP/1.0 400"), "{}", String::from_utf8_lossy(&raw));

    let bare = tempfile::tempdir().unwrap();
    let mut settings = test_settings(bare.path(), None, 64 * 1024, None);
    settings.http_listen = Some("127.0.0.1:0".parse().unwrap());
    let refused = riskops_server::start(settings, Arc::new(SystemClock), async {}).await;
    assert_eq!(refused.err().unwrap().field.as_deref(), Some("http_listen"), "plain HTTP beside TLS only");
    assert_eq!(std::fs::read_dir(bare.path()).unwrap().count(), 0, "refused before anything was written");
}
