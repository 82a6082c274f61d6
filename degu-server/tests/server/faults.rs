//! Faults: peers that leave at every stage, half-close, a peer that never
//! reads, a slowloris of 500 connections, descriptor exhaustion on accept,
//! apps that panic or block. After each, the process has the threads and
//! descriptors it had before.
//!
//! Leak counts (`/proc/self/fd`, `/proc/self/task`) are only meaningful in
//! a process where nothing else runs, so each scenario runs in a child
//! process: the test re-executes this binary with `--exact` on one
//! `child_*` test and an environment variable that tells that test to run
//! (otherwise the `child_*` tests do nothing). The descriptor-exhaustion
//! scenario lowers `RLIMIT_NOFILE`, which is also only safe alone.

use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use degu_core::BodyIter;
use degu_server::{AppResult, Request, Response, ServerHandle, ServerOptions, Session};

use crate::util::{Client, IO_TIMEOUT, Stream, serve};

/// Runs `child_<name>` of this module in a child process.
fn in_child(name: &str) {
    crate::util::in_child(&format!("faults::child_{name}"));
}

/// Whether this process is the child for `name`.
fn is_child(name: &str) -> bool {
    crate::util::is_child(&format!("faults::child_{name}"))
}

fn count(dir: &str) -> usize {
    std::fs::read_dir(dir).map_or(0, |d| d.count())
}

/// Descriptors and threads of this process.
fn usage() -> (usize, usize) {
    (count("/proc/self/fd"), count("/proc/self/task"))
}

/// This process's descriptors and what they are.
fn fd_list() -> String {
    let mut fds: Vec<String> = std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .flatten()
        .map(|e| {
            let to = std::fs::read_link(e.path()).unwrap_or_default();
            format!("{}->{}", e.file_name().to_string_lossy(), to.display())
        })
        .collect();
    fds.sort();
    fds.join(" ")
}

/// Asserts the counts come back to `before` (polled, boundedly: a joined
/// thread leaves `/proc/self/task` a moment after `join` returns).
fn assert_no_leak(before: (usize, usize), what: &str) {
    let deadline = Instant::now() + IO_TIMEOUT;
    loop {
        let now = usage();
        if now == before {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: (fds, threads) went from {before:?} to {now:?}: {}",
            fd_list()
        );
        std::thread::yield_now();
    }
}

/// Polls until the server has no connection left (boundedly).
fn until_idle(server: &ServerHandle) {
    let deadline = Instant::now() + IO_TIMEOUT;
    while server.connections() > 0 {
        assert!(Instant::now() < deadline, "connections never ended");
        std::thread::yield_now();
    }
}

fn short() -> ServerOptions {
    // Workers end as soon as they are idle, so the thread count comes
    // back to where it was.
    ServerOptions::default()
        .with_timeout(Some(Duration::from_millis(300)))
        .with_header_timeout(Some(Duration::from_millis(300)))
        .with_worker_idle(Duration::from_millis(1))
}

/// The server still answers a plain GET.
fn still_serves(server: &ServerHandle) {
    let mut c = Client::connect(server.address());
    let r = c.get("/");
    assert_eq!(r.status(), 200);
}

#[test]
fn peers_that_leave_at_every_stage() {
    in_child("stages");
}

