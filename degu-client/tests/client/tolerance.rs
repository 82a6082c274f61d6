//! What real servers send that Degu's own server never does, from canned
//! servers: bodies delimited by the end of the connection, HTTP/1.0,
//! unusual reason phrases, many and repeated headers, trailers. And a
//! Degu reverse proxy passing a close-delimited or trailered upstream
//! body on.

use std::io::Read;
use std::time::Duration;

use degu_client::degu_core::Framing;
use degu_client::{Client, Error, Headers, Incoming, Version};
use degu_server::{AppResult, Request, Server, ServerOptions, Session};

use crate::util::{Canned, Listener, TIMEOUT, client, pattern};

const MB3: usize = 3_000_000;

#[test]
fn a_close_delimited_body_is_read_to_the_end_and_the_connection_not_reused() {
    let server = Canned::start(Listener::tcp4(), |peer| {
        peer.read_request().unwrap();
        let mut out = b"HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\n\r\n".to_vec();
        out.extend(pattern(MB3));
        // What looks like a next response is body bytes too.
        out.extend(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
        peer.write(out);
        peer.shutdown_write();
        // No second request ever comes: the client closes instead.
        assert!(peer.read_request().is_none());
    });
    let mut conn = client(&server.address).connect().unwrap();
    let mut r = conn.get("/", &Headers::new()).unwrap();
    assert_eq!((r.version, r.status), (Version::Http11, 200));
    let body = r.body.as_ref().unwrap();
    assert!(matches!(body, Incoming::Close(_)), "{body:?}");
    assert!(body.is_close_delimited());
    // Sent on, it would be chunked: never unframed.
    assert_eq!(body.framing(), Framing::Chunked);
    // Known at once: the connection ends with this body.
    assert!(conn.is_closed());
    let data = r.read_all().unwrap();
    assert_eq!(data.len(), MB3 + 38);
    assert!(data[..MB3] == pattern(MB3)[..]);
    assert_eq!(
        &data[MB3..],
        b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"
    );
    assert!(r.body.as_ref().unwrap().is_complete());
    assert_eq!(r.trailers(), None);
    // The next request fails at once, with a clear error.
    let err = conn.get("/", &Headers::new()).unwrap_err();
    assert!(matches!(err, Error::Closed), "{err}");
    assert_eq!(err.to_string(), "connection is closed");
    server.join();
}

#[test]
fn a_close_delimited_body_as_a_stream_and_a_stall_is_no_end() {
    let server = Canned::start(Listener::tcp4(), |peer| {
        peer.read_request().unwrap();
        peer.write("HTTP/1.1 200 OK\r\n\r\nabcdefghij");
        peer.shutdown_write();
        assert!(peer.wait_eof());
    });
    let mut conn = client(&server.address).connect().unwrap();
    let mut r = conn.get("/", &Headers::new()).unwrap();
    let body = r.body.as_mut().unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 3];
    loop {
        let n = body.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    assert_eq!(out, b"abcdefghij");
    assert!(body.is_complete());
    assert!(matches!(conn.get("/", &Headers::new()), Err(Error::Closed)));
    drop(r);
    server.join();

    // A server that stops sending without closing: a timeout, an error,
    // never a body taken as complete.
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let server = Canned::start(Listener::tcp4(), move |peer| {
        peer.read_request().unwrap();
        peer.write("HTTP/1.1 200 OK\r\n\r\npartial");
        let _ = rx.recv_timeout(TIMEOUT);
    });
    let mut c = client(&server.address);
    c = c.with_timeout(Some(Duration::from_millis(200)));
    let mut conn = c.connect().unwrap();
    let mut r = conn.get("/", &Headers::new()).unwrap();
    let err = r.read_all().unwrap_err();
    assert!(err.is_timeout(), "{err}");
    assert!(!r.body.as_ref().unwrap().is_complete());
    assert!(conn.is_closed());
    tx.send(()).unwrap();
    server.join();
}

#[test]
fn unframed_responses_that_have_no_body() {
    // 204, 304 and a response to HEAD have no body: without framing the
    // connection goes on.
    let server = Canned::start(Listener::tcp4(), |peer| {
        peer.read_request().unwrap();
        peer.write("HTTP/1.1 204 No Content\r\n\r\n");
        peer.read_request().unwrap();
        peer.write("HTTP/1.1 304 Not Modified\r\netag: \"x\"\r\n\r\n");
        peer.read_request().unwrap();
        peer.write("HTTP/1.1 200 OK\r\n\r\n");
        peer.read_request().unwrap();
        peer.ok(b"still here");
    });
    let mut conn = client(&server.address).connect().unwrap();
    let h = Headers::new();
    assert!(conn.get("/", &h).unwrap().body.is_none());
    assert!(conn.get("/", &h).unwrap().body.is_none());
    assert!(conn.head("/", &h).unwrap().body.is_none());
    assert!(!conn.is_closed());
    assert_eq!(
        conn.get("/", &h).unwrap().read_all().unwrap(),
        b"still here"
    );
    server.join();
}

#[test]
fn http10_without_keep_alive_ends_the_connection() {
    let server = Canned::start(Listener::tcp4(), |peer| {
        let r = peer.read_request().unwrap();
        // The request is HTTP/1.1 still.
        assert_eq!(r.line, "GET /a HTTP/1.1");
        peer.write("HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello");
        assert!(peer.read_request().is_none());
    });
    let mut conn = client(&server.address).connect().unwrap();
    let mut r = conn.get("/a", &Headers::new()).unwrap();
    assert_eq!(
        (r.version, r.status, &*r.reason),
        (Version::Http10, 200, "OK")
    );
    assert!(matches!(r.body, Some(Incoming::Body(_))));
    assert!(conn.is_closed());
    assert_eq!(r.read_all().unwrap(), b"hello");
    assert!(matches!(conn.get("/", &Headers::new()), Err(Error::Closed)));
    server.join();

    // Without framing: the body runs to the end of the connection.
    let server = Canned::start(Listener::tcp4(), |peer| {
        peer.read_request().unwrap();
        peer.write("HTTP/1.0 200 OK\r\nServer: old\r\n\r\n");
        peer.write(pattern(100_000));
    });
    let mut conn = client(&server.address).connect().unwrap();
    let mut r = conn.get("/", &Headers::new()).unwrap();
    assert_eq!(r.version, Version::Http10);
    assert!(matches!(r.body, Some(Incoming::Close(_))));
    assert!(r.read_all().unwrap() == pattern(100_000));
    assert!(matches!(conn.get("/", &Headers::new()), Err(Error::Closed)));
    server.join();
}

#[test]
fn http10_with_keep_alive_is_reused_only_when_framed() {
    let server = Canned::start(Listener::tcp4(), |peer| {
        for i in 0..3 {
            peer.read_request().unwrap();
            peer.write(format!(
                "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 1\r\n\r\n{i}"
            ));
        }
        // A response to HEAD has no body: framed enough.
        let r = peer.read_request().unwrap();
        assert!(r.line.starts_with("HEAD "));
        peer.write("HTTP/1.0 200 OK\r\nconnection: keep-alive\r\ncontent-length: 99\r\n\r\n");
        // keep-alive, but no framing: the body runs to the end.
        peer.read_request().unwrap();
        peer.write("HTTP/1.0 200 OK\r\nconnection: keep-alive\r\n\r\nuntil the end");
        peer.shutdown_write();
        assert!(peer.read_request().is_none());
    });
    let mut conn = client(&server.address).connect().unwrap();
    let h = Headers::new();
    for i in 0..3 {
        let mut r = conn.get("/", &h).unwrap();
        assert_eq!(r.version, Version::Http10);
        assert_eq!(r.read_all().unwrap(), i.to_string().as_bytes());
        assert!(!conn.is_closed());
    }
    let r = conn.head("/", &h).unwrap();
    assert_eq!((r.version, r.body.is_none()), (Version::Http10, true));
    assert!(!conn.is_closed());
    let mut r = conn.get("/", &h).unwrap();
    assert!(conn.is_closed());
    assert_eq!(r.read_all().unwrap(), b"until the end");
    assert!(matches!(conn.get("/", &h), Err(Error::Closed)));
    assert_eq!(conn.requests(), 5);
    server.join();

    // Chunked framing does not exist in HTTP/1.0: read, but the
    // connection ends (RFC 9112 §6.1).
    let server = Canned::start(Listener::tcp4(), |peer| {
        peer.read_request().unwrap();
        peer.write(
            "HTTP/1.0 200 OK\r\nconnection: keep-alive\r\ntransfer-encoding: chunked\r\n\r\n\
             2\r\nhi\r\n0\r\n\r\n",
        );
        assert!(peer.read_request().is_none());
    });
    let mut conn = client(&server.address).connect().unwrap();
    let mut r = conn.get("/", &h).unwrap();
    assert_eq!(r.read_all().unwrap(), b"hi");
    assert!(matches!(conn.get("/", &h), Err(Error::Closed)));
    server.join();
}

#[test]
fn any_reason_phrase() {
    let server = Canned::start(Listener::tcp4(), |peer| {
        for status_line in [
            "HTTP/1.1 422 ",
            "HTTP/1.1 418 I'm a Teapot",
            "HTTP/1.1 400 Bad Request: missing required Host header",
            "HTTP/1.1 299",
            "HTTP/1.1 200 \tOK, (\"quoted\") [tab\there]",
            "HTTP/1.1 451 Unavailable For Legal Reasons",
        ] {
            peer.read_request().unwrap();
            peer.write(format!("{status_line}\r\ncontent-length: 2\r\n\r\nok"));
        }
    });
    let mut conn = client(&server.address).connect().unwrap();
    for (status, reason) in [
        (422, ""),
        (418, "I'm a Teapot"),
        (400, "Bad Request: missing required Host header"),
        (299, ""),
        (200, "\tOK, (\"quoted\") [tab\there]"),
        (451, "Unavailable For Legal Reasons"),
    ] {
        let mut r = conn.get("/", &Headers::new()).unwrap();
        assert_eq!((r.status, &*r.reason), (status, reason));
        assert_eq!(r.read_all().unwrap(), b"ok");
    }
    assert!(!conn.is_closed());
    server.join();
}

/// A response preamble with `n` headers, the last one `content-length: 0`.
fn with_headers(n: usize) -> String {
    let mut head = "HTTP/1.1 200 OK\r\n".to_owned();
    for i in 0..n - 1 {
        head.push_str(&format!("X-H-{i}: {i}\r\n"));
    }
    head.push_str("content-length: 0\r\n\r\n");
    head
}

#[test]
fn up_to_100_headers() {
    let server = Canned::start(Listener::tcp4(), |peer| {
        peer.read_request().unwrap();
        peer.write(with_headers(100));
        peer.read_request().unwrap();
        peer.write(with_headers(101));
        peer.wait_eof();
    });
    let mut conn = client(&server.address).connect().unwrap();
    let mut r = conn.get("/", &Headers::new()).unwrap();
    assert_eq!(r.headers.len(), 100);
    assert_eq!(r.headers.get("x-h-0"), Some("0"));
    assert_eq!(r.headers.get("x-h-98"), Some("98"));
    assert_eq!(r.read_all().unwrap(), b"");
    let err = conn.get("/", &Headers::new()).unwrap_err();
    assert_eq!(err.to_string(), "more than 100 headers");
    assert!(matches!(err, Error::TooManyHeaders(100)));
    assert!(conn.is_closed());
    drop(conn);
    server.join();
}

#[test]
fn repeated_headers_are_kept() {
    let server = Canned::start(Listener::tcp4(), |peer| {
        peer.read_request().unwrap();
        peer.write(
            "HTTP/1.1 200 OK\r\nSet-Cookie: a=1; Path=/\r\nVary: accept\r\n\
             set-cookie: b=2\r\nX-Empty:\r\nX-Ows: \t padded \t\r\ncontent-length: 0\r\n\r\n",
        );
        // Framing headers stay unique.
        peer.read_request().unwrap();
        peer.write("HTTP/1.1 200 OK\r\ncontent-length: 1\r\nContent-Length: 1\r\n\r\nx");
        peer.wait_eof();
    });
    let mut conn = client(&server.address).connect().unwrap();
    let mut r = conn.get("/", &Headers::new()).unwrap();
    assert_eq!(
        r.headers.get_all("set-cookie").collect::<Vec<_>>(),
        ["a=1; Path=/", "b=2"]
    );
    assert_eq!(r.headers.get("set-cookie"), Some("a=1; Path=/"));
    assert_eq!(r.headers.get("x-empty"), Some(""));
    assert_eq!(r.headers.get("x-ows"), Some("padded"));
    let names: Vec<_> = r.headers.iter().map(|(n, _)| n).collect();
    assert_eq!(
        names,
        [
            "set-cookie",
            "vary",
            "set-cookie",
            "x-empty",
            "x-ows",
            "content-length"
        ]
    );
    r.read_all().unwrap();
    let err = conn.get("/", &Headers::new()).unwrap_err();
    assert_eq!(err.to_string(), r#"duplicate header: "content-length""#);
    assert!(conn.is_closed());
    drop(conn);
    server.join();
}

#[test]
fn trailers_after_a_chunked_body_then_a_pipelined_response() {
    let server = Canned::start(Listener::tcp4(), |peer| {
        peer.read_request().unwrap();
        // Both responses in one write: the second waits in the client's
        // buffer while the first one's trailers are read.
        peer.write(
            "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ntrailer: x-checksum\r\n\r\n\
             5\r\nhello\r\n7;i=1\r\n, world\r\n0\r\nX-Checksum: abc\r\nX-Other:  padded \t\r\n\
             x-checksum: def\r\nx-empty:\r\n\r\n\
             HTTP/1.1 201 Created\r\ncontent-length: 4\r\n\r\nnext",
        );
        let r = peer.read_request().unwrap();
        assert_eq!(r.line, "GET /second HTTP/1.1");
        // Chunk by chunk, the trailers come with the final chunk.
        peer.read_request().unwrap();
        peer.write(
            "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n\
             3\r\nabc\r\n0;end=1\r\nx-sum: 3\r\n\r\n",
        );
        // No trailers: an empty set.
        peer.read_request().unwrap();
        peer.write("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n");
        assert!(peer.read_request().is_none());
    });
    let mut conn = client(&server.address).connect().unwrap();
    let h = Headers::new();
    let mut r = conn.get("/", &h).unwrap();
    assert_eq!(r.trailers(), None); // the body comes first
    assert_eq!(r.read_all().unwrap(), b"hello, world");
    let t = r.trailers().unwrap();
    assert_eq!(t.get_all("x-checksum").collect::<Vec<_>>(), ["abc", "def"]);
    assert_eq!(t.get("x-other"), Some("padded"));
    assert_eq!(t.get("x-empty"), Some(""));
    assert_eq!(t.len(), 4);
    assert!(!conn.is_closed());
    let mut r2 = conn.get("/second", &h).unwrap();
    assert_eq!((r2.status, &*r2.reason), (201, "Created"));
    assert_eq!(r2.read_all().unwrap(), b"next");

    let r = conn.get("/", &h).unwrap();
    let Some(Incoming::Chunked(mut body)) = r.body else {
        panic!("not chunked")
    };
    let chunks: Vec<_> = (&mut body).map(Result::unwrap).collect();
    assert_eq!(chunks.len(), 2);
    assert_eq!(body.trailers().unwrap().get("x-sum"), Some("3"));

    let mut r = conn.get("/", &h).unwrap();
    assert_eq!(r.read_all().unwrap(), b"");
    assert!(r.trailers().unwrap().is_empty());
    conn.close(); // the bodies still alive let go of the socket too
    server.join();
}

#[test]
fn a_malformed_trailer_is_an_error() {
    let many: String = (0..101).map(|i| format!("x-{i}: v\r\n")).collect();
    let long = format!("x-long: {}\r\n", "a".repeat(33_000));
    let cases: Vec<(String, &str)> = vec![
        (
            "X-Checksum abc\r\n\r\n".into(),
            r#"bad header line: "X-Checksum abc""#,
        ),
        (
            "Bad Name: x\r\n\r\n".into(),
            r#"bad header name: "Bad Name""#,
        ),
        (" folded: x\r\n\r\n".into(), r#"bad header name: " folded""#),
        ("x-a: b\x01c\r\n\r\n".into(), r#"bad x-a value: "b\x01c""#),
        ("x-a: b\n\r\n".into(), r#"bad header line: "x-a: b""#),
        (many, "more than 100 headers"),
        (long, "trailer section larger than 32768 bytes"),
        (
            "content-length: 1\r\ncontent-length: 1\r\n\r\n".into(),
            r#"duplicate header: "content-length""#,
        ),
        // The empty line is missing and a response follows: never taken
        // for the next response.
        (
            "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n".into(),
            r#"bad header line: "HTTP/1.1 200 OK""#,
        ),
        (
            "x-a: b\r\n".into(),
            "connection closed in the middle of a trailer section",
        ),
    ];
    for (trailers, msg) in cases {
        let wire = format!(
            "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n{trailers}"
        );
        let server = Canned::start(Listener::tcp4(), move |peer| {
            peer.read_request().unwrap();
            peer.write(wire);
            peer.shutdown_write();
            peer.wait_eof();
        });
        let mut conn = client(&server.address).connect().unwrap();
        let mut r = conn.get("/", &Headers::new()).unwrap();
        assert_eq!(r.read_all().unwrap_err().to_string(), msg);
        assert_eq!(r.trailers(), None);
        assert!(conn.is_closed(), "{msg}");
        assert!(matches!(conn.get("/", &Headers::new()), Err(Error::Closed)));
        drop((conn, r));
        server.join();
    }
}

/// A Degu server whose app forwards each request to `upstream` (a new
/// connection each time) and returns its response.
fn proxy_to(upstream: Client) -> degu_server::ServerHandle {
    let app = move |_: &mut Session, request: &mut Request| -> AppResult {
        let mut conn = upstream.connect()?;
        let uri = request.uri.clone();
        Ok(conn
            .request(request.method, &uri, &Headers::new(), request.body.take())?
            .into())
    };
    let options = ServerOptions::default().with_timeout(Some(TIMEOUT));
    Server::bind(&"127.0.0.1:0".parse().unwrap(), app, options)
        .unwrap()
        .spawn()
        .unwrap()
}

#[test]
fn a_proxy_sends_a_close_delimited_body_on_chunked_and_drops_trailers() {
    let (listener, address) = Listener::tcp4();
    let upstream = std::thread::spawn(move || {
        let mut peer = listener.accept();
        peer.read_request().unwrap();
        peer.write("HTTP/1.0 200 OK\r\nx-up: 1\r\n\r\n");
        peer.write(pattern(200_000));
        drop(peer);
        let mut peer = listener.accept();
        peer.read_request().unwrap();
        peer.write(
            "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ntrailer: x-sum\r\n\r\n\
             2\r\nhi\r\n0\r\nx-sum: 2\r\n\r\n",
        );
        drop(peer);
        let mut peer = listener.accept();
        peer.read_request().unwrap();
        peer.write("HTTP/1.1 422 \r\ncontent-length: 0\r\n\r\n");
    });
    let proxy = proxy_to(client(&address));
    let mut conn = client(proxy.address()).connect().unwrap();
    let h = Headers::new();

    let mut r = conn.get("/close", &h).unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.headers.get("x-up"), Some("1"));
    assert_eq!(r.headers.get("transfer-encoding"), Some("chunked"));
    assert_eq!(r.headers.get("content-length"), None);
    assert!(matches!(r.body, Some(Incoming::Chunked(_))));
    assert!(r.read_all().unwrap() == pattern(200_000));
    assert!(!conn.is_closed());

    let mut r = conn.get("/trailers", &h).unwrap();
    assert_eq!(r.headers.get("trailer"), None);
    assert_eq!(r.read_all().unwrap(), b"hi");
    assert!(r.trailers().unwrap().is_empty());

    // An empty reason, which a Degu server does not send.
    let mut r = conn.get("/empty-reason", &h).unwrap();
    assert_eq!((r.status, &*r.reason), (422, "Unknown"));
    r.read_all().unwrap();
    drop(conn);
    proxy.shutdown();
    upstream.join().unwrap();
}
