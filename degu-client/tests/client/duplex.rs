//! Full duplex: a response that starts while the request body is still
//! going out is read as it comes (an echo streaming back, an early
//! refusal, an early answer on a connection that stays), and a server
//! that neither reads nor answers is a write timeout that says so.

use std::sync::mpsc;
use std::time::Duration;

use degu_client::{
    Body, Chunk, ChunkedBodyIter, Client, CloseBody, Headers, Incoming, Method, Outgoing,
};
use degu_server::{AppResult, Request, Response, Server, ServerHandle, ServerOptions, Session};

use crate::util::{Canned, Listener, TIMEOUT, TempDir, client, pattern};

/// More than loopback's socket buffers hold on both sides (TCP's grow to
/// a few MiB): a client that sent it all before reading would block.
const BIG: usize = 32 << 20;

/// A Degu server echoing every request body as it arrives.
fn echo_server(address: &str) -> ServerHandle {
    let app = |_: &mut Session, r: &mut Request| -> AppResult {
        Ok(Response::new(200, "OK").body(r.body.take()))
    };
    let options = ServerOptions::default().with_timeout(Some(TIMEOUT));
    Server::bind(&address.parse().unwrap(), app, options)
        .unwrap()
        .spawn()
        .unwrap()
}

#[test]
fn every_kind_of_body_is_echoed_back_while_it_is_sent() {
    let dir = TempDir::new("duplex");
    for address in [
        "127.0.0.1:0".to_owned(),
        format!("unix:{}", dir.path().join("s").display()),
    ] {
        let server = echo_server(&address);
        let client = client(server.address());
        let data = pattern(BIG);
        let h = Headers::new();
        // Borrowed bytes: the response borrows them while it sends them.
        let mut r = client.put("/", &h, &data[..]).unwrap();
        assert_eq!(r.status, 200);
        assert!(r.read_all().unwrap() == data, "bytes over {address}");
        // A reader of known length.
        let mut r = client
            .put("/", &h, Body::new(&data[..], data.len() as u64))
            .unwrap();
        assert!(r.read_all().unwrap() == data, "reader over {address}");
        // Chunks, boundaries kept.
        let chunks: Vec<Chunk> = data
            .chunks(1 << 20)
            .map(Chunk::new)
            .chain([Chunk::new("")])
            .collect();
        let mut r = client
            .request(Method::Post, "/", &h, ChunkedBodyIter::new(chunks.clone()))
            .unwrap();
        let Some(Incoming::Chunked(body)) = r.body.take() else {
            panic!("not chunked");
        };
        let back: Vec<Chunk> = body.map(Result::unwrap).collect();
        assert!(back == chunks, "chunks over {address}");
        // A reader of unknown length, sent chunked.
        let mut r = client.put("/", &h, CloseBody::new(&data[..])).unwrap();
        assert!(r.read_all().unwrap() == data, "stream over {address}");
        // Each response read to its end gave its connection back.
        assert_eq!(client.connections_opened(), 1, "over {address}");
        server.shutdown();
    }
}

#[test]
fn an_echo_on_one_connection_of_its_own() {
    let server = echo_server("127.0.0.1:0");
    let mut conn = client(server.address()).connect().unwrap();
    let data = pattern(BIG);
    for _ in 0..2 {
        let mut r = conn.post("/", &Headers::new(), data.clone()).unwrap();
        let mut back = Vec::new();
        std::io::copy(r.body.as_mut().unwrap(), &mut back).unwrap();
        assert!(back == data);
    }
    assert_eq!(conn.requests(), 2);
    assert!(!conn.is_closed());
    server.shutdown();
}

#[test]
fn an_early_refusal_is_read_and_the_rest_of_the_body_is_not_sent() {
    let (told, heard) = mpsc::channel::<()>();
    let (report, drained) = mpsc::channel::<u64>();
    let canned = Canned::start(Listener::tcp4(), move |peer| {
        let req = peer.read_head().unwrap();
        assert_eq!(req.line, "PUT /upload HTTP/1.1");
        peer.write(
            "HTTP/1.1 413 Content Too Large\r\ncontent-length: 9\r\n\
             connection: close\r\n\r\ntoo large",
        );
        // Read nothing until the client has its answer, then count what
        // it sent in all before it closed.
        heard.recv().unwrap();
        report.send(peer.drain()).unwrap();
    });
    let client = client(&canned.address);
    let mut r = client
        .put("/upload", &Headers::new(), vec![7u8; 4 * BIG])
        .unwrap();
    assert_eq!(r.status, 413);
    assert_eq!(r.read_all().unwrap(), b"too large");
    told.send(()).unwrap();
    drop(r);
    let sent = drained.recv().unwrap();
    assert!(
        sent < 4 * BIG as u64,
        "the whole body went out ({sent} bytes) after the refusal"
    );
    // The connection ended with its response: not kept.
    assert_eq!(client.idle_connections(), 0);
    canned.join();
}

