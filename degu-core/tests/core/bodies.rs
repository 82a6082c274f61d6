//! The body kinds: exact lengths, chunk framing, consumed-once, and never
//! reading past the end (so the next preamble in a `Reader` is intact).

use std::io::Read;

use degu_core::{
    Body, BodyIter, Chunk, ChunkedBody, ChunkedBodyIter, Framing, Headers, Incoming, Method,
    Outgoing, Reader, Response,
};

use crate::util::check_err;

#[test]
fn body_reads_exactly_its_length() {
    let mut src = &b"hello, world"[..];
    let mut body = Body::new(&mut src, 5);
    assert_eq!((body.content_length(), body.remaining()), (5, 5));
    assert_eq!(body.read_all().unwrap(), b"hello");
    assert!(body.is_complete());
    drop(body);
    assert_eq!(src, b", world");
}

#[test]
fn body_too_short() {
    check_err(
        Body::new(&b"hi"[..], 5).read_all(),
        "body too short: 2 of 5 bytes",
    );
    check_err(
        Body::new(&b""[..], 1).read_all(),
        "body too short: 0 of 1 bytes",
    );
    check_err(
        Body::new(&b"hi"[..], 5).write_to(&mut Vec::new()),
        "body too short: 2 of 5 bytes",
    );
    let mut body = Body::new(&b"hi"[..], 5);
    let mut buf = [0u8; 10];
    assert_eq!(body.read(&mut buf).unwrap(), 2);
    let e = body.read(&mut buf).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::UnexpectedEof);
    assert_eq!(e.to_string(), "body too short: 2 of 5 bytes");
}

#[test]
fn empty_body() {
    let mut body = Body::new(&b"next"[..], 0);
    assert!(body.is_complete());
    assert_eq!(body.read_all().unwrap(), b"");
    let mut buf = [0u8; 4];
    assert_eq!(Body::new(&b"next"[..], 0).read(&mut buf).unwrap(), 0);
}

#[test]
fn body_consumed_twice() {
    let mut body = Body::new(&b"hello"[..], 5);
    body.read_all().unwrap();
    check_err(body.read_all(), "body already consumed");
    check_err(body.write_to(&mut Vec::new()), "body already consumed");
    let mut body = Body::new(&b"hello"[..], 5);
    let mut two = [0u8; 2];
    body.read_exact(&mut two).unwrap();
    check_err(body.read_all(), "body already consumed");
    let mut body = Body::new(&b"hello"[..], 5);
    let mut out = Vec::new();
    assert_eq!(body.write_to(&mut out).unwrap(), 5);
    check_err(body.write_to(&mut out), "body already consumed");

    let wire = b"5\r\nhello\r\n0\r\n\r\n";
    let mut body = ChunkedBody::new(&wire[..]);
    assert_eq!(body.read_all().unwrap(), b"hello");
    check_err(body.read_all(), "body already consumed");
    check_err(body.write_to(&mut Vec::new()), "body already consumed");

    let mut it = BodyIter::new(["ab"], 2);
    it.write_to(&mut Vec::new()).unwrap();
    check_err(it.write_to(&mut Vec::new()), "body already consumed");
    let mut it = ChunkedBodyIter::new(vec![Chunk::new("")]);
    it.write_to(&mut Vec::new()).unwrap();
    check_err(it.write_to(&mut Vec::new()), "body already consumed");
}

#[test]
fn body_iter_lengths() {
    let mut out = Vec::new();
    assert_eq!(
        BodyIter::new(["he", "", "llo"], 5)
            .write_to(&mut out)
            .unwrap(),
        5
    );
    assert_eq!(out, b"hello");
    check_err(
        BodyIter::new(["hel", "lo!"], 5).write_to(&mut Vec::new()),
        "body too long: more than 5 bytes",
    );
    check_err(
        BodyIter::new(["hel"], 5).write_to(&mut Vec::new()),
        "body too short: 3 of 5 bytes",
    );
    // The piece that overflows is refused before any of it is written.
    let mut out = Vec::new();
    assert!(
        BodyIter::new(vec![b"abc".to_vec(), b"def".to_vec()], 4)
            .write_to(&mut out)
            .is_err()
    );
    assert_eq!(out, b"abc");
    assert_eq!(
        BodyIter::new(Vec::<Vec<u8>>::new(), 0)
            .write_to(&mut out)
            .unwrap(),
        0
    );
}

