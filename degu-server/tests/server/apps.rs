//! Apps that panic, fail, or return a bad response; the session; and
//! `on_connect`.

use std::sync::atomic::{AtomicUsize, Ordering};

use degu_server::{
    App, AppResult, BodyIter, Chunk, ChunkedBodyIter, ConnectionInfo, Request, Response,
    ServerOptions, Session,
};

use crate::util::{Client, req, serve};

fn app(session: &mut Session, request: &mut Request) -> AppResult {
    let path: Vec<&str> = request.path.iter().map(String::as_str).collect();
    let ok = Response::new(200, "OK");
    Ok(match path.as_slice() {
        ["panic"] => panic!("an app panic the test asked for"),
        ["error"] => return Err("an app error the test asked for".into()),
        ["body"] => ok.body("a body"),
        ["bad-length"] => ok.header("content-length", "5")?.body("hi"),
        ["length-without-body"] => ok.header("content-length", "5")?,
        ["chunked-with-bytes"] => ok.header("transfer-encoding", "chunked")?.body("hi"),
        ["length-with-chunks"] => ok
            .header("content-length", "2")?
            .body(ChunkedBodyIter::new(vec![Chunk::new("hi"), Chunk::new("")])),
        ["204-with-body"] => Response::new(204, "No Content").body("x"),
        ["204-with-length"] => Response::new(204, "No Content").header("content-length", "1")?,
        ["interim"] => Response::new(100, "Continue"),
        ["status-600"] => Response::new(600, "Nope"),
        ["status-99"] => Response::new(99, "Nope"),
        ["bad-reason"] => Response::new(200, "OK\r\nx-injected: 1"),
        ["empty-reason"] => Response::new(200, ""),
        ["short-iter"] => ok.body(BodyIter::new(["abc"], 10)),
        ["long-iter"] => ok.body(BodyIter::new(["abc", "def"], 4)),
        ["no-final-chunk"] => ok.body(ChunkedBodyIter::new(vec![Chunk::new("ab")])),
        ["early-final-chunk"] => ok.body(ChunkedBodyIter::new(vec![
            Chunk::new("ab"),
            Chunk::new(""),
            Chunk::new("cd"),
        ])),
        ["store"] => {
            let n = session.store.get::<u32>("n").copied().unwrap_or(0) + 1;
            session.store.insert("n", n);
            ok.body(format!("{n} of {}", session.max_requests()))
        }
        ["bye"] => ok.header("connection", "close")?.body("bye"),
        ["no-content"] => Response::new(204, "No Content"),
        ["not-modified"] => Response::new(304, "Not Modified"),
        _ => ok.body("ok"),
    })
}

/// Sends `request` with a valid request pipelined after it; asserts the
/// connection closes with nothing written.
fn assert_closed_silently(address: &degu_server::Address, request: &[u8]) {
    let mut c = Client::connect(address);
    let mut wire = request.to_vec();
    wire.extend(req("GET", "/", &[]));
    c.send(&wire);
    let (got, _) = c.finish();
    assert!(
        got.is_empty(),
        "{}: got {:?}",
        String::from_utf8_lossy(request),
        String::from_utf8_lossy(&got)
    );
}

/// A new connection is served one request (`connection: close`, so the
/// server closes it, freeing its slot before the close is seen).
fn assert_served_once(address: &degu_server::Address) {
    let mut c = Client::connect(address);
    c.send(req("GET", "/", &[("connection", "close")]));
    assert_eq!(c.response(false).text(), "ok");
    c.expect_closed();
}

#[test]
fn app_panic_closes_only_its_connection() {
    // With max_connections 2, a panicking connection that leaked its slot
    // would soon lock everyone out.
    let server = serve(app, ServerOptions::default().with_max_connections(2));
    let mut other = Client::connect(server.address());
    assert_eq!(other.get("/").text(), "ok");
    for _ in 0..10 {
        assert_closed_silently(server.address(), &req("GET", "/panic", &[]));
        assert_eq!(other.get("/").text(), "ok");
        // The slot is free as soon as the close is seen.
        assert_served_once(server.address());
    }
    // A panic after good requests on the same connection.
    let mut c = Client::connect(server.address());
    assert_eq!(c.get("/").text(), "ok");
    c.send(req("PUT", "/panic", &[("content-length", "3")]));
    c.send("abc");
    c.expect_closed();
    let mut fresh = Client::connect(server.address());
    assert_eq!(fresh.get("/").text(), "ok");
    assert_eq!(other.get("/").text(), "ok");
}

