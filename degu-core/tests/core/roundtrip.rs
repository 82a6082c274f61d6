//! Format, then parse: requests, responses and chunks come back as they
//! went.

use degu_core::{
    Chunk, ChunkedBody, ChunkedBodyIter, Framing, Headers, Method, Range, Reader, write_chunk,
    write_request_preamble, write_response_preamble,
};

use crate::util::pairs;

/// Header pairs as written in a case table.
type Pairs<'a> = &'a [(&'a str, &'a str)];

fn headers(pairs: Pairs<'_>) -> Headers {
    Headers::from_pairs(pairs.iter().map(|&(n, v)| (n.to_owned(), v.to_owned()))).unwrap()
}

#[test]
fn requests() {
    let cases: &[(Method, &str, Pairs<'_>)] = &[
        (Method::Get, "/", &[]),
        (Method::Get, "/a/b/", &[("host", "example.com:80")]),
        (Method::Head, "/x?", &[("accept", "*/*")]),
        (
            Method::Delete,
            "/items/42?force=1&why=a+b",
            &[("authorization", "Bearer abc.def")],
        ),
        (
            Method::Put,
            "/upload",
            &[("content-length", "12"), ("content-type", "text/plain")],
        ),
        (Method::Post, "/stream", &[("transfer-encoding", "chunked")]),
        (Method::Get, "/file", &[("range", "bytes=0-99")]),
        (Method::Get, "/file", &[("range", "bytes=-500")]),
        (Method::Get, "/file", &[("range", "bytes=10-")]),
        // A range the parser ignores goes out and comes back as text.
        (Method::Get, "/file", &[("range", "bytes=0-1,5-6")]),
        (
            Method::Delete,
            "/items/42",
            &[
                ("content-length", "2"),
                ("content-type", "application/json"),
            ],
        ),
        (
            Method::Patch,
            "/users/caf%C3%A9/a%20b",
            &[
                ("content-type", "application/merge-patch+json"),
                ("content-length", "9"),
            ],
        ),
        (
            Method::Options,
            "/api/v1;x=1/@me/~user/!$&'()*+,;=:",
            &[
                ("origin", "https://example.com"),
                ("access-control-request-method", "PUT"),
            ],
        ),
        (
            Method::Get,
            "/search?filter[name]=x&a={1}|b^c`d&q=%zz?/",
            &[
                ("x-empty", ""),
                ("x-tab", "a\tb"),
                ("x-json", r#"{"a": [1, 2], "b": "@{}"}"#),
                (
                    "user-agent",
                    "Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101",
                ),
            ],
        ),
    ];
    for (method, uri, hs) in cases {
        let h = headers(hs);
        let mut out = Vec::new();
        write_request_preamble(&mut out, *method, uri, &h).unwrap();
        assert!(out.ends_with(b"\r\n\r\n"));
        let mut r = Reader::new(&out[..]);
        let p = r.read_request().unwrap().unwrap();
        assert_eq!(p.method, *method);
        assert_eq!(p.uri, *uri);
        assert_eq!(Headers::from_raw(&p.headers), h);
        let (path, query) = degu_core::parse_uri(uri.as_bytes()).unwrap();
        assert_eq!((p.path, p.query), (path, query));
        assert_eq!(p.typed.framing, h.framing().unwrap());
        assert_eq!(p.typed.range, h.range());
        assert!(r.read_request().unwrap().is_none());
    }
}

#[test]
fn responses() {
    let cases: &[(u16, &str, Pairs<'_>)] = &[
        (200, "OK", &[("content-length", "0")]),
        (204, "No Content", &[]),
        (
            206,
            "Partial Content",
            &[("content-range", "bytes 0-9/100"), ("content-length", "10")],
        ),
        (
            404,
            "Not Found",
            &[("content-type", "application/json; charset=utf-8")],
        ),
        (
            500,
            "Internal Server Error",
            &[("transfer-encoding", "chunked"), ("x-id", "1")],
        ),
        (418, "I'm a Teapot", &[("x-empty", "")]),
        (
            400,
            "Bad Request: missing required Host header",
            &[("content-length", "0")],
        ),
        (299, "\tWeird  but [allowed] ", &[]),
    ];
    for (status, reason, hs) in cases {
        let h = headers(hs);
        let mut out = Vec::new();
        write_response_preamble(&mut out, *status, reason, &h).unwrap();
        let mut r = Reader::new(&out[..]);
        let p = r.read_response().unwrap();
        assert_eq!((p.status, p.reason), (*status, *reason));
        assert_eq!(Headers::from_raw(&p.headers), h);
        assert_eq!(p.typed.framing, h.framing().unwrap());
        assert_eq!(p.typed.content_range, h.content_range());
    }
}

#[test]
fn writers_refuse_what_the_parser_would() {
    let h = Headers::new();
    let mut out = Vec::new();
    assert!(write_request_preamble(&mut out, Method::Get, "noslash", &h).is_err());
    assert!(write_request_preamble(&mut out, Method::Get, "/a//b", &h).is_err());
    for uri in [
        "/a/../b", "/.", "/a/%2e", "/a%2Fb", "/%zz", "/a%00", "/%C3", "/a b", "/a#b",
    ] {
        crate::util::check_err(
            write_request_preamble(&mut out, Method::Get, uri, &h),
            &format!("bad uri: \"{}\"", uri.escape_default()),
        );
    }
    assert!(write_response_preamble(&mut out, 99, "X", &h).is_err());
    assert!(write_response_preamble(&mut out, 600, "X", &h).is_err());
    assert!(write_response_preamble(&mut out, 200, "", &h).is_err());
    assert!(out.is_empty());
    let big = Headers::from_pairs([("x", "v".repeat(32 * 1024))]).unwrap();
    crate::util::check_err(
        write_request_preamble(&mut out, Method::Get, "/", &big),
        "preamble larger than 32768 bytes",
    );
}

#[test]
fn repeated_and_many_headers() {
    // Appended repeats (`set-cookie`), past the 20 kept inline.
    let mut h = Headers::new();
    for i in 0..30 {
        h.insert(format!("x-{i}"), i.to_string()).unwrap();
        h.append("set-cookie", format!("c{i}=v; Path=/")).unwrap();
    }
    h.append("content-length", "0").unwrap();
    assert!(h.append("content-length", "0").is_err());
    let mut out = Vec::new();
    write_response_preamble(&mut out, 200, "OK", &h).unwrap();
    let mut r = Reader::new(&out[..]);
    let p = r.read_response().unwrap();
    assert_eq!(p.headers.len(), 61);
    assert_eq!(Headers::from_raw(&p.headers), h);
    assert_eq!(
        p.headers.get_all("set-cookie").collect::<Vec<_>>(),
        h.get_all("set-cookie").collect::<Vec<_>>()
    );
    assert_eq!(p.headers.get("set-cookie"), Some("c0=v; Path=/"));
    assert_eq!(p.typed.framing, Framing::Length(0));

    // A request of 64 headers, the most a server takes by default.
    let h = Headers::from_pairs((0..64).map(|i| (format!("x-{i}"), format!("v {i}")))).unwrap();
    let mut out = Vec::new();
    write_request_preamble(&mut out, Method::Put, "/", &h).unwrap();
    let mut r = Reader::new(&out[..]);
    let p = r.read_request().unwrap().unwrap();
    assert_eq!(p.headers.len(), 64);
    assert_eq!(Headers::from_raw(&p.headers), h);
}

#[test]
fn parsed_headers_keep_wire_order() {
    let mut buf = b"HTTP/1.1 200 OK\r\nZ: 1\r\nA: 2\r\nM: 3".to_vec();
    let p = degu_core::parse_response(&mut buf).unwrap();
    assert_eq!(
        pairs(&p.headers),
        [
            ("z".into(), "1".into()),
            ("a".into(), "2".into()),
            ("m".into(), "3".into())
        ]
    );
}

fn sample_chunks() -> Vec<Chunk> {
    vec![
        Chunk::with_ext("i", "0", "hello"),
        Chunk::new(vec![0u8; 1]),
        Chunk::new((0..=255u8).collect::<Vec<_>>()),
        Chunk::with_ext("json", "yes", br#"{"a": 1}"#.to_vec()),
        Chunk::new(vec![b'x'; 70_000]),
        Chunk::with_ext("done", "1", ""),
    ]
}

#[test]
fn chunks_one_by_one() {
    for chunk in sample_chunks() {
        let mut wire = Vec::new();
        let ext = chunk.ext.as_ref().map(|(k, v)| (k.as_str(), v.as_str()));
        let n = write_chunk(&mut wire, ext, &chunk.data).unwrap();
        assert_eq!(n, wire.len() as u64);
        if !chunk.is_final() {
            write_chunk(&mut wire, None, b"").unwrap();
        }
        let mut body = ChunkedBody::new(&wire[..]);
        assert_eq!(body.read_chunk().unwrap().unwrap(), chunk);
        if !chunk.is_final() {
            assert!(body.read_chunk().unwrap().unwrap().is_final());
        }
        assert!(body.is_complete());
        assert_eq!(body.read_chunk().unwrap(), None);
    }
}

#[test]
fn chunked_bodies_keep_boundaries_and_extensions() {
    let chunks = sample_chunks();
    let mut wire = Vec::new();
    ChunkedBodyIter::new(chunks.clone())
        .write_to(&mut wire)
        .unwrap();
    let read: Vec<Chunk> = ChunkedBody::new(&wire[..]).map(|c| c.unwrap()).collect();
    assert_eq!(read, chunks);
    // Re-encoding an input body gives the same bytes (the echo and proxy
    // path).
    let mut again = Vec::new();
    let n = ChunkedBody::new(&wire[..]).write_to(&mut again).unwrap();
    assert_eq!(again, wire);
    assert_eq!(n, wire.len() as u64);
}

#[test]
fn a_range_header_round_trips() {
    let r = Range::new(100, 200).unwrap();
    let h = headers(&[("range", &r.to_string())]);
    let mut out = Vec::new();
    write_request_preamble(&mut out, Method::Get, "/", &h).unwrap();
    let p = Reader::new(&out[..]).read_request().unwrap().unwrap().typed;
    assert_eq!(p.range, Some(r));
    assert_eq!(p.framing, Framing::None);
}
