//! Keep-alive, pipelining, streamed chunked echo, unread bodies, and
//! `expect: 100-continue`.

use std::net::Shutdown;

use degu_server::Chunk;

use crate::util::{Client, RespBody, chunked, pattern, req, serve_demo};

#[test]
fn a_thousand_requests_on_one_connection() {
    let server = serve_demo();
    let mut c = Client::connect(server.address());
    // The default max_requests is 1000: all of them are served, then the
    // server closes.
    for i in 0..1000u64 {
        let r = match i % 4 {
            0 => {
                let r = c.get("/");
                assert_eq!(r.text(), "hello, world");
                r
            }
            1 => {
                let body = format!("request {i}");
                let r = c.send_body("PUT", "/echo", body.as_bytes());
                assert_eq!(r.text(), body);
                r
            }
            2 => {
                let r = c.get(&format!("/info?i={i}"));
                assert_eq!(r.json().get("session").get("requests").int(), i);
                r
            }
            _ => {
                let r = c.get(&format!("/bytes/{i}"));
                assert_eq!(r.body, RespBody::Bytes(pattern(0, i as usize)));
                r
            }
        };
        // Only the last response announces the close.
        let last = (i == 999).then_some("close");
        assert_eq!(r.header("connection"), last, "response {i}");
    }
    c.expect_closed();
    assert_eq!(server.shutdown(), 0);
}

#[test]
fn pipelined_requests_answered_in_order() {
    let server = serve_demo();
    let mut c = Client::connect(server.address());
    let n = 200;
    let mut wire = Vec::new();
    for i in 0..n {
        match i % 6 {
            0 => wire.extend(req("GET", "/", &[])),
            1 => wire.extend(req("HEAD", "/", &[])),
            2 => {
                // A body that looks like a request must stay a body.
                let body = format!("GET /nope HTTP/1.1\r\n\r\n{i}");
                wire.extend(req(
                    "PUT",
                    "/echo",
                    &[("content-length", &body.len().to_string())],
                ));
                wire.extend(body.as_bytes());
            }
            3 => wire.extend(req("GET", &format!("/info?{i}"), &[])),
            4 => {
                wire.extend(req("POST", "/echo", &[("transfer-encoding", "chunked")]));
                wire.extend(chunked(&[
                    Chunk::with_ext("n", i.to_string(), "ab"),
                    Chunk::new(""),
                ]));
            }
            _ => wire.extend(req(
                "GET",
                "/bytes/1000",
                &[("range", &format!("bytes={i}-{}", i + 9))],
            )),
        }
    }
    c.send(&wire);
    for i in 0..n {
        match i % 6 {
            0 => assert_eq!(c.response(false).text(), "hello, world"),
            1 => {
                let r = c.response(true);
                assert_eq!((r.status(), r.header("content-length")), (200, Some("12")));
            }
            2 => {
                let r = c.response(false);
                assert_eq!(r.text(), format!("GET /nope HTTP/1.1\r\n\r\n{i}"));
            }
            3 => {
                let j = c.response(false).json();
                assert_eq!(j.get("query").str(), i.to_string());
                assert_eq!(j.get("session").get("requests").int(), i);
            }
            4 => {
                let r = c.response(false);
                let want = vec![Chunk::with_ext("n", i.to_string(), "ab"), Chunk::new("")];
                assert_eq!(r.body, RespBody::Chunks(want));
            }
            _ => {
                let r = c.response(false);
                assert_eq!(r.status(), 206);
                assert_eq!(r.body, RespBody::Bytes(pattern(i, 10)));
            }
        }
    }
    // Nothing more was sent; the connection is alive.
    assert!(c.reader().buffered().is_empty());
    assert_eq!(c.get("/").text(), "hello, world");
}

#[test]
fn chunked_echo_is_streamed_chunk_by_chunk() {
    let server = serve_demo();
    let mut c = Client::connect(server.address());
    c.send(req("PUT", "/echo", &[("transfer-encoding", "chunked")]));
    // The response starts before the body has ended...
    let head = c.head();
    assert_eq!(head.header("transfer-encoding"), Some("chunked"));
    // ...and each chunk comes back before the next one is sent.
    for i in 0..20u64 {
        let data = pattern(i, 1 + (i as usize * 997) % 5000);
        let mut one = format!("{:x};seq={i}\r\n", data.len()).into_bytes();
        one.extend_from_slice(&data);
        one.extend_from_slice(b"\r\n");
        c.send(&one);
        assert_eq!(c.raw(one.len()), one, "chunk {i}");
    }
    c.send(b"0;done=1\r\n\r\n");
    assert_eq!(c.raw(12), b"0;done=1\r\n\r\n");
    assert_eq!(c.get("/").text(), "hello, world");
}

