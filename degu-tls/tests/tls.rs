//! degu-tls end to end: mutual TLS, refusals, real TLS peers.

#![allow(
    unreachable_pub,
    reason = "a test or bench binary: `pub` marks what its modules share"
)]

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use degu_client::Client;
use degu_core::{
    Address, Body, BodyIter, Chunk, ChunkedBody, ChunkedBodyIter, Headers, IPV4_LOOPBACK, Incoming,
    Method,
};
use degu_server::{
    App, AppResult, ConnectionInfo, Request, ServerHandle, ServerOptions, Session, demo,
};
use degu_tls::{SslClient, SslClientConfig, SslServer, SslServerConfig, TestPki, client_config};

/// The demo app, counting the requests that reach it and the connections
/// `on_connect` saw with a client certificate.
struct Counting {
    requests: Arc<AtomicUsize>,
    certified: Arc<AtomicUsize>,
}

impl App for Counting {
    fn call(&self, session: &mut Session, request: &mut Request) -> AppResult {
        self.requests.fetch_add(1, Ordering::SeqCst);
        demo::app(session, request)
    }
    fn on_connect(&self, _: &mut Session, info: &ConnectionInfo) -> bool {
        assert!(info.tls);
        if info
            .peer_certificates
            .as_ref()
            .is_some_and(|c| !c.is_empty())
        {
            self.certified.fetch_add(1, Ordering::SeqCst);
        }
        true
    }
}

struct Fixture {
    pki: TestPki,
    handle: ServerHandle,
    requests: Arc<AtomicUsize>,
    certified: Arc<AtomicUsize>,
}

fn start(pki: TestPki) -> Fixture {
    let opts = ServerOptions::default().with_timeout(Some(Duration::from_secs(10)));
    start_with(pki, opts)
}

fn start_with(pki: TestPki, opts: ServerOptions) -> Fixture {
    let requests = Arc::new(AtomicUsize::new(0));
    let certified = Arc::new(AtomicUsize::new(0));
    let app = Counting {
        requests: requests.clone(),
        certified: certified.clone(),
    };
    let handle = SslServer::bind(pki.server_config(), &IPV4_LOOPBACK, app, opts)
        .unwrap()
        .spawn()
        .unwrap();
    Fixture {
        pki,
        handle,
        requests,
        certified,
    }
}

fn client(f: &Fixture, config: Arc<degu_tls::rustls::ClientConfig>) -> Client {
    let mut c = SslClient::new(config, f.handle.address().clone());
    c = c.with_timeout(Some(Duration::from_secs(10)));
    c
}

#[test]
fn mutual_tls_every_body_kind() {
    let f = start(TestPki::new("degu test CA"));
    let c = client(&f, f.pki.client_config());
    let mut conn = c.connect().unwrap();
    let h = Headers::new();

    let mut r = conn.get("/", &h).unwrap();
    assert_eq!(
        (r.status, r.read_all().unwrap()),
        (200, b"hello, world".to_vec())
    );

    let mut r = conn.put("/echo", &h, &b"bytes body"[..]).unwrap();
    assert_eq!(r.read_all().unwrap(), b"bytes body");

    let data = b"a body from a reader".to_vec();
    let mut r = conn
        .post("/echo", &h, Body::new(&data[..], data.len() as u64))
        .unwrap();
    assert_eq!(r.read_all().unwrap(), data);

    let mut r = conn
        .put("/echo", &h, BodyIter::new(["it", "er", "ated"], 8))
        .unwrap();
    assert_eq!(r.read_all().unwrap(), b"iterated");

    // Chunked echo keeps boundaries and extensions, over TLS.
    let chunks = vec![
        Chunk::with_ext("k", "v1", "first"),
        Chunk::new("second"),
        Chunk::with_ext("last", "yes", ""),
    ];
    let r = conn
        .put("/echo", &h, ChunkedBodyIter::new(chunks.clone()))
        .unwrap();
    let Some(Incoming::Chunked(body)) = r.body else {
        panic!("expected a chunked echo")
    };
    let got: Vec<Chunk> = body.map(Result::unwrap).collect();
    assert_eq!(got, chunks);

    let wire = b"3;a=b\r\nabc\r\n0\r\n\r\n";
    let r = conn.put("/echo", &h, ChunkedBody::new(&wire[..])).unwrap();
    let Some(Incoming::Chunked(body)) = r.body else {
        panic!("expected a chunked echo")
    };
    let got: Vec<Chunk> = body.map(Result::unwrap).collect();
    assert_eq!(got, [Chunk::with_ext("a", "b", "abc"), Chunk::new("")]);

    let mut r = conn.get_range("/bytes/1000", &h, 10, 20).unwrap();
    assert_eq!(r.status, 206);
    assert_eq!(r.read_all().unwrap(), (10u8..20).collect::<Vec<_>>());

    let r = conn.request(Method::Head, "/", &h, ()).unwrap();
    assert_eq!((r.status, r.has_body()), (200, false));
    assert_eq!(f.certified.load(Ordering::SeqCst), 1);
}

