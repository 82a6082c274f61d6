//! Against degu-server, in-process: the demo app (its routes), a
//! few apps of our own, and a reverse proxy built from the client.

use std::io::{Seek, SeekFrom};
use std::net::Ipv6Addr;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use degu_client::degu_core::ScopeId;
use degu_client::{
    Address, Body, BodyIter, Chunk, ChunkedBody, ChunkedBodyIter, Connection, Error, Headers,
    Incoming, Method,
};
use degu_server::{
    App, AppResult, Request, Response, Server, ServerHandle, ServerOptions, Session,
};

use crate::util::{TIMEOUT, TempDir, client, pattern};

fn serve(address: &Address, app: impl App) -> ServerHandle {
    let options = ServerOptions::default()
        .with_timeout(Some(TIMEOUT))
        .with_max_requests(100_000);
    Server::bind(address, app, options)
        .unwrap()
        .spawn()
        .unwrap()
}

fn demo(address: &str) -> ServerHandle {
    serve(&address.parse().unwrap(), degu_server::demo::app)
}

fn chunks_of(body: Option<Incoming<'static>>) -> Vec<Chunk> {
    match body {
        Some(Incoming::Chunked(c)) => c.map(Result::unwrap).collect(),
        other => panic!("expected a chunked body, got {other:?}"),
    }
}

/// Says what it received: method, URI, body framing and bytes.
fn describe(_: &mut Session, request: &mut Request) -> AppResult {
    let framing = match &request.body {
        None => "none".to_owned(),
        Some(Incoming::Body(b)) => format!("length {}", b.content_length()),
        Some(Incoming::Chunked(_)) => "chunked".to_owned(),
        Some(Incoming::Close(_)) => "close-delimited".to_owned(),
    };
    let data = match &mut request.body {
        Some(b) => b.read_all()?,
        None => Vec::new(),
    };
    let text = format!(
        "{} {} {framing} {}",
        request.method,
        request.uri,
        String::from_utf8_lossy(&data)
    );
    if request.method == Method::Head {
        return Ok(Response::new(200, "OK").header("content-length", text.len().to_string())?);
    }
    Ok(Response::new(200, "OK").body(text))
}

#[test]
fn every_method() {
    let server = serve(&"127.0.0.1:0".parse().unwrap(), describe);
    let mut conn = client(server.address()).connect().unwrap();
    let h = Headers::new();
    let check = |r: degu_client::Result<degu_client::Response>, expected: &str| {
        let mut r = r.unwrap();
        assert_eq!((r.status, &*r.reason), (200, "OK"));
        assert_eq!(String::from_utf8(r.read_all().unwrap()).unwrap(), expected);
    };
    check(conn.get("/a?b", &h), "GET /a?b none ");
    check(conn.delete("/d/", &h), "DELETE /d/ none ");
    check(conn.put("/p", &h, "put it"), "PUT /p length 6 put it");
    check(conn.post("/p", &h, "post it"), "POST /p length 7 post it");
    check(conn.put("/p", &h, ()), "PUT /p none ");
    check(
        conn.request(
            Method::Post,
            "/",
            &h,
            ChunkedBodyIter::new([Chunk::new("")]),
        ),
        "POST / chunked ",
    );
    let r = conn.head("/", &h).unwrap();
    assert_eq!((r.status, r.body.is_none()), (200, true));
    assert_eq!(
        r.headers.content_length(),
        Some("HEAD / none ".len() as u64)
    );
    server.shutdown();

    // HEAD against the demo: the length of the GET, no body.
    let server = demo("127.0.0.1:0");
    let mut conn = client(server.address()).connect().unwrap();
    let r = conn.head("/", &h).unwrap();
    assert_eq!(r.headers.content_length(), Some(12));
    assert!(r.body.is_none());
    let mut r = conn.get("/", &h).unwrap();
    assert_eq!(r.read_all().unwrap(), b"hello, world");
    let mut r = conn.delete("/", &h).unwrap();
    assert_eq!((r.status, &*r.reason), (405, "Method Not Allowed"));
    r.read_all().unwrap();
    let mut r = conn.get("/nope", &h).unwrap();
    assert_eq!(r.status, 404);
    r.read_all().unwrap();
    server.shutdown();
}