#[test]
fn child_stages() {
    if !is_child("stages") {
        return;
    }
    let before = usage();
    let server = serve(degu_server::demo::app, short());
    let addr = server.address().clone();
    // The server at rest: its listener, its accept thread.
    let idle = usage();
    let stages: &[(&str, &[u8])] = &[
        ("connect only", b""),
        ("mid request line", b"GET /by"),
        ("mid preamble", b"GET /info HTTP/1.1\r\nhost: exa"),
        (
            "mid body",
            b"PUT /echo HTTP/1.1\r\ncontent-length: 100000\r\n\r\nabc",
        ),
        (
            "mid chunk line",
            b"PUT /echo HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n10",
        ),
        (
            "mid chunk",
            b"PUT /echo HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n100;a=b\r\nxyz",
        ),
        (
            "between chunks",
            b"PUT /echo HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n3\r\nxyz\r\n",
        ),
        ("between requests", b"GET / HTTP/1.1\r\n\r\n"),
    ];
    for (what, bytes) in stages {
        // Both ways of leaving: an orderly close and a reset (unread data).
        for reset in [false, true] {
            let mut s = Stream::connect(&addr).unwrap();
            s.write_all(bytes).unwrap();
            if reset {
                // Let the server send something (or not) we never read.
                s.shutdown(Shutdown::Both);
            }
            drop(s);
            still_serves(&server);
            until_idle(&server);
            assert_no_leak(idle, what);
        }
    }
    // Mid response: the server streams 1 GiB, the peer reads a little
    // and leaves; the server's next write fails and the connection ends.
    for _ in 0..3 {
        let mut c = Client::connect(&addr);
        c.send("GET /bytes/1073741824 HTTP/1.1\r\n\r\n");
        let head = c.head();
        assert_eq!(head.status, 200);
        c.raw(100_000);
        drop(c);
        until_idle(&server);
        assert_no_leak(idle, "mid response");
    }
    // Mid response, chunked.
    let mut c = Client::connect(&addr);
    c.send("GET /chunks/100000/10000 HTTP/1.1\r\n\r\n");
    assert_eq!(c.head().status, 200);
    c.raw(50_000);
    drop(c);
    until_idle(&server);
    assert_no_leak(idle, "mid chunked response");
    // Half-close: the peer shuts its writing side after a pipelined pair;
    // both answers come, then the server closes too.
    let mut c = Client::connect(&addr);
    c.send("GET / HTTP/1.1\r\n\r\nPUT /echo HTTP/1.1\r\ncontent-length: 2\r\n\r\nhi");
    c.stream().shutdown(Shutdown::Write);
    assert_eq!(c.response(false).status(), 200);
    let r = c.response(false);
    assert_eq!(r.bytes(), b"hi");
    let (rest, _) = c.finish();
    assert!(rest.is_empty());
    drop(c);
    until_idle(&server);
    assert_no_leak(idle, "half-close");
    // Half-close mid body: the body is cut short, the echo too.
    let mut c = Client::connect(&addr);
    c.send("PUT /echo HTTP/1.1\r\ncontent-length: 10\r\n\r\nhello");
    c.stream().shutdown(Shutdown::Write);
    assert_eq!(c.head().status, 200);
    let (rest, _) = c.finish();
    assert_eq!(rest, b"hello");
    drop(c);
    still_serves(&server);
    assert_eq!(server.shutdown(), 0);
    assert_no_leak(before, "peers leaving at every stage");
}

