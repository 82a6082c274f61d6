//! What an adversary tried against the demo and files programs, and what
//! must hold (SECURITY.md lists each finding with its test):
//!
//! - when the server ends a connection with the peer's input unread
//!   (`max_requests`, `connection: close` with requests pipelined behind
//!   it, an unread body too large to drain), no response is lost to a TCP
//!   reset: every response and the `connection: close` arrive, then a
//!   clean end of stream;
//! - the linger after the server's last word is bounded in time, however
//!   the peer trickles, and gives way to new connections;
//! - a FIFO (or a symlink to one) in a `FilesApp` root does not pin a
//!   connection: the slot comes back, other clients are served;
//! - a directory swapped for a symlink during requests never serves a file
//!   outside the root;
//! - a peer's AF_UNIX name cannot forge log lines;
//! - `connection: keep-alive, close` closes.

use std::io::Write;
use std::net::Shutdown;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use degu_core::{Address, IPV4_LOOPBACK};
use degu_server::files::FilesApp;
use degu_server::{ServerHandle, ServerOptions, demo};

use crate::util::{
    Client, Ending, IO_TIMEOUT, RespBody, Stream, TempDir, big_lock, in_child, is_child, pattern,
    req, serve, serve_at,
};

/// Size of each pipelined response: ten of them are more than the socket
/// buffers of both sides hold.
const BIG: usize = 1_000_000;

/// Sends `answered` pipelined `GET /bytes/1000000` (the last one carrying
/// `last_headers`), then about 144 KB of further requests the server must
/// not answer, all from a thread (the server reads them only as it goes);
/// reads every response late, as they come, and checks each whole, the
/// last saying `connection: close`, then a clean end of stream (not a
/// reset). The writer must finish too: the server reads what it does not
/// answer rather than resetting the connection.
fn pipelined_then_closed(address: &Address, answered: usize, last_headers: &[(&str, &str)]) {
    let mut wire = Vec::new();
    for i in 0..answered {
        let headers = if i + 1 == answered { last_headers } else { &[] };
        wire.extend(req("GET", &format!("/bytes/{BIG}"), headers));
    }
    let padding = "p".repeat(1000);
    let unanswered = req("GET", "/bytes/10", &[("x-padding", &padding)]);
    while wire.len() < answered * 30 + 144_000 {
        wire.extend_from_slice(&unanswered);
    }
    let mut c = Client::connect(address);
    let mut w = c.stream().try_clone();
    let writer = thread::spawn(move || w.write_all(&wire));
    let want = pattern(0, BIG);
    for i in 0..answered {
        let r = c.response(false);
        assert_eq!(r.status(), 200, "response {i}");
        assert!(r.body == RespBody::Bytes(want.clone()), "response {i}");
        let close = (i + 1 == answered).then_some("close");
        assert_eq!(r.header("connection"), close, "response {i}");
    }
    let (rest, ending) = c.finish();
    assert!(
        rest.is_empty(),
        "{} bytes after the last response",
        rest.len()
    );
    assert_eq!(ending, Ending::Eof);
    writer
        .join()
        .unwrap()
        .expect("the server reset the connection while the client was still sending");
}

#[test]
fn no_response_lost_when_max_requests_ends_the_connection() {
    let _big = big_lock();
    let dir = TempDir::new();
    for address in [IPV4_LOOPBACK, Address::Unix(dir.path().join("s.sock"))] {
        let server = serve_at(
            &address,
            demo::app,
            ServerOptions::default().with_max_requests(10),
        );
        pipelined_then_closed(server.address(), 10, &[]);
        assert_eq!(server.shutdown(), 0);
    }
}

#[test]
fn no_response_lost_when_a_request_says_connection_close() {
    let _big = big_lock();
    let server = serve(demo::app, ServerOptions::default());
    pipelined_then_closed(server.address(), 5, &[("connection", "close")]);
    assert_eq!(server.shutdown(), 0);
}

#[test]
fn no_response_lost_after_an_unread_body_too_large_to_drain() {
    let _big = big_lock();
    let server = serve(demo::app, ServerOptions::default());
    // `PUT /` is a 405 that never reads its body; 8 MiB is too much to
    // drain, so the connection closes after the response.
    let body = vec![7u8; 8 << 20];
    let mut c = Client::connect(server.address());
    let mut w = c.stream().try_clone();
    let writer = thread::spawn(move || {
        w.write_all(
            format!("PUT / HTTP/1.1\r\ncontent-length: {}\r\n\r\n", body.len()).as_bytes(),
        )?;
        w.write_all(&body)
    });
    let r = c.response(false);
    assert_eq!(r.status(), 405);
    assert_eq!(r.header("connection"), Some("close"));
    let (rest, ending) = c.finish();
    assert!(rest.is_empty());
    assert_eq!(ending, Ending::Eof);
    writer
        .join()
        .unwrap()
        .expect("the server reset the connection while the client was still sending");
    assert_eq!(server.shutdown(), 0);
}