#[test]
fn app_error_closes_its_connection() {
    let server = serve(app, ServerOptions::default().with_max_connections(2));
    let mut other = Client::connect(server.address());
    for _ in 0..10 {
        assert_closed_silently(server.address(), &req("GET", "/error", &[]));
        assert_eq!(other.get("/").text(), "ok");
        assert_served_once(server.address());
    }
    // With an unread chunked body.
    assert_closed_silently(
        server.address(),
        b"POST /error HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n",
    );
    assert_eq!(other.get("/").text(), "ok");
}

#[test]
fn bad_responses_close_with_nothing_written() {
    let server = serve(app, ServerOptions::default());
    for (method, uri) in [
        ("HEAD", "/body"),
        ("GET", "/bad-length"),
        ("GET", "/length-without-body"),
        ("GET", "/chunked-with-bytes"),
        ("GET", "/length-with-chunks"),
        ("GET", "/204-with-body"),
        ("GET", "/204-with-length"),
        ("GET", "/interim"),
        ("GET", "/status-600"),
        ("GET", "/status-99"),
        ("GET", "/bad-reason"),
        ("GET", "/empty-reason"),
    ] {
        assert_closed_silently(server.address(), &req(method, uri, &[]));
    }
    // The checks that pass: HEAD may declare a length it does not send;
    // 204 and 304 get no content-length.
    let mut c = Client::connect(server.address());
    c.send(req("HEAD", "/length-without-body", &[]));
    let want = "HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n";
    assert_eq!(c.raw(want.len()), want.as_bytes());
    c.send(req("GET", "/no-content", &[]));
    let want = "HTTP/1.1 204 No Content\r\n\r\n";
    assert_eq!(c.raw(want.len()), want.as_bytes());
    c.send(req("GET", "/not-modified", &[]));
    let want = "HTTP/1.1 304 Not Modified\r\n\r\n";
    assert_eq!(c.raw(want.len()), want.as_bytes());
    c.send(req("GET", "/", &[]));
    let want = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
    assert_eq!(c.raw(want.len()), want.as_bytes());
}

#[test]
fn bodies_that_break_their_framing_cut_the_response_short() {
    let server = serve(app, ServerOptions::default());
    // Fewer bytes than declared: the preamble and what there was, then
    // the close.
    let mut c = Client::connect(server.address());
    c.send(req("GET", "/short-iter", &[]));
    c.send(req("GET", "/", &[]));
    let head = c.head();
    assert_eq!(head.header("content-length"), Some("10"));
    assert_eq!(c.finish().0, b"abc");
    // More bytes than declared: never more than declared is written.
    let mut c = Client::connect(server.address());
    c.send(req("GET", "/long-iter", &[]));
    c.send(req("GET", "/", &[]));
    let head = c.head();
    assert_eq!(head.header("content-length"), Some("4"));
    assert_eq!(c.finish().0, b"abc");
    // A chunked body without its final chunk.
    let mut c = Client::connect(server.address());
    c.send(req("GET", "/no-final-chunk", &[]));
    c.send(req("GET", "/", &[]));
    let head = c.head();
    assert_eq!(head.header("transfer-encoding"), Some("chunked"));
    assert_eq!(c.finish().0, b"2\r\nab\r\n");
    // A chunk after the final one: refused before the final chunk goes
    // out, so the peer never sees a complete body, then the close (the
    // request after it is not answered).
    let mut c = Client::connect(server.address());
    c.send(req("GET", "/early-final-chunk", &[]));
    c.send(req("GET", "/", &[]));
    let head = c.head();
    assert_eq!(head.header("transfer-encoding"), Some("chunked"));
    assert_eq!(c.finish().0, b"2\r\nab\r\n");
}

#[test]
fn session_counts_and_store_live_per_connection() {
    let server = serve(app, ServerOptions::default().with_max_requests(7));
    let mut a = Client::connect(server.address());
    let mut b = Client::connect(server.address());
    assert_eq!(a.get("/store").text(), "1 of 7");
    assert_eq!(a.get("/store").text(), "2 of 7");
    assert_eq!(b.get("/store").text(), "1 of 7");
    assert_eq!(a.get("/store").text(), "3 of 7");
    assert_eq!(b.get("/store").text(), "2 of 7");
}

