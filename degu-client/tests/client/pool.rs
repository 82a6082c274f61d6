//! Requests straight from the `Client`, over its pool of connections:
//! reuse, the server's closes (by `max_requests`, idle, or in the middle
//! of an exchange), what is sent again and what is not, threads sharing
//! one client.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::Duration;

use degu_client::{Client, Error, Headers, Method};
use degu_server::{
    AppResult, ConnectionInfo, Request, Response, Server, ServerHandle, ServerOptions, Session,
};

/// Time limits for every socket in these tests.
const LIMIT: Duration = Duration::from_secs(10);

/// A Degu server on loopback answering `hello` (and echoing a body),
/// counting connections opened and the most open at once.
struct Counted {
    handle: ServerHandle,
    opened: Arc<AtomicUsize>,
}

fn counted(options: ServerOptions) -> Counted {
    struct App(Arc<AtomicUsize>);
    impl degu_server::App for App {
        fn call(&self, _: &mut Session, request: &mut Request) -> AppResult {
            Ok(match request.body.take() {
                Some(body) => Response::new(200, "OK").body(Some(body)),
                None if request.method == Method::Head => Response::new(200, "OK"),
                None => Response::new(200, "OK").body("hello"),
            })
        }
        fn on_connect(&self, _: &mut Session, _: &ConnectionInfo) -> bool {
            self.0.fetch_add(1, Ordering::SeqCst);
            true
        }
    }
    let opened = Arc::new(AtomicUsize::new(0));
    let handle = Server::bind(
        &"127.0.0.1:0".parse().unwrap(),
        App(Arc::clone(&opened)),
        options,
    )
    .unwrap()
    .spawn()
    .unwrap();
    Counted { handle, opened }
}

fn client_of(s: &Counted) -> Client {
    Client::new(s.handle.address().clone()).with_timeout(Some(LIMIT))
}

#[test]
fn a_body_read_to_its_end_gives_its_connection_back() {
    let s = counted(ServerOptions::default());
    let client = client_of(&s);
    for _ in 0..10 {
        let mut r = client.get("/", &Headers::new()).unwrap();
        assert_eq!(r.read_all().unwrap(), b"hello");
    }
    // Bodiless responses go back at once.
    for _ in 0..3 {
        let r = client.head("/", &Headers::new()).unwrap();
        assert!(r.body.is_none());
    }
    // A body moved out of its response and read elsewhere still counts.
    let mut r = client
        .put("/", &Headers::new(), &b"up and back"[..])
        .unwrap();
    let mut body = r.body.take().unwrap();
    drop(r);
    assert_eq!(client.idle_connections(), 0, "still being read");
    let mut got = Vec::new();
    body.read_to_end(&mut got).unwrap();
    assert_eq!(got, b"up and back");
    assert_eq!(client.idle_connections(), 1);
    assert_eq!(client.connections_opened(), 1);
    assert_eq!(s.opened.load(Ordering::SeqCst), 1);
    s.handle.shutdown();
}

#[test]
fn a_body_dropped_unread_closes_its_connection() {
    let s = counted(ServerOptions::default());
    let client = client_of(&s);
    drop(client.get("/", &Headers::new()).unwrap());
    assert_eq!(client.idle_connections(), 0);
    // Half read, then dropped: not reused either.
    let mut r = client.get("/", &Headers::new()).unwrap();
    let mut two = [0u8; 2];
    r.body.as_mut().unwrap().read_exact(&mut two).unwrap();
    drop(r);
    assert_eq!(client.idle_connections(), 0);
    let mut r = client.get("/", &Headers::new()).unwrap();
    assert_eq!(r.read_all().unwrap(), b"hello");
    assert_eq!(client.connections_opened(), 3);
    assert_eq!(s.opened.load(Ordering::SeqCst), 3);
    s.handle.shutdown();
}

