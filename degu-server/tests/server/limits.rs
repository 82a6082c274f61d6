//! max_connections, max_requests and timeout.

use std::sync::Mutex;
use std::sync::mpsc::{self, Sender};
use std::time::{Duration, Instant};

use degu_core::IPV4_LOOPBACK;
use degu_server::{AppResult, BodyIter, Request, Response, Server, ServerOptions, Session, demo};

use crate::util::{Client, IO_TIMEOUT, req, serve};

#[test]
fn options_are_validated_at_bind() {
    let bad = [
        ServerOptions::default().with_max_connections(0),
        ServerOptions::default().with_max_requests(0),
        ServerOptions::default().with_timeout(Some(Duration::ZERO)),
        ServerOptions::default().with_max_workers(0),
        ServerOptions::default().with_header_timeout(Some(Duration::ZERO)),
        ServerOptions::default().with_worker_wait(Duration::ZERO),
        // Deadlines are instants: one past what a clock can hold would
        // stop the server at its first connection.
        ServerOptions::default().with_timeout(Some(Duration::MAX)),
        ServerOptions::default().with_header_timeout(Some(Duration::MAX)),
        ServerOptions::default()
            .with_timeout(None)
            .with_worker_wait(Duration::MAX),
        ServerOptions::default().with_worker_idle(Duration::MAX),
        ServerOptions::default().with_shutdown_timeout(Duration::MAX),
        ServerOptions::default().with_linger(Duration::MAX),
        ServerOptions::default().with_linger(ServerOptions::MAX_DURATION + Duration::from_secs(1)),
    ];
    for options in bad {
        assert!(
            Server::bind(&IPV4_LOOPBACK, demo::app, options.clone()).is_err(),
            "{options:?}"
        );
    }
    let longest = ServerOptions::default()
        .with_timeout(Some(ServerOptions::MAX_DURATION))
        .with_linger(ServerOptions::MAX_DURATION);
    longest.validate().unwrap();
    let e = ServerOptions::default()
        .with_timeout(Some(Duration::MAX))
        .validate()
        .unwrap_err()
        .to_string();
    assert!(e.contains("timeout must be at most 365 days"), "{e}");
    let d = ServerOptions::default();
    assert_eq!(
        (
            d.max_connections(),
            d.max_workers(),
            d.max_requests(),
            d.timeout(),
            d.header_timeout()
        ),
        (
            10_000,
            256,
            1000,
            Some(Duration::from_secs(30)),
            Some(Duration::from_secs(10))
        )
    );
}

#[test]
fn max_connections_refuses_extra_connections_unserved() {
    let server = serve(demo::app, ServerOptions::default().with_max_connections(2));
    let address = server.address().clone();
    let mut a = Client::connect(&address);
    let mut b = Client::connect(&address);
    // A request on each makes sure both were accepted and counted.
    assert_eq!(a.get("/").text(), "hello, world");
    assert_eq!(b.get("/").text(), "hello, world");
    assert_eq!(server.connections(), 2);
    // A third is closed without being served, as often as it tries.
    for _ in 0..5 {
        let mut c = Client::connect(&address);
        let _ = c.try_send(req("GET", "/", &[]));
        let (got, _) = c.finish();
        assert!(got.is_empty(), "served past max_connections: {got:?}");
    }
    // The server stays responsive to the connections it has.
    assert_eq!(a.get("/").text(), "hello, world");
    assert_eq!(b.get("/").text(), "hello, world");
    // Once one of them closes, a new connection is served: retry until
    // the server has noticed the close (bounded by attempts over 10 s).
    drop(a);
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut attempts = 0;
    loop {
        attempts += 1;
        let mut c = Client::connect(&address);
        let _ = c.try_send(req("GET", "/", &[("connection", "close")]));
        let (got, _) = c.finish();
        if !got.is_empty() {
            let text = String::from_utf8_lossy(&got);
            assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text:?}");
            assert!(text.ends_with("\r\n\r\nhello, world"), "{text:?}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no connection served after one closed ({attempts} attempts)"
        );
    }
    println!("served again after {attempts} connection attempts");
    assert_eq!(b.get("/").text(), "hello, world");
    assert_eq!(server.shutdown(), 0);
}