#[test]
fn an_early_answer_on_a_connection_that_stays_finishes_the_body() {
    let (told, heard) = mpsc::channel::<()>();
    let canned = Canned::start(Listener::tcp4(), move |peer| {
        let mut req = peer.read_head().unwrap();
        peer.write("HTTP/1.1 201 Created\r\ncontent-length: 2\r\n\r\nok");
        // The body is read only once the client has the answer.
        heard.recv().unwrap();
        peer.read_body(&mut req);
        assert!(req.body == pattern(BIG), "the body arrived whole");
        let req = peer.read_request().unwrap();
        assert_eq!(req.line, "GET /next HTTP/1.1");
        peer.ok(b"next");
        assert!(peer.wait_eof());
    });
    let client = client(&canned.address);
    let mut r = client.put("/", &Headers::new(), pattern(BIG)).unwrap();
    assert_eq!(r.status, 201);
    told.send(()).unwrap();
    // Reading the answer to its end sends the rest of the body, then
    // gives the connection back.
    assert_eq!(r.read_all().unwrap(), b"ok");
    drop(r);
    let mut r = client.get("/next", &Headers::new()).unwrap();
    assert_eq!(r.read_all().unwrap(), b"next");
    drop(r);
    assert_eq!(client.connections_opened(), 1);
    drop(client);
    canned.join();
}

#[test]
fn a_server_that_neither_reads_nor_answers_is_a_write_timeout() {
    let (done, wait) = mpsc::channel::<()>();
    let canned = Canned::start(Listener::tcp4(), move |peer| {
        peer.read_head().unwrap();
        let _ = wait.recv();
    });
    let client = Client::new(canned.address.clone()).with_timeout(Some(Duration::from_millis(300)));
    let body: Outgoing<'static> = vec![0u8; 4 * BIG].into();
    let e = client.put("/", &Headers::new(), body).unwrap_err();
    assert!(e.is_timeout(), "{e:?}");
    assert_eq!(
        e.to_string(),
        "write timed out after 300ms: the peer stopped reading"
    );
    done.send(()).unwrap();
    canned.join();
}

#[test]
fn a_degu_app_that_refuses_a_body_unread_is_heard() {
    // The app answers 413 without reading the body: the server says
    // `connection: close`, lingers, and closes.
    let app = |_: &mut Session, r: &mut Request| -> AppResult {
        Ok(match r.body {
            Some(_) => Response::new(413, "Content Too Large").body("no"),
            None => Response::new(200, "OK").body("yes"),
        })
    };
    let options = ServerOptions::default().with_timeout(Some(TIMEOUT));
    let server = Server::bind(&"127.0.0.1:0".parse().unwrap(), app, options)
        .unwrap()
        .spawn()
        .unwrap();
    let client = client(server.address());
    for _ in 0..3 {
        let mut r = client.put("/", &Headers::new(), pattern(BIG)).unwrap();
        assert_eq!(r.status, 413);
        assert_eq!(r.headers.get("connection"), Some("close"));
        assert_eq!(r.read_all().unwrap(), b"no");
        let mut r = client.get("/", &Headers::new()).unwrap();
        assert_eq!(r.read_all().unwrap(), b"yes");
    }
    // Each refusal ended its connection; each GET went on a new one,
    // reused by the next PUT: the first PUT's and three GETs'.
    assert_eq!(client.connections_opened(), 4);
    server.shutdown();
}

/// A body that gives its bytes only once `go` says so.
struct Held {
    go: Option<mpsc::Receiver<()>>,
    left: usize,
}

impl std::io::Read for Held {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if let Some(go) = self.go.take() {
            let _ = go.recv();
        }
        let n = buf.len().min(self.left);
        buf[..n].fill(b'x');
        self.left -= n;
        Ok(n)
    }
}

#[test]
fn a_refusal_then_a_close_before_the_body_is_heard() {
    // The server answers 413 and closes on seeing the preamble; only then
    // does the body give its first bytes, whose write fails (broken pipe).
    // The refusal, already arrived, is the answer, not the write's error.
    let (go, wait) = mpsc::channel::<()>();
    let canned = Canned::start(Listener::abstract_name(), move |peer| {
        peer.read_head().unwrap();
        peer.write(
            "HTTP/1.1 413 Content Too Large\r\ncontent-length: 0\r\n\
             connection: close\r\n\r\n",
        );
        peer.shutdown_write();
    });
    let address = canned.address.clone();
    let client = client(&address);
    let body = Body::new(
        Held {
            go: Some(wait),
            left: BIG,
        },
        BIG as u64,
    );
    let closed = std::thread::spawn(move || {
        canned.join();
        go.send(()).unwrap();
    });
    let r = client.put("/", &Headers::new(), body).unwrap();
    assert_eq!(r.status, 413);
    closed.join().unwrap();
}