#[test]
fn requests_go_on_across_the_servers_max_requests() {
    let s = counted(ServerOptions::default().with_max_requests(100));
    let client = client_of(&s);
    for i in 0..5_000 {
        let mut r = client
            .get("/", &Headers::new())
            .unwrap_or_else(|e| panic!("request {i}: {e}"));
        assert_eq!(r.read_all().unwrap(), b"hello");
    }
    assert_eq!(client.connections_opened(), 50);
    assert_eq!(s.opened.load(Ordering::SeqCst), 50);
    s.handle.shutdown();
}

#[test]
fn eight_threads_share_one_client() {
    let s = counted(ServerOptions::default().with_max_requests(u64::MAX));
    let client = client_of(&s);
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let client = client.clone();
            thread::spawn(move || {
                for i in 0..1_000 {
                    let mut r = client
                        .get("/", &Headers::new())
                        .unwrap_or_else(|e| panic!("thread {t}, request {i}: {e}"));
                    assert_eq!(r.read_all().unwrap(), b"hello");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    // Never more than one connection per thread.
    assert!(
        client.connections_opened() <= 8,
        "{}",
        client.connections_opened()
    );
    assert_eq!(
        s.opened.load(Ordering::SeqCst) as u64,
        client.connections_opened()
    );
    s.handle.shutdown();
}

#[test]
fn a_client_with_other_options_has_a_pool_of_its_own() {
    let s = counted(ServerOptions::default());
    let a = client_of(&s);
    let b = a.clone();
    a.get("/", &Headers::new()).unwrap().read_all().unwrap();
    // A clone shares the pool...
    b.get("/", &Headers::new()).unwrap().read_all().unwrap();
    assert_eq!(b.connections_opened(), 1);
    // ...until it changes an option.
    let c = b.with_timeout(Some(Duration::from_secs(5)));
    assert_eq!(c.idle_connections(), 0);
    c.get("/", &Headers::new()).unwrap().read_all().unwrap();
    assert_eq!(c.connections_opened(), 1);
    assert_eq!(a.connections_opened(), 1);
    assert_eq!(s.opened.load(Ordering::SeqCst), 2);
    // No idle connection kept at all.
    let d = client_of(&s).with_max_idle(0);
    for _ in 0..3 {
        d.get("/", &Headers::new()).unwrap().read_all().unwrap();
    }
    assert_eq!(d.connections_opened(), 3);
    s.handle.shutdown();
}

#[test]
fn an_idle_connection_past_idle_timeout_is_not_used() {
    let s = counted(ServerOptions::default());
    let client = client_of(&s).with_idle_timeout(Duration::ZERO);
    for _ in 0..3 {
        client
            .get("/", &Headers::new())
            .unwrap()
            .read_all()
            .unwrap();
    }
    assert_eq!(client.connections_opened(), 3);
    s.handle.shutdown();
}

/// How a scripted raw server treats each connection: answer this many
/// requests, then read one more and close without answering, or close
/// after the last answer.
#[derive(Clone, Copy)]
enum Then {
    /// Close right after the last answer (as an idle timeout would).
    Close,
    /// Read the next request whole, then close without a word (the race
    /// of a keep-alive timeout against a request on its way).
    Drop,
}

/// A raw HTTP/1.1 server for the scripted cases: each connection gets
/// `answers[i]` answers, then `then`; it reports each request line it
/// read, and `"closed"` after each close.
fn scripted(answers: Vec<usize>, then: Then) -> (String, mpsc::Receiver<String>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for n in answers {
            let Ok((mut s, _)) = l.accept() else { return };
            s.set_read_timeout(Some(LIMIT)).unwrap();
            for i in 0..=n {
                let Some(line) = read_request(&mut s) else {
                    break;
                };
                let _ = tx.send(line);
                if i == n {
                    break;
                }
                s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                    .unwrap();
                if i + 1 == n && matches!(then, Then::Close) {
                    break;
                }
            }
            drop(s);
            let _ = tx.send("closed".into());
        }
    });
    (addr, rx)
}

/// Reads one request (preamble and any content-length body); its request
/// line, or `None` at the end of the stream.
fn read_request(s: &mut TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match s.read(&mut b) {
            Ok(1) => head.push(b[0]),
            _ => return None,
        }
    }
    let text = String::from_utf8(head).unwrap();
    let len: usize = text
        .lines()
        .find_map(|l| l.strip_prefix("content-length: "))
        .map_or(0, |v| v.trim().parse().unwrap());
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).ok()?;
    Some(text.lines().next().unwrap().to_owned())
}