#[test]
fn max_requests_closes_after_the_last() {
    let server = serve(demo::app, ServerOptions::default().with_max_requests(3));
    let mut c = Client::connect(server.address());
    for i in 0..3 {
        let r = c.get("/info");
        assert_eq!(r.json().get("session").get("requests").int(), i);
        // The last response says the connection closes.
        assert_eq!(r.header("connection"), (i == 2).then_some("close"));
    }
    c.expect_closed();
    // Pipelined past the limit: three answers, then the close.
    let mut c = Client::connect(server.address());
    let mut wire = Vec::new();
    for i in 0..5 {
        wire.extend(req("GET", &format!("/info?{i}"), &[]));
    }
    c.send(&wire);
    for i in 0..3 {
        assert_eq!(c.response(false).json().get("query").str(), i.to_string());
    }
    c.expect_closed();
    // With max_requests 1.
    let server = serve(demo::app, ServerOptions::default().with_max_requests(1));
    let mut c = Client::connect(server.address());
    assert_eq!(c.send_body("PUT", "/echo", b"once").text(), "once");
    c.expect_closed();
}

/// Short timeouts: 300 ms for a wait and for a whole preamble (a preamble
/// that stalls half-way is cut off by `header_timeout`, whose default of
/// 10 s would race the test client's own 10 s read timeout).
fn timeout_server() -> degu_server::ServerHandle {
    let short = Some(Duration::from_millis(300));
    serve(
        demo::app,
        ServerOptions::default()
            .with_timeout(short)
            .with_header_timeout(short),
    )
}

#[test]
fn timeout_closes_idle_connections() {
    let server = timeout_server();
    // Idle before the first request.
    let mut c = Client::connect(server.address());
    c.expect_closed();
    // Idle between requests (keep-alive).
    let mut c = Client::connect(server.address());
    assert_eq!(c.get("/").text(), "hello, world");
    assert_eq!(c.get("/bytes/3").bytes(), [0, 1, 2]);
    c.expect_closed();
    assert_eq!(server.shutdown(), 0);
}

#[test]
fn timeout_cuts_off_slow_peers() {
    let server = timeout_server();
    // Half a preamble, then silence: closed without an answer.
    let mut c = Client::connect(server.address());
    c.send("GET / HTTP/1.1\r\nhost: exam");
    c.expect_closed();
    // The request line only.
    let mut c = Client::connect(server.address());
    c.send("GET /info HTTP/1.1\r\n");
    c.expect_closed();
    // Half a body: the echo is cut short.
    let mut c = Client::connect(server.address());
    c.send("PUT /echo HTTP/1.1\r\ncontent-length: 10\r\n\r\nhello");
    let head = c.head();
    assert_eq!(head.header("content-length"), Some("10"));
    let (rest, _) = c.finish();
    assert_eq!(rest, b"hello");
    // Half a chunk.
    let mut c = Client::connect(server.address());
    c.send("PUT /echo HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhel");
    let head = c.head();
    assert_eq!(head.header("transfer-encoding"), Some("chunked"));
    let (rest, _) = c.finish();
    assert!(!rest.ends_with(b"0\r\n\r\n"), "{rest:?}");
    assert_eq!(server.shutdown(), 0);
}

/// Sends on its channel when dropped.
struct Tell(Sender<()>);

impl Drop for Tell {
    fn drop(&mut self) {
        let _ = self.0.send(());
    }
}

#[test]
fn timeout_cuts_off_peers_that_stop_reading() {
    // The app answers with an endless body; the peer reads nothing, so the
    // server's writes block until the timeout, and it gives up: the body
    // (and the `Tell` inside it) is dropped.
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    let app = move |_: &mut Session, _: &mut Request| -> AppResult {
        let tell = Tell(tx.lock().unwrap().clone());
        let pieces = std::iter::repeat_n(vec![7u8; 64 * 1024], usize::MAX).inspect(move |_| {
            let _ = &tell;
        });
        Ok(Response::new(200, "OK").body(BodyIter::new(pieces, 1 << 50)))
    };
    let server = serve(
        app,
        ServerOptions::default().with_timeout(Some(Duration::from_millis(300))),
    );
    let mut c = Client::connect(server.address());
    c.send(req("GET", "/", &[]));
    rx.recv_timeout(IO_TIMEOUT)
        .expect("the server kept writing to a peer that reads nothing");
    // What was in flight, then the close.
    let head = c.head();
    assert_eq!(head.header("content-length"), Some("1125899906842624"));
    let (rest, _) = c.finish();
    assert!(rest.iter().all(|&b| b == 7));
    assert_eq!(server.shutdown(), 0);
}