/// After the server's last word on `c`, writes one byte every 20 ms until
/// a write fails (the server closed), which must come within the socket
/// timeout; returns how many bytes were written.
fn trickle_until_closed(c: &mut Client) -> usize {
    let deadline = Instant::now() + IO_TIMEOUT;
    let mut sent = 0;
    while c.try_send(b"x").is_ok() {
        sent += 1;
        assert!(
            Instant::now() < deadline,
            "still open after {sent} trickled bytes"
        );
        thread::sleep(Duration::from_millis(20));
    }
    sent
}

#[test]
fn the_linger_is_bounded_in_time_under_a_trickle() {
    let server = serve(
        demo::app,
        ServerOptions::default().with_linger(Duration::from_millis(300)),
    );
    // After a refused request.
    let mut c = Client::connect(server.address());
    c.send("GET /\x01 HTTP/1.1\r\n\r\n");
    assert_eq!(c.response(false).status(), 400);
    let sent = trickle_until_closed(&mut c);
    println!("refusal: closed after {sent} trickled bytes");
    // After the last response.
    let mut c = Client::connect(server.address());
    c.send(req("GET", "/", &[("connection", "close")]));
    assert_eq!(c.response(false).text(), "hello, world");
    let sent = trickle_until_closed(&mut c);
    println!("connection: close: closed after {sent} trickled bytes");
    assert_eq!(server.shutdown(), 0);
}

#[test]
fn a_lingering_connection_gives_way_to_a_new_one() {
    let server = serve(
        demo::app,
        ServerOptions::default()
            .with_max_connections(1)
            .with_linger(Duration::from_secs(60)),
    );
    let mut a = Client::connect(server.address());
    a.send(req("GET", "/", &[("connection", "close")]));
    assert_eq!(a.response(false).text(), "hello, world");
    a.expect_closed();
    // `a` keeps sending, so its connection lingers (up to a minute); a new
    // connection still gets the only slot at once.
    a.send("more");
    let mut b = Client::connect(server.address());
    assert_eq!(b.get("/").text(), "hello, world");
    assert_eq!(server.connections(), 1);
    drop(a);
    drop(b);
    assert_eq!(server.shutdown(), 0);
}

#[test]
fn keep_alive_close_is_a_close() {
    let server = serve(demo::app, ServerOptions::default());
    let mut c = Client::connect(server.address());
    let mut wire = req("GET", "/info?1", &[("connection", "keep-alive, Close")]);
    wire.extend(req("GET", "/info?2", &[]));
    c.send(wire);
    let r = c.response(false);
    assert_eq!(r.json().get("query").str(), "1");
    assert_eq!(r.header("connection"), Some("close"));
    c.expect_closed();
}

/// Sends `request` (which should say `connection: close`) on new
/// connections until one is served (a connection refused past
/// `max_connections` is closed unserved), within the socket timeout;
/// returns the status and the body.
fn served(server: &ServerHandle, request: &[u8]) -> (u16, String) {
    let deadline = Instant::now() + IO_TIMEOUT;
    loop {
        let mut c = Client::connect(server.address());
        let _ = c.try_send(request);
        let (got, _) = c.finish();
        if !got.is_empty() {
            let text = String::from_utf8(got).unwrap();
            let (head, body) = text.split_once("\r\n\r\n").unwrap();
            let status = head[9..12].parse().unwrap();
            return (status, body.to_owned());
        }
        assert!(Instant::now() < deadline, "never served");
    }
}

#[test]
fn a_fifo_in_the_files_root_does_not_pin_a_connection() {
    let dir = TempDir::new();
    std::fs::write(dir.path().join("file.txt"), "a file").unwrap();
    rustix::fs::mknodat(
        rustix::fs::CWD,
        dir.path().join("fifo"),
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from(0o600),
        0,
    )
    .unwrap();
    std::os::unix::fs::symlink("fifo", dir.path().join("link")).unwrap();
    let server = serve(
        FilesApp::new(dir.path()).unwrap(),
        ServerOptions::default().with_max_connections(2),
    );
    // Clients that ask for the FIFO and leave at once, more of them than
    // there are slots.
    for uri in ["/fifo", "/link", "/fifo", "/link", "/fifo"] {
        let mut c = Client::connect(server.address());
        let _ = c.try_send(req("GET", uri, &[("connection", "close")]));
        c.stream().shutdown(Shutdown::Both);
    }
    // Clients that wait: the FIFO is not a file to serve, and the slots
    // come back for everyone else.
    for uri in ["/fifo", "/link"] {
        let (status, _) = served(&server, &req("GET", uri, &[("connection", "close")]));
        assert_eq!(status, 404, "{uri}");
    }
    let got = served(
        &server,
        &req("GET", "/file.txt", &[("connection", "close")]),
    );
    assert_eq!(got, (200, "a file".to_owned()));
    assert_eq!(server.shutdown(), 0);
}