#[test]
fn thousand_requests_on_one_tls_connection() {
    let f = start(TestPki::new("degu test CA"));
    let c = client(&f, f.pki.client_config());
    let mut conn = c.connect().unwrap();
    for i in 0..1000u32 {
        let body = i.to_string();
        let mut r = conn.put("/echo", &Headers::new(), body.as_str()).unwrap();
        assert_eq!(r.read_all().unwrap(), body.as_bytes());
    }
    assert_eq!(f.requests.load(Ordering::SeqCst), 1000);
    assert_eq!(f.certified.load(Ordering::SeqCst), 1);
}

#[test]
fn the_clients_pool_reuses_tls_connections() {
    let f = start(TestPki::new("degu test CA"));
    let c = client(&f, f.pki.client_config());
    for i in 0..200u32 {
        let body = i.to_string();
        let mut r = c.put("/echo", &Headers::new(), body.as_str()).unwrap();
        assert_eq!(r.read_all().unwrap(), body.as_bytes());
    }
    // One handshake for them all.
    assert_eq!(f.requests.load(Ordering::SeqCst), 200);
    assert_eq!(f.certified.load(Ordering::SeqCst), 1);
    assert_eq!(c.connections_opened(), 1);
    // A body left unread closes its connection: the next request
    // shakes hands again.
    drop(c.get("/", &Headers::new()).unwrap());
    c.get("/", &Headers::new()).unwrap().read_all().unwrap();
    assert_eq!(f.certified.load(Ordering::SeqCst), 2);
}

#[test]
fn large_body_over_tls() {
    let f = start(TestPki::new("degu test CA"));
    let c = client(&f, f.pki.client_config());
    let mut conn = c.connect().unwrap();
    let n = 8 * 1024 * 1024u64;
    let mut r = conn.get(&format!("/bytes/{n}"), &Headers::new()).unwrap();
    let body = r.read_all().unwrap();
    assert_eq!(body.len() as u64, n);
    assert!(body.iter().enumerate().all(|(i, &b)| b == (i % 251) as u8));
}

fn refused(f: &Fixture, config: Arc<degu_tls::rustls::ClientConfig>) -> String {
    let c = client(f, config);
    // With TLS 1.3 the server's verdict on a client certificate may only
    // arrive with the first read after the handshake: either step fails.
    let err = match c.connect() {
        Err(e) => e.to_string(),
        Ok(mut conn) => match conn.get("/", &Headers::new()) {
            Err(e) => e.to_string(),
            Ok(r) => panic!("served without a valid client certificate: {}", r.status),
        },
    };
    assert_eq!(
        f.requests.load(Ordering::SeqCst),
        0,
        "a request reached the app"
    );
    err
}

#[test]
fn client_without_certificate_is_refused() {
    let f = start(TestPki::new("degu test CA"));
    let config = client_config(f.pki.roots(), true, None).unwrap();
    let err = refused(&f, config);
    assert!(!err.is_empty());
}

#[test]
fn client_from_another_ca_is_refused() {
    let f = start(TestPki::new("degu test CA"));
    let other = TestPki::new("another CA");
    let config = client_config(f.pki.roots(), true, Some(other.client.parts())).unwrap();
    refused(&f, config);
}

#[test]
fn expired_client_certificate_is_refused() {
    let f = start(TestPki::new("degu test CA"));
    let expired = f.pki.issue(&["old.client.test"], false, true);
    let config = client_config(f.pki.roots(), true, Some(expired.parts())).unwrap();
    refused(&f, config);
}

#[test]
fn server_name_mismatch_is_refused_unless_check_hostname_is_off() {
    let pki = TestPki::new("degu test CA");
    let wrong = pki.issue(&["not-this-host.test"], true, false);
    let (certs, key) = wrong.parts();
    let server_config = degu_tls::server_config(certs, key, Some(pki.roots())).unwrap();
    let handle = SslServer::bind(
        server_config,
        &IPV4_LOOPBACK,
        demo::app,
        ServerOptions::default(),
    )
    .unwrap()
    .spawn()
    .unwrap();
    let checked = SslClient::new(pki.client_config(), handle.address().clone());
    let err = checked.connect().unwrap_err().to_string();
    assert!(err.contains("certificate"), "{err}");

    // P2P: chain checked against the pinned CA, name not checked.
    let unchecked = client_config(pki.roots(), false, Some(pki.client.parts())).unwrap();
    let c = SslClient::new(unchecked, handle.address().clone());
    let mut r = c.connect().unwrap().get("/", &Headers::new()).unwrap();
    assert_eq!(r.read_all().unwrap(), b"hello, world");

    // ... but a server from another CA is still refused.
    let other = TestPki::new("another CA");
    let unchecked_other = client_config(other.roots(), false, Some(pki.client.parts())).unwrap();
    let c = SslClient::new(unchecked_other, handle.address().clone());
    assert!(c.connect().is_err());

    // ssl_host names the host the certificate is for.
    let named = SslClient::with_ssl_host(
        pki.client_config(),
        handle.address().clone(),
        Some("not-this-host.test".into()),
    );
    let mut r = named.connect().unwrap().get("/", &Headers::new()).unwrap();
    assert_eq!(r.read_all().unwrap(), b"hello, world");
}

