//! The event thread and the workers: a trickled preamble is cut off at
//! `header_timeout`; idle connections cost no thread; requests survive
//! the hand-off between a worker and the event thread; a busy pool
//! queues; shutdown loses no response.

use std::io::{Read, Write};
use std::net::Shutdown;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use degu_server::{AppResult, Request, Response, ServerOptions, Session};

use crate::util::{Client, IO_TIMEOUT, Stream, big_lock, in_child, is_child, req, serve};

/// An app that answers `/block` only once the test lets it (it says when
/// it has started), and anything else at once with the path.
fn blocking_app(
    started: mpsc::Sender<()>,
    release: mpsc::Receiver<()>,
) -> impl Fn(&mut Session, &mut Request) -> AppResult {
    let started = Mutex::new(started);
    let release = Mutex::new(release);
    move |_: &mut Session, request: &mut Request| {
        if request.path == ["block"] {
            let _ = started.lock().unwrap().send(());
            let _ = release.lock().unwrap().recv_timeout(IO_TIMEOUT);
        }
        Ok(Response::new(200, "OK").body(format!("/{}", request.path.join("/"))))
    }
}

#[test]
fn a_trickled_preamble_is_cut_off_at_the_header_timeout() {
    let server = serve(
        degu_server::demo::app,
        ServerOptions::default()
            .with_header_timeout(Some(Duration::from_millis(300)))
            .with_timeout(Some(Duration::from_secs(60))),
    );
    let s = Stream::connect(server.address()).unwrap();
    let Stream::Tcp(tcp) = &s else { unreachable!() };
    (&mut &*tcp)
        .write_all(b"GET / HTTP/1.1\r\nx-slow: ")
        .unwrap();
    // One byte every 20 ms keeps every read well within `timeout`; the
    // preamble as a whole is not, and the server ends it: bounded at
    // 500 bytes (10 s).
    tcp.set_read_timeout(Some(Duration::from_millis(20)))
        .unwrap();
    let mut sent = 0;
    let closed = loop {
        assert!(sent < 500, "the preamble went on past its deadline");
        let mut buf = [0u8; 64];
        match (&mut &*tcp).read(&mut buf) {
            Ok(0) => break true,
            Ok(n) => panic!("got {:?}", String::from_utf8_lossy(&buf[..n])),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break true,
            Err(_) => {}
        }
        if (&mut &*tcp).write_all(b"a").is_err() {
            break true;
        }
        sent += 1;
    };
    assert!(closed);
    // A well-behaved request on a new connection is served as always.
    let mut c = Client::connect(server.address());
    assert_eq!(c.get("/").text(), "hello, world");
}

#[test]
fn idle_connections_cost_no_thread() {
    in_child("events::child_idle");
}

fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").map_or(0, |d| d.count())
}

fn fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

#[test]
fn child_idle() {
    if !is_child("events::child_idle") {
        return;
    }
    let before = (fds(), threads());
    let server = serve(
        degu_server::demo::app,
        ServerOptions::default()
            .with_max_workers(4)
            .with_worker_wait(Duration::from_millis(1))
            .with_worker_idle(Duration::from_millis(1)),
    );
    // 1 000 kept-alive connections, each served one request, all left
    // open: they wait on the event thread.
    let mut clients = Vec::new();
    for _ in 0..1000 {
        let mut c = Client::connect(server.address());
        assert_eq!(c.get("/").text(), "hello, world");
        clients.push(c);
    }
    assert_eq!(server.connections(), 1000);
    assert!(server.workers() <= 4, "{} workers", server.workers());
    let most = before.1 + 4 + 1;
    assert!(
        threads() <= most,
        "{} threads with 1 000 idle connections (at most {most})",
        threads()
    );
    // Each is still served, some out of order.
    for c in clients.iter_mut().rev().step_by(7) {
        assert_eq!(c.get("/").text(), "hello, world");
    }
    assert!(threads() <= most);
    drop(clients);
    assert_eq!(server.shutdown(), 0);
    // Back to the descriptors and threads of before (polled, boundedly:
    // a joined thread leaves /proc a moment after join returns).
    let deadline = Instant::now() + IO_TIMEOUT;
    while (fds(), threads()) != before {
        assert!(
            Instant::now() < deadline,
            "(fds, threads) went from {before:?} to {:?}",
            (fds(), threads())
        );
        std::thread::yield_now();
    }
}

#[test]
fn pipelined_requests_survive_the_hand_offs() {
    let server = serve(
        degu_server::demo::app,
        ServerOptions::default().with_worker_wait(Duration::from_millis(1)),
    );
    // Three requests in one write: the event thread buffers them all, the
    // worker serves each in order.
    let mut c = Client::connect(server.address());
    let mut wire = Vec::new();
    for n in 0..3 {
        wire.extend(req("PUT", "/echo", &[("content-length", "2")]));
        wire.extend(format!("{n}{n}").bytes());
    }
    c.send(&wire);
    for n in 0..3 {
        assert_eq!(c.response(false).text(), format!("{n}{n}"));
    }
    // A request and half of the next: the worker answers the first, then
    // (its wait is 1 ms) gives the connection back holding the half; the
    // event thread reads the rest and hands it to a worker again. The
    // pause lets the hand-off happen; the answers are the same either
    // way.
    for _ in 0..5 {
        let second = req("GET", "/", &[("x-second", "yes")]);
        let (head, tail) = second.split_at(second.len() / 2);
        let mut wire = req("GET", "/", &[]);
        wire.extend_from_slice(head);
        c.send(&wire);
        assert_eq!(c.response(false).text(), "hello, world");
        std::thread::sleep(Duration::from_millis(20));
        c.send(tail);
        assert_eq!(c.response(false).text(), "hello, world");
    }
}