#[test]
fn chunked_body_iter_rules() {
    let mut out = Vec::new();
    ChunkedBodyIter::new(vec![Chunk::with_ext("k", "v", "ab"), Chunk::new("")])
        .write_to(&mut out)
        .unwrap();
    assert_eq!(out, b"2;k=v\r\nab\r\n0\r\n\r\n");
    // The last chunk carries data: there is no final chunk.
    check_err(
        ChunkedBodyIter::new(vec![Chunk::new("a"), Chunk::new("b")]).write_to(&mut Vec::new()),
        "chunked body ended without a final chunk",
    );
    check_err(
        ChunkedBodyIter::new(Vec::new()).write_to(&mut Vec::new()),
        "chunked body ended without a final chunk",
    );
    // A chunk after the final (empty) one: refused before the final chunk
    // is written, so the peer never sees a complete body.
    let mut out = Vec::new();
    check_err(
        ChunkedBodyIter::new(vec![Chunk::new("a"), Chunk::new(""), Chunk::new("b")])
            .write_to(&mut out),
        "empty chunk before the final chunk",
    );
    assert_eq!(out, b"1\r\na\r\n");
    check_err(
        ChunkedBodyIter::new(vec![Chunk::with_ext("bad key", "v", "a"), Chunk::new("")])
            .write_to(&mut Vec::new()),
        r#"bad chunk extension: "bad key=v""#,
    );
}