#[test]
fn plain_http_to_the_tls_port_is_never_served() {
    let f = start(TestPki::new("degu test CA"));
    let Address::Tcp4 { port, .. } = *f.handle.address() else {
        unreachable!()
    };
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n").unwrap();
    let mut reply = Vec::new();
    let _ = s.read_to_end(&mut reply);
    assert!(!reply.starts_with(b"HTTP/"), "plain HTTP was answered");
    assert_eq!(f.requests.load(Ordering::SeqCst), 0);
}

#[test]
fn config_errors_are_clear() {
    let dir = tempdir("config");
    let pki = TestPki::new("degu test CA");
    pki.write_files(&dir).unwrap();
    let base = SslServerConfig::new(dir.join("server.pem"), dir.join("server.key"));
    let e = base.build().unwrap_err().to_string();
    assert!(e.contains("allow_unauthenticated_clients"), "{e}");
    let ok = base.clone().with_ca_file(dir.join("ca.pem"));
    ok.build().unwrap();
    let anon = base.clone().with_allow_unauthenticated_clients(true);
    anon.build().unwrap();
    let missing = ok.clone().with_key_file(dir.join("nope.key"));
    let e = missing.build().unwrap_err().to_string();
    assert!(e.contains("nope.key"), "{e}");
    let mismatched = ok.clone().with_key_file(dir.join("client.key"));
    assert!(
        mismatched.build().is_err(),
        "a key not matching its certificate"
    );
    let no_key = ok.clone().with_key_file(PathBuf::new());
    assert!(no_key.build().is_err());

    let e = SslClientConfig::default()
        .with_check_hostname(false)
        .build()
        .unwrap_err()
        .to_string();
    assert!(e.contains("check_hostname"), "{e}");
    let e = SslClientConfig::default()
        .with_ca_file(dir.join("ca.pem"))
        .with_cert_file(dir.join("client.pem"))
        .build()
        .unwrap_err()
        .to_string();
    assert!(e.contains("key_file"), "{e}");
    SslClientConfig::default().build().unwrap(); // bundled web roots
    SslClientConfig::default()
        .with_ca_path(dir.to_path_buf())
        .with_cert_file(dir.join("client.pem"))
        .with_key_file(dir.join("client.key"))
        .build()
        .unwrap();
}

/// A directory of its own under the system's temporary directory,
/// removed on drop (a failed test's too).
struct TempDir(PathBuf);

impl std::ops::Deref for TempDir {
    type Target = std::path::Path;
    fn deref(&self) -> &std::path::Path {
        &self.0
    }
}