#[test]
fn a_connection_its_worker_kept_is_served_again_after_going_back() {
    let server = serve(
        degu_server::demo::app,
        ServerOptions::default().with_worker_wait(Duration::from_millis(1)),
    );
    let mut c = Client::connect(server.address());
    for _ in 0..5 {
        // Request after request: the worker keeps the connection, out of
        // the event thread's epoll set after a few dozen.
        for _ in 0..100 {
            assert_eq!(c.get("/").text(), "hello, world");
        }
        // Quiet for many times `worker_wait` (the pause paces the
        // client): the worker gives the connection back, and the event
        // thread, which takes it into its set again, hears the next
        // request.
        std::thread::sleep(Duration::from_millis(30));
    }
    assert_eq!(c.get("/").text(), "hello, world");
    drop(c);
    assert_eq!(server.shutdown(), 0);
}

#[test]
fn a_busy_pool_queues_requests() {
    let (started_tx, started) = mpsc::channel();
    let (release, release_rx) = mpsc::channel();
    let server = serve(
        blocking_app(started_tx, release_rx),
        ServerOptions::default().with_max_workers(1),
    );
    let mut blocker = Client::connect(server.address());
    blocker.send(req("GET", "/block", &[]));
    started.recv_timeout(IO_TIMEOUT).unwrap();
    // The one worker is busy: these wait in the queue, none is refused.
    let mut waiting: Vec<Client> = (0..20)
        .map(|i| {
            let mut c = Client::connect(server.address());
            c.send(req("GET", &format!("/q{i}"), &[]));
            c
        })
        .collect();
    release.send(()).unwrap();
    assert_eq!(blocker.response(false).text(), "/block");
    for (i, c) in waiting.iter_mut().enumerate() {
        let r = c.response(false);
        assert_eq!((r.status(), r.text()), (200, format!("/q{i}")));
    }
}

#[test]
fn blocked_workers_get_company_up_to_max_workers() {
    // More requests than the workers that start at once (four per CPU)
    // all block in the app together: the pool starts workers beside the
    // held-up ones until every request runs.
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let n = 4 * cpus + 8;
    let (started_tx, started) = mpsc::channel();
    let (release, release_rx) = mpsc::channel();
    let server = serve(
        blocking_app(started_tx, release_rx),
        ServerOptions::default().with_max_workers(n),
    );
    let mut clients: Vec<Client> = (0..n)
        .map(|_| {
            let mut c = Client::connect(server.address());
            c.send(req("GET", "/block", &[]));
            c
        })
        .collect();
    for i in 0..n {
        let got = started.recv_timeout(IO_TIMEOUT);
        assert!(got.is_ok(), "only {i} of {n} requests running at once");
    }
    assert_eq!(server.workers(), n);
    for _ in 0..n {
        release.send(()).unwrap();
    }
    for c in &mut clients {
        assert_eq!(c.response(false).text(), "/block");
    }
}

#[test]
fn shutdown_loses_no_response() {
    let _big = big_lock();
    let (started_tx, started) = mpsc::channel();
    let (release, release_rx) = mpsc::channel();
    let server = serve(
        blocking_app(started_tx, release_rx),
        ServerOptions::default()
            .with_max_workers(1)
            .with_worker_wait(Duration::from_millis(1)),
    );
    let address = server.address().clone();
    // Parked: served once, now waiting with nothing.
    let mut parked = Client::connect(&address);
    assert_eq!(parked.get("/p").text(), "/p");
    // In flight: the app is running.
    let mut busy = Client::connect(&address);
    busy.send(req("GET", "/block", &[]));
    started.recv_timeout(IO_TIMEOUT).unwrap();
    // Queued: a whole request waits for the one worker.
    let mut queued = Client::connect(&address);
    queued.send(req("GET", "/queued", &[]));
    // Half a request: its rest comes after shutdown began.
    let mut half = Client::connect(&address);
    let whole = req("GET", "/half", &[]);
    let (head, tail) = whole.split_at(10);
    half.send(head);
    let server = Arc::new(Mutex::new(Some(server)));
    let stopper = {
        let server = Arc::clone(&server);
        std::thread::spawn(move || server.lock().unwrap().take().unwrap().shutdown())
    };
    // The parked connection is closed at once, with nothing written:
    // shutdown has begun.
    parked.expect_closed();
    half.send(tail);
    release.send(()).unwrap();
    for (c, path) in [
        (&mut busy, "/block"),
        (&mut queued, "/queued"),
        (&mut half, "/half"),
    ] {
        let r = c.response(false);
        assert_eq!(r.text(), path);
        assert_eq!(r.header("connection"), Some("close"), "{path}");
        c.expect_closed();
    }
    assert_eq!(stopper.join().unwrap(), 0);
    // Nothing listens any more.
    let refused = Stream::connect(&address).map(|s| {
        let mut s = s;
        let _ = s.write_all(b"GET / HTTP/1.1\r\n\r\n");
        s.shutdown(Shutdown::Write);
        let mut buf = Vec::new();
        let _ = s.read_to_end(&mut buf);
        buf
    });
    assert!(
        refused.as_ref().map_or(true, |b| b.is_empty()),
        "{refused:?}"
    );
}