#[test]
fn content_length_echo_is_streamed() {
    let server = serve_demo();
    let mut c = Client::connect(server.address());
    let total = 10 * 65536;
    c.send(format!(
        "POST /echo HTTP/1.1\r\ncontent-length: {total}\r\n\r\n"
    ));
    let head = c.head();
    assert_eq!(
        head.header("content-length"),
        Some(total.to_string().as_str())
    );
    // Send a piece, read it back, before sending the next.
    for i in 0..10 {
        let piece = pattern(i * 65536, 65536);
        c.send(&piece);
        assert_eq!(c.raw(piece.len()), piece);
    }
    assert_eq!(c.get("/").text(), "hello, world");
}

#[test]
fn unread_bodies_small_are_drained_large_close() {
    let server = serve_demo();
    // Small: the app ignores it, the server drains it, keep-alive goes on.
    let mut c = Client::connect(server.address());
    let r = c.send_body("PUT", "/bytes/5", &pattern(0, 1 << 20));
    assert_eq!((r.status(), r.header("connection")), (405, None));
    assert_eq!(c.get("/").text(), "hello, world");

    // Large (more than DRAIN_LIMIT left): answered, then closed, and its
    // bytes are never read as requests.
    let mut c = Client::connect(server.address());
    let mut writer = c.stream().try_clone();
    let n = degu_server::DRAIN_LIMIT as usize + 100_000;
    let sender = std::thread::spawn(move || {
        use std::io::Write;
        // The body is full of requests that must never be answered.
        let fake = req("GET", "/", &[]);
        let mut body = Vec::with_capacity(n + fake.len());
        while body.len() < n {
            body.extend_from_slice(&fake);
        }
        body.truncate(n);
        let mut wire = req("PUT", "/", &[("content-length", &n.to_string())]);
        wire.extend_from_slice(&body);
        // The server may close while we are still writing: ignore errors.
        let _ = writer.write_all(&wire);
        writer.shutdown(Shutdown::Write);
    });
    let r = c.response(false);
    // The response says the connection closes after it.
    assert_eq!((r.status(), r.header("connection")), (405, Some("close")));
    let (rest, _) = c.finish();
    assert!(rest.is_empty(), "{:?}", String::from_utf8_lossy(&rest));
    sender.join().unwrap();
}

#[test]
fn connection_close_and_half_close() {
    let server = serve_demo();
    // `connection: close`: answered (and told so), then closed, and a
    // request pipelined after it is not answered.
    let mut c = Client::connect(server.address());
    let mut wire = req("GET", "/", &[("connection", "close")]);
    wire.extend(req("GET", "/", &[]));
    c.send(&wire);
    let r = c.response(false);
    assert_eq!(
        (r.text().as_str(), r.header("connection")),
        ("hello, world", Some("close"))
    );
    c.expect_closed();
    // The option is case-insensitive.
    let mut c = Client::connect(server.address());
    c.send(req("GET", "/bytes/3", &[("Connection", "Close")]));
    let r = c.response(false);
    assert_eq!(r.header("connection"), Some("close"));
    c.expect_closed();
    // A peer that half-closes after its requests still gets every answer,
    // then the close.
    let mut c = Client::connect(server.address());
    let mut wire = req("GET", "/bytes/10", &[]);
    wire.extend(req("PUT", "/echo", &[("content-length", "2")]));
    wire.extend(b"hi");
    c.send(&wire);
    c.stream().shutdown(Shutdown::Write);
    assert_eq!(c.response(false).bytes(), pattern(0, 10));
    let r = c.response(false);
    assert_eq!((r.text().as_str(), r.header("connection")), ("hi", None));
    let (rest, ending) = c.finish();
    assert_eq!(
        (rest.as_slice(), ending),
        (&b""[..], crate::util::Ending::Eof)
    );
}

#[test]
fn expect_100_continue() {
    let server = serve_demo();
    let mut c = Client::connect(server.address());
    c.send(req(
        "PUT",
        "/echo",
        &[("content-length", "5"), ("expect", "100-continue")],
    ));
    let interim = "HTTP/1.1 100 Continue\r\n\r\n";
    assert_eq!(c.raw(interim.len()), interim.as_bytes());
    c.send(b"hello");
    assert_eq!(c.response(false).text(), "hello");
    // Chunked too.
    c.send(req(
        "POST",
        "/echo",
        &[("transfer-encoding", "chunked"), ("Expect", "100-Continue")],
    ));
    assert_eq!(c.raw(interim.len()), interim.as_bytes());
    c.send(b"2\r\nhi\r\n0\r\n\r\n");
    assert_eq!(c.response(false).text(), "hi");
    // Not for a request without a body.
    c.send(req("GET", "/", &[("expect", "100-continue")]));
    assert_eq!(c.response(false).text(), "hello, world");
}