impl AsRef<std::path::Path> for TempDir {
    fn as_ref(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn tempdir(tag: &str) -> TempDir {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "degu-tls-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    TempDir(dir)
}

fn have(cmd: &str) -> bool {
    Command::new(cmd)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
        || Command::new(cmd)
            .arg("version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok()
}

/// The example `name`, built by `cargo test` next to the test binaries.
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile = exe.parent().unwrap().parent().unwrap();
    profile.join("examples").join(name)
}

/// The demo_tls example as a child process, killed on drop.
struct DemoTls {
    child: std::process::Child,
    address: String,
}

impl Drop for DemoTls {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn demo_tls(dir: &std::path::Path) -> DemoTls {
    let bin = example("demo_tls");
    let mut child = Command::new(&bin)
        .args([
            "--cert",
            "server.pem",
            "--key",
            "server.key",
            "--client-ca",
            "ca.pem",
        ])
        .args(["--timeout", "10", "127.0.0.1:0"])
        .current_dir(dir)
        .env("DEGU_LOG", "off")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.display()));
    let mut line = Vec::new();
    let mut out = child.stdout.take().unwrap();
    let mut b = [0u8; 1];
    while out.read(&mut b).unwrap() == 1 && b[0] != b'\n' {
        line.push(b[0]);
    }
    let address = String::from_utf8(line).unwrap();
    assert!(
        address.parse::<Address>().is_ok(),
        "first line: {address:?}"
    );
    DemoTls { child, address }
}

#[test]
fn curl_talks_to_demo_tls() {
    if !have("curl") {
        eprintln!("curl not installed: skipped (.ci/run installs it)");
        return;
    }
    let dir = tempdir("curl");
    TestPki::new("degu test CA").write_files(&dir).unwrap();
    let demo = demo_tls(&dir);
    let url = format!("https://{}/", demo.address);
    let curl = |extra: &[&str]| {
        Command::new("curl")
            .args(["-s", "--max-time", "20", "--cacert", "ca.pem"])
            .args(extra)
            .current_dir(&dir)
            .output()
            .unwrap()
    };
    let out = curl(&["--cert", "client.pem", "--key", "client.key", &url]);
    assert!(out.status.success(), "curl: {out:?}");
    assert_eq!(out.stdout, b"hello, world");
    let out = curl(&[
        "--cert",
        "client.pem",
        "--key",
        "client.key",
        "-X",
        "PUT",
        "--data-binary",
        "over tls",
        &format!("{url}echo"),
    ]);
    assert_eq!(out.stdout, b"over tls");
    // Without a client certificate: refused.
    let out = curl(&[&url]);
    assert!(!out.status.success(), "served without a client certificate");
}

#[test]
fn openssl_s_client_talks_to_demo_tls() {
    if !have("openssl") {
        eprintln!("openssl not installed: skipped (.ci/run installs it)");
        return;
    }
    let dir = tempdir("openssl");
    TestPki::new("degu test CA").write_files(&dir).unwrap();
    let demo = demo_tls(&dir);
    let mut child = Command::new("openssl")
        .args(["s_client", "-quiet", "-connect", &demo.address])
        .args([
            "-CAfile",
            "ca.pem",
            "-cert",
            "client.pem",
            "-key",
            "client.key",
        ])
        .args(["-verify_return_error", "-tls1_3"])
        .current_dir(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"GET / HTTP/1.1\r\nconnection: close\r\n\r\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text:?}");
    assert!(text.ends_with("\r\n\r\nhello, world"), "{text:?}");
}

#[test]
fn reverse_proxy_to_a_tls_upstream() {
    use degu_server::Server;
    use degu_server::proxy::ProxyApp;
    let f = start(TestPki::new("degu test CA"));
    let upstream = client(&f, f.pki.client_config());
    let proxy = Server::bind(
        &IPV4_LOOPBACK,
        ProxyApp::new(upstream),
        ServerOptions::default(),
    )
    .unwrap()
    .spawn()
    .unwrap();
    let mut conn = Client::new(proxy.address().clone()).connect().unwrap();
    let chunks = vec![Chunk::with_ext("a", "1", "plain in"), Chunk::new("")];
    let r = conn
        .put(
            "/echo",
            &Headers::new(),
            ChunkedBodyIter::new(chunks.clone()),
        )
        .unwrap();
    let Some(Incoming::Chunked(body)) = r.body else {
        panic!("not chunked")
    };
    assert_eq!(body.map(Result::unwrap).collect::<Vec<_>>(), chunks);
    assert_eq!(f.certified.load(Ordering::SeqCst), 1);
}

#[test]
fn fetch_tls_talks_to_demo_tls() {
    let dir = tempdir("fetch");
    TestPki::new("degu test CA").write_files(&dir).unwrap();
    let demo = demo_tls(&dir);
    let fetch = example("fetch_tls");
    let run = |args: &[&str]| {
        Command::new(&fetch)
            .args(args)
            .current_dir(&dir)
            .output()
            .unwrap()
    };
    let tls = [
        "--ca",
        "ca.pem",
        "--cert",
        "client.pem",
        "--key",
        "client.key",
    ];
    let mut args = tls.to_vec();
    args.extend(["--data", "hi there", &demo.address, "/echo"]);
    let out = run(&args);
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("200 OK\n") && text.ends_with("\n\nhi there"),
        "{text:?}"
    );
    let mut args = tls.to_vec();
    args.extend(["--repeat", "50", &demo.address, "/"]);
    let out = run(&args);
    assert!(
        String::from_utf8(out.stdout)
            .unwrap()
            .ends_with("\n\nhello, world")
    );
    // One TLS connection, reused for all 50.
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.ends_with(", on 1 connection\n"), "{err}");
    // No client certificate: a one-line error, exit 1.
    let out = run(&["--ca", "ca.pem", &demo.address, "/"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(String::from_utf8(out.stderr).unwrap().lines().count(), 1);
    // --no-check-hostname without --ca: a configuration error, exit 2.
    let out = run(&["--no-check-hostname", &demo.address, "/"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}

/// Without `--ca`, fetch_tls trusts the operating system's store, here a
/// throwaway CA installed as `SSL_CERT_FILE` (what a corporate CA added
/// to the system is): it connects; with another CA there, the handshake
/// is refused (exit 1, one line).
#[test]
fn fetch_tls_trusts_the_system_store_without_ca() {
    let dir = tempdir("system-store");
    TestPki::new("degu test CA").write_files(&dir).unwrap();
    let other = dir.join("other");
    std::fs::create_dir_all(&other).unwrap();
    TestPki::new("another CA").write_files(&other).unwrap();
    let demo = demo_tls(&dir);
    let fetch = example("fetch_tls");
    let run = |store: &str| {
        Command::new(&fetch)
            .args(["--cert", "client.pem", "--key", "client.key"])
            .args([&demo.address, "/"])
            .current_dir(&dir)
            .env("SSL_CERT_FILE", store)
            .env_remove("SSL_CERT_DIR")
            .output()
            .unwrap()
    };
    let out = run("ca.pem");
    assert!(out.status.success(), "{out:?}");
    assert!(
        String::from_utf8(out.stdout)
            .unwrap()
            .ends_with("\n\nhello, world")
    );
    let out = run("other/ca.pem");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("UnknownIssuer"), "{err}");
}

/// A rustls client stream to `address` with the fixture's client
/// certificate.
fn raw_tls(
    f: &Fixture,
) -> degu_tls::rustls::StreamOwned<degu_tls::rustls::ClientConnection, std::net::TcpStream> {
    let Address::Tcp4 { port, .. } = *f.handle.address() else {
        unreachable!()
    };
    let tcp = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let name = degu_tls::rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let conn = degu_tls::rustls::ClientConnection::new(f.pki.client_config(), name).unwrap();
    degu_tls::rustls::StreamOwned::new(conn, tcp)
}

#[test]
fn the_servers_last_word_ends_with_close_notify() {
    let f = start(TestPki::new("degu test CA"));
    for (request, status) in [
        // Refused: a bare 400, then the end.
        (&b"GET /\x01 HTTP/1.1\r\n\r\n"[..], "400 Bad Request"),
        // The last response.
        (b"GET / HTTP/1.1\r\nconnection: close\r\n\r\n", "200 OK"),
    ] {
        let mut tls = raw_tls(&f);
        tls.write_all(request).unwrap();
        let mut reply = Vec::new();
        // rustls reports a TCP close without close_notify as an error.
        tls.read_to_end(&mut reply)
            .expect("the TLS stream ends with close_notify");
        let reply = String::from_utf8(reply).unwrap();
        assert!(
            reply.starts_with(&format!("HTTP/1.1 {status}\r\n")),
            "{reply}"
        );
        assert!(reply.contains("connection: close\r\n"), "{reply}");
    }
}

/// A TLS demo server with `opts`, a real ClientHello for it, and a TCP
/// connection to it on which to trickle that hello.
fn trickle_setup(opts: ServerOptions) -> (TestPki, ServerHandle, Vec<u8>, std::net::TcpStream) {
    let pki = TestPki::new("degu test CA");
    let handle = SslServer::bind(pki.server_config(), &IPV4_LOOPBACK, demo::app, opts)
        .unwrap()
        .spawn()
        .unwrap();
    let Address::Tcp4 { port, .. } = *handle.address() else {
        unreachable!()
    };
    let name = degu_tls::rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let mut conn = degu_tls::rustls::ClientConnection::new(pki.client_config(), name).unwrap();
    let mut hello = Vec::new();
    conn.write_tls(&mut hello).unwrap();
    let s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    (pki, handle, hello, s)
}

#[test]
fn a_trickled_handshake_is_cut_off_at_the_header_timeout() {
    let opts = ServerOptions::default().with_header_timeout(Some(Duration::from_millis(500)));
    // A real ClientHello, one byte every 50 ms: each read the server makes
    // is answered well within its timeout, the handshake as a whole is not.
    let (_pki, handle, hello, mut s) = trickle_setup(opts);
    let sent = hello
        .iter()
        .take_while(|b| {
            std::thread::sleep(Duration::from_millis(50));
            s.write_all(&[**b]).is_ok()
        })
        .count();
    println!("cut off after {sent} of {} bytes", hello.len());
    assert!(
        sent < hello.len(),
        "the handshake went on past its deadline"
    );
    assert_eq!(handle.shutdown(), 0);
}

#[test]
fn a_trickled_client_hello_holds_no_worker() {
    // One worker, and a peer trickling its ClientHello a byte at a time:
    // the handshake runs on the event thread, so the worker stays free
    // for everyone else. Not even once: with a worker_wait this long, a
    // worker handed the trickler early would hold it past the other
    // clients' timeout.
    let opts = ServerOptions::default()
        .with_max_workers(1)
        .with_worker_wait(Duration::from_secs(30))
        .with_header_timeout(Some(Duration::from_secs(30)));
    let (pki, handle, hello, mut slow) = trickle_setup(opts);
    let client = SslClient::new(pki.client_config(), handle.address().clone())
        .with_timeout(Some(Duration::from_secs(5)));
    for b in &hello[..20] {
        slow.write_all(&[*b]).unwrap();
        // Each request is a fresh connection with a full handshake.
        let mut c = client.connect().unwrap();
        let mut r = c.get("/", &Headers::new()).unwrap();
        assert_eq!(r.read_all().unwrap(), b"hello, world");
    }
    // The trickler is still there, waiting on the event thread, once the
    // server has seen the other connections end (polled, boundedly).
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while handle.connections() != 1 {
        assert!(
            std::time::Instant::now() < deadline,
            "{} connections",
            handle.connections()
        );
        std::thread::yield_now();
    }
    drop(slow);
    assert_eq!(handle.shutdown(), 0);
}

/// `fetch_tls --data @1GiB` and `--chunked @1GiB` to demo_tls's `/echo`
/// print the same bytes back, compared by digest: the echo streams back
/// while the body is still being sent, through TLS both ways. The file is
/// sparse but for 4 KiB of pattern every 128 MiB, at shifting offsets.
#[test]
fn fetch_tls_echoes_1_gib() {
    use std::io::BufRead;
    use std::os::unix::fs::FileExt;
    let dir = tempdir("gib");
    TestPki::new("degu test CA").write_files(&dir).unwrap();
    let demo = demo_tls(&dir);
    let path = dir.join("1GiB.bin");
    let file = std::fs::File::create(&path).unwrap();
    file.set_len(1 << 30).unwrap();
    for k in 0..8u64 {
        let data: Vec<u8> = (0..4096 + k as usize).map(|i| (i % 251) as u8).collect();
        file.write_all_at(&data, k * (128 << 20) + k * 4099)
            .unwrap();
    }
    drop(file);
    let md5 = |r: &mut dyn Read| -> String {
        let mut child = Command::new("md5sum")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("md5sum (coreutils)");
        std::io::copy(r, child.stdin.as_mut().unwrap()).unwrap();
        drop(child.stdin.take());
        let out = child.wait_with_output().unwrap();
        let digest = String::from_utf8(out.stdout).unwrap();
        digest.split_whitespace().next().unwrap().to_owned()
    };
    let expected = md5(&mut std::fs::File::open(&path).unwrap());
    let fetch = example("fetch_tls");
    for mode in ["--data", "--chunked"] {
        let mut child = Command::new(&fetch)
            .args([
                "--ca",
                "ca.pem",
                "--cert",
                "client.pem",
                "--key",
                "client.key",
            ])
            .args([mode, "@1GiB.bin", &demo.address, "/echo"])
            .current_dir(&dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut head = String::new();
        loop {
            let mut line = String::new();
            if out.read_line(&mut line).unwrap() == 0 || line == "\n" {
                break;
            }
            head.push_str(&line);
        }
        let got = md5(&mut out);
        let status = child.wait().unwrap();
        let mut err = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        assert!(status.success(), "{mode}: {status:?}: {err}");
        assert!(head.starts_with("200 OK\n"), "{mode}: {head}");
        assert_eq!(got, expected, "{mode}: the echo differs");
    }
}

/// A connected AF_UNIX pair whose reads give up after 10 s.
fn timed_pair() -> (
    std::os::unix::net::UnixStream,
    std::os::unix::net::UnixStream,
) {
    let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
    for s in [&a, &b] {
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    }
    (a, b)
}

/// A TLS client stream to "localhost" over `sock`, its handshake done.
fn client_handshake<S: Read + Write + std::os::fd::AsFd>(
    config: Arc<degu_tls::rustls::ClientConfig>,
    sock: S,
) -> degu_tls::TlsStream<degu_tls::rustls::ClientConnection, S> {
    let name = degu_tls::rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let conn = degu_tls::rustls::ClientConnection::new(config, name).unwrap();
    degu_tls::TlsStream::handshake(conn, sock).unwrap()
}

/// A vectored write takes every slice at once (a response's head and its
/// body go out as one write of the same records), not just the first.
#[test]
fn a_vectored_write_takes_every_slice() {
    use std::io::IoSlice;

    let pki = TestPki::new("degu test CA");
    let (a, b) = timed_pair();
    let server = degu_tls::rustls::ServerConnection::new(pki.server_config()).unwrap();
    let peer = std::thread::spawn(move || {
        let mut s = degu_tls::rustls::StreamOwned::new(server, b);
        let mut got = [0u8; 20];
        s.read_exact(&mut got).unwrap();
        got
    });
    let mut tls = client_handshake(pki.client_config(), a);
    let slices = [IoSlice::new(b"HTTP/1.1 200 OK\r\n"), IoSlice::new(b"abc")];
    assert_eq!(tls.write_vectored(&slices).unwrap(), 20);
    assert_eq!(&peer.join().unwrap(), b"HTTP/1.1 200 OK\r\nabc");
}

/// A transport that keeps the bytes of each write it is asked for; its
/// reads without waiting block (under the socket's timeout) instead, so
/// a handshake run from `read_nonblocking` needs no event loop.
struct Recorded {
    sock: std::os::unix::net::UnixStream,
    writes: Vec<Vec<u8>>,
}

/// A server stream over `sock`, its handshake deferred, its writes
/// recorded.
fn recorded_server(
    pki: &TestPki,
    sock: std::os::unix::net::UnixStream,
) -> degu_tls::TlsStream<degu_tls::rustls::ServerConnection, Recorded> {
    let conn = degu_tls::rustls::ServerConnection::new(pki.server_config()).unwrap();
    degu_tls::TlsStream::deferred(
        conn,
        Recorded {
            sock,
            writes: Vec::new(),
        },
    )
}

impl Read for Recorded {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.sock.read(buf)
    }
}

impl Write for Recorded {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.sock.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl degu_core::Transport for Recorded {
    fn read_nonblocking(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.sock.read(buf)
    }

    fn write_nonblocking(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.sock.write(buf)?;
        self.writes.push(buf[..n].to_vec());
        Ok(n)
    }

    fn write_vectored_nonblocking(
        &mut self,
        bufs: &[std::io::IoSlice<'_>],
    ) -> std::io::Result<usize> {
        let all: Vec<u8> = bufs.iter().flat_map(|b| b.iter().copied()).collect();
        self.write_nonblocking(&all)
    }
}

/// The TLS records (content types) in `bytes`, whole records only.
fn record_types(mut bytes: &[u8]) -> Vec<u8> {
    let mut types = Vec::new();
    while bytes.len() >= 5 {
        let len = usize::from(u16::from_be_bytes([bytes[3], bytes[4]]));
        if bytes.len() < 5 + len {
            break;
        }
        types.push(bytes[0]);
        bytes = &bytes[5 + len..];
    }
    types
}

#[test]
fn a_server_handshake_flight_is_one_write() {
    let pki = TestPki::new("degu test CA");
    let (a, b) = timed_pair();
    let client = std::thread::spawn({
        let config = pki.client_config();
        move || {
            let mut tls = client_handshake(config, a);
            tls.write_all(b"hello").unwrap();
            tls
        }
    });
    let mut server = recorded_server(&pki, b);
    let mut buf = [0u8; 16];
    let mut got = Vec::new();
    while got.len() < 5 {
        let n = degu_core::Transport::read_nonblocking(&mut server, &mut buf).unwrap();
        assert_ne!(n, 0, "the client closed before its bytes came");
        got.extend_from_slice(&buf[..n]);
    }
    assert_eq!(got, b"hello");
    let _client = client.join().unwrap();
    // The answer to the ClientHello (ServerHello, ChangeCipherSpec, the
    // encrypted rest) went out in one write, not a write per record.
    let writes = &server.sock().writes;
    let first = record_types(&writes[0]);
    assert!(first.len() >= 2, "first write held records {first:?}");
    assert_eq!(first[0], 22, "the first record is a handshake one");
    assert!(
        first.contains(&23),
        "the encrypted flight is in it: {first:?}"
    );
}

/// A server stream answers the peer's hello (and says so) only once the
/// whole hello is in: the server's event thread hands a fresh connection
/// to a worker early only after that, never to wait on a trickling hello.
#[test]
fn a_hello_is_answered_once_it_is_whole() {
    use degu_core::Transport;
    let pki = TestPki::new("degu test CA");
    let (mut a, b) = timed_pair();
    b.set_nonblocking(true).unwrap();
    let name = degu_tls::rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut client = degu_tls::rustls::ClientConnection::new(pki.client_config(), name).unwrap();
    let mut hello = Vec::new();
    client.write_tls(&mut hello).unwrap();
    let mut server = recorded_server(&pki, b);
    let mut buf = [0u8; 16];
    assert!(!server.hello_answered(), "nothing has come");
    let half = hello.len() / 2;
    for piece in [&hello[..1], &hello[1..half]] {
        a.write_all(piece).unwrap();
        let e = server.read_nonblocking(&mut buf).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::WouldBlock);
        assert!(!server.hello_answered(), "part of a hello");
    }
    assert!(server.sock().writes.is_empty());
    a.write_all(&hello[half..]).unwrap();
    let e = server.read_nonblocking(&mut buf).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::WouldBlock);
    assert!(server.hello_answered(), "the whole hello");
    assert!(!server.sock().writes.is_empty(), "its answer went out");
}

// --- fresh connections handed to an idle worker mid-handshake ---
//
// A fresh TLS connection whose handshake has begun, with no request yet,
// goes to a worker when one is idle; the worker reads the handshake's
// last flight and the first request itself for `worker_wait`, then gives
// the connection back to the event thread if the request has not come.

/// Makes a worker idle: one request on a connection that then closes,
/// and the server back to no connection (the worker that served it done
/// with it, a bounded wait).
fn idle_a_worker(f: &Fixture) {
    let mut c = client(f, f.pki.client_config()).connect().unwrap();
    let mut r = c.get("/", &Headers::new()).unwrap();
    assert_eq!(r.read_all().unwrap(), b"hello, world");
    drop(r);
    drop(c);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while f.handle.connections() != 0 {
        assert!(std::time::Instant::now() < deadline, "the connection stays");
        std::thread::yield_now();
    }
}

/// A rustls client over TCP to the fixture, its ClientHello sent and the
/// server's flight taken in: its own last flight (certificate, finished)
/// is ready but not sent.
fn half_handshake(f: &Fixture) -> (degu_tls::rustls::ClientConnection, std::net::TcpStream) {
    let Address::Tcp4 { port, .. } = *f.handle.address() else {
        unreachable!()
    };
    let mut tcp = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let name = degu_tls::rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let mut conn = degu_tls::rustls::ClientConnection::new(f.pki.client_config(), name).unwrap();
    conn.write_tls(&mut tcp).unwrap();
    while conn.is_handshaking() {
        assert_ne!(conn.read_tls(&mut tcp).unwrap(), 0, "the server closed");
        conn.process_new_packets().unwrap();
    }
    (conn, tcp)
}

#[test]
fn a_handshake_that_ends_after_the_worker_gave_up_is_served() {
    // The peer answers the server's flight only after `worker_wait` has
    // passed several times over: the worker it went to has given it back
    // by then, and its request, arriving whole on the event thread, goes
    // to a worker again and is served (and greeted once, with the
    // client's certificate).
    let opts = ServerOptions::default()
        .with_timeout(Some(Duration::from_secs(10)))
        .with_worker_wait(Duration::from_millis(1));
    let f = start_with(TestPki::new("degu test CA"), opts);
    idle_a_worker(&f);
    let (mut conn, tcp) = half_handshake(&f);
    // Pacing the peer, not waiting for the server.
    std::thread::sleep(Duration::from_millis(30));
    conn.writer()
        .write_all(b"GET / HTTP/1.1\r\nconnection: close\r\n\r\n")
        .unwrap();
    let mut tls = degu_tls::rustls::StreamOwned::new(conn, tcp);
    tls.flush().unwrap();
    let mut reply = Vec::new();
    tls.read_to_end(&mut reply)
        .expect("the response, then close_notify");
    let reply = String::from_utf8(reply).unwrap();
    assert!(reply.starts_with("HTTP/1.1 200 OK\r\n"), "{reply}");
    assert!(reply.ends_with("hello, world"), "{reply}");
    assert_eq!(f.requests.load(Ordering::SeqCst), 2);
    assert_eq!(f.certified.load(Ordering::SeqCst), 2);
    drop(tls);
    assert_eq!(f.handle.shutdown(), 0);
}

#[test]
fn a_handshake_then_silence_is_closed_at_the_header_timeout() {
    // The peer ends its handshake and never sends a request. Handed to a
    // worker and given back, the connection keeps the deadline it was
    // accepted with (`header_timeout`), not the longer one for a quiet
    // connection between requests.
    let opts = ServerOptions::default()
        .with_timeout(Some(Duration::from_secs(60)))
        .with_header_timeout(Some(Duration::from_millis(300)));
    let f = start_with(TestPki::new("degu test CA"), opts);
    idle_a_worker(&f);
    let (conn, tcp) = half_handshake(&f);
    let mut tls = degu_tls::rustls::StreamOwned::new(conn, tcp);
    tls.flush().unwrap();
    // Quiet; the server closes (the client's read gives up after 10 s).
    let mut reply = Vec::new();
    match tls.read_to_end(&mut reply) {
        Ok(_) => {}
        Err(e) => assert!(
            !matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ),
            "the connection is still open: {e}"
        ),
    }
    assert!(reply.is_empty(), "{reply:?}");
    assert_eq!(f.requests.load(Ordering::SeqCst), 1);
    assert_eq!(f.handle.shutdown(), 0);
}

#[test]
fn fresh_mutual_tls_connections_are_each_greeted_with_their_certificate() {
    // One request per connection, each on a full handshake, with workers
    // idle between them: `on_connect` sees every client's certificate,
    // however the handshake's end was read.
    let f = start(TestPki::new("degu test CA"));
    let client = client(&f, f.pki.client_config());
    for n in 1..=20 {
        idle_a_worker(&f);
        let mut c = client.connect().unwrap();
        let mut r = c.get("/", &Headers::new()).unwrap();
        assert_eq!(r.read_all().unwrap(), b"hello, world");
        assert_eq!(f.certified.load(Ordering::SeqCst), 2 * n);
    }
    assert_eq!(f.requests.load(Ordering::SeqCst), 40);
    assert_eq!(f.handle.shutdown(), 0);
}