#[test]
fn chunked_body_framing_errors() {
    for (wire, expected) in [
        (&b""[..], "connection closed in the middle of a chunk line"),
        (b"5", "connection closed in the middle of a chunk line"),
        (b"5\n", r#"bad chunk size: "5""#),
        (b"5\r\nhel", "connection closed in the middle of a chunk"),
        (b"5\r\nhello", "connection closed in the middle of a chunk"),
        (b"5\r\nhelloXY", r#"bad chunk terminator: "XY""#),
        (b"5\r\nhello\n0\r\n\r\n", r#"bad chunk terminator: "\n0""#),
        (
            b"5\r\nhello\r\n",
            "connection closed in the middle of a chunk line",
        ),
        (
            b"5\r\nhello\r\n0\r\n",
            "connection closed in the middle of a chunk",
        ),
        // The final chunk with data after it (trailers are not supported).
        (b"0\r\nxx\r\n\r\n", r#"bad chunk terminator: "xx""#),
        (b"0\r\nx: y\r\n\r\n", r#"bad chunk terminator: "x:""#),
        (
            b"1000001\r\n",
            "chunk of 16777217 bytes is larger than 16777216",
        ),
        (b"5;=\r\nhello\r\n0\r\n\r\n", r#"bad chunk extension: "=""#),
    ] {
        check_err(ChunkedBody::new(wire).read_all(), expected);
        let mut r = Reader::new(wire);
        check_err(ChunkedBody::from_source(&mut r).read_all(), expected);
    }
}

#[test]
fn chunked_body_stops_after_the_final_chunk() {
    let wire = b"3;a=b\r\nabc\r\n0;end=1\r\n\r\n5\r\nhello\r\n";
    let mut src = &wire[..];
    let mut body = ChunkedBody::new(&mut src);
    assert_eq!(
        body.read_chunk().unwrap().unwrap(),
        Chunk::with_ext("a", "b", "abc")
    );
    let last = body.read_chunk().unwrap().unwrap();
    assert_eq!(last, Chunk::with_ext("end", "1", ""));
    assert!(body.is_complete());
    // A chunk after the final one is never read: the body is over.
    assert_eq!(body.read_chunk().unwrap(), None);
    assert_eq!(body.read_chunk_head().unwrap(), None);
    drop(body);
    assert_eq!(src, b"5\r\nhello\r\n");
}

#[test]
fn chunk_data_must_be_read_before_the_next_chunk() {
    let wire = b"5\r\nhello\r\n0\r\n\r\n";
    let mut body = ChunkedBody::new(&wire[..]);
    let head = body.read_chunk_head().unwrap().unwrap();
    assert_eq!((head.size, head.ext), (5, None));
    check_err(
        body.read_chunk_head(),
        "chunk data not read to its end before the next chunk",
    );
    let mut buf = [0u8; 3];
    assert_eq!(body.read_chunk_data(&mut buf).unwrap(), 3);
    assert_eq!(body.read_chunk_data(&mut buf).unwrap(), 2);
    assert_eq!(body.read_chunk_data(&mut buf).unwrap(), 0);
    assert_eq!(body.read_chunk_head().unwrap().unwrap().size, 0);
}

#[test]
fn chunked_body_as_a_reader() {
    let wire = b"3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\nrest";
    let mut src = &wire[..];
    let mut body = ChunkedBody::new(&mut src);
    let mut all = String::new();
    body.read_to_string(&mut all).unwrap();
    assert_eq!(all, "abcde");
    drop(body);
    assert_eq!(src, b"rest");
}

#[test]
fn iterator_stops_after_an_error() {
    let wire = b"3\r\nabcXX";
    let mut body = ChunkedBody::new(&wire[..]);
    assert!(body.next().unwrap().is_err());
    assert!(body.next().is_none());
}

/// Four requests in one stream, with both body kinds and none; each body
/// is read through the connection's `Reader`, and each next preamble is
/// found intact.
#[test]
fn pipelined_requests() {
    let wire = b"PUT /a HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello\
POST /b HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3;i=0\r\nabc\r\n0\r\n\r\n\
GET /c HTTP/1.1\r\n\r\n\
PUT /d HTTP/1.1\r\nContent-Length: 0\r\n\r\n\
DELETE /e HTTP/1.1\r\n\r\n";
    for step in [1usize, 3, 7, 64, 4096] {
        let mut r = Reader::new(crate::util::trickle(&wire[..], step));
        let mut seen = Vec::new();
        while let Some(p) = r.read_request().unwrap() {
            let (uri, framing) = (p.uri.to_owned(), p.typed.framing);
            let body = match framing {
                Framing::None => None,
                Framing::Length(n) => Some(Body::from_source(&mut r, n).read_all().unwrap()),
                Framing::Chunked => Some(ChunkedBody::from_source(&mut r).read_all().unwrap()),
            };
            seen.push((uri, body));
        }
        assert_eq!(
            seen,
            [
                ("/a".to_string(), Some(b"hello".to_vec())),
                ("/b".to_string(), Some(b"abc".to_vec())),
                ("/c".to_string(), None),
                ("/d".to_string(), Some(Vec::new())),
                ("/e".to_string(), None),
            ],
            "step {step}"
        );
    }
}

#[test]
fn a_short_body_is_an_error_not_the_next_preamble() {
    let wire = b"PUT / HTTP/1.1\r\nContent-Length: 10\r\n\r\nhello";
    let mut r = Reader::new(&wire[..]);
    let n = match r.read_request().unwrap().unwrap().typed.framing {
        Framing::Length(n) => n,
        other => panic!("{other:?}"),
    };
    check_err(
        Body::from_source(&mut r, n).read_all(),
        "body too short: 5 of 10 bytes",
    );
}

#[test]
fn a_large_body_through_the_reader() {
    // Larger than the Reader's buffer: the body reads bypass or refill it
    // and still stop at the body's end.
    let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    let mut wire = format!("PUT / HTTP/1.1\r\nContent-Length: {}\r\n\r\n", data.len()).into_bytes();
    wire.extend(&data);
    wire.extend(b"GET /next HTTP/1.1\r\n\r\n");
    let mut r = Reader::new(&wire[..]);
    r.read_request().unwrap().unwrap();
    let mut body = Body::from_source(&mut r, data.len() as u64);
    let mut got = vec![0u8; 40_000];
    let mut all = Vec::new();
    loop {
        let n = body.read(&mut got).unwrap();
        if n == 0 {
            break;
        }
        all.extend_from_slice(&got[..n]);
    }
    assert_eq!(all, data);
    drop(body);
    assert_eq!(r.read_request().unwrap().unwrap().uri, "/next");
}

#[test]
fn incoming_and_outgoing() {
    let mut inc = Incoming::Body(Body::new(&b"abc"[..], 3));
    assert_eq!(inc.framing(), Framing::Length(3));
    assert!(!inc.is_complete());
    let mut out = Vec::new();
    assert_eq!(inc.write_to(&mut out).unwrap(), 3);
    assert!(inc.is_complete());
    let inc = Incoming::Chunked(ChunkedBody::new(&b"1\r\nx\r\n0\r\n\r\n"[..]));
    let mut og = Outgoing::from(inc);
    assert_eq!(og.framing(), Framing::Chunked);
    let mut out = Vec::new();
    og.write_to(&mut out).unwrap();
    assert_eq!(out, b"1\r\nx\r\n0\r\n\r\n");
    assert_eq!(
        Outgoing::from(None::<Incoming<'_>>).framing(),
        Framing::None
    );
    assert_eq!(Outgoing::from("hi").framing(), Framing::Length(2));
    assert_eq!(Outgoing::from(()).framing(), Framing::None);
    assert!(Outgoing::default().is_none());
}

#[test]
fn framing_headers_follow_the_body() {
    let mut h = Headers::new();
    Outgoing::from("hello")
        .apply_framing(&mut h, false)
        .unwrap();
    assert_eq!(h.get("content-length"), Some("5"));
    let mut h = Headers::new();
    Outgoing::from(ChunkedBodyIter::new(vec![Chunk::new("")]))
        .apply_framing(&mut h, false)
        .unwrap();
    assert!(h.is_chunked());
    let mut h = Headers::from_pairs([("content-length", "4")]).unwrap();
    check_err(
        Outgoing::from("hello").apply_framing(&mut h, false),
        "headers do not match body: the body is Length(5), the headers declare Length(4)",
    );
    let mut h = Headers::from_pairs([("content-length", "4")]).unwrap();
    check_err(
        Outgoing::None.apply_framing(&mut h, false),
        "headers do not match body: no body, but the headers declare Length(4)",
    );
    // A response to HEAD declares what it does not send.
    Outgoing::None.apply_framing(&mut h, true).unwrap();
    let r = Response::new(200, "OK").body("x");
    assert_eq!(r.body.framing(), Framing::Length(1));
    assert!(Response::new(200, "OK").header("Bad", "x").is_err());
    let _ = Method::Get;
}
