//! Against servers written here with std sockets, speaking canned HTTP:
//! exactly what the client sends, and how it takes every kind of answer.

use std::io::{Read, Seek, SeekFrom, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use degu_client::{
    Address, Body, BodyIter, Chunk, ChunkedBody, ChunkedBodyIter, Client, Error, Headers, Incoming,
    Method, PlainStream, Transport, Wrapper,
};

use crate::util::{Canned, Listener, TempDir, client, pattern};

fn headers(pairs: &[(&'static str, &'static str)]) -> Headers {
    Headers::from_pairs(pairs.iter().copied()).unwrap()
}

#[test]
fn every_method_exact_bytes() {
    let server = Canned::start(Listener::tcp4(), |peer| {
        let host = match peer.read_request() {
            Some(r) => {
                let host = r.header("host").unwrap().to_owned();
                assert_eq!(
                    r.head,
                    format!("GET /a/b?c=d HTTP/1.1\r\nhost: {host}\r\n\r\n")
                );
                host
            }
            None => panic!("no request"),
        };
        peer.ok(b"get");
        let r = peer.read_request().unwrap();
        assert_eq!(r.head, format!("HEAD / HTTP/1.1\r\nhost: {host}\r\n\r\n"));
        peer.write("HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\n");
        let r = peer.read_request().unwrap();
        assert_eq!(
            r.head,
            format!("DELETE /x HTTP/1.1\r\nhost: {host}\r\nx-y: z\r\n\r\n")
        );
        peer.write("HTTP/1.1 204 No Content\r\n\r\n");
        let r = peer.read_request().unwrap();
        assert_eq!(
            r.head,
            format!("PUT /p HTTP/1.1\r\nhost: {host}\r\ncontent-length: 5\r\n\r\n")
        );
        assert_eq!(r.body, b"hello");
        peer.ok(b"put");
        let r = peer.read_request().unwrap();
        assert_eq!(
            r.head,
            format!("POST /p HTTP/1.1\r\nhost: {host}\r\ncontent-length: 0\r\n\r\n")
        );
        peer.ok(b"post");
        let r = peer.read_request().unwrap();
        assert_eq!(
            r.head,
            format!("PUT /none HTTP/1.1\r\nhost: {host}\r\n\r\n")
        );
        peer.ok(b"");
        assert!(peer.read_request().is_none());
    });
    let c = client(&server.address);
    assert_eq!(c.host(), Some(server.address.to_string().as_str()));
    let mut conn = c.connect().unwrap();
    let mut r = conn.get("/a/b?c=d", &Headers::new()).unwrap();
    assert_eq!(r.read_all().unwrap(), b"get");
    let r = conn.head("/", &Headers::new()).unwrap();
    assert_eq!((r.status, r.body.is_none()), (200, true));
    assert_eq!(r.headers.content_length(), Some(3));
    let r = conn.delete("/x", &headers(&[("x-y", "z")])).unwrap();
    assert_eq!(
        (r.status, &*r.reason, r.body.is_none()),
        (204, "No Content", true)
    );
    let mut r = conn.put("/p", &Headers::new(), "hello").unwrap();
    assert_eq!(r.read_all().unwrap(), b"put");
    let mut r = conn.post("/p", &Headers::new(), Vec::new()).unwrap();
    assert_eq!(r.read_all().unwrap(), b"post");
    // No body (not an empty one) on a method that allows one.
    let mut r = conn
        .request(Method::Put, "/none", &Headers::new(), ())
        .unwrap();
    assert_eq!(r.read_all().unwrap(), b"");
    assert_eq!(conn.requests(), 6);
    conn.close();
    assert!(conn.is_closed());
    server.join();
}

#[test]
fn request_bodies_of_every_kind() {
    let dir = TempDir::new("bodies");
    let path = dir.path().join("file");
    std::fs::write(&path, pattern(100_000)).unwrap();
    let big = pattern(300_000);
    let big2 = big.clone();
    let server = Canned::start(Listener::tcp4(), move |peer| {
        // bytes
        let r = peer.read_request().unwrap();
        assert_eq!(r.header("content-length"), Some("300000"));
        assert!(r.body == big2);
        peer.ok(b"");
        // Body from a file seeked to an offset
        let r = peer.read_request().unwrap();
        assert_eq!(r.header("content-length"), Some("1000"));
        assert_eq!(r.body, pattern(100_000)[5000..6000]);
        peer.ok(b"");
        // BodyIter
        let r = peer.read_request().unwrap();
        assert_eq!(r.header("content-length"), Some("12"));
        assert_eq!(r.body, b"hello, world");
        peer.ok(b"");
        // ChunkedBody from a reader: forwarded chunk by chunk
        let r = peer.read_request().unwrap();
        assert_eq!(r.header("transfer-encoding"), Some("chunked"));
        assert_eq!(r.wire, b"5;a=1\r\nhello\r\n1\r\n,\r\n0;end=yes\r\n\r\n");
        peer.ok(b"");
        // ChunkedBodyIter with extensions
        let r = peer.read_request().unwrap();
        assert_eq!(
            r.chunks.unwrap(),
            vec![
                Chunk::with_ext("i", "0", "one"),
                Chunk::new(vec![7u8; 70_000]),
                Chunk::with_ext("last", "true", "")
            ]
        );
        peer.ok(b"");
        // A declared content-length that matches the body
        let r = peer.read_request().unwrap();
        assert_eq!(r.head.matches("content-length").count(), 1);
        assert_eq!(r.body, b"abc");
        peer.ok(b"");
        // transfer-encoding declared with a chunked body
        let r = peer.read_request().unwrap();
        assert_eq!(r.head.matches("transfer-encoding").count(), 1);
        assert_eq!(r.body, b"xyz");
        peer.ok(b"");
    });
    let mut conn = client(&server.address).connect().unwrap();
    let h = Headers::new();
    conn.put("/", &h, &big[..]).unwrap().read_all().unwrap();

    let mut file = std::fs::File::open(&path).unwrap();
    file.seek(SeekFrom::Start(5000)).unwrap();
    conn.put("/", &h, Body::new(file, 1000))
        .unwrap()
        .read_all()
        .unwrap();

    let pieces = ["hello", ", ", "world"];
    conn.post("/", &h, BodyIter::new(pieces, 12))
        .unwrap()
        .read_all()
        .unwrap();

    let wire = b"5;a=1\r\nhello\r\n1\r\n,\r\n0;end=yes\r\n\r\n";
    conn.post("/", &h, ChunkedBody::new(&wire[..]))
        .unwrap()
        .read_all()
        .unwrap();

    let chunks = vec![
        Chunk::with_ext("i", "0", "one"),
        Chunk::new(vec![7u8; 70_000]),
        Chunk::with_ext("last", "true", ""),
    ];
    conn.put("/", &h, ChunkedBodyIter::new(chunks))
        .unwrap()
        .read_all()
        .unwrap();

    conn.put("/", &headers(&[("content-length", "3")]), "abc")
        .unwrap()
        .read_all()
        .unwrap();
    let body = ChunkedBodyIter::new(vec![Chunk::new("xyz"), Chunk::new("")]);
    conn.put("/", &headers(&[("transfer-encoding", "chunked")]), body)
        .unwrap()
        .read_all()
        .unwrap();
    server.join();
}

#[test]
fn response_bodies_of_every_kind() {
    let server = Canned::start(Listener::tcp4(), |peer| {
        peer.read_request().unwrap();
        peer.write("HTTP/1.1 200 OK\r\nContent-Length: 12\r\nX-Thing: yes\r\n\r\nhello, world");
        peer.read_request().unwrap();
        peer.write(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
             5;i=0\r\nhello\r\n2\r\n, \r\n5;i=two\r\nworld\r\n0;done=1\r\n\r\n",
        );
        peer.read_request().unwrap();
        peer.write(
            "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n\
             3\r\nabc\r\na\r\n0123456789\r\n0\r\n\r\n",
        );
        peer.read_request().unwrap();
        peer.write("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
        peer.read_request().unwrap();
        peer.write("HTTP/1.1 304 Not Modified\r\ncontent-length: 99\r\n\r\n");
        peer.read_request().unwrap();
        // An interim response is skipped.
        peer.write(
            "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\ncontent-length: 2\r\n\r\nok",
        );
        peer.read_request().unwrap();
        peer.ok(&pattern(200_000));
    });
    let mut conn = client(&server.address).connect().unwrap();
    let h = Headers::new();

    let mut r = conn.get("/", &h).unwrap();
    assert_eq!(r.headers.get("x-thing"), Some("yes"));
    assert_eq!(r.headers.get("content-length"), Some("12"));
    assert!(matches!(r.body, Some(Incoming::Body(_))));
    assert_eq!(r.read_all().unwrap(), b"hello, world");

    // Chunk by chunk, with extensions.
    let r = conn.get("/", &h).unwrap();
    assert!(r.headers.is_chunked());
    let Some(Incoming::Chunked(body)) = r.body else {
        panic!("not chunked")
    };
    let chunks: Vec<Chunk> = body.map(Result::unwrap).collect();
    assert_eq!(
        chunks,
        vec![
            Chunk::with_ext("i", "0", "hello"),
            Chunk::new(", "),
            Chunk::with_ext("i", "two", "world"),
            Chunk::with_ext("done", "1", ""),
        ]
    );

    // std::io::Read into a small caller buffer.
    let r = conn.get("/", &h).unwrap();
    let mut body = r.body.unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 3];
    loop {
        let n = body.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    assert_eq!(out, b"abc0123456789");

    let mut r = conn.get("/", &h).unwrap();
    assert!(r.has_body());
    assert_eq!(r.read_all().unwrap(), b"");

    let r = conn.get("/", &h).unwrap();
    assert_eq!((r.status, r.body.is_none()), (304, true));

    let mut r = conn.get("/", &h).unwrap();
    assert_eq!((r.status, &*r.reason), (201, "Created"));
    assert_eq!(r.read_all().unwrap(), b"ok");

    let mut r = conn.get("/", &h).unwrap();
    let mut out = Vec::new();
    std::io::copy(r.body.as_mut().unwrap(), &mut out).unwrap();
    assert!(out == pattern(200_000));
    server.join();
}

#[test]
fn range_request() {
    let server = Canned::start(Listener::tcp4(), |peer| {
        let r = peer.read_request().unwrap();
        assert_eq!(r.header("range"), Some("bytes=5-9"));
        assert_eq!(r.header("x-a"), Some("b"));
        peer.write(
            "HTTP/1.1 206 Partial Content\r\ncontent-range: bytes 5-9/100\r\n\
             content-length: 5\r\n\r\n\x05\x06\x07\x08\x09",
        );
    });
    let mut conn = client(&server.address).connect().unwrap();
    let mut r = conn
        .get_range("/f", &headers(&[("x-a", "b")]), 5, 10)
        .unwrap();
    assert_eq!((r.status, &*r.reason), (206, "Partial Content"));
    let cr = r.headers.content_range().unwrap();
    assert_eq!((cr.start(), cr.stop(), cr.total()), (5, 10, 100));
    assert_eq!(r.read_all().unwrap(), [5, 6, 7, 8, 9]);
    assert!(conn.get_range("/f", &Headers::new(), 10, 10).is_err()); // empty range
    server.join();
}

#[test]
fn ten_thousand_requests_on_one_connection() {
    const N: usize = 10_000;
    let server = Canned::start(Listener::tcp4(), |peer| {
        for i in 0..N {
            let r = peer.read_request().unwrap();
            assert_eq!(r.line, format!("GET /{i} HTTP/1.1"));
            peer.ok(i.to_string().as_bytes());
        }
        assert!(peer.read_request().is_none());
    });
    let mut conn = client(&server.address).connect().unwrap();
    let h = Headers::new();
    for i in 0..N {
        let mut r = conn.get(&format!("/{i}"), &h).unwrap();
        assert_eq!(r.read_all().unwrap(), i.to_string().as_bytes());
    }
    drop(conn);
    server.join();
}

#[test]
fn unread_body_refuses_next_request() {
    let server = Canned::start(Listener::tcp4(), |peer| {
        for _ in 0..3 {
            peer.read_request().unwrap();
            peer.ok(b"0123456789");
        }
        assert!(peer.read_request().is_none());
    });
    let mut conn = client(&server.address).connect().unwrap();
    let h = Headers::new();
    let mut first = conn.get("/", &h).unwrap();
    let err = conn.get("/", &h).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the previous response body was not read to its end"
    );
    assert!(!conn.is_closed());
    // Partly read: still refused.
    let mut buf = [0u8; 4];
    first.body.as_mut().unwrap().read_exact(&mut buf).unwrap();
    assert!(conn.get("/", &h).is_err());
    // Read to its end: fine.
    std::io::copy(first.body.as_mut().unwrap(), &mut std::io::sink()).unwrap();
    let mut second = conn.get("/", &h).unwrap();
    assert_eq!(second.read_all().unwrap(), b"0123456789");
    // Dropped unread: still refused (never garbage).
    drop(conn.get("/", &h).unwrap());
    assert!(conn.get("/", &h).is_err());
    conn.close();
    assert!(matches!(conn.get("/", &h), Err(Error::Closed)));
    server.join();
}

#[test]
fn server_closes_mid_response() {
    // In the preamble.
    let server = Canned::start(Listener::tcp4(), |peer| {
        peer.read_request().unwrap();
        peer.write("HTTP/1.1 200 OK\r\ncontent-le");
    });
    let mut conn = client(&server.address).connect().unwrap();
    let err = conn.get("/", &Headers::new()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "connection closed in the middle of a preamble"
    );
    assert!(conn.is_closed());
    assert!(matches!(conn.get("/", &Headers::new()), Err(Error::Closed)));
    server.join();

    // Before any byte of the response.
    let server = Canned::start(Listener::tcp4(), |peer| {
        peer.read_request().unwrap();
    });
    let mut conn = client(&server.address).connect().unwrap();
    let err = conn.get("/", &Headers::new()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "connection closed in the middle of a response preamble"
    );
    server.join();

    // In a content-length body.
    let server = Canned::start(Listener::tcp4(), |peer| {
        peer.read_request().unwrap();
        peer.write("HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nhello");
    });
    let mut conn = client(&server.address).connect().unwrap();
    let mut r = conn.get("/", &Headers::new()).unwrap();
    let err = r.read_all().unwrap_err();
    assert_eq!(err.to_string(), "body too short: 5 of 10 bytes");
    assert!(conn.is_closed());
    assert!(matches!(conn.get("/", &Headers::new()), Err(Error::Closed)));
    server.join();

    // In a chunked body.
    let server = Canned::start(Listener::tcp4(), |peer| {
        peer.read_request().unwrap();
        peer.write("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n8\r\nwor");
    });
    let mut conn = client(&server.address).connect().unwrap();
    let mut r = conn.get("/", &Headers::new()).unwrap();
    let err = r.read_all().unwrap_err();
    assert_eq!(
        err.to_string(),
        "connection closed in the middle of a chunk"
    );
    assert!(matches!(conn.get("/", &Headers::new()), Err(Error::Closed)));
    server.join();
}

#[test]
fn bad_response_closes_connection() {
    let server = Canned::start(Listener::tcp4(), |peer| {
        peer.read_request().unwrap();
        peer.write("HTTP/2.0 200 OK\r\n\r\n");
        peer.wait_eof();
    });
    let mut conn = client(&server.address).connect().unwrap();
    let err = conn.get("/", &Headers::new()).unwrap_err();
    assert_eq!(err.to_string(), r#"bad protocol: "HTTP/2.0""#);
    assert!(conn.is_closed());
    assert!(matches!(conn.get("/", &Headers::new()), Err(Error::Closed)));
    drop(conn);
    server.join();

    let server = Canned::start(Listener::tcp4(), |peer| {
        peer.read_request().unwrap();
        peer.write("HTTP/1.1 200 OK\r\ncontent-length: 1\r\ntransfer-encoding: chunked\r\n\r\n");
        peer.wait_eof();
    });
    let mut conn = client(&server.address).connect().unwrap();
    let err = conn.get("/", &Headers::new()).unwrap_err();
    assert_eq!(err.to_string(), "both content-length and transfer-encoding");
    assert!(conn.is_closed());
    drop(conn);
    server.join();
}

#[test]
fn timeout_when_server_never_answers() {
    let server = Canned::start(Listener::tcp4(), |peer| {
        peer.read_request().unwrap();
        // Never answer; wait for the client to give up and close.
        assert!(peer.wait_eof());
    });
    let mut c = client(&server.address);
    c = c.with_timeout(Some(Duration::from_millis(200)));
    let mut conn = c.connect().unwrap();
    let start = Instant::now();
    let err = conn.get("/", &Headers::new()).unwrap_err();
    let elapsed = start.elapsed();
    assert!(err.is_timeout(), "{err}");
    assert_eq!(
        err.to_string(),
        "read timed out after 200ms: the peer sent nothing"
    );
    assert!(elapsed >= Duration::from_millis(150), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
    assert!(conn.is_closed());
    drop(conn);
    server.join();
}

#[test]
fn timeout_when_server_stops_reading() {
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let server = Canned::start(Listener::tcp4(), move |peer| {
        // Read nothing until the client has given up.
        let _ = rx.recv_timeout(Duration::from_secs(10));
        assert!(peer.wait_eof());
    });
    let mut c = client(&server.address);
    c = c.with_timeout(Some(Duration::from_millis(200)));
    let mut conn = c.connect().unwrap();
    let body = vec![0u8; 64 << 20];
    let err = conn.put("/", &Headers::new(), &body[..]).unwrap_err();
    assert!(err.is_timeout(), "{err}");
    assert_eq!(
        err.to_string(),
        "write timed out after 200ms: the peer stopped reading"
    );
    assert!(conn.is_closed());
    tx.send(()).unwrap();
    drop(conn);
    server.join();
}

#[test]
fn unix_path_address() {
    let dir = TempDir::new("unix");
    let server = Canned::start(Listener::unix(&dir), |peer| {
        let r = peer.read_request().unwrap();
        // HTTP/1.1 requires a host: `localhost` over AF_UNIX, as curl says.
        assert_eq!(r.head, "GET / HTTP/1.1\r\nhost: localhost\r\n\r\n");
        peer.ok(b"over a path");
    });
    assert!(server.address.to_string().starts_with("unix:/"));
    let c = client(&server.address);
    assert_eq!(c.host(), Some("localhost"));
    let mut conn = c.connect().unwrap();
    assert_eq!(
        conn.get("/", &Headers::new()).unwrap().read_all().unwrap(),
        b"over a path"
    );
    server.join();

    // Unless told otherwise.
    let dir = TempDir::new("unix-nohost");
    let server = Canned::start(Listener::unix(&dir), |peer| {
        let r = peer.read_request().unwrap();
        assert_eq!(r.head, "GET / HTTP/1.1\r\n\r\n");
        peer.ok(b"");
    });
    let mut c = client(&server.address);
    c = c.with_host(None).unwrap();
    assert_eq!(c.host(), None);
    let mut conn = c.connect().unwrap();
    conn.get("/", &Headers::new()).unwrap().read_all().unwrap();
    server.join();
}

#[test]
fn abstract_address() {
    let server = Canned::start(Listener::abstract_name(), |peer| {
        let r = peer.read_request().unwrap();
        assert_eq!(r.head, "GET / HTTP/1.1\r\nhost: localhost\r\n\r\n");
        peer.ok(b"abstract");
    });
    assert!(
        server
            .address
            .to_string()
            .starts_with("unix:@degu-client-test-")
    );
    let mut conn = client(&server.address).connect().unwrap();
    assert_eq!(
        conn.get("/", &Headers::new()).unwrap().read_all().unwrap(),
        b"abstract"
    );
    server.join();
    // The empty abstract name is for servers only.
    let err = client(&"unix:@".parse().unwrap()).connect().unwrap_err();
    assert!(err.to_string().contains("empty abstract name"), "{err}");
}

#[test]
fn ipv6_loopback() {
    let Some(listener) = Listener::tcp6() else {
        println!("skipped: no IPv6 loopback on this machine");
        return;
    };
    let server = Canned::start(listener, |peer| {
        let r = peer.read_request().unwrap();
        let port = r
            .header("host")
            .unwrap()
            .rsplit_once(':')
            .unwrap()
            .1
            .to_owned();
        assert_eq!(r.header("host"), Some(format!("[::1]:{port}").as_str()));
        peer.ok(b"v6");
    });
    assert!(server.address.to_string().starts_with("[::1]:"));
    let mut conn = client(&server.address).connect().unwrap();
    assert_eq!(
        conn.get("/", &Headers::new()).unwrap().read_all().unwrap(),
        b"v6"
    );
    server.join();
}

#[test]
fn dns_name_tries_each_address() {
    // localhost may resolve to ::1 first; the server is on 127.0.0.1 only.
    let server = Canned::start(Listener::tcp4(), |peer| {
        let r = peer.read_request().unwrap();
        assert!(r.header("host").unwrap().starts_with("localhost:"));
        peer.ok(b"dns");
    });
    let Address::Tcp4 { port, .. } = server.address else {
        unreachable!()
    };
    let address: Address = format!("localhost:{port}").parse().unwrap();
    assert!(matches!(address, Address::Dns { .. }));
    let mut conn = client(&address).connect().unwrap();
    assert_eq!(
        conn.get("/", &Headers::new()).unwrap().read_all().unwrap(),
        b"dns"
    );
    server.join();

    let address: Address = "no-such-host.invalid:80".parse().unwrap();
    let err = client(&address).connect().unwrap_err();
    assert!(err.to_string().contains("no-such-host.invalid"), "{err}");
}

#[test]
fn connect_error_names_the_address() {
    let (listener, address) = Listener::tcp4();
    drop(listener);
    let err = client(&address).connect().unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains(&format!("cannot connect to {address}")),
        "{msg}"
    );
    assert!(matches!(err, Error::Io(ref e) if e.kind() == std::io::ErrorKind::ConnectionRefused));

    let dir = TempDir::new("nosock");
    let address = Address::unix(dir.path().join("missing.sock")).unwrap();
    let err = client(&address).connect().unwrap_err();
    assert!(err.to_string().contains("missing.sock"), "{err}");
}

#[test]
fn on_connect_refusing_and_accepting() {
    let server = Canned::start(Listener::tcp4(), |peer| {
        // The refused connection is closed without a byte sent.
        assert!(peer.wait_eof());
    });
    let mut c = client(&server.address);
    let seen = Arc::new(AtomicUsize::new(0));
    let seen2 = seen.clone();
    let expected = server.address.clone();
    c = c.with_on_connect(move |transport: &mut dyn Transport, address: &Address| {
        assert_eq!(address, &expected);
        assert!(transport.plain_fd().is_some());
        seen2.fetch_add(1, Ordering::SeqCst);
        false
    });
    assert!(c.has_on_connect());
    let err = c.connect().unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "connection to {} refused by the on_connect callback",
            server.address
        )
    );
    assert_eq!(seen.load(Ordering::SeqCst), 1);
    server.join();

    let server = Canned::start(Listener::tcp4(), |peer| {
        peer.read_request().unwrap();
        peer.ok(b"welcome");
    });
    let mut c = client(&server.address);
    c = c.with_on_connect(|t: &mut dyn Transport, _: &Address| {
        // The callback may talk first; here it only looks.
        t.plain_fd().is_some()
    });
    let mut conn = c.connect().unwrap();
    assert_eq!(
        conn.get("/", &Headers::new()).unwrap().read_all().unwrap(),
        b"welcome"
    );
    c = c.without_on_connect();
    assert!(!c.has_on_connect());
    server.join();
}

