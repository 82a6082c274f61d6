//! Every rejection of the preamble rules over the wire (the byte tables in
//! `degu-core/src/tables.rs`, the framing rules of `degu-core`). A refused
//! preamble gets an error status with `connection: close` and a one-line
//! `text/plain` body that says what was wrong, then the connection
//! closes; a bad body gets nothing more. A valid request pipelined after
//! the bad one is never answered. What the server now takes that it once
//! refused (HTTP/1.0, PATCH, escapes, ...) is in `tolerated_requests_are_served`.

use std::net::Shutdown;

use degu_server::{AppResult, Request, Response, ServerOptions, Session};

use crate::util::{Client, Ending, RespBody, req, serve, serve_demo};

/// The valid request sent right after each bad one.
const NEXT: &[u8] = b"GET / HTTP/1.1\r\n\r\n";

fn reason(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        431 => "Request Header Fields Too Large",
        501 => "Not Implemented",
        505 => "HTTP Version Not Supported",
        _ => unreachable!(),
    }
}

/// Sends `bad` followed by a valid request in one write; asserts the
/// server answers exactly one refusal with `status`: `connection: close`,
/// a `text/plain` body of one short line of printable text that says what
/// was wrong, and nothing else; then a clean close (it reads what the peer
/// sent before closing, so no reset can destroy the status before the
/// peer reads it). Returns the line.
fn check_refused(
    server: &degu_server::ServerHandle,
    name: &str,
    bad: &[u8],
    status: u16,
) -> String {
    let mut c = Client::connect(server.address());
    let mut wire = bad.to_vec();
    wire.extend_from_slice(NEXT);
    c.send(&wire);
    let (got, ending) = c.finish();
    let shown = String::from_utf8_lossy(&bad[..bad.len().min(200)]);
    let got = String::from_utf8(got).unwrap_or_else(|e| panic!("{name}: not UTF-8: {e}"));
    let head = format!(
        "HTTP/1.1 {status} {}\r\nconnection: close\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ",
        reason(status)
    );
    let rest = got
        .strip_prefix(&head)
        .unwrap_or_else(|| panic!("{name}: {shown:?}: got {got:?}"));
    let (length, line) = rest.split_once("\r\n\r\n").unwrap();
    assert_eq!(length.parse::<usize>().unwrap(), line.len(), "{name}");
    assert!(
        line.ends_with('\n') && line.len() <= 210,
        "{name}: {line:?}"
    );
    let text = &line[..line.len() - 1];
    assert!(
        !text.is_empty() && text.bytes().all(|b| (b' '..=b'~').contains(&b)),
        "{name}: {line:?}"
    );
    assert_eq!(ending, Ending::Eof, "{name}: {shown:?}");
    text.to_owned()
}

fn headers(n: usize) -> String {
    (0..n).map(|i| format!("x-h{i}: {i}\r\n")).collect()
}