#[test]
fn every_body_kind_up_and_down() {
    let server = demo("127.0.0.1:0");
    let mut conn = client(server.address()).connect().unwrap();
    let h = Headers::new();

    // Up as bytes, down as a content-length body.
    let big = pattern(1_000_000);
    let mut r = conn.put("/echo", &h, &big[..]).unwrap();
    assert_eq!(r.headers.content_length(), Some(1_000_000));
    assert!(r.read_all().unwrap() == big);

    // Up as a Body read from a file at an offset.
    let dir = TempDir::new("echo");
    let path = dir.path().join("f");
    std::fs::write(&path, pattern(50_000)).unwrap();
    let mut file = std::fs::File::open(&path).unwrap();
    file.seek(SeekFrom::Start(1234)).unwrap();
    let mut r = conn.post("/echo", &h, Body::new(file, 40_000)).unwrap();
    assert_eq!(r.read_all().unwrap(), pattern(50_000)[1234..41_234]);

    // Up as a BodyIter.
    let mut r = conn
        .put(
            "/echo",
            &h,
            BodyIter::new(vec![vec![1u8; 10], vec![2u8; 5]], 15),
        )
        .unwrap();
    assert_eq!(r.headers.content_length(), Some(15));
    assert_eq!(
        r.read_all().unwrap(),
        [[1u8; 10].as_slice(), &[2u8; 5]].concat()
    );

    // Up as a ChunkedBody read from a reader; down chunked, same chunks.
    let wire = b"3;x=y\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
    let r = conn.post("/echo", &h, ChunkedBody::new(&wire[..])).unwrap();
    assert_eq!(
        chunks_of(r.body),
        vec![
            Chunk::with_ext("x", "y", "abc"),
            Chunk::new("de"),
            Chunk::new("")
        ]
    );

    // Up as a ChunkedBodyIter.
    let up = vec![Chunk::new(vec![9u8; 100_000]), Chunk::new("")];
    let r = conn
        .put("/echo", &h, ChunkedBodyIter::new(up.clone()))
        .unwrap();
    assert_eq!(chunks_of(r.body), up);

    // Empty and absent bodies.
    let mut r = conn.put("/echo", &h, "").unwrap();
    assert_eq!(r.headers.content_length(), Some(0));
    assert_eq!(r.read_all().unwrap(), b"");
    let mut r = conn.put("/echo", &h, ()).unwrap();
    assert_eq!(r.read_all().unwrap(), b"");

    // Down as chunks from an iterator on the server.
    let r = conn.get("/chunks/3/4", &h).unwrap();
    let got = chunks_of(r.body);
    assert_eq!(got.len(), 4);
    for (i, c) in got[..3].iter().enumerate() {
        assert_eq!(c, &Chunk::with_ext("i", i.to_string(), vec![0u8, 1, 2, 3]));
    }
    assert!(got[3].is_final());
    assert_eq!(conn.requests(), 8);
    server.shutdown();
}

#[test]
fn chunk_extensions_round_trip() {
    let server = serve(
        &"127.0.0.1:0".parse().unwrap(),
        |_: &mut Session, r: &mut Request| Ok(Response::new(200, "OK").body(r.body.take())),
    );
    let mut conn = client(server.address()).connect().unwrap();
    let sent: Vec<Chunk> = (0..50)
        .map(|i| match i % 3 {
            0 => Chunk::with_ext("n", i.to_string(), vec![i as u8; i + 1]),
            1 => Chunk::new(vec![i as u8; 1000 * i + 1]),
            _ => Chunk::with_ext("k-ey", "V.a:l_u~e", vec![i as u8]),
        })
        .chain([Chunk::with_ext("final", "yes", "")])
        .collect();
    for _ in 0..3 {
        let r = conn
            .post("/", &Headers::new(), ChunkedBodyIter::new(sent.clone()))
            .unwrap();
        assert!(r.headers.is_chunked());
        assert_eq!(chunks_of(r.body), sent);
    }
    server.shutdown();
}

