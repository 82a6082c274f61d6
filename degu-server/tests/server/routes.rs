//! Every route of the demo app's contract (the `degu_server::demo` module
//! docs), through `degu_server::demo::app`.

use degu_server::Chunk;

use crate::util::{Client, RespBody, chunked, pattern, req, serve_demo};

const HELLO_HEAD: &str =
    "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 12\r\n\r\n";

#[test]
fn root_get_and_head_exact_bytes() {
    let server = serve_demo();
    let mut c = Client::connect(server.address());
    c.send(req("GET", "/", &[]));
    let want = format!("{HELLO_HEAD}hello, world");
    assert_eq!(String::from_utf8(c.raw(want.len())).unwrap(), want);
    // HEAD: the same preamble and no body; the next response follows at
    // once, which proves no body bytes were sent.
    c.send(req("HEAD", "/", &[]));
    c.send(req("GET", "/", &[]));
    let both = format!("{HELLO_HEAD}{HELLO_HEAD}hello, world");
    assert_eq!(String::from_utf8(c.raw(both.len())).unwrap(), both);
    // Also under /app (the routing-middleware demo).
    let r = c.get("/app");
    assert_eq!((r.status(), r.text().as_str()), (200, "hello, world"));
    let r = c.request("HEAD", "/app/");
    assert_eq!(r.status(), 404, "/app/ is the path [''], not /");
    assert_eq!(server.shutdown(), 0);
}

#[test]
fn echo_content_length_bodies() {
    let server = serve_demo();
    let mut c = Client::connect(server.address());
    for method in ["PUT", "POST"] {
        for body in [
            Vec::new(),
            b"hello".to_vec(),
            b"GET / HTTP/1.1\r\n\r\n".to_vec(),
            pattern(7, 100_000),
            (0..=255u8).cycle().take(70_001).collect(),
        ] {
            let r = c.send_body(method, "/echo", &body);
            assert_eq!(r.status(), 200);
            assert_eq!(
                r.header("content-length"),
                Some(body.len().to_string().as_str())
            );
            assert_eq!(r.header("transfer-encoding"), None);
            assert_eq!(r.body, RespBody::Bytes(body));
        }
    }
    // Through /app too.
    let r = c.send_body("PUT", "/app/echo", b"via app");
    assert_eq!(r.text(), "via app");
}

#[test]
fn echo_chunked_keeps_boundaries_and_extensions_byte_for_byte() {
    let server = serve_demo();
    let mut c = Client::connect(server.address());
    let chunks = vec![
        Chunk::with_ext("i", "0", "hello"),
        Chunk::new("x"),
        Chunk::with_ext("Key-9", "v.1:~_+\"'()*,;<>[]", pattern(0, 70_000)),
        Chunk::new(b"\r\n0\r\n\r\n".to_vec()),
        Chunk::with_ext("k", "v", (0..=255u8).collect::<Vec<u8>>()),
        Chunk::with_ext("end", "yes", Vec::new()),
    ];
    let body = chunked(&chunks);
    for method in ["PUT", "POST"] {
        let mut request = req(method, "/echo", &[("transfer-encoding", "chunked")]);
        request.extend_from_slice(&body);
        c.send(&request);
        let head = c.head();
        assert_eq!(head.status, 200);
        assert_eq!(
            head.headers,
            [("transfer-encoding".to_owned(), "chunked".to_owned())]
        );
        // The body on the wire is exactly the request's body.
        assert_eq!(c.raw(body.len()), body);
    }
    // The parsed view agrees: same chunks, same extensions.
    let mut request = req("PUT", "/echo", &[("Transfer-Encoding", "chunked")]);
    request.extend_from_slice(&body);
    c.send(&request);
    let r = c.response(false);
    assert_eq!(r.body, RespBody::Chunks(chunks));
    // An empty chunked body: only the final chunk.
    let mut request = req("POST", "/echo", &[("transfer-encoding", "chunked")]);
    request.extend_from_slice(b"0\r\n\r\n");
    c.send(&request);
    let r = c.response(false);
    assert_eq!(r.body, RespBody::Chunks(vec![Chunk::new("")]));
    // The connection is still good.
    assert_eq!(c.get("/").text(), "hello, world");
}

#[test]
fn echo_without_body_is_an_empty_200() {
    let server = serve_demo();
    let mut c = Client::connect(server.address());
    for method in ["PUT", "POST"] {
        c.send(req(method, "/echo", &[]));
        let want = "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";
        assert_eq!(String::from_utf8(c.raw(want.len())).unwrap(), want);
    }
    assert_eq!(c.get("/").status(), 200);
}