#[test]
fn requests_validated_before_sending() {
    let server = Canned::start(Listener::tcp4(), |peer| {
        // Only the valid request arrives.
        let r = peer.read_request().unwrap();
        assert_eq!(r.line, "PUT /ok HTTP/1.1");
        peer.ok(b"");
        assert!(peer.read_request().is_none());
    });
    let mut conn = client(&server.address).connect().unwrap();
    let h = Headers::new();
    let check = |r: degu_client::Result<degu_client::Response>, msg: &str| {
        assert_eq!(r.unwrap_err().to_string(), msg);
    };
    check(
        conn.request(Method::Get, "/", &h, "body"),
        "GET request with a body",
    );
    check(
        conn.request(Method::Head, "/", &h, "body"),
        "HEAD request with a body",
    );
    check(conn.get("/a b", &h), r#"bad uri: "/a b""#);
    check(conn.get("relative", &h), r#"bad uri: "relative""#);
    check(conn.get("/a//b", &h), r#"bad uri: "/a//b""#);
    check(
        conn.put("/", &headers(&[("content-length", "5")]), "abc"),
        "headers do not match body: the body is Length(3), the headers declare Length(5)",
    );
    check(
        conn.put("/", &headers(&[("content-length", "5")]), ()),
        "headers do not match body: no body, but the headers declare Length(5)",
    );
    check(
        conn.get("/", &headers(&[("transfer-encoding", "chunked")])),
        "headers do not match body: no body, but the headers declare Chunked",
    );
    check(
        conn.put("/", &headers(&[("transfer-encoding", "chunked")]), "abc"),
        "headers do not match body: the body is Length(3), the headers declare Chunked",
    );
    let many: Vec<(String, String)> = (0..64).map(|i| (format!("x-{i}"), "v".into())).collect();
    let many = Headers::from_pairs(many).unwrap();
    check(conn.get("/", &many), "more than 64 headers"); // 64 + host
    let long = Headers::from_pairs([("x-long", "a".repeat(33_000))]).unwrap();
    check(conn.get("/", &long), "preamble larger than 32768 bytes");
    assert!(Headers::from_pairs([("X-Upper", "v")]).is_err()); // lowercase only
    assert!(!conn.is_closed());
    assert_eq!(conn.requests(), 0);
    conn.put("/ok", &h, "").unwrap().read_all().unwrap();
    drop(conn);
    server.join();
}

#[test]
fn base_headers_and_overrides() {
    let server = Canned::start(Listener::tcp4(), |peer| {
        let r = peer.read_request().unwrap();
        assert_eq!(
            r.headers,
            [
                ("host".to_owned(), "example.com".to_owned()),
                ("authorization".to_owned(), "Bearer x".to_owned()),
                ("x-app".to_owned(), "1".to_owned()),
            ]
        );
        peer.ok(b"");
        let r = peer.read_request().unwrap();
        // Request headers override base headers of the same name.
        assert_eq!(
            r.head,
            "GET / HTTP/1.1\r\nauthorization: Bearer x\r\nx-app: 1\r\nhost: other\r\n\r\n"
        );
        peer.ok(b"");
    });
    let mut c = client(&server.address);
    let default_host = server.address.to_string();
    assert_eq!(c.host(), Some(default_host.as_str()));
    c = c.with_host(Some("example.com")).unwrap();
    c = c.with_authorization(Some("Bearer x")).unwrap();
    c = c.with_base_header("x-app", Some("1")).unwrap();
    assert_eq!(c.authorization(), Some("Bearer x"));
    assert!(c.clone().with_base_header("X-Bad", Some("1")).is_err());
    assert!(c.clone().with_base_header("x-bad", Some("a\r\nb")).is_err());
    assert!(
        c.clone()
            .with_base_header("content-length", Some("1"))
            .is_err()
    );
    assert!(
        c.clone()
            .with_base_header("transfer-encoding", Some("chunked"))
            .is_err()
    );
    // A clone is independent once changed.
    let other = c.clone().with_host(None).unwrap();
    assert_eq!(other.host(), None);
    assert_eq!(c.host(), Some("example.com"));

    let mut conn = c.connect().unwrap();
    conn.get("/", &Headers::new()).unwrap().read_all().unwrap();
    conn.get("/", &headers(&[("host", "other")]))
        .unwrap()
        .read_all()
        .unwrap();
    drop(conn);
    server.join();

    // Without host and authorization (each canned server takes one
    // connection, so a new one).
    let server = Canned::start(Listener::tcp4(), |peer| {
        let r = peer.read_request().unwrap();
        assert_eq!(r.head, "GET / HTTP/1.1\r\nx-app: 1\r\n\r\n");
        peer.ok(b"");
    });
    let c2 = client(&server.address)
        .with_host(None)
        .unwrap()
        .with_base_header("x-app", Some("1"))
        .unwrap();
    assert_eq!(c2.base_headers().len(), 1);
    c2.connect()
        .unwrap()
        .get("/", &Headers::new())
        .unwrap()
        .read_all()
        .unwrap();
    server.join();
}

#[test]
fn connection_close_and_unframed_responses_end_the_connection() {
    let server = Canned::start(Listener::tcp4(), |peer| {
        peer.read_request().unwrap();
        peer.write("HTTP/1.1 200 OK\r\nConnection: close\r\ncontent-length: 2\r\n\r\nhi");
    });
    let mut conn = client(&server.address).connect().unwrap();
    let mut r = conn.get("/", &Headers::new()).unwrap();
    assert!(conn.is_closed());
    assert_eq!(r.read_all().unwrap(), b"hi"); // the body is still readable
    assert!(matches!(conn.get("/", &Headers::new()), Err(Error::Closed)));
    server.join();

    // Without framing, the body runs to the end of the connection.
    let server = Canned::start(Listener::tcp4(), |peer| {
        peer.read_request().unwrap();
        peer.write("HTTP/1.1 200 OK\r\nx-a: b\r\n\r\nclose-delimited bytes");
    });
    let mut conn = client(&server.address).connect().unwrap();
    let mut r = conn.get("/", &Headers::new()).unwrap();
    assert!(matches!(r.body, Some(Incoming::Close(_))));
    assert!(conn.is_closed());
    assert_eq!(r.read_all().unwrap(), b"close-delimited bytes");
    assert!(matches!(conn.get("/", &Headers::new()), Err(Error::Closed)));
    server.join();
}

#[test]
fn close_detaches_a_live_body() {
    let server = Canned::start(Listener::tcp4(), |peer| {
        peer.read_request().unwrap();
        peer.write("HTTP/1.1 200 OK\r\ncontent-length: 100000\r\n\r\nsome");
        // The socket is closed at once, not when the body is dropped.
        assert!(peer.wait_eof());
    });
    let mut conn = client(&server.address).connect().unwrap();
    let mut r = conn.get("/", &Headers::new()).unwrap();
    conn.close();
    conn.close(); // twice is fine
    let err = r.read_all().unwrap_err();
    assert_eq!(
        err.to_string(),
        "body no longer readable from its connection"
    );
    server.join();
    drop(r);
}

#[test]
fn body_outlives_its_connection_handle() {
    let server = Canned::start(Listener::tcp4(), |peer| {
        peer.read_request().unwrap();
        peer.ok(b"still here");
    });
    let c = client(&server.address);
    // The Connection is a temporary; the body keeps the socket.
    let mut r = c.connect().unwrap().get("/", &Headers::new()).unwrap();
    assert_eq!(r.read_all().unwrap(), b"still here");
    server.join();
}

#[test]
fn client_is_shared_across_threads() {
    fn send_sync<T: Send + Sync + Clone>() {}
    send_sync::<Client>();
    const THREADS: usize = 4;
    let (listener, address) = Listener::tcp4();
    let server = std::thread::spawn(move || {
        let peers: Vec<_> = (0..THREADS).map(|_| listener.accept()).collect();
        let handles: Vec<_> = peers
            .into_iter()
            .map(|mut peer| {
                std::thread::spawn(move || {
                    while let Some(r) = peer.read_request() {
                        peer.ok(r.line.as_bytes());
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
    });
    let c = client(&address);
    let threads: Vec<_> = (0..THREADS)
        .map(|i| {
            let c = c.clone();
            std::thread::spawn(move || {
                let mut conn = c.connect().unwrap();
                for j in 0..50 {
                    let uri = format!("/{i}/{j}");
                    let mut r = conn.get(&uri, &Headers::new()).unwrap();
                    assert_eq!(
                        r.read_all().unwrap(),
                        format!("GET {uri} HTTP/1.1").as_bytes()
                    );
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    server.join().unwrap();
}

#[test]
fn custom_connector_wraps_the_socket() {
    /// Counts bytes written through it.
    struct Counting(PlainStream, Arc<AtomicUsize>);
    impl Read for Counting {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            self.0.read(buf)
        }
    }
    impl Write for Counting {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let n = self.0.write(buf)?;
            self.1.fetch_add(n, Ordering::SeqCst);
            Ok(n)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            self.0.flush()
        }
    }
    impl Transport for Counting {}
    struct CountingWrapper(Arc<AtomicUsize>);
    impl Wrapper for CountingWrapper {
        fn wrap(
            &self,
            stream: PlainStream,
            _: &Address,
        ) -> degu_client::Result<Box<dyn Transport>> {
            assert!(stream.is_tcp());
            Ok(Box::new(Counting(stream, self.0.clone())))
        }
    }

    let server = Canned::start(Listener::tcp4(), |peer| {
        let r = peer.read_request().unwrap();
        peer.ok(r.head.as_bytes());
    });
    let written = Arc::new(AtomicUsize::new(0));
    let c = Client::with_wrapper(
        server.address.clone(),
        Arc::new(CountingWrapper(written.clone())),
    );
    let mut conn = c.connect().unwrap();
    let head = conn.get("/", &Headers::new()).unwrap().read_all().unwrap();
    assert_eq!(written.load(Ordering::SeqCst), head.len());
    server.join();
}

#[test]
fn request_body_errors_close_the_connection() {
    let server = Canned::start(Listener::tcp4(), |peer| {
        // The preamble and part of the body arrive, then the client gives up.
        assert!(peer.wait_eof());
    });
    let mut conn = client(&server.address).connect().unwrap();
    let err = conn
        .put("/", &Headers::new(), BodyIter::new(["abc"], 10))
        .unwrap_err();
    assert_eq!(err.to_string(), "body too short: 3 of 10 bytes");
    assert!(conn.is_closed());
    drop(conn);
    server.join();

    let server = Canned::start(Listener::tcp4(), |peer| {
        assert!(peer.wait_eof());
    });
    let mut conn = client(&server.address).connect().unwrap();
    let body = ChunkedBodyIter::new(vec![Chunk::new("a"), Chunk::new(""), Chunk::new("b")]);
    let err = conn.put("/", &Headers::new(), body).unwrap_err();
    assert_eq!(err.to_string(), "empty chunk before the final chunk");
    assert!(matches!(conn.get("/", &Headers::new()), Err(Error::Closed)));
    drop(conn);
    server.join();
}

#[test]
fn broken_chunk_framing_closes_the_connection() {
    let cases: [(&str, &str); 3] = [
        ("5\r\nhelloXX0\r\n\r\n", r#"bad chunk terminator: "XX""#),
        ("zz\r\n", r#"bad chunk size: "zz""#),
        (
            "5;a=1;b=2\r\nhello\r\n0\r\n\r\n",
            r#"bad chunk extension: "a=1;b=2""#,
        ),
    ];
    for (wire, msg) in cases {
        let server = Canned::start(Listener::tcp4(), move |peer| {
            peer.read_request().unwrap();
            peer.write(format!(
                "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n{wire}"
            ));
            peer.wait_eof();
        });
        let mut conn = client(&server.address).connect().unwrap();
        let mut r = conn.get("/", &Headers::new()).unwrap();
        assert_eq!(r.read_all().unwrap_err().to_string(), msg);
        assert!(conn.is_closed(), "{wire:?}");
        assert!(matches!(conn.get("/", &Headers::new()), Err(Error::Closed)));
        drop((conn, r));
        server.join();
    }
}

#[test]
fn zero_timeout_is_refused() {
    let server = Canned::start(Listener::tcp4(), |peer| {
        peer.wait_eof();
    });
    let mut c = client(&server.address);
    c = c.with_timeout(Some(Duration::ZERO));
    let err = c.connect().unwrap_err();
    assert_eq!(
        err.to_string(),
        "a timeout of zero is not allowed (None waits forever)"
    );
    c = c.with_timeout(None);
    assert_eq!(c.timeout(), None);
    drop(c.connect().unwrap());
    server.join();
}