/// An app whose response never ends; it counts the bodies dropped.
fn endless(dropped: Arc<AtomicUsize>) -> impl Fn(&mut Session, &mut Request) -> AppResult {
    struct Tell(Arc<AtomicUsize>);
    impl Drop for Tell {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    move |_: &mut Session, _: &mut Request| -> AppResult {
        let tell = Tell(dropped.clone());
        let pieces = std::iter::repeat_n(vec![7u8; 64 * 1024], usize::MAX).inspect(move |_| {
            let _ = &tell;
        });
        Ok(Response::new(200, "OK").body(BodyIter::new(pieces, 1 << 50)))
    }
}

#[test]
fn a_peer_that_never_reads() {
    in_child("never_reads");
}

#[test]
fn child_never_reads() {
    if !is_child("never_reads") {
        return;
    }
    let before = usage();
    let dropped = Arc::new(AtomicUsize::new(0));
    let server = serve(endless(dropped.clone()), short());
    // Three peers that ask and never read: each blocks its server thread
    // on a write until the timeout ends that connection.
    let clients: Vec<Client> = (0..3)
        .map(|_| {
            let mut c = Client::connect(server.address());
            c.send("GET / HTTP/1.1\r\n\r\n");
            c
        })
        .collect();
    // Each write blocks until the timeout, which drops the response body.
    let deadline = Instant::now() + IO_TIMEOUT;
    while dropped.load(Ordering::SeqCst) < 3 {
        assert!(Instant::now() < deadline, "a blocked write never timed out");
        std::thread::yield_now();
    }
    until_idle(&server);
    drop(clients);
    assert_eq!(server.shutdown(), 0);
    assert_no_leak(before, "peers that never read");
}

#[test]
fn a_slowloris_of_500_connections() {
    in_child("slowloris");
}

#[test]
fn child_slowloris() {
    if !is_child("slowloris") {
        return;
    }
    let before = usage();
    let server = serve(degu_server::demo::app, short().with_max_connections(50));
    let addr = server.address().clone();
    // 500 connections that each send half a preamble and stall: 50 take
    // the slots (until the header timeout frees them), the others are
    // refused.
    let mut loris = Vec::new();
    for _ in 0..500 {
        if let Ok(mut s) = Stream::connect(&addr) {
            let _ = s.write_all(b"GET / HTTP/1.1\r\nhost: ");
            loris.push(s);
        }
    }
    assert!(loris.len() >= 450, "only {} connected", loris.len());
    // A well-behaved client is served once a slot is free: bounded retries
    // (a refused connection is closed unserved; retry at once).
    let deadline = Instant::now() + IO_TIMEOUT;
    let mut attempts = 0;
    let served = loop {
        assert!(Instant::now() < deadline, "never served ({attempts} tries)");
        attempts += 1;
        let Ok(mut s) = Stream::connect(&addr) else {
            continue;
        };
        if s.write_all(b"GET / HTTP/1.1\r\n\r\n").is_err() {
            continue;
        }
        let mut buf = [0u8; 256];
        match s.read(&mut buf) {
            Ok(n) if n > 0 => break String::from_utf8_lossy(&buf[..n]).into_owned(),
            _ => continue,
        }
    };
    assert!(served.starts_with("HTTP/1.1 200 OK\r\n"), "{served:?}");
    // Every stalled connection is cut off or was refused: each sees a
    // close, and the server ends with no connection.
    for mut s in loris {
        let mut rest = Vec::new();
        match s.read_to_end(&mut rest) {
            Ok(_) => assert!(rest.is_empty(), "{:?}", String::from_utf8_lossy(&rest)),
            Err(e) => assert_eq!(e.kind(), io::ErrorKind::ConnectionReset),
        }
    }
    until_idle(&server);
    still_serves(&server);
    assert_eq!(server.shutdown(), 0);
    assert_no_leak(before, "slowloris");
}

#[test]
fn apps_that_panic_or_block() {
    in_child("panic_block");
}

#[test]
fn child_panic_block() {
    if !is_child("panic_block") {
        return;
    }
    // Quiet the expected panics.
    std::panic::set_hook(Box::new(|_| {}));
    let before = usage();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let release_rx = Mutex::new(release_rx);
    let (entered_tx, entered_rx) = mpsc::channel::<()>();
    let entered_tx = Mutex::new(entered_tx);
    let app = move |s: &mut Session, r: &mut Request| -> AppResult {
        match r.path.first().map(String::as_str) {
            Some("panic") => panic!("app panic"),
            Some("block") => {
                entered_tx.lock().unwrap().send(()).unwrap();
                // Blocks until the test releases it (bounded, so a failed
                // test cannot hang).
                let _ = release_rx.lock().unwrap().recv_timeout(IO_TIMEOUT);
                degu_server::demo::app(s, r)
            }
            _ => degu_server::demo::app(s, r),
        }
    };
    let server = serve(app, short());
    let addr = server.address().clone();
    for _ in 0..20 {
        let mut c = Client::connect(&addr);
        c.send("GET /panic HTTP/1.1\r\n\r\n");
        c.expect_closed();
    }
    // A blocked app holds its own connection only: others are served.
    let mut blocked = Client::connect(&addr);
    blocked.send("GET /block HTTP/1.1\r\n\r\n");
    entered_rx.recv_timeout(IO_TIMEOUT).unwrap();
    for _ in 0..5 {
        still_serves(&server);
    }
    release_tx.send(()).unwrap();
    assert_eq!(blocked.response(false).status(), 404);
    drop(blocked);
    assert_eq!(server.shutdown(), 0);
    let _ = std::panic::take_hook();
    assert_no_leak(before, "apps that panic or block");
}

#[test]
fn descriptor_exhaustion_on_accept() {
    in_child("emfile");
}

/// Warnings the server logs, kept for the EMFILE scenario.
static WARNINGS: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct Keep;

impl log::Log for Keep {
    fn enabled(&self, m: &log::Metadata<'_>) -> bool {
        m.level() <= log::Level::Warn
    }
    fn log(&self, r: &log::Record<'_>) {
        if self.enabled(r.metadata()) {
            WARNINGS.lock().unwrap().push(r.args().to_string());
        }
    }
    fn flush(&self) {}
}

#[test]
fn child_emfile() {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    if !is_child("emfile") {
        return;
    }
    static KEEP: Keep = Keep;
    log::set_logger(&KEEP).unwrap();
    log::set_max_level(log::LevelFilter::Warn);
    let before = usage();
    let server = serve(degu_server::demo::app, short());
    let addr = server.address().clone();
    let idle = usage();
    still_serves(&server);
    until_idle(&server);
    // The connection's descriptors are closed just after its slot frees.
    assert_no_leak(idle, "first request");

    let old = getrlimit(Resource::Nofile);
    let limit = usage().0 as u64 + 32;
    setrlimit(
        Resource::Nofile,
        Rlimit {
            current: Some(limit),
            maximum: old.maximum,
        },
    )
    .unwrap();
    // Take every descriptor but one, then connect with that one: the
    // server's accept has none left and fails with EMFILE.
    let mut hogs = Vec::new();
    loop {
        match std::fs::File::open("/dev/null") {
            Ok(f) => hogs.push(f),
            Err(e) => {
                assert_eq!(e.raw_os_error(), Some(libc::EMFILE), "{e}");
                break;
            }
        }
        assert!(hogs.len() < 1000, "the limit did not apply");
    }
    hogs.pop();
    let mut c = Client::connect(&addr);
    c.send("GET / HTTP/1.1\r\n\r\n");
    // The server runs out of descriptors for this peer. Linux reserves the
    // descriptor of an `accept` when the call starts, so the accept thread
    // (blocked in `accept` since before the exhaustion) gets the peer, and
    // it is the connection's second handle (`try_clone`) that fails with
    // EMFILE: the server closes that peer unserved, as it does past
    // max_connections. When `accept` itself is entered without a free
    // descriptor, it fails with EMFILE and the server retries with a
    // backoff, the peer waiting in the backlog. Either way it survives.
    let deadline = Instant::now() + IO_TIMEOUT;
    let on_accept = loop {
        let w = WARNINGS.lock().unwrap().clone();
        if w.iter()
            .any(|w| w.starts_with("accept:") && w.contains("Too many open files"))
        {
            break true;
        }
        if w.iter().any(|w| w.contains("refused: Too many open files")) {
            break false;
        }
        assert!(Instant::now() < deadline, "no descriptor exhaustion: {w:?}");
        std::thread::yield_now();
    };
    eprintln!("EMFILE on accept: {on_accept}");
    // Descriptors come back: the server serves again.
    drop(hogs);
    setrlimit(Resource::Nofile, old).unwrap();
    if on_accept {
        // The waiting peer is accepted and served.
        assert_eq!(c.response(false).status(), 200);
    } else {
        c.expect_closed();
    }
    drop(c);
    still_serves(&server);
    assert_eq!(server.shutdown(), 0);
    assert_no_leak(before, "descriptor exhaustion");
}