#[test]
fn a_symlink_swapped_in_during_requests_never_serves_outside_the_root() {
    let dir = TempDir::new();
    let root = dir.path().join("www");
    let outside = dir.path().join("outside");
    std::fs::create_dir_all(root.join("d")).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(root.join("d/f"), "inside").unwrap();
    std::fs::write(outside.join("f"), "secret").unwrap();
    // `e` is a symlink out of the root; `d` and `e` trade places as fast
    // as the kernel lets them, while requests for `/d/f` come in.
    std::os::unix::fs::symlink(&outside, root.join("e")).unwrap();
    let server = serve(
        FilesApp::new(&root).unwrap(),
        ServerOptions::default().with_max_requests(10_000),
    );
    let stop = Arc::new(AtomicBool::new(false));
    let swaps = {
        let stop = Arc::clone(&stop);
        let (d, e) = (root.join("d"), root.join("e"));
        thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let swapped = rustix::fs::renameat_with(
                    rustix::fs::CWD,
                    &d,
                    rustix::fs::CWD,
                    &e,
                    rustix::fs::RenameFlags::EXCHANGE,
                );
                if swapped.is_err() {
                    break; // the test is over (its directory is gone)
                }
                n += 1;
            }
            n
        })
    };
    let mut statuses = std::collections::BTreeMap::new();
    let mut c = Client::connect(server.address());
    for _ in 0..3000 {
        let r = c.get("/d/f");
        let text = r.text();
        assert_ne!(text, "secret", "served a file outside the root");
        *statuses.entry((r.status(), text)).or_insert(0) += 1;
    }
    stop.store(true, Ordering::Relaxed);
    let n = swaps.join().unwrap();
    println!("{n} swaps; answers: {statuses:?}");
    assert!(
        statuses.contains_key(&(200, "inside".to_owned())),
        "{statuses:?}"
    );
    assert_eq!(server.shutdown(), 0);
}

/// Log lines kept by the child that checks them.
static LINES: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct KeepLines;

impl log::Log for KeepLines {
    fn enabled(&self, m: &log::Metadata<'_>) -> bool {
        m.level() <= log::Level::Info
    }
    fn log(&self, r: &log::Record<'_>) {
        LINES.lock().unwrap().push(r.args().to_string());
    }
    fn flush(&self) {}
}

#[test]
fn a_peer_name_cannot_forge_log_lines() {
    in_child("attacks::child_log_lines");
}

/// Waits (boundedly) until the server has no connection left.
fn until_idle(server: &ServerHandle) {
    let deadline = Instant::now() + IO_TIMEOUT;
    while server.connections() > 0 {
        assert!(Instant::now() < deadline, "connections never ended");
        thread::yield_now();
    }
}

#[test]
fn child_log_lines() {
    if !is_child("attacks::child_log_lines") {
        return;
    }
    static KEEP: KeepLines = KeepLines;
    log::set_logger(&KEEP).unwrap();
    log::set_max_level(log::LevelFilter::Info);
    let dir = TempDir::new();
    let server = serve_at(
        &Address::Unix(dir.path().join("server.sock")),
        demo::app,
        ServerOptions::default().with_timeout(Some(Duration::from_millis(300))),
    );
    // A client whose own socket name holds line breaks and an escape.
    let name = dir
        .path()
        .join("x\nERROR forged: admin login from 10.0.0.1\r\n\x1b[2J");
    let sock = socket2::Socket::new(socket2::Domain::UNIX, socket2::Type::STREAM, None).unwrap();
    sock.bind(&socket2::SockAddr::unix(&name).unwrap()).unwrap();
    sock.connect(&socket2::SockAddr::unix(dir.path().join("server.sock")).unwrap())
        .unwrap();
    let stream = std::os::unix::net::UnixStream::from(sock);
    stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    let mut c = Client::from_stream(Stream::Unix(stream));
    let r = c.get("/info");
    let shown = r.json().get("session").get("address").str().to_owned();
    assert!(
        shown.ends_with(r"x\nERROR forged: admin login from 10.0.0.1\r\n\x1b[2J"),
        "{shown}"
    );
    // Half a body, then nothing: the server's read times out.
    c.send("PUT /echo HTTP/1.1\r\ncontent-length: 10\r\n\r\nhello");
    let (_, _) = c.finish();
    drop(c);
    until_idle(&server);
    assert_eq!(server.shutdown(), 0);
    let lines = LINES.lock().unwrap();
    for line in lines.iter() {
        assert!(!line.contains(['\n', '\r', '\x1b']), "{line:?}");
    }
    let ours: Vec<&String> = lines.iter().filter(|l| l.contains("forged")).collect();
    assert_eq!(ours.len(), 2, "{lines:?}");
    assert!(ours[0].starts_with("+ unix:") && ours[0].ends_with(" New connection"));
    // The timeout says what stalled.
    assert!(
        ours[1].ends_with(
            "Handled 1 requests: response error: read timed out after 300ms: the peer sent nothing"
        ),
        "{:?}",
        ours[1]
    );
}