#[test]
fn bytes_without_range() {
    let server = serve_demo();
    let mut c = Client::connect(server.address());
    for n in [0usize, 1, 250, 251, 252, 4096, 100_000, 1 << 20] {
        let r = c.get(&format!("/bytes/{n}"));
        assert_eq!(r.status(), 200);
        assert_eq!(r.header("content-type"), Some("application/octet-stream"));
        assert_eq!(r.header("content-length"), Some(n.to_string().as_str()));
        assert_eq!(r.body, RespBody::Bytes(pattern(0, n)));
        let r = c.request("HEAD", &format!("/bytes/{n}"));
        assert_eq!(r.status(), 200);
        assert_eq!(r.header("content-length"), Some(n.to_string().as_str()));
        assert_eq!(r.header("content-range"), None);
    }
    // HEAD of a huge resource: headers only, at once.
    let r = c.request("HEAD", "/bytes/1099511627776");
    assert_eq!(r.header("content-length"), Some("1099511627776"));
    let r = c.request("HEAD", "/bytes/9999999999999999");
    assert_eq!(r.header("content-length"), Some("9999999999999999"));
    assert_eq!(c.get("/").text(), "hello, world");
}

#[test]
fn bytes_with_range() {
    let server = serve_demo();
    let mut c = Client::connect(server.address());
    // (total, range header, content-range, start, len)
    let cases: &[(u64, &str, &str, u64, usize)] = &[
        (1000, "bytes=0-0", "bytes 0-0/1000", 0, 1),
        (1000, "bytes=10-19", "bytes 10-19/1000", 10, 10),
        (1000, "bytes=0-999", "bytes 0-999/1000", 0, 1000),
        (1000, "bytes=990-2000", "bytes 990-999/1000", 990, 10),
        (1000, "bytes=999-999", "bytes 999-999/1000", 999, 1),
        // Open-ended, as curl and browsers send.
        (1000, "bytes=990-", "bytes 990-999/1000", 990, 10),
        (1000, "bytes=0-", "bytes 0-999/1000", 0, 1000),
        (
            1 << 30,
            "bytes=1073741000-1073741823",
            "bytes 1073741000-1073741823/1073741824",
            1_073_741_000,
            824,
        ),
    ];
    for &(total, range, content_range, start, len) in cases {
        let uri = format!("/bytes/{total}");
        c.send(req("GET", &uri, &[("range", range)]));
        let r = c.response(false);
        assert_eq!(
            (r.status(), r.head.reason.as_str()),
            (206, "Partial Content"),
            "{range}"
        );
        assert_eq!(r.header("content-range"), Some(content_range));
        assert_eq!(r.header("content-length"), Some(len.to_string().as_str()));
        assert_eq!(r.body, RespBody::Bytes(pattern(start, len)), "{range}");
        c.send(req("HEAD", &uri, &[("range", range)]));
        let r = c.response(true);
        assert_eq!(r.status(), 206);
        assert_eq!(r.header("content-range"), Some(content_range));
        assert_eq!(r.header("content-length"), Some(len.to_string().as_str()));
    }
    // A range starting at or past the end: 416 with `bytes */TOTAL`,
    // nothing of the resource.
    for (total, range) in [
        (1000, "bytes=1000-1000"),
        (1000, "bytes=5000-6000"),
        (1000, "bytes=1000-"),
        (0, "bytes=0-0"),
    ] {
        for method in ["GET", "HEAD"] {
            c.send(req(method, &format!("/bytes/{total}"), &[("range", range)]));
            let r = c.response(method == "HEAD");
            assert_eq!(
                (r.status(), r.head.reason.as_str()),
                (416, "Range Not Satisfiable"),
                "{method} {range} of {total}"
            );
            assert_eq!(
                r.header("content-range"),
                Some(format!("bytes */{total}").as_str())
            );
            assert!(r.bytes().is_empty());
        }
    }
    assert_eq!(c.get("/").text(), "hello, world");
}

#[test]
fn chunks_exact_wire_bytes() {
    let server = serve_demo();
    let mut c = Client::connect(server.address());
    let head = "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n";
    for (k, s) in [(3usize, 5usize), (0, 1), (1, 251), (2, 300), (4, 70_000)] {
        let mut want = head.as_bytes().to_vec();
        for i in 0..k {
            want.extend_from_slice(format!("{s:x};i={i}\r\n").as_bytes());
            want.extend_from_slice(&pattern(0, s));
            want.extend_from_slice(b"\r\n");
        }
        want.extend_from_slice(b"0\r\n\r\n");
        c.send(req("GET", &format!("/chunks/{k}/{s}"), &[]));
        assert_eq!(c.raw(want.len()), want, "/chunks/{k}/{s}");
    }
    // The smallest case spelled out.
    c.send(req("GET", "/chunks/2/3", &[]));
    let want = format!("{head}3;i=0\r\n\x00\x01\x02\r\n3;i=1\r\n\x00\x01\x02\r\n0\r\n\r\n");
    assert_eq!(c.raw(want.len()), want.as_bytes());
    // Zero-byte chunks are not a thing: a 400 from the app.
    assert_eq!(c.get("/chunks/2/0").status(), 400);
    assert_eq!(c.get("/").text(), "hello, world");
}