#[test]
fn refused_preambles_get_a_status_then_close() {
    let server = serve_demo();
    let big_value = "a".repeat(33 * 1024);
    let cases: Vec<(&str, String, u16)> = vec![
        // Request line.
        ("TRACE", "TRACE / HTTP/1.1\r\n\r\n".into(), 501),
        ("CONNECT", "CONNECT a:80 HTTP/1.1\r\n\r\n".into(), 501),
        ("lowercase get", "get / HTTP/1.1\r\n\r\n".into(), 501),
        ("Get", "Get / HTTP/1.1\r\n\r\n".into(), 501),
        ("HTTP/2.0", "GET / HTTP/2.0\r\n\r\n".into(), 505),
        ("HTTP/0.9", "GET / HTTP/0.9\r\n\r\n".into(), 505),
        ("http/1.1", "GET / http/1.1\r\n\r\n".into(), 505),
        ("no protocol", "GET /\r\n\r\n".into(), 400),
        ("no uri", "GET\r\n\r\n".into(), 400),
        // A bare LF ends no line: the protocol is then not exactly HTTP/1.1.
        ("bare LF", "GET / HTTP/1.1\nx: 1\r\n\r\n".into(), 505),
        // URI, path, query.
        ("asterisk form", "OPTIONS * HTTP/1.1\r\n\r\n".into(), 400),
        ("tab in uri", "GET /a\tb HTTP/1.1\r\n\r\n".into(), 400),
        ("0x80 in uri", "GET /\u{80} HTTP/1.1\r\n\r\n".into(), 400),
        ("NUL in uri", "GET /a\0 HTTP/1.1\r\n\r\n".into(), 400),
        ("relative uri", "GET a HTTP/1.1\r\n\r\n".into(), 400),
        ("absolute uri", "GET http://a/ HTTP/1.1\r\n\r\n".into(), 400),
        ("empty component", "GET //a HTTP/1.1\r\n\r\n".into(), 400),
        (
            "empty inner component",
            "GET /a//b HTTP/1.1\r\n\r\n".into(),
            400,
        ),
        ("dot component", "GET /a/./b HTTP/1.1\r\n\r\n".into(), 400),
        (
            "dot-dot component",
            "GET /a/../b HTTP/1.1\r\n\r\n".into(),
            400,
        ),
        (
            "escaped dot-dot",
            "GET /a/%2e%2E HTTP/1.1\r\n\r\n".into(),
            400,
        ),
        ("escaped slash", "GET /a%2Fb HTTP/1.1\r\n\r\n".into(), 400),
        ("escaped NUL", "GET /a%00b HTTP/1.1\r\n\r\n".into(), 400),
        ("escaped control", "GET /a%0Ab HTTP/1.1\r\n\r\n".into(), 400),
        (
            "escaped invalid UTF-8",
            "GET /a%FFb HTTP/1.1\r\n\r\n".into(),
            400,
        ),
        ("half an escape", "GET /a%2 HTTP/1.1\r\n\r\n".into(), 400),
        ("not an escape", "GET /a%zz HTTP/1.1\r\n\r\n".into(), 400),
        ("# in uri", "GET /a#b HTTP/1.1\r\n\r\n".into(), 400),
        (
            "quote in query",
            "GET /?a=\"b\" HTTP/1.1\r\n\r\n".into(),
            400,
        ),
        (
            "backslash in path",
            "GET /a\\b HTTP/1.1\r\n\r\n".into(),
            400,
        ),
        // Header names.
        ("_ in name", "GET / HTTP/1.1\r\nx_y: 1\r\n\r\n".into(), 400),
        (
            "space in name",
            "GET / HTTP/1.1\r\nx y: 1\r\n\r\n".into(),
            400,
        ),
        ("empty name", "GET / HTTP/1.1\r\n: 1\r\n\r\n".into(), 400),
        (
            "0xff in name",
            "GET / HTTP/1.1\r\nx\u{ff}: 1\r\n\r\n".into(),
            400,
        ),
        (". in name", "GET / HTTP/1.1\r\nx.y: 1\r\n\r\n".into(), 400),
        // Header values.
        (
            "DEL in value",
            "GET / HTTP/1.1\r\nx: a\u{7f}\r\n\r\n".into(),
            400,
        ),
        (
            "NUL in value",
            "GET / HTTP/1.1\r\nx: a\0b\r\n\r\n".into(),
            400,
        ),
        (
            "0x80 in value",
            "GET / HTTP/1.1\r\nx: caf\u{e9}\r\n\r\n".into(),
            400,
        ),
        (
            "bare CR in value",
            "GET / HTTP/1.1\r\nx: a\rb\r\n\r\n".into(),
            400,
        ),
        (
            "bare LF in value",
            "GET / HTTP/1.1\r\nx: a\nb\r\n\r\n".into(),
            400,
        ),
        // Header lines.
        ("no colon", "GET / HTTP/1.1\r\nx 1\r\n\r\n".into(), 400),
        (
            "space before colon",
            "GET / HTTP/1.1\r\nx :1\r\n\r\n".into(),
            400,
        ),
        (
            "tab before colon",
            "GET / HTTP/1.1\r\nx\t: 1\r\n\r\n".into(),
            400,
        ),
        (
            "folded line",
            "GET / HTTP/1.1\r\nx: 1\r\n  2\r\n\r\n".into(),
            400,
        ),
        (
            "folded line with a tab",
            "GET / HTTP/1.1\r\nx: 1\r\n\t2\r\n\r\n".into(),
            400,
        ),
        (
            "duplicate",
            "GET / HTTP/1.1\r\nx: 1\r\nx: 1\r\n\r\n".into(),
            400,
        ),
        (
            "duplicate any case",
            "GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n".into(),
            400,
        ),
        (
            "duplicate content-length",
            "PUT /echo HTTP/1.1\r\ncontent-length: 1\r\nContent-Length: 1\r\n\r\nx".into(),
            400,
        ),
        (
            "duplicate past the twentieth header",
            format!("GET / HTTP/1.1\r\n{}x-h3: 3\r\n\r\n", headers(30)),
            400,
        ),
        (
            "65 headers",
            format!("GET / HTTP/1.1\r\n{}\r\n", headers(65)),
            431,
        ),
        (
            "preamble over 32 KiB",
            format!("GET / HTTP/1.1\r\nx: {big_value}\r\n\r\n"),
            431,
        ),
        (
            "preamble of 32 KiB + 1",
            format!(
                "GET / HTTP/1.1\r\nx: {}\r\n\r\n",
                "a".repeat(32 * 1024 - "GET / HTTP/1.1\r\nx: \r\n\r\n".len() + 1)
            ),
            431,
        ),
        // content-length.
        (
            "17 digits",
            put_with("content-length: 12345678901234567"),
            400,
        ),
        ("leading zero", put_with("content-length: 05"), 400),
        ("double zero", put_with("content-length: 00"), 400),
        ("plus sign", put_with("content-length: +5"), 400),
        ("minus sign", put_with("content-length: -5"), 400),
        ("inner space", put_with("content-length: 1 0"), 400),
        ("hex", put_with("content-length: 0x5"), 400),
        ("letters", put_with("content-length: five"), 400),
        ("empty", put_with("content-length: "), 400),
        ("list", put_with("content-length: 5, 5"), 400),
        // transfer-encoding.
        (
            "both framings",
            put_with("content-length: 5\r\ntransfer-encoding: chunked"),
            400,
        ),
        (
            "both framings reversed",
            put_with("transfer-encoding: chunked\r\ncontent-length: 5"),
            400,
        ),
        ("gzip", put_with("transfer-encoding: gzip"), 400),
        ("identity", put_with("transfer-encoding: identity"), 400),
        ("Chunked", put_with("transfer-encoding: Chunked"), 400),
        (
            "gzip, chunked",
            put_with("transfer-encoding: gzip, chunked"),
            400,
        ),
        (
            "chunked twice",
            put_with("transfer-encoding: chunked, chunked"),
            400,
        ),
        (
            "chunked in HTTP/1.0",
            "PUT /echo HTTP/1.0\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
                .into(),
            400,
        ),
        // No body on GET, HEAD.
        (
            "GET with content-length",
            "GET / HTTP/1.1\r\ncontent-length: 5\r\n\r\nhello".into(),
            400,
        ),
        (
            "GET with content-length 0",
            "GET / HTTP/1.1\r\ncontent-length: 0\r\n\r\n".into(),
            400,
        ),
        (
            "GET chunked",
            "GET / HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n".into(),
            400,
        ),
        (
            "HEAD with content-length",
            "HEAD / HTTP/1.1\r\ncontent-length: 2\r\n\r\nhi".into(),
            400,
        ),
        (
            "HEAD chunked",
            "HEAD / HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n".into(),
            400,
        ),
    ];
    for (name, bad, status) in &cases {
        check_refused(&server, name, bad.as_bytes(), *status);
    }
    // Bytes that are not UTF-8 at all.
    check_refused(&server, "0xff in uri", b"GET /\xff HTTP/1.1\r\n\r\n", 400);
    check_refused(
        &server,
        "0xff in value",
        b"GET / HTTP/1.1\r\nx: \xff\r\n\r\n",
        400,
    );
    check_refused(
        &server,
        "0x80 in name",
        b"GET / HTTP/1.1\r\n\x80: 1\r\n\r\n",
        400,
    );
    // The body says what was wrong, with a short, escaped excerpt.
    let text = check_refused(&server, "explained", b"GET /a\x01b HTTP/1.1\r\n\r\n", 400);
    assert_eq!(text, r#"bad uri: "/a\x01b""#);
    let long = format!("GET / HTTP/1.1\r\nx: a\x7f{}\r\n\r\n", "\x7f".repeat(5000));
    let text = check_refused(&server, "long excerpt", long.as_bytes(), 400);
    assert!(
        text.starts_with(r#"bad x value: "a\x7f"#) && text.len() < 210,
        "{text}"
    );
    // The server kept serving throughout.
    let mut c = Client::connect(server.address());
    assert_eq!(c.get("/").text(), "hello, world");
    assert_eq!(server.shutdown(), 0);
}

#[test]
fn tolerated_requests_are_served() {
    // What real peers send that the server once refused: each is served
    // (the status is the demo app's answer), then the connection goes on.
    let server = serve_demo();
    let mut c = Client::connect(server.address());
    for (name, wire, status) in [
        (
            "PATCH",
            "PATCH /echo HTTP/1.1\r\ncontent-length: 2\r\n\r\nhi".to_string(),
            200,
        ),
        ("OPTIONS", "OPTIONS / HTTP/1.1\r\n\r\n".into(), 405),
        (
            "DELETE with a body",
            "DELETE / HTTP/1.1\r\ncontent-length: 1\r\n\r\nx".into(),
            405,
        ),
        ("escape in path", "GET /a%20b HTTP/1.1\r\n\r\n".into(), 404),
        ("= in path", "GET /a=b HTTP/1.1\r\n\r\n".into(), 404),
        (
            "/ and ? in query",
            "GET /?a/b?c HTTP/1.1\r\n\r\n".into(),
            200,
        ),
        (
            "brackets in query",
            "GET /?filter[name]={x}|y^z`w HTTP/1.1\r\n\r\n".into(),
            200,
        ),
        (
            "@ in value",
            "GET / HTTP/1.1\r\nfrom: me@example.com\r\n\r\n".into(),
            200,
        ),
        (
            "tab and braces in value",
            "GET / HTTP/1.1\r\nx: a\t{b}\r\n\r\n".into(),
            200,
        ),
        ("empty value", "GET / HTTP/1.1\r\nx: \r\n\r\n".into(), 200),
        (
            "no space after colon",
            "GET / HTTP/1.1\r\nx:1\r\n\r\n".into(),
            200,
        ),
        (
            "spaces around content-length",
            put_echo("content-length:  5 "),
            200,
        ),
        (
            "21 headers",
            format!("GET / HTTP/1.1\r\n{}\r\n", headers(21)),
            200,
        ),
        ("unparsable range ignored", ranged("bytes=5-1"), 200),
        ("several ranges ignored", ranged("bytes=0-1,3-4"), 200),
        ("suffix range", ranged("bytes=-4"), 206),
    ] {
        c.send(&wire);
        let r = c.response(false);
        assert_eq!(r.status(), status, "{name}");
        assert_eq!(r.header("connection"), None, "{name}");
    }
    // A suffix range is the last bytes.
    c.send(ranged("bytes=-4"));
    let r = c.response(false);
    assert_eq!(r.header("content-range"), Some("bytes 6-9/10"));
    assert_eq!(r.bytes(), [6, 7, 8, 9]);
    assert_eq!(c.get("/").text(), "hello, world");
    // 405 says what the route takes.
    let r = c.request("DELETE", "/echo");
    assert_eq!(
        (r.status(), r.header("allow")),
        (405, Some("PUT, POST, PATCH"))
    );
    // A chunked body on DELETE is taken too (the app does not read it, and
    // a chunked body is not drained, so this connection then closes).
    c.send("DELETE / HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n");
    let r = c.response(false);
    assert_eq!((r.status(), r.header("connection")), (405, Some("close")));
    c.expect_closed();
    assert_eq!(server.shutdown(), 0);
}

fn ranged(range: &str) -> String {
    format!("GET /bytes/10 HTTP/1.1\r\nrange: {range}\r\n\r\n")
}

fn put_echo(header: &str) -> String {
    format!("PUT /echo HTTP/1.1\r\n{header}\r\n\r\nhello")
}

fn put_with(header: &str) -> String {
    format!("PUT /echo HTTP/1.1\r\n{header}\r\n\r\nhello")
}

#[test]
fn limits_accept_their_boundaries() {
    let server = serve_demo();
    let mut c = Client::connect(server.address());
    // 64 headers.
    c.send(format!("GET /info HTTP/1.1\r\n{}\r\n", headers(64)));
    let j = c.response(false).json();
    assert_eq!(j.get("headers").pairs().len(), 64);
    // A preamble of exactly 32 KiB, terminator included.
    let fixed = "GET / HTTP/1.1\r\nx: \r\n\r\n".len();
    let pre = format!(
        "GET / HTTP/1.1\r\nx: {}\r\n\r\n",
        "a".repeat(32 * 1024 - fixed)
    );
    assert_eq!(pre.len(), 32 * 1024);
    c.send(&pre);
    assert_eq!(c.response(false).text(), "hello, world");
    // Every byte a header value may hold (visible ASCII, space and tab,
    // the whitespace around it stripped); every byte a query may hold.
    let value: String = (b'!'..=b'~')
        .map(char::from)
        .chain([' ', '\t', '!'])
        .collect();
    let query = "azAZ09-+.:_~%&=/?!$'()*,;@[]{}|^`";
    c.send(req(
        "GET",
        &format!("/info?{query}"),
        &[("X-All", &format!(" \t{value}\t "))],
    ));
    let j = c.response(false).json();
    assert_eq!(j.get("headers").pairs(), [("x-all", value.as_str())]);
    assert_eq!(j.get("query").str(), query);
    // Every byte a path component may hold, and an escape.
    let r = c.get("/app/azAZ09-+.:_~!$&'()*,;=@%20");
    assert_eq!(r.status(), 404);
    // A 16-digit content-length is accepted (the app does not read the
    // body; too large to drain, so the connection then closes).
    c.send("PUT / HTTP/1.1\r\ncontent-length: 9999999999999999\r\n\r\nhello");
    let r = c.response(false);
    assert_eq!((r.status(), r.header("connection")), (405, Some("close")));
    c.expect_closed();
    // A chunked body the app does not read cannot be drained either.
    let mut c = Client::connect(server.address());
    c.send(chunked_put(b"5\r\nhello\r\n0\r\n\r\n"));
    let r = c.response(false);
    assert_eq!((r.status(), r.header("connection")), (405, Some("close")));
    c.expect_closed();
}

/// An app that reads the whole request body before answering, so a bad
/// body makes it fail before anything is written.
fn consume(_: &mut Session, request: &mut Request) -> AppResult {
    let body = match request.body.as_mut() {
        Some(b) => b.read_all()?,
        None => Vec::new(),
    };
    Ok(Response::new(200, "OK").body(format!("consumed {}", body.len())))
}

fn chunked_put(body: &[u8]) -> Vec<u8> {
    let mut v = b"PUT / HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n".to_vec();
    v.extend_from_slice(body);
    v
}

fn bad_chunked_bodies() -> Vec<(&'static str, Vec<u8>)> {
    let long_line = format!("1;a={}\r\nx\r\n0\r\n\r\n", "b".repeat(5000));
    vec![
        ("bad size", b"zz\r\nhello\r\n0\r\n\r\n".to_vec()),
        ("leading zero size", b"05\r\nhello\r\n0\r\n\r\n".to_vec()),
        ("signed size", b"+5\r\nhello\r\n0\r\n\r\n".to_vec()),
        ("space before size", b" 5\r\nhello\r\n0\r\n\r\n".to_vec()),
        ("space after size", b"5 \r\nhello\r\n0\r\n\r\n".to_vec()),
        ("empty size", b"\r\nhello\r\n0\r\n\r\n".to_vec()),
        ("0x prefix", b"0x5\r\nhello\r\n0\r\n\r\n".to_vec()),
        (
            "17 hex digits",
            b"11111111111111111\r\nx\r\n0\r\n\r\n".to_vec(),
        ),
        ("chunk over 16 MiB", b"1000001\r\nx\r\n0\r\n\r\n".to_vec()),
        ("size line without CR", b"5\nhello\r\n0\r\n\r\n".to_vec()),
        ("size line over 4 KiB", long_line.into_bytes()),
        ("data without CRLF", b"5\r\nhelloXY0\r\n\r\n".to_vec()),
        ("data with bare LF", b"5\r\nhello\n0\r\n\r\n".to_vec()),
        (
            "data longer than size",
            b"5\r\nhello!\r\n0\r\n\r\n".to_vec(),
        ),
        (
            "extension without =",
            b"5;foo\r\nhello\r\n0\r\n\r\n".to_vec(),
        ),
        (
            "extension with empty key",
            b"5;=v\r\nhello\r\n0\r\n\r\n".to_vec(),
        ),
        (
            "extension with empty value",
            b"5;k=\r\nhello\r\n0\r\n\r\n".to_vec(),
        ),
        (
            "extension with space",
            b"5;k=a b\r\nhello\r\n0\r\n\r\n".to_vec(),
        ),
        (
            "extension key with _",
            b"5;k_x=v\r\nhello\r\n0\r\n\r\n".to_vec(),
        ),
        (
            "two extensions",
            b"5;a=1;b=2\r\nhello\r\n0\r\n\r\n".to_vec(),
        ),
        (
            "space before extension",
            b"5 ;a=1\r\nhello\r\n0\r\n\r\n".to_vec(),
        ),
        ("bad final extension", b"5\r\nhello\r\n0;x\r\n\r\n".to_vec()),
        ("trailer", b"5\r\nhello\r\n0\r\nx-t: 1\r\n\r\n".to_vec()),
        (
            "final chunk without empty line",
            b"5\r\nhello\r\n0\r\n".to_vec(),
        ),
    ]
}

#[test]
fn bad_bodies_close_without_an_answer() {
    let server = serve(consume, ServerOptions::default());
    // The app works.
    let mut c = Client::connect(server.address());
    let mut ok = chunked_put(b"5\r\nhello\r\n0\r\n\r\n");
    ok.extend_from_slice(b"PUT / HTTP/1.1\r\ncontent-length: 3\r\n\r\nabc");
    c.send(&ok);
    assert_eq!(c.response(false).text(), "consumed 5");
    assert_eq!(c.response(false).text(), "consumed 3");

    for (name, body) in bad_chunked_bodies() {
        let mut c = Client::connect(server.address());
        let mut wire = chunked_put(&body);
        wire.extend_from_slice(NEXT);
        c.send(&wire);
        let (got, _) = c.finish();
        assert!(
            got.is_empty(),
            "{name}: got {:?}",
            String::from_utf8_lossy(&got)
        );
    }
    // A body that ends early: content-length, and inside a chunk, a chunk
    // line or a chunk's CRLF.
    for (name, wire) in [
        (
            "short content-length",
            b"PUT / HTTP/1.1\r\ncontent-length: 10\r\n\r\nhello".to_vec(),
        ),
        (
            "empty content-length",
            b"PUT / HTTP/1.1\r\ncontent-length: 10\r\n\r\n".to_vec(),
        ),
        ("inside a chunk", chunked_put(b"5\r\nhel")),
        ("inside a chunk line", chunked_put(b"5\r\nhello\r\n1")),
        ("before the CRLF", chunked_put(b"5\r\nhello")),
        ("before the final chunk", chunked_put(b"5\r\nhello\r\n")),
        ("before the empty line", chunked_put(b"5\r\nhello\r\n0\r\n")),
    ] {
        let mut c = Client::connect(server.address());
        c.send(&wire);
        c.stream().shutdown(Shutdown::Write);
        let (got, ending) = c.finish();
        assert!(
            got.is_empty(),
            "{name}: got {:?}",
            String::from_utf8_lossy(&got)
        );
        assert_eq!(ending, Ending::Eof, "{name}");
    }
    let mut c = Client::connect(server.address());
    c.send(b"PUT / HTTP/1.1\r\ncontent-length: 2\r\n\r\nok");
    assert_eq!(c.response(false).text(), "consumed 2");
    assert_eq!(server.shutdown(), 0);
}

#[test]
fn bad_bodies_cut_a_streamed_echo_short() {
    // The demo echo starts its response before it reads the body: a bad
    // body then cuts the response short (no final chunk, fewer bytes than
    // declared) and closes the connection; nothing after it is answered.
    let server = serve_demo();
    for (name, body) in bad_chunked_bodies() {
        let mut c = Client::connect(server.address());
        let mut wire = b"POST /echo HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n".to_vec();
        wire.extend_from_slice(&body);
        wire.extend_from_slice(NEXT);
        c.send(&wire);
        let head = c.head();
        assert_eq!(
            (head.status, head.header("transfer-encoding")),
            (200, Some("chunked"))
        );
        let (rest, _) = c.finish();
        let text = String::from_utf8_lossy(&rest);
        assert!(
            !text.ends_with("0\r\n\r\n"),
            "{name}: complete echo {text:?}"
        );
        assert!(
            !text.contains("HTTP/1.1"),
            "{name}: second response {text:?}"
        );
    }
    let mut c = Client::connect(server.address());
    c.send(b"PUT /echo HTTP/1.1\r\ncontent-length: 10\r\n\r\nhello");
    c.stream().shutdown(Shutdown::Write);
    let head = c.head();
    assert_eq!(head.header("content-length"), Some("10"));
    let (rest, ending) = c.finish();
    assert_eq!((rest.as_slice(), ending), (&b"hello"[..], Ending::Eof));

    let mut c = Client::connect(server.address());
    assert_eq!(c.get("/").body, RespBody::Bytes(b"hello, world".to_vec()));
}
