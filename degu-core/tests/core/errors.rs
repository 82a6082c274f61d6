//! Every error path of the preamble and chunk-line parsers, with the exact
//! message (`Display`) each one gives.

use degu_core::{Error, Framing, Headers, Method, parse_chunk_line, parse_content_length};

use crate::util::*;

#[test]
fn request_line_errors() {
    for (input, expected) in [
        ("", r#"bad request line: """#),
        ("GET", r#"bad request line: "GET""#),
        ("GET /", r#"bad request line: "GET /""#),
        ("GET /\r\nx: y", r#"bad request line: "GET /""#),
        ("get / HTTP/1.1", r#"bad method: "get""#),
        ("TRACE / HTTP/1.1", r#"bad method: "TRACE""#),
        (
            "CONNECT example.com:443 HTTP/1.1",
            r#"bad method: "CONNECT""#,
        ),
        ("PRI * HTTP/2.0", r#"bad method: "PRI""#),
        ("OPTIONS * HTTP/1.1", r#"bad uri: "*""#),
        (" GET / HTTP/1.1", r#"bad method: """#),
        ("GET / HTTP/1.2", r#"bad protocol: "HTTP/1.2""#),
        ("GET / HTTP/2.0", r#"bad protocol: "HTTP/2.0""#),
        ("GET / HTTP/1.10", r#"bad protocol: "HTTP/1.10""#),
        ("GET / HTTP/1", r#"bad protocol: "HTTP/1""#),
        ("GET / http/1.1", r#"bad protocol: "http/1.1""#),
        ("GET / HTTP/1.1 ", r#"bad protocol: "HTTP/1.1 ""#),
        ("GET  / HTTP/1.1", r#"bad protocol: "/ HTTP/1.1""#),
        ("GET /a b HTTP/1.1", r#"bad protocol: "b HTTP/1.1""#),
        ("GET foo HTTP/1.1", r#"bad uri: "foo""#),
        ("GET //a HTTP/1.1", r#"bad uri: "//a""#),
        ("GET /a//b HTTP/1.1", r#"bad uri: "/a//b""#),
        ("GET /a?b#c HTTP/1.1", r#"bad uri: "/a?b#c""#),
        ("GET /a#b HTTP/1.1", r#"bad uri: "/a#b""#),
        ("GET /a?b\"c HTTP/1.1", r#"bad uri: "/a?b\"c""#),
        ("GET /a?<b> HTTP/1.1", r#"bad uri: "/a?<b>""#),
        ("GET /a?b\\c HTTP/1.1", r#"bad uri: "/a?b\\c""#),
        ("GET /a[1] HTTP/1.1", r#"bad uri: "/a[1]""#),
        ("GET /a%2 HTTP/1.1", r#"bad uri: "/a%2""#),
        ("GET /a%2F HTTP/1.1", r#"bad uri: "/a%2F""#),
        ("GET /. HTTP/1.1", r#"bad uri: "/.""#),
        ("GET /a/../b HTTP/1.1", r#"bad uri: "/a/../b""#),
        ("GET /%2e%2E/b HTTP/1.1", r#"bad uri: "/%2e%2E/b""#),
        ("GET /a\tb HTTP/1.1", r#"bad uri: "/a\tb""#),
        ("GET http://h/ HTTP/1.1", r#"bad uri: "http://h/""#),
        (
            "GET / HTTP/1.1\rx",
            r#"bad header line: "GET / HTTP/1.1\rx""#,
        ),
        ("GET / HTTP/1.1\n", r#"bad protocol: "HTTP/1.1\n""#),
    ] {
        check_request_err(input, expected);
    }
}

#[test]
fn header_line_errors() {
    // Refused in requests and responses alike.
    for (headers, expected) in [
        ("Host", r#"bad header line: "Host""#),
        ("Host x", r#"bad header line: "Host x""#),
        ("Host :x", r#"bad header name: "Host ""#),
        ("Host\t: x", r#"bad header name: "Host\t""#),
        ("\r\nHost: x", r#"bad header line: """#),
        ("Host: x\r\n\r\nHost: y", r#"bad header line: """#),
        // Bare CR, bare LF.
        ("Host: x\ry", r#"bad header line: "Host: x\ry""#),
        ("Host: x\r", r#"bad header line: "Host: x\r""#),
        ("Host: x\nFoo: y", r#"bad host value: "x\nFoo: y""#),
        ("Host: x\n", r#"bad host value: "x\n""#),
        // Obs-fold: a line that starts with a space or a tab.
        ("Host: x\r\n y", r#"bad header line: " y""#),
        ("Host: x\r\n\ty", r#"bad header line: "\ty""#),
        ("Host: x\r\n y: z", r#"bad header name: " y""#),
        (": x", r#"bad header name: """#),
        ("Ho st: x", r#"bad header name: "Ho st""#),
        ("Ho_st: x", r#"bad header name: "Ho_st""#),
        ("Ho\0st: x", r#"bad header name: "Ho\x00st""#),
        ("Host: a\0b", r#"bad host value: "a\x00b""#),
        ("Host: a\x01", r#"bad host value: "a\x01""#),
        ("Host: a\x7fb", r#"bad host value: "a\x7fb""#),
        ("Host: caf\u{e9}", r#"bad host value: "caf\xc3\xa9""#),
        ("X-Thing:\x0b", r#"bad x-thing value: "\x0b""#),
        ("Content-Length: 12a", r#"bad content-length: "12a""#),
        ("Content-Length: 012", r#"bad content-length: "012""#),
        ("Content-Length: +1", r#"bad content-length: "+1""#),
        ("Content-Length: -1", r#"bad content-length: "-1""#),
        ("Content-Length: 1 1", r#"bad content-length: "1 1""#),
        ("Content-Length: 1,1", r#"bad content-length: "1,1""#),
        ("Content-Length:", r#"bad content-length: """#),
        ("Content-Length:  ", r#"bad content-length: """#),
        (
            "Content-Length: 1\r\nContent-Length: 1",
            r#"duplicate header: "content-length""#,
        ),
        (
            "Content-Length: 1\r\ncontent-length: 2",
            r#"duplicate header: "content-length""#,
        ),
        (
            "Transfer-Encoding: gzip",
            r#"bad transfer-encoding: "gzip""#,
        ),
        (
            "Transfer-Encoding: Chunked",
            r#"bad transfer-encoding: "Chunked""#,
        ),
        (
            "Transfer-Encoding: chunked, gzip",
            r#"bad transfer-encoding: "chunked, gzip""#,
        ),
        (
            "Transfer-Encoding: gzip, chunked",
            r#"bad transfer-encoding: "gzip, chunked""#,
        ),
        ("Transfer-Encoding:", r#"bad transfer-encoding: """#),
        (
            "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked",
            r#"duplicate header: "transfer-encoding""#,
        ),
        (
            "Content-Length: 1\r\nTransfer-Encoding: chunked",
            "both content-length and transfer-encoding",
        ),
        (
            "Transfer-Encoding: chunked\r\nContent-Length: 1",
            "both content-length and transfer-encoding",
        ),
        (
            "Content-Range: bytes 0-9/5",
            r#"bad content-range: "bytes 0-9/5""#,
        ),
        (
            "Content-Range: bytes 0-9/50\r\nContent-Range: bytes 0-9/50",
            r#"duplicate header: "content-range""#,
        ),
        (
            "Content-Range: bytes */50\r\nContent-Range: bytes 0-9/50",
            r#"duplicate header: "content-range""#,
        ),
        (
            "Content-Range: bytes 0-9/50\r\nContent-Range: bytes */50",
            r#"duplicate header: "content-range""#,
        ),
    ] {
        check_request_err(&format!("PUT / HTTP/1.1\r\n{headers}"), expected);
        check_response_err(&format!("HTTP/1.1 200 OK\r\n{headers}"), expected);
    }
    // Refused in requests only: a response may repeat a header.
    for (headers, expected) in [
        ("Host: a\r\nhost: b", r#"duplicate header: "host""#),
        ("Host: a\r\nHOST: a", r#"duplicate header: "host""#),
        ("X-A: 1\r\nX-B: 2\r\nx-a: 3", r#"duplicate header: "x-a""#),
        (
            "Set-Cookie: a=1\r\nSet-Cookie: b=2",
            r#"duplicate header: "set-cookie""#,
        ),
        (
            "Range: bytes=0-1\r\nRange: bytes=0-1",
            r#"duplicate header: "range""#,
        ),
        ("X-Empty:\r\nx-empty:", r#"duplicate header: "x-empty""#),
    ] {
        check_request_err(&format!("PUT / HTTP/1.1\r\n{headers}"), expected);
        let n = response(format!("HTTP/1.1 200 OK\r\n{headers}").as_bytes(), |p| {
            p.headers.len()
        });
        assert_eq!(n, Ok(headers.matches("\r\n").count() + 1), "{headers:?}");
    }
}

#[test]
fn the_first_error_in_wire_order_is_reported() {
    check_request_err(
        "PUT / HTTP/1.1\r\nContent-Length: x\r\nBad Name: y",
        r#"bad content-length: "x""#,
    );
    check_request_err(
        "PUT / HTTP/1.1\r\nBad Name: y\r\nContent-Length: x",
        r#"bad header name: "Bad Name""#,
    );
    check_request_err("GET /a b\r\nBad Name: y", r#"bad protocol: "b""#);
}

#[test]
fn bodies_not_allowed() {
    for method in ["GET", "HEAD"] {
        for header in [
            "Content-Length: 0",
            "Content-Length: 5",
            "Transfer-Encoding: chunked",
        ] {
            check_request_err(
                &format!("{method} / HTTP/1.1\r\n{header}"),
                &format!("{method} request with a body"),
            );
        }
    }
    for method in ["PUT", "POST", "DELETE", "PATCH", "OPTIONS"] {
        for (header, framing) in [
            ("Content-Length: 0", Framing::Length(0)),
            ("Content-Length: 5", Framing::Length(5)),
            ("Transfer-Encoding: chunked", Framing::Chunked),
        ] {
            assert_eq!(
                request(format!("{method} / HTTP/1.1\r\n{header}").as_bytes(), |p| (
                    p.method.as_str(),
                    p.typed.framing
                )),
                Ok((method, framing))
            );
        }
        // HTTP/1.0 has no chunked framing: such a request is refused.
        check_request_err(
            &format!("{method} / HTTP/1.0\r\nTransfer-Encoding: chunked"),
            r#"bad transfer-encoding: "chunked" in an HTTP/1.0 request"#,
        );
        assert_eq!(
            request(
                format!("{method} / HTTP/1.0\r\nContent-Length: 5").as_bytes(),
                |p| p.typed.framing
            ),
            Ok(Framing::Length(5))
        );
    }
    // A GET or HEAD without framing has no body, in both versions.
    for line in [
        "GET / HTTP/1.0",
        "HEAD / HTTP/1.1",
        "GET / HTTP/1.1\r\nRange: bytes=0-1",
    ] {
        assert_eq!(
            request(line.as_bytes(), |p| p.typed.framing),
            Ok(Framing::None)
        );
    }
    check_request_err(
        "GET / HTTP/1.0\r\nTransfer-Encoding: chunked",
        "GET request with a body",
    );
}

#[test]
fn status_line_errors() {
    for (input, expected) in [
        ("", r#"bad status line: """#),
        ("HTTP/1.1", r#"bad status line: "HTTP/1.1""#),
        ("HTTP/1.1 20", r#"bad status line: "HTTP/1.1 20""#),
        ("HTTP/1.1 20\r\nx: y", r#"bad status line: "HTTP/1.1 20""#),
        ("HTTP/1.1 200\t", r#"bad status line: "HTTP/1.1 200\t""#),
        ("HTTP/1.1 200\tOK", r#"bad status line: "HTTP/1.1 200\tOK""#),
        ("HTTP/1.1 200OK", r#"bad status line: "HTTP/1.1 200OK""#),
        ("HTTP/1.2 200 OK", r#"bad protocol: "HTTP/1.2""#),
        ("HTTP/2 200 OK", r#"bad protocol: "HTTP/2""#),
        ("HTTP/1.1  200 OK", r#"bad status: " 20""#),
        ("http/1.1 200 OK", r#"bad protocol: "http/1.1""#),
        ("HTTP/1.1 600 OK", r#"bad status: "600""#),
        ("HTTP/1.1 099 OK", r#"bad status: "099""#),
        ("HTTP/1.1 2x0 OK", r#"bad status: "2x0""#),
        ("HTTP/1.1 2000 OK", r#"bad status line: "HTTP/1.1 2000 OK""#),
        ("HTTP/1.1 200 caf\u{e9}", r#"bad reason: "caf\xc3\xa9""#),
        ("HTTP/1.1 200 O\0K", r#"bad reason: "O\x00K""#),
        ("HTTP/1.1 200 O\x7fK", r#"bad reason: "O\x7fK""#),
        ("HTTP/1.1 200 OK\nx: y", r#"bad reason: "OK\nx: y""#),
        (
            "HTTP/1.1 200 OK\rx",
            r#"bad header line: "HTTP/1.1 200 OK\rx""#,
        ),
    ] {
        check_response_err(input, expected);
    }
}

#[test]
fn status_codes() {
    for status in [100, 101, 199, 200, 204, 206, 301, 404, 416, 500, 599] {
        assert_eq!(
            response(format!("HTTP/1.1 {status} Reason").as_bytes(), |p| p.status),
            Ok(status)
        );
    }
}

#[test]
fn chunk_line_errors() {
    for (line, expected) in [
        ("", r#"bad chunk size: """#),
        ("01", r#"bad chunk size: "01""#),
        ("00", r#"bad chunk size: "00""#),
        ("g", r#"bad chunk size: "g""#),
        ("-1", r#"bad chunk size: "-1""#),
        (" 5", r#"bad chunk size: " 5""#),
        ("5 ", r#"bad chunk size: "5 ""#),
        ("0x5", r#"bad chunk size: "0x5""#),
        ("1000001", "chunk of 16777217 bytes is larger than 16777216"),
        ("5;", r#"bad chunk extension: """#),
        ("5;k", r#"bad chunk extension: "k""#),
        ("5;=v", r#"bad chunk extension: "=v""#),
        ("5;k=", r#"bad chunk extension: "k=""#),
        ("5;k=v=w", r#"bad chunk extension: "k=v=w""#),
        ("5;k v=w", r#"bad chunk extension: "k v=w""#),
        ("5 ;k=v", r#"bad chunk size: "5 ""#),
    ] {
        check_err(parse_chunk_line(line.as_bytes()), expected);
    }
    // One extension only: a second one is refused, as its `=` is not a
    // value byte; `;` is one.
    check_err(
        parse_chunk_line(b"5;k=v;w=x"),
        r#"bad chunk extension: "k=v;w=x""#,
    );
    assert_eq!(
        parse_chunk_line(b"5;k=v;w").unwrap().ext,
        Some(("k", "v;w"))
    );
}

#[test]
fn chunk_lines_accepted() {
    for (line, size, ext) in [
        ("0", 0, None),
        ("5", 5, None),
        ("a", 10, None),
        ("A", 10, None),
        ("fF", 255, None),
        ("1a;i=0", 26, Some(("i", "0"))),
        ("5;Key-1=Value_(x)", 5, Some(("Key-1", "Value_(x)"))),
        ("0;done=yes", 0, Some(("done", "yes"))),
    ] {
        let c = parse_chunk_line(line.as_bytes()).unwrap();
        assert_eq!((c.size, c.ext), (size, ext), "{line}");
    }
}

#[test]
fn content_length_values() {
    for (v, n) in [
        ("0", 0),
        ("1", 1),
        ("10", 10),
        ("9999999999999999", 9_999_999_999_999_999),
    ] {
        assert_eq!(parse_content_length(v.as_bytes()).unwrap(), n);
    }
    for v in ["", "00", "01", "1.0", "1e3", "0x1", "１"] {
        check_err(
            parse_content_length(v.as_bytes()),
            &format!("bad content-length: \"{}\"", v.as_bytes().escape_ascii()),
        );
    }
}

#[test]
fn messages_of_the_other_variants() {
    for (e, expected) in [
        (
            Error::UnexpectedEof("preamble"),
            "connection closed in the middle of a preamble",
        ),
        (Error::PreambleTooLarge, "preamble larger than 32768 bytes"),
        (Error::TooManyHeaders(64), "more than 64 headers"),
        (
            Error::ContentLengthAndChunked,
            "both content-length and transfer-encoding",
        ),
        (
            Error::BodyNotAllowed(Method::Head),
            "HEAD request with a body",
        ),
        (Error::ChunkLineTooLong, "chunk line longer than 4096 bytes"),
        (
            Error::ChunkTooLarge(1 << 30),
            "chunk of 1073741824 bytes is larger than 16777216",
        ),
        (
            Error::BodyTooShort {
                expected: 5,
                received: 2,
            },
            "body too short: 2 of 5 bytes",
        ),
        (
            Error::BodyTooLong { expected: 3 },
            "body too long: more than 3 bytes",
        ),
        (
            Error::EmptyChunkNotLast,
            "empty chunk before the final chunk",
        ),
        (
            Error::MissingFinalChunk,
            "chunked body ended without a final chunk",
        ),
        (Error::BodyConsumed, "body already consumed"),
        (
            Error::BodyDetached,
            "body no longer readable from its connection",
        ),
        (Error::Closed, "connection is closed"),
        (
            Error::FramingMismatch("x".into()),
            "headers do not match body: x",
        ),
        (Error::Invalid("as said".into()), "as said"),
    ] {
        assert_eq!(e.to_string(), expected);
    }
}

#[test]
fn long_values_are_truncated_in_messages() {
    let long = "a".repeat(100);
    check_request_err(
        &format!("GET /{long}< HTTP/1.1"),
        &format!("bad uri: \"/{}\"...", "a".repeat(63)),
    );
    // A header's name is cut at 64 bytes too, in a bad value's message.
    for n in [63, 64, 65, 100] {
        let name = "x".repeat(n);
        let shown = if n > 64 {
            format!("{}...", "x".repeat(64))
        } else {
            name.clone()
        };
        let expected = format!("bad {shown} value: \"a\\x00\"");
        check_request_err(&format!("GET / HTTP/1.1\r\n{name}:a\0"), &expected);
        check_response_err(&format!("HTTP/1.1 200 OK\r\n{name}:a\0"), &expected);
        check_err(degu_core::check_header(&name, "a\0"), &expected);
        check_err(Headers::new().insert(name.clone(), "a\0"), &expected);
    }
}

#[test]
fn errors_travel_through_io_errors() {
    let e = std::io::Error::from(Error::BodyTooShort {
        expected: 5,
        received: 2,
    });
    assert_eq!(e.kind(), std::io::ErrorKind::UnexpectedEof);
    let back = Error::from(e);
    assert!(matches!(
        back,
        Error::BodyTooShort {
            expected: 5,
            received: 2
        }
    ));
    let e = std::io::Error::from(Error::BodyConsumed);
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidData);
    assert!(matches!(Error::from(e), Error::BodyConsumed));
    let io = std::io::Error::new(std::io::ErrorKind::TimedOut, "slow");
    let e = Error::from(io);
    assert!(e.is_timeout());
    assert_eq!(e.to_string(), "i/o error: slow");
    assert!(std::error::Error::source(&e).is_some());
}