#[test]
fn range_requests() {
    let server = demo("127.0.0.1:0");
    let mut conn = client(server.address()).connect().unwrap();
    let h = Headers::new();
    let mut r = conn.get_range("/bytes/1000", &h, 10, 20).unwrap();
    assert_eq!((r.status, &*r.reason), (206, "Partial Content"));
    assert_eq!(r.headers.get("content-range"), Some("bytes 10-19/1000"));
    assert_eq!(r.read_all().unwrap(), pattern(1000)[10..20]);
    // Clamped to the end.
    let mut r = conn.get_range("/bytes/1000", &h, 990, 5000).unwrap();
    assert_eq!(r.headers.get("content-range"), Some("bytes 990-999/1000"));
    assert_eq!(r.read_all().unwrap(), pattern(1000)[990..]);
    // Past the end: 416 with `content-range: bytes */1000`, a form
    // degu-core's response parser may still refuse (then a clean error
    // that closes the connection).
    match conn.get_range("/bytes/1000", &h, 1000, 1001) {
        Ok(mut r) => {
            assert_eq!(r.status, 416);
            r.read_all().unwrap();
        }
        Err(e) => {
            assert_eq!(e.to_string(), r#"bad content-range: "bytes */1000""#);
            conn = client(server.address()).connect().unwrap();
        }
    }
    // Without a range: everything.
    let mut r = conn.get("/bytes/1000", &h).unwrap();
    assert_eq!(r.read_all().unwrap(), pattern(1000));
    server.shutdown();
}

#[test]
fn ten_thousand_requests_on_one_connection() {
    let server = demo("127.0.0.1:0");
    let mut conn = client(server.address()).connect().unwrap();
    let h = Headers::new();
    for _ in 0..10_000 {
        let mut r = conn.get("/", &h).unwrap();
        assert_eq!(r.read_all().unwrap(), b"hello, world");
    }
    let mut r = conn.get("/info", &h).unwrap();
    let info = String::from_utf8(r.read_all().unwrap()).unwrap();
    assert!(info.contains(r#""requests":10000"#), "{info}");
    server.shutdown();
}

#[test]
fn unread_body_refused_then_server_limits() {
    let options = ServerOptions::default()
        .with_timeout(Some(TIMEOUT))
        .with_max_requests(2);
    let server = Server::bind(
        &"127.0.0.1:0".parse().unwrap(),
        degu_server::demo::app,
        options,
    )
    .unwrap()
    .spawn()
    .unwrap();
    let mut conn = client(server.address()).connect().unwrap();
    let h = Headers::new();
    let mut r = conn.get("/bytes/100", &h).unwrap();
    assert!(conn.get("/", &h).is_err());
    r.read_all().unwrap();
    conn.get("/", &h).unwrap().read_all().unwrap();
    // The server's max_requests is reached: whatever it does, the client
    // reports an error (or Closed), never a garbage response.
    match conn.get("/", &h) {
        Err(_) => assert!(conn.is_closed()),
        Ok(r) => panic!("a third response: {r:?}"),
    }
    assert!(matches!(conn.get("/", &h), Err(Error::Closed)));
    server.shutdown();
}

fn hello_over(address: &str) {
    let server = demo(address);
    let mut conn = client(server.address()).connect().unwrap();
    for _ in 0..3 {
        let mut r = conn.get("/", &Headers::new()).unwrap();
        assert_eq!(r.read_all().unwrap(), b"hello, world");
    }
    let mut r = conn.get("/info", &Headers::new()).unwrap();
    let info = String::from_utf8(r.read_all().unwrap()).unwrap();
    drop(conn);
    server.shutdown();
    let unix = address.starts_with("unix:");
    // A host header always; `localhost` over AF_UNIX.
    assert_eq!(info.contains(r#""host":"localhost""#), unix, "{info}");
    assert!(info.contains(r#""host""#), "{info}");
    assert_eq!(info.contains(r#""credentials":null"#), !unix, "{info}");
}

#[test]
fn unix_path_address() {
    let dir = TempDir::new("degu-unix");
    hello_over(&format!("unix:{}", dir.path().join("d.sock").display()));
}

#[test]
fn abstract_address() {
    hello_over("unix:@"); // the kernel picks the name; the server reports it
    hello_over(&format!("unix:@{}", crate::util::unique("degu")));
}

#[test]
fn ipv6_loopback() {
    if std::net::TcpListener::bind("[::1]:0").is_err() {
        println!("skipped: no IPv6 loopback on this machine");
        return;
    }
    hello_over("[::1]:0");

    // The 4-tuple reaches the kernel: a scope id (by name or index) and a
    // flow label on the loopback address.
    let server = demo("[::1]:0");
    let Address::Tcp6 { port, .. } = *server.address() else {
        unreachable!()
    };
    let lo = ScopeId::Name("lo".into()).resolve().unwrap();
    for address in [
        format!("[::1%lo]:{port}").parse().unwrap(),
        format!("[::1%{lo}]:{port}").parse().unwrap(),
        Address::tcp6(Ipv6Addr::LOCALHOST, port, 0x12345, 0).unwrap(),
    ] {
        let c = client(&address);
        assert_eq!(c.host(), Some(format!("[::1]:{port}").as_str()));
        let mut conn = c.connect().unwrap();
        let mut r = conn.get("/", &Headers::new()).unwrap();
        assert_eq!(r.read_all().unwrap(), b"hello, world");
    }
    server.shutdown();
}

/// A reverse proxy: each downstream connection keeps one upstream
/// connection in its session store; requests and bodies stream through.
fn proxy_app(upstream: Address) -> impl App {
    let upstream = client(&upstream);
    move |session: &mut Session, request: &mut Request| -> AppResult {
        if session
            .store
            .get("upstream")
            .is_none_or(Connection::is_closed)
        {
            session.store.insert("upstream", upstream.connect()?);
        }
        let conn = session
            .store
            .get_mut::<Connection>("upstream")
            .expect("an upstream connection");
        request.headers.remove("host");
        let uri = request.build_proxy_uri();
        let response = conn.request(request.method, &uri, &request.headers, request.body.take())?;
        Ok(response.into())
    }
}

#[test]
fn reverse_proxy_keeps_chunks_and_extensions() {
    let upstream = demo("127.0.0.1:0");
    let dir = TempDir::new("proxy");
    let proxy_address = Address::unix(dir.path().join("proxy.sock")).unwrap();
    let proxy = serve(&proxy_address, proxy_app(upstream.address().clone()));
    let mut conn = client(proxy.address()).connect().unwrap();
    let h = Headers::new();

    // A chunked body up through the proxy to the echo route and back.
    let sent = vec![
        Chunk::with_ext("a", "1", "{\"n\":1}"),
        Chunk::new(vec![b'x'; 200_000]),
        Chunk::with_ext("b", "2", "{\"n\":3}"),
        Chunk::with_ext("end", "true", ""),
    ];
    for _ in 0..3 {
        let r = conn
            .post("/echo", &h, ChunkedBodyIter::new(sent.clone()))
            .unwrap();
        assert_eq!(r.headers.get("transfer-encoding"), Some("chunked"));
        assert_eq!(chunks_of(r.body), sent);
    }
    // Chunks made upstream.
    let r = conn.get("/chunks/4/3", &h).unwrap();
    let got = chunks_of(r.body);
    assert_eq!(got.len(), 5);
    assert_eq!(got[3], Chunk::with_ext("i", "3", vec![0u8, 1, 2]));
    // Content-length bodies and ranges.
    let mut r = conn.put("/echo", &h, "through").unwrap();
    assert_eq!(r.read_all().unwrap(), b"through");
    let mut r = conn.get_range("/bytes/500", &h, 100, 110).unwrap();
    assert_eq!(r.status, 206);
    assert_eq!(r.headers.get("content-range"), Some("bytes 100-109/500"));
    assert_eq!(r.read_all().unwrap(), pattern(500)[100..110]);
    // HEAD keeps its content-length and has no body.
    let r = conn.head("/bytes/77", &h).unwrap();
    assert_eq!(
        (r.headers.content_length(), r.body.is_none()),
        (Some(77), true)
    );
    let mut r = conn.get("/missing", &h).unwrap();
    assert_eq!(r.status, 404);
    r.read_all().unwrap();
    // One upstream connection served all of them.
    let mut r = conn.get("/info", &h).unwrap();
    let info = String::from_utf8(r.read_all().unwrap()).unwrap();
    assert!(info.contains(r#""requests":8"#), "{info}");
    assert!(info.contains(r#""uri":"/info""#), "{info}");
    drop(conn);
    proxy.shutdown();
    upstream.shutdown();
}

#[test]
fn reverse_proxy_streams_without_buffering() {
    // The upstream sends one chunk, then waits until the client has it
    // before sending the rest: a proxy that buffered the body whole would
    // never deliver that first chunk.
    let (tx, rx) = mpsc::channel::<()>();
    let rx = Arc::new(Mutex::new(rx));
    let upstream = serve(
        &"127.0.0.1:0".parse().unwrap(),
        move |_: &mut Session, _: &mut Request| -> AppResult {
            let rx = rx.clone();
            let mut step = 0;
            let chunks = std::iter::from_fn(move || {
                step += 1;
                match step {
                    1 => Some(Chunk::with_ext("part", "1", "first")),
                    2 => {
                        let ok = rx.lock().unwrap().recv_timeout(TIMEOUT).is_ok();
                        Some(Chunk::new(if ok { "second" } else { "timed out" }))
                    }
                    3 => Some(Chunk::new("")),
                    _ => None,
                }
            });
            Ok(Response::new(200, "OK").body(ChunkedBodyIter::new(chunks)))
        },
    );
    let proxy = serve(
        &"127.0.0.1:0".parse().unwrap(),
        proxy_app(upstream.address().clone()),
    );
    let mut conn = client(proxy.address()).connect().unwrap();
    let r = conn.get("/", &Headers::new()).unwrap();
    let Some(Incoming::Chunked(mut body)) = r.body else {
        panic!("not chunked")
    };
    assert_eq!(
        body.read_chunk().unwrap(),
        Some(Chunk::with_ext("part", "1", "first"))
    );
    tx.send(()).unwrap();
    assert_eq!(body.read_chunk().unwrap(), Some(Chunk::new("second")));
    assert_eq!(body.read_chunk().unwrap(), Some(Chunk::new("")));
    assert_eq!(body.read_chunk().unwrap(), None);
    drop(conn);
    proxy.shutdown();
    upstream.shutdown();
}
