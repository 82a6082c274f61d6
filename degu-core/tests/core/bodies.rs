//! The body kinds: exact lengths, chunk framing, consumed-once, and never
//! reading past the end (so the next preamble in a `Reader` is intact).

#![allow(
    clippy::needless_borrows_for_generic_args,
    reason = "bodies read `&mut slice` so that a test can check what they left unread; a copy of the slice (what the lint asks for) would not show it"
)]

use std::io::Read;

use degu_core::{
    Body, BodyIter, Chunk, ChunkedBody, ChunkedBodyIter, CloseBody, Framing, Headers, Incoming,
    MAX_TRAILER_SECTION, MAX_TRAILERS, Method, Outgoing, Reader, Response,
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

/// The error message of `r`, which must be an error.
fn err_of<T: std::fmt::Debug>(r: degu_core::Result<T>) -> String {
    match r {
        Ok(v) => panic!("expected an error, got Ok({v:?})"),
        Err(e) => e.to_string(),
    }
}

/// Bytes where byte i is `i % 251`.
fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i % 251) as u8).collect()
}

#[test]
fn close_body_reads_to_the_end_of_its_source() {
    let mut body = CloseBody::new(&b"all of it"[..]);
    assert!(!body.is_complete());
    assert_eq!(body.read_all().unwrap(), b"all of it");
    assert!(body.is_complete());
    assert_eq!(body.received(), 9);
    assert_eq!(err_of(body.read_all()), "body already consumed");
    assert_eq!(
        err_of(body.write_to(&mut Vec::new())),
        "body already consumed"
    );

    // As a reader, a few bytes at a time from a source that trickles.
    let data = pattern(10_000);
    let mut body = CloseBody::new(crate::util::trickle(&data, 7));
    let mut out = Vec::new();
    let mut buf = [0u8; 5];
    loop {
        let n = body.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    assert!(out == data);
    assert_eq!(body.read(&mut buf).unwrap(), 0); // and stays at the end
    assert!(body.is_complete());

    // Empty: complete at once when read.
    let mut body = CloseBody::new(&b""[..]);
    assert_eq!(body.read_all().unwrap(), b"");
    assert!(body.is_complete());
}

#[test]
fn close_body_written_raw_or_chunked() {
    let mut out = Vec::new();
    assert_eq!(CloseBody::new(&b"hello"[..]).write_to(&mut out).unwrap(), 5);
    assert_eq!(out, b"hello");
    let mut out = Vec::new();
    let n = CloseBody::new(&b"hello"[..])
        .write_chunked_to(&mut out)
        .unwrap();
    assert_eq!(out, b"5\r\nhello\r\n0\r\n\r\n");
    assert_eq!(n, out.len() as u64);
    let mut out = Vec::new();
    CloseBody::new(&b""[..]).write_chunked_to(&mut out).unwrap();
    assert_eq!(out, b"0\r\n\r\n");

    // A large body: chunks of at most 64 KiB, read back whole.
    let data = pattern(200_000);
    let mut out = Vec::new();
    CloseBody::new(&data[..])
        .write_chunked_to(&mut out)
        .unwrap();
    let chunks: Vec<Chunk> = ChunkedBody::new(&out[..]).map(Result::unwrap).collect();
    assert!(chunks.len() >= 5, "{}", chunks.len());
    assert!(chunks.iter().all(|c| c.data.len() <= 64 * 1024));
    assert!(chunks.last().unwrap().is_final());
    assert!(chunks.concat_data() == data);
}

trait ConcatData {
    fn concat_data(&self) -> Vec<u8>;
}

impl ConcatData for Vec<Chunk> {
    fn concat_data(&self) -> Vec<u8> {
        self.iter().flat_map(|c| c.data.clone()).collect()
    }
}

#[test]
fn close_body_as_incoming_and_outgoing_is_chunked() {
    let inc = Incoming::Close(CloseBody::new(&b"hello"[..]));
    assert_eq!(inc.framing(), Framing::Chunked);
    assert!(inc.is_close_delimited());
    assert!(!Incoming::Body(Body::new(&b""[..], 0)).is_close_delimited());
    assert_eq!(inc.trailers(), None);
    let mut og = Outgoing::from(inc);
    assert!(matches!(og, Outgoing::Close(_)));
    assert_eq!(og.framing(), Framing::Chunked);
    assert!(!og.reads_connection());
    // Its headers say chunked, never nothing.
    let mut h = Headers::new();
    og.apply_framing(&mut h, false).unwrap();
    assert_eq!(h.get("transfer-encoding"), Some("chunked"));
    let mut h = Headers::from_pairs([("content-length", "5")]).unwrap();
    assert_eq!(
        err_of(og.apply_framing(&mut h, false)),
        "headers do not match body: the body is Chunked, the headers declare Length(5)"
    );
    let mut out = Vec::new();
    og.write_to(&mut out).unwrap();
    assert_eq!(out, b"5\r\nhello\r\n0\r\n\r\n");
    // To an HTTP/1.0 peer: raw, delimited by the end of the connection.
    let mut og = Outgoing::from(CloseBody::new(&b"hello"[..]));
    let mut out = Vec::new();
    assert_eq!(og.write_data_to(&mut out).unwrap(), 5);
    assert_eq!(out, b"hello");
    // As it came: raw.
    let mut inc = Incoming::Close(CloseBody::new(&b"hello"[..]));
    let mut out = Vec::new();
    inc.write_to(&mut out).unwrap();
    assert_eq!(out, b"hello");
    assert!(inc.is_complete());
}

#[test]
fn trailers_are_read_when_allowed() {
    let wire = b"2\r\nhi\r\n0;end=1\r\nX-Checksum: abc\r\nx-other:  padded \t\r\n\
X-CHECKSUM:def\r\nx-empty:\r\nx-tab:\tin\tside\t\r\n\r\nHTTP/1.1 200 OK\r\n\r\n";
    for step in [1usize, 3, 64, 4096] {
        let mut r = Reader::new(crate::util::trickle(&wire[..], step));
        let mut body = ChunkedBody::from_source(&mut r).allow_trailers();
        assert_eq!(body.trailers(), None);
        assert_eq!(body.read_chunk().unwrap().unwrap(), Chunk::new("hi"));
        assert_eq!(body.trailers(), None);
        assert_eq!(
            body.read_chunk().unwrap().unwrap(),
            Chunk::with_ext("end", "1", "")
        );
        let t = body.trailers().unwrap().clone();
        assert_eq!(
            t.iter().collect::<Vec<_>>(),
            [
                ("x-checksum", "abc"),
                ("x-other", "padded"),
                ("x-checksum", "def"),
                ("x-empty", ""),
                ("x-tab", "in\tside"),
            ],
            "step {step}"
        );
        drop(body);
        // The next message is intact.
        assert_eq!(r.read_response().unwrap().status, 200);
    }
    // The same from a plain reader, byte by byte.
    let mut src = &wire[..];
    let mut body = ChunkedBody::new(&mut src).allow_trailers();
    assert_eq!(body.read_all().unwrap(), b"hi");
    assert_eq!(body.trailers().unwrap().len(), 5);
    drop(body);
    assert_eq!(src, b"HTTP/1.1 200 OK\r\n\r\n");
    // No trailers: an empty set once complete.
    let mut body = ChunkedBody::new(&b"0\r\n\r\n"[..]).allow_trailers();
    body.read_all().unwrap();
    assert!(body.trailers().unwrap().is_empty());
    // Without the opt-in, none are read; a body without any has an empty
    // set all the same.
    let mut body = ChunkedBody::new(&b"1\r\nx\r\n0\r\n\r\n"[..]);
    body.read_all().unwrap();
    assert!(body.trailers().unwrap().is_empty());
}

#[test]
fn trailers_are_refused_without_the_opt_in() {
    // What a server reading a request does: today's error, unchanged.
    for wire in [
        &b"0\r\nX-Checksum: abc\r\n\r\n"[..],
        b"2\r\nhi\r\n0\r\nx: y\r\n\r\n",
    ] {
        check_err(
            ChunkedBody::new(wire).read_all(),
            if wire.starts_with(b"0") {
                r#"bad chunk terminator: "X-""#
            } else {
                r#"bad chunk terminator: "x:""#
            },
        );
        let mut r = Reader::new(wire);
        assert!(ChunkedBody::from_source(&mut r).read_all().is_err());
    }
}

#[test]
fn malformed_trailers_are_errors() {
    let many: String = (0..=MAX_TRAILERS)
        .map(|i| format!("x-{i}: v\r\n"))
        .collect();
    let long = format!("x-long: {}\r\n\r\n", "a".repeat(MAX_TRAILER_SECTION));
    let cases: Vec<(String, &str)> = vec![
        (
            "X-Checksum abc\r\n\r\n".into(),
            r#"bad header line: "X-Checksum abc""#,
        ),
        (": v\r\n\r\n".into(), r#"bad header name: """#),
        (
            "Bad Name: x\r\n\r\n".into(),
            r#"bad header name: "Bad Name""#,
        ),
        ("x_y: v\r\n\r\n".into(), r#"bad header name: "x_y""#),
        (" folded: x\r\n\r\n".into(), r#"bad header name: " folded""#),
        ("x-a: b\x01c\r\n\r\n".into(), r#"bad x-a value: "b\x01c""#),
        (
            "x-a: caf\u{e9}\r\n\r\n".into(),
            r#"bad x-a value: "caf\xc3\xa9""#,
        ),
        ("x-a: b\rc\r\n\r\n".into(), r#"bad x-a value: "b\rc""#),
        ("x-a: b\n\r\n".into(), r#"bad header line: "x-a: b""#),
        ("\n".into(), r#"bad header line: """#),
        (many, "more than 100 headers"),
        (long, "trailer section larger than 32768 bytes"),
        (
            "Content-Length: 1\r\ncontent-length: 1\r\n\r\n".into(),
            r#"duplicate header: "content-length""#,
        ),
        (
            "transfer-encoding: gzip\r\n\r\n".into(),
            r#"bad transfer-encoding: "gzip""#,
        ),
        // A missing empty line before the next message: never taken for it.
        (
            "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n".into(),
            r#"bad header line: "HTTP/1.1 200 OK""#,
        ),
        (
            "".into(),
            "connection closed in the middle of a trailer section",
        ),
        (
            "x-a: b\r\n".into(),
            "connection closed in the middle of a trailer section",
        ),
        (
            "x-a: b".into(),
            "connection closed in the middle of a trailer section",
        ),
    ];
    for (trailers, expected) in cases {
        let wire = format!("2\r\nhi\r\n0\r\n{trailers}").into_bytes();
        let mut body = ChunkedBody::new(&wire[..]).allow_trailers();
        assert_eq!(err_of(body.read_all()), expected, "{trailers:?}");
        assert_eq!(body.trailers(), None);
        let mut r = Reader::new(&wire[..]);
        let mut body = ChunkedBody::from_source(&mut r).allow_trailers();
        assert_eq!(err_of(body.read_all()), expected, "{trailers:?}");
    }
}

#[test]
fn trailer_limits_are_exact() {
    // MAX_TRAILERS lines: fine.
    let lines: String = (0..MAX_TRAILERS).map(|i| format!("x-{i}: v\r\n")).collect();
    let wire = format!("0\r\n{lines}\r\n");
    let mut body = ChunkedBody::new(wire.as_bytes()).allow_trailers();
    body.read_all().unwrap();
    assert_eq!(body.trailers().unwrap().len(), MAX_TRAILERS);
    // A section of exactly MAX_TRAILER_SECTION bytes (the final empty
    // line included), then one byte more.
    for (extra, ok) in [(0, true), (1, false)] {
        let fill = MAX_TRAILER_SECTION - "x: \r\n\r\n".len() + extra;
        let wire = format!("0\r\nx: {}\r\n\r\n", "v".repeat(fill));
        for via_reader in [false, true] {
            let mut r = Reader::new(wire.as_bytes());
            let mut body = if via_reader {
                ChunkedBody::from_source(&mut r).allow_trailers()
            } else {
                ChunkedBody::new(wire.as_bytes()).allow_trailers()
            };
            let result = body.read_all();
            assert_eq!(
                result.is_ok(),
                ok,
                "extra {extra}, reader {via_reader}: {result:?}"
            );
            if ok {
                assert_eq!(body.trailers().unwrap().get("x").unwrap().len(), fill);
            } else {
                assert_eq!(
                    result.unwrap_err().to_string(),
                    "trailer section larger than 32768 bytes"
                );
            }
        }
    }
    // Many short lines that add up to more than the section allows.
    let lines: String = (0..90)
        .map(|i| format!("x-{i}: {}\r\n", "v".repeat(400)))
        .collect();
    let wire = format!("0\r\n{lines}\r\n");
    check_err(
        ChunkedBody::new(wire.as_bytes())
            .allow_trailers()
            .read_all(),
        "trailer section larger than 32768 bytes",
    );
}

#[test]
fn a_chunked_body_written_again_drops_its_trailers() {
    let wire = b"2;a=b\r\nhi\r\n0;end=1\r\nx-checksum: abc\r\n\r\nNEXT";
    let mut src = &wire[..];
    let mut body = ChunkedBody::new(&mut src).allow_trailers();
    let mut out = Vec::new();
    body.write_to(&mut out).unwrap();
    assert_eq!(out, b"2;a=b\r\nhi\r\n0;end=1\r\n\r\n");
    assert_eq!(body.trailers().unwrap().get("x-checksum"), Some("abc"));
    drop(body);
    assert_eq!(src, b"NEXT");
    // As an Outgoing too (a proxy forwarding it).
    let inc = Incoming::Chunked(ChunkedBody::new(&wire[..]).allow_trailers());
    let mut out = Vec::new();
    Outgoing::from(inc).write_to(&mut out).unwrap();
    assert_eq!(out, b"2;a=b\r\nhi\r\n0;end=1\r\n\r\n");
}