/// A client of a [`scripted`] server whose first connection has carried
/// one `GET /a` and waits in the pool; the server's reports so far taken.
fn after_one_get(answers: Vec<usize>, then: Then) -> (Client, mpsc::Receiver<String>) {
    let (addr, seen) = scripted(answers, then);
    let client = Client::new(addr.parse().unwrap()).with_timeout(Some(LIMIT));
    let mut r = client.get("/a", &Headers::new()).unwrap();
    assert_eq!(r.read_all().unwrap(), b"ok");
    assert_eq!(seen.recv_timeout(LIMIT).unwrap(), "GET /a HTTP/1.1");
    (client, seen)
}

#[test]
fn a_connection_the_server_closed_idle_is_noticed_before_use() {
    let (client, seen) = after_one_get(vec![1, 1], Then::Close);
    // The server has closed the pooled connection: no request goes on it.
    assert_eq!(seen.recv_timeout(LIMIT).unwrap(), "closed");
    // The pool looks for a close only on a connection idle 100 ms or
    // more (servers close idle connections after seconds): this is the
    // idle time, not a wait for the server.
    thread::sleep(Duration::from_millis(150));
    let mut r = client.post("/b", &Headers::new(), "x").unwrap();
    assert_eq!(r.read_all().unwrap(), b"ok");
    assert_eq!(seen.recv_timeout(LIMIT).unwrap(), "POST /b HTTP/1.1");
    assert_eq!(client.connections_opened(), 2);
}

#[test]
fn an_idempotent_request_lost_to_a_close_is_sent_once_more() {
    // The first connection answers one request and drops the second
    // unanswered; the second connection answers.
    let (client, seen) = after_one_get(vec![1, 1], Then::Drop);
    let mut r = client.put("/b", &Headers::new(), "same again").unwrap();
    assert_eq!(r.read_all().unwrap(), b"ok");
    let lines: Vec<String> = (0..3).map(|_| seen.recv_timeout(LIMIT).unwrap()).collect();
    assert_eq!(lines, ["PUT /b HTTP/1.1", "closed", "PUT /b HTTP/1.1"]);
    assert_eq!(client.connections_opened(), 2);
}

#[test]
fn a_post_lost_to_a_close_is_not_sent_twice() {
    let (client, seen) = after_one_get(vec![1, 1], Then::Drop);
    let e = client.post("/b", &Headers::new(), "once").unwrap_err();
    assert!(
        matches!(&e, Error::NotResent { method, .. } if *method == Method::Post),
        "{e:?}"
    );
    assert!(e.to_string().contains("not sent again"), "{e}");
    let lines: Vec<String> = (0..2).map(|_| seen.recv_timeout(LIMIT).unwrap()).collect();
    assert_eq!(lines, ["POST /b HTTP/1.1", "closed"]);
    // Nothing more reached the server: no second connection, no resend.
    assert!(seen.recv_timeout(Duration::from_millis(100)).is_err());
    assert_eq!(client.connections_opened(), 1);
}

#[test]
fn a_failure_on_a_new_connection_is_not_retried() {
    // A connection that drops its first request: nothing to blame on a
    // stale connection, so the error is the caller's.
    let (addr, seen) = scripted(vec![0, 1], Then::Drop);
    let client = Client::new(addr.parse().unwrap()).with_timeout(Some(LIMIT));
    let e = client.get("/a", &Headers::new()).unwrap_err();
    assert!(!matches!(e, Error::NotResent { .. }), "{e:?}");
    assert_eq!(seen.recv_timeout(LIMIT).unwrap(), "GET /a HTTP/1.1");
    assert_eq!(seen.recv_timeout(LIMIT).unwrap(), "closed");
    assert_eq!(client.connections_opened(), 1);
}