#[test]
fn info_describes_request_and_session() {
    let server = serve_demo();
    let mut c = Client::connect(server.address());
    let crate::util::Stream::Tcp(sock) = c.stream() else {
        unreachable!()
    };
    let me = sock.local_addr().unwrap().to_string();

    let r = c.get("/info");
    assert_eq!(r.status(), 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let j = r.json();
    assert_eq!(j.get("method").str(), "GET");
    assert_eq!(j.get("uri").str(), "/info");
    assert!(j.get("mount").strs().is_empty());
    assert_eq!(j.get("path").strs(), ["info"]);
    assert_eq!(*j.get("query"), crate::util::Json::Null);
    assert!(j.get("headers").pairs().is_empty());
    let s = j.get("session");
    assert_eq!(s.get("address").str(), me);
    assert_eq!(*s.get("credentials"), crate::util::Json::Null);
    assert_eq!(s.get("requests").int(), 0);

    c.send(req(
        "GET",
        "/info?a=1&b=x.y",
        &[("Host", "Example.COM:80"), ("X-Thing", "a \"b\" (c)")],
    ));
    let j = c.response(false).json();
    assert_eq!(j.get("uri").str(), "/info?a=1&b=x.y");
    assert_eq!(j.get("query").str(), "a=1&b=x.y");
    assert_eq!(
        j.get("headers").pairs(),
        [("host", "Example.COM:80"), ("x-thing", "a \"b\" (c)")]
    );
    assert_eq!(j.get("session").get("requests").int(), 1);

    // A trailing `?` is an empty query, not none.
    let j = c.get("/info?").json();
    assert_eq!(j.get("query").str(), "");
    assert_eq!(j.get("session").get("requests").int(), 2);

    // Under /app: `app` was shifted onto mount.
    let j = c.get("/app/info?z").json();
    assert_eq!(j.get("uri").str(), "/app/info?z");
    assert_eq!(j.get("mount").strs(), ["app"]);
    assert_eq!(j.get("path").strs(), ["info"]);
    assert_eq!(j.get("query").str(), "z");
    assert_eq!(j.get("session").get("requests").int(), 3);

    // Bodies on /app/... too.
    let r = c.get("/app/bytes/300");
    assert_eq!(r.body, RespBody::Bytes(pattern(0, 300)));
    let r = c.get("/app/chunks/1/2");
    assert_eq!(
        r.body,
        RespBody::Chunks(vec![Chunk::with_ext("i", "0", vec![0, 1]), Chunk::new("")])
    );
}

#[test]
fn unknown_paths_are_404() {
    let server = serve_demo();
    let mut c = Client::connect(server.address());
    for uri in [
        "/nope",
        "/info/",
        "/info/x",
        "/echo/",
        "/bytes",
        "/bytes/",
        "/bytes/x",
        "/bytes/-1",
        "/bytes/1/2",
        // Past 16 digits is no content-length, so no resource.
        "/bytes/10000000000000000",
        "/bytes/18446744073709551615",
        "/bytes/18446744073709551616",
        "/chunks/1",
        "/chunks/a/1",
        "/chunks/1/2/3",
        "/app/app/info",
        "/App/info",
        "/INFO",
    ] {
        for method in ["GET", "HEAD"] {
            let r = c.request(method, uri);
            assert_eq!(
                (r.status(), r.head.reason.as_str()),
                (404, "Not Found"),
                "{method} {uri}"
            );
            // HEAD gets the headers GET gets, content-length included.
            assert_eq!(r.header("content-length"), Some("0"), "{method} {uri}");
        }
    }
    let r = c.request("DELETE", "/nope");
    assert_eq!(r.status(), 404);
    assert_eq!(c.get("/").text(), "hello, world");
}

#[test]
fn wrong_methods_are_405() {
    let server = serve_demo();
    let mut c = Client::connect(server.address());
    for (method, uri) in [
        ("POST", "/"),
        ("PUT", "/"),
        ("DELETE", "/"),
        ("GET", "/echo"),
        ("HEAD", "/echo"),
        ("DELETE", "/echo"),
        ("PUT", "/bytes/10"),
        ("POST", "/bytes/10"),
        ("DELETE", "/bytes/10"),
        ("HEAD", "/chunks/1/1"),
        ("PUT", "/chunks/1/1"),
        ("HEAD", "/info"),
        ("POST", "/info"),
        ("DELETE", "/app/info"),
    ] {
        let r = c.request(method, uri);
        assert_eq!(
            (r.status(), r.head.reason.as_str()),
            (405, "Method Not Allowed"),
            "{method} {uri}"
        );
        assert!(r.bytes().is_empty());
    }
    // With a request body the app does not read: answered, body drained,
    // connection kept.
    let r = c.send_body("PUT", "/", b"ignored");
    assert_eq!(r.status(), 405);
    let r = c.send_body("POST", "/info", &pattern(0, 100_000));
    assert_eq!(r.status(), 405);
    assert_eq!(c.get("/").text(), "hello, world");
}