#[test]
fn an_app_may_close_the_connection() {
    let server = serve(app, ServerOptions::default());
    let mut c = Client::connect(server.address());
    let mut wire = req("GET", "/bye", &[]);
    wire.extend(req("GET", "/", &[]));
    c.send(&wire);
    let r = c.response(false);
    assert_eq!(
        (r.text().as_str(), r.header("connection")),
        ("bye", Some("close"))
    );
    c.expect_closed();
}

/// Refuses every other connection in `on_connect`.
struct EveryOther(AtomicUsize);

impl App for EveryOther {
    fn call(&self, session: &mut Session, request: &mut Request) -> AppResult {
        app(session, request)
    }

    fn on_connect(&self, session: &mut Session, info: &ConnectionInfo) -> bool {
        assert!(!info.tls);
        assert_eq!(session.requests(), 0);
        self.0.fetch_add(1, Ordering::SeqCst) % 2 == 1
    }
}

#[test]
fn on_connect_can_refuse_a_connection() {
    let server = serve(EveryOther(AtomicUsize::new(0)), ServerOptions::default());
    let mut first = Client::connect(server.address());
    let _ = first.try_send(req("GET", "/", &[]));
    assert!(first.finish().0.is_empty());
    let mut second = Client::connect(server.address());
    assert_eq!(second.get("/").text(), "ok");
    let mut third = Client::connect(server.address());
    let _ = third.try_send(req("GET", "/", &[]));
    assert!(third.finish().0.is_empty());
    assert_eq!(second.get("/").text(), "ok");
}

/// Describes the request it got, then changes it (shifts its path, adds a
/// header, takes its query): none of that may show in the next request
/// on the connection, which reuses the same `Request`.
fn describe_and_meddle(_: &mut Session, r: &mut Request) -> AppResult {
    let headers: Vec<(&str, &str)> = r.headers.iter().collect();
    let text = format!(
        "{} {} mount={:?} path={:?} query={:?} headers={headers:?}",
        r.method, r.uri, r.mount, r.path, r.query
    );
    r.shift_path();
    let _ = r.headers.insert("x-left-by-the-app", "1");
    r.query = None;
    r.path.push("left".into());
    Ok(Response::new(200, "OK").body(text))
}

/// Method, URI, headers, and the description the app should give.
type Case = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
    &'static str,
);

#[test]
fn each_request_sees_only_itself_though_the_request_is_reused() {
    let h = serve(describe_and_meddle, ServerOptions::default());
    let mut c = Client::connect(h.address());
    let cases: [Case; 5] = [
        (
            "GET",
            "/a/b/c?x=1",
            &[("Host", "h"), ("X-Custom", "one"), ("Accept", "*/*")],
            r#"GET /a/b/c?x=1 mount=[] path=["a", "b", "c"] query=Some("x=1") headers=[("host", "h"), ("x-custom", "one"), ("accept", "*/*")]"#,
        ),
        (
            "GET",
            "/",
            &[],
            r#"GET / mount=[] path=[] query=None headers=[]"#,
        ),
        (
            "DELETE",
            "/only?",
            &[("X-Other", "two")],
            r#"DELETE /only? mount=[] path=["only"] query=Some("") headers=[("x-other", "two")]"#,
        ),
        (
            "GET",
            "/d/e/f/g/h/",
            &[
                ("Host", "a-much-longer-host-name-than-before"),
                ("X-Custom", "3"),
            ],
            r#"GET /d/e/f/g/h/ mount=[] path=["d", "e", "f", "g", "h", ""] query=None headers=[("host", "a-much-longer-host-name-than-before"), ("x-custom", "3")]"#,
        ),
        (
            "PUT",
            "/x?q",
            &[("Accept", "x")],
            r#"PUT /x?q mount=[] path=["x"] query=Some("q") headers=[("accept", "x")]"#,
        ),
    ];
    // Pipelined: every request is in the server's buffer before the first
    // response is written.
    let mut wire = Vec::new();
    for (method, uri, headers, _) in &cases {
        wire.extend(req(method, uri, headers));
    }
    c.send(&wire);
    for (_, _, _, want) in &cases {
        let r = c.response(false);
        assert_eq!((r.status(), r.text().as_str()), (200, *want));
    }
}
