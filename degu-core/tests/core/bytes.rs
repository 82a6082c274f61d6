//! Every byte value, in every region of a preamble, against the region's
//! set written out in `util` (independently of the byte tables in
//! `degu-core/src/tables.rs`): the exact accept/reject outcome, and for an
//! accepted byte, that it came through where it belongs.

use degu_core::{
    ChunkedBody, Framing, Headers, Method, check_header, parse_chunk_line, write_chunk,
};

use crate::util::*;

#[test]
fn the_sets_are_what_they_say() {
    // VCHAR: the 94 visible bytes, each once, in order.
    assert_eq!(VCHAR.len(), 94);
    assert!(VCHAR.as_bytes().windows(2).all(|w| w[1] == w[0] + 1));
    assert_eq!((VCHAR.as_bytes()[0], VCHAR.as_bytes()[93]), (b'!', b'~'));
    let count = |s: Set| s.iter().filter(|&&b| b).count();
    assert_eq!(count(value()), 96);
    assert_eq!(count(reason()), 96);
    // 26 + 26 + 10 + `-` + `+.:_~` + `!$&'()*,;=@` + `%`.
    assert_eq!(count(path()), 26 + 26 + 10 + 1 + 5 + 11 + 1);
    assert_eq!(count(query()), count(path()) + 9);
    // What a path never holds raw: the separators, space, and the bytes
    // RFC 3986 leaves out.
    for b in " \"#/<>?[\\]^`{|}\t\x7f".bytes() {
        assert!(!path()[b as usize], "{:?}", b as char);
    }
    for b in " \"#<>\\\t\x7f".bytes() {
        assert!(!query()[b as usize], "{:?}", b as char);
    }
}

#[test]
fn method_is_exact() {
    for method in ["GET", "HEAD", "PUT", "POST", "DELETE", "PATCH", "OPTIONS"] {
        for at in 0..method.len() {
            let mut allowed = [false; 256];
            allowed[method.as_bytes()[at] as usize] = true;
            check_every_byte(&format!("method {method} byte {at}"), &allowed, |b| {
                let mut line = method.as_bytes().to_vec();
                line[at] = b;
                line.extend_from_slice(b" / HTTP/1.1");
                request(&line, |p| assert_eq!(p.method.as_str(), method)).is_ok()
            });
        }
        assert_eq!(method.parse::<Method>().unwrap().as_str(), method);
        assert!(method.to_lowercase().parse::<Method>().is_err());
    }
    for other in [
        "TRACE", "CONNECT", "get", "Get", "patch", "Options", "GET\0", "GETS", "PUSH", "OPTION",
    ] {
        assert_eq!(
            request(format!("{other} / HTTP/1.1").as_bytes(), |_| ()),
            Err(format!(
                "bad method: \"{}\"",
                other.as_bytes().escape_ascii()
            )),
        );
    }
}

/// A path byte under test goes where the `@` is: followed by `41`, so
/// that `%` makes the escape `%41` (an `A`) and is accepted too.
const PATH_AT: &str = "/x@41y";

/// The path bytes and the two URI separators, which split the URI instead.
fn path_or_separator() -> Set {
    let mut allowed = path();
    allowed[b'/' as usize] = true;
    allowed[b'?' as usize] = true;
    allowed
}

#[test]
fn path_component() {
    check_every_byte("path component", &path_or_separator(), |b| {
        request(&with_byte(&format!("GET {PATH_AT} HTTP/1.1"), b), |p| {
            let comps: Vec<&str> = p.path_components().collect();
            match b {
                b'/' => assert_eq!((comps, p.query), (vec!["x", "41y"], None)),
                b'?' => assert_eq!((comps, p.query), (vec!["x"], Some("41y"))),
                _ => {
                    assert_eq!(comps, [format!("x{}41y", b as char)]);
                    assert_eq!(p.query, None);
                    // Decoded: the escape `%41` is an `A`.
                    let mut decoded = String::new();
                    degu_core::decode_component(comps[0], &mut decoded);
                    let expected = match b {
                        b'%' => "xAy".to_owned(),
                        _ => format!("x{}41y", b as char),
                    };
                    assert_eq!(decoded, expected);
                }
            }
            assert_eq!(p.uri.as_bytes(), &with_byte(PATH_AT, b)[..]);
        })
        .is_ok()
    });
}

#[test]
fn path_component_through_parse_uri() {
    check_every_byte("parse_uri path", &path_or_separator(), |b| {
        degu_core::parse_uri(&with_byte(PATH_AT, b)).is_ok()
    });
    check_every_byte("parse_uri query", &query(), |b| {
        degu_core::parse_uri(&with_byte("/x?y@z", b)).is_ok()
    });
}

#[test]
fn query_bytes() {
    check_every_byte("query", &query(), |b| {
        request(&with_byte("GET /x?y@z HTTP/1.1", b), |p| {
            assert_eq!(p.path, "/x");
            assert_eq!(p.query.unwrap().as_bytes(), &with_byte("y@z", b)[..]);
        })
        .is_ok()
    });
}

#[test]
fn whole_uri_is_path_and_query() {
    // Every path byte may be in a query too; a URI byte is one that is
    // accepted in the path or in the query.
    for b in 0..=255usize {
        assert!(!path()[b] || query()[b], "{:?}", b as u8 as char);
    }
    check_every_byte("uri", &uri(), |b| {
        degu_core::parse_uri(&with_byte(PATH_AT, b)).is_ok()
            || degu_core::parse_uri(&with_byte("/x?y@z", b)).is_ok()
    });
}

/// The name bytes, and `:`, which ends a name early (`X-:y: v` is the
/// header `x-` with the value `y: v`).
fn name_or_colon() -> Set {
    let mut allowed = name_in();
    allowed[b':' as usize] = true;
    allowed
}

#[test]
fn incoming_header_name() {
    check_every_byte("incoming header name", &name_or_colon(), |b| {
        let input = with_byte("GET / HTTP/1.1\r\nX-@y: v", b);
        let mut buf = input.clone();
        let Ok(p) = degu_core::parse_request(&mut buf) else {
            return false;
        };
        let lower = format!("x-{}y", (b as char).to_ascii_lowercase());
        let expected_pair = match b {
            b':' => ("x-", "y: v"),
            _ => (lower.as_str(), "v"),
        };
        assert_eq!(p.headers.iter().collect::<Vec<_>>(), [expected_pair]);
        // Lowercased in place, and nothing else changed.
        let mut expected = input;
        let name = "GET / HTTP/1.1\r\n".len().."GET / HTTP/1.1\r\nX-@y".len();
        expected[name].make_ascii_lowercase();
        assert_eq!(buf, expected);
        true
    });
}

#[test]
fn uppercase_names_are_lowercased_values_untouched() {
    let mut buf =
        b"PUT /A HTTP/1.1\r\nCONTENT-LENGTH: 5\r\nX-Mixed-CASE: AbC\r\nHOST: Example.COM".to_vec();
    let p = degu_core::parse_request(&mut buf).unwrap();
    assert_eq!(
        pairs(&p.headers),
        [
            ("content-length".into(), "5".into()),
            ("x-mixed-case".into(), "AbC".into()),
            ("host".into(), "Example.COM".into()),
        ]
    );
    assert_eq!(p.typed.framing, Framing::Length(5));
    assert_eq!(p.uri, "/A");
}

/// A header after the one under test, long enough that the byte under
/// test is scanned in a block of sixteen as well as one by one.
const LONG_TAIL: &str = "\r\nx-long-header-name-here: and-a-long-value-to-follow";

#[test]
fn header_value() {
    for tail in ["\r\ny: z", LONG_TAIL] {
        check_every_byte("header value", &value(), |b| {
            let input = with_byte(&format!("GET / HTTP/1.1\r\nx: a@b{tail}"), b);
            request(&input, |p| {
                let v = with_byte("a@b", b);
                assert_eq!(p.headers.get("x").unwrap().as_bytes(), &v[..]);
                assert_eq!(p.headers.len(), 2);
            })
            .is_ok()
        });
    }
}

#[test]
fn incoming_header_name_followed_by_more() {
    check_every_byte("incoming header name", &name_or_colon(), |b| {
        let input = with_byte(&format!("GET / HTTP/1.1\r\nX-@y: v{LONG_TAIL}"), b);
        request(&input, |p| {
            let lower = format!("x-{}y", (b as char).to_ascii_lowercase());
            let expected = match b {
                b':' => ("x-", "y: v"),
                _ => (lower.as_str(), "v"),
            };
            assert_eq!(p.headers.iter().next(), Some(expected));
            assert_eq!(p.headers.len(), 2);
        })
        .is_ok()
    });
}

#[test]
fn header_value_last_byte_of_the_preamble() {
    // At the very end of the buffer, where the fast scanners hand over. A
    // space or tab there is optional whitespace, stripped from the value.
    for len in 1..40 {
        check_every_byte(&format!("value of {len} bytes"), &value(), |b| {
            let mut input = b"HTTP/1.1 200 OK\r\nx: ".to_vec();
            input.extend(std::iter::repeat_n(b'v', len - 1));
            input.push(b);
            response(&input, |p| {
                let v = p.headers.get("x").unwrap();
                match b {
                    b' ' | b'\t' => assert_eq!(v, "v".repeat(len - 1)),
                    _ => assert_eq!(v.as_bytes(), &input[input.len() - len..]),
                }
            })
            .is_ok()
        });
    }
}

#[test]
fn header_value_every_position_in_a_long_value() {
    // Bytes at every offset of a value longer than any block size.
    for at in 0..70 {
        for b in [0u8, 1, b'\n', b'\r', 0x1b, 0x1f, 0x7f, 0x80, 0xc3, 0xff] {
            let mut input = b"HTTP/1.1 200 OK\r\nx: ".to_vec();
            let start = input.len();
            input.extend(std::iter::repeat_n(b'v', 70));
            input[start + at] = b;
            input.extend_from_slice(b"\r\ny: z");
            assert!(response(&input, |_| ()).is_err(), "{b:?} at {at}");
        }
        for b in [
            b' ', b'\t', b'~', b'z', b'"', b']', b'[', b'%', b'?', b'!', b'#', b'$', b'@', b'\\',
            b'^', b'`', b'{', b'|', b'}', b':',
        ] {
            let mut input = b"HTTP/1.1 200 OK\r\nx: ".to_vec();
            let start = input.len();
            input.extend(std::iter::repeat_n(b'v', 70));
            input[start + at] = b;
            let mut expected = input[start..].to_vec();
            if matches!(b, b' ' | b'\t') && (at == 0 || at == 69) {
                expected.retain(|&c| c == b'v'); // optional whitespace
            }
            input.extend_from_slice(b"\r\ny: z");
            assert_eq!(
                response(&input, |p| (
                    p.headers.len(),
                    p.headers.get("x").map(str::to_owned)
                )),
                Ok((2, Some(String::from_utf8(expected).unwrap()))),
                "{b:?} at {at}"
            );
        }
    }
}

#[test]
fn reason_phrase() {
    check_every_byte("reason", &reason(), |b| {
        response(&with_byte("HTTP/1.1 200 O@K", b), |p| {
            assert_eq!(p.reason.as_bytes(), &with_byte("O@K", b)[..]);
        })
        .is_ok()
    });
    check_every_byte("reason, then a header", &reason(), |b| {
        response(&with_byte("HTTP/1.1 404 Not@Found\r\nx: y", b), |p| {
            assert_eq!(p.headers.get("x"), Some("y"));
        })
        .is_ok()
    });
}

#[test]
fn status_digits() {
    check_every_byte("status, first digit", &set(&["12345"]), |b| {
        response(&with_byte("HTTP/1.1 @04 X", b), |p| {
            assert_eq!(p.status, u16::from(b - b'0') * 100 + 4);
        })
        .is_ok()
    });
    for template in ["HTTP/1.1 2@4 X", "HTTP/1.1 20@ X"] {
        check_every_byte(template, &digit(), |b| {
            response(&with_byte(template, b), |_| ()).is_ok()
        });
    }
}

#[test]
fn chunk_extension_key() {
    check_every_byte("chunk-extension key", &ext_key(), |b| {
        parse_chunk_line(&with_byte("5;k@y=v", b))
            .map(|c| assert_eq!(c.ext.unwrap().0.as_bytes(), &with_byte("k@y", b)[..]))
            .is_ok()
    });
    check_every_byte("chunk-extension key, in a body", &ext_key(), |b| {
        let mut wire = with_byte("5;k@y=v\r\nhello\r\n0\r\n\r\n", b);
        chunked_ok(&mut wire)
    });
}

#[test]
fn chunk_extension_value() {
    check_every_byte("chunk-extension value", &ext_value(), |b| {
        parse_chunk_line(&with_byte("5;k=v@w", b))
            .map(|c| assert_eq!(c.ext.unwrap().1.as_bytes(), &with_byte("v@w", b)[..]))
            .is_ok()
    });
    check_every_byte("chunk-extension value, in a body", &ext_value(), |b| {
        let mut wire = with_byte("5;k=v@w\r\nhello\r\n0\r\n\r\n", b);
        chunked_ok(&mut wire)
    });
}

/// Reads a whole chunked body from `wire`, through a plain reader and
/// through a [`degu_core::Reader`]; both must agree.
fn chunked_ok(wire: &mut [u8]) -> bool {
    let plain = ChunkedBody::new(&wire[..]).read_all();
    let mut reader = degu_core::Reader::new(&wire[..]);
    let buffered = ChunkedBody::from_source(&mut reader).read_all();
    assert_eq!(plain.is_ok(), buffered.is_ok(), "{:?}", wire.escape_ascii());
    plain.is_ok()
}

#[test]
fn content_length_digits() {
    check_every_byte("content-length", &digit(), |b| {
        request(
            &with_byte("PUT / HTTP/1.1\r\nContent-Length: 1@2", b),
            |p| {
                let n = u64::from(b - b'0');
                assert_eq!(p.typed.framing, Framing::Length(100 + n * 10 + 2));
            },
        )
        .is_ok()
    });
    check_every_byte("content-length, outgoing", &digit(), |b| {
        let v = String::from_utf8_lossy(&with_byte("1@2", b)).into_owned();
        check_header("content-length", &v).is_ok()
    });
}

#[test]
fn chunk_size_digits() {
    check_every_byte("chunk size", &hex(), |b| {
        parse_chunk_line(&with_byte("1@", b))
            .map(|c| {
                let d = (b as char).to_digit(16).unwrap();
                assert_eq!(c.size, u64::from(16 + d));
            })
            .is_ok()
    });
    check_every_byte("chunk size, in a body", &hex(), |b| {
        let mut wire = with_byte("@\r\n", b);
        let size = (b as char).to_digit(16).unwrap_or(0) as usize;
        wire.extend(std::iter::repeat_n(b'x', size));
        wire.extend_from_slice(b"\r\n0\r\n\r\n");
        // ("0" is the final chunk at once; the rest is left unread.)
        chunked_ok(&mut wire)
    });
}

/// The byte as a `char`'s UTF-8 (bytes from 0x80 become two bytes, which
/// a `String` needs anyway).
fn text(template: &str, b: u8) -> String {
    template.replace('@', &char::from(b).to_string())
}

#[test]
fn outgoing_header_name() {
    check_every_byte("outgoing header name", &name_out(), |b| {
        let name = text("x-@y", b);
        let ok = check_header(&name, "v").is_ok();
        assert_eq!(Headers::new().insert(name.clone(), "v").is_ok(), ok);
        assert_eq!(Headers::new().set(name.clone(), "v").is_ok(), ok);
        ok
    });
}

#[test]
fn outgoing_header_value() {
    check_every_byte("outgoing header value", &value(), |b| {
        let value = text("a@b", b);
        let ok = check_header("x", &value).is_ok();
        let mut h = Headers::new();
        assert_eq!(h.insert("x", value.clone()).is_ok(), ok);
        if ok {
            assert_eq!(h.get("x"), Some(value.as_str()));
        }
        ok
    });
}

#[test]
fn outgoing_chunk_extension() {
    check_every_byte("outgoing chunk-extension key", &ext_key(), |b| {
        write_chunk(&mut Vec::new(), Some((&text("k@", b), "v")), b"x").is_ok()
    });
    check_every_byte("outgoing chunk-extension value", &ext_value(), |b| {
        write_chunk(&mut Vec::new(), Some(("k", &text("v@", b))), b"x").is_ok()
    });
}

#[test]
fn outgoing_uri_and_reason() {
    check_every_byte("outgoing uri", &path_or_separator(), |b| {
        degu_core::write_request_preamble(
            &mut Vec::new(),
            Method::Get,
            &text(PATH_AT, b),
            &Headers::new(),
        )
        .is_ok()
    });
    check_every_byte("outgoing query", &query(), |b| {
        degu_core::write_request_preamble(
            &mut Vec::new(),
            Method::Get,
            &text("/x?y@z", b),
            &Headers::new(),
        )
        .is_ok()
    });
    check_every_byte("outgoing reason", &reason(), |b| {
        degu_core::write_response_preamble(&mut Vec::new(), 200, &text("O@K", b), &Headers::new())
            .is_ok()
    });
}

/// Whether `StaticHeader::new` accepts the pair (it panics on a bad one
/// when called at run time).
fn static_ok(name: &str, value: &str) -> bool {
    let name: &'static str = Box::leak(name.to_owned().into_boxed_str());
    let value: &'static str = Box::leak(value.to_owned().into_boxed_str());
    std::panic::catch_unwind(|| degu_core::StaticHeader::new(name, value)).is_ok()
}

#[test]
fn static_headers_accept_exactly_what_insert_accepts() {
    let mut cases: Vec<(String, String)> = Vec::new();
    for b in 0u8..=127 {
        let c = char::from(b);
        cases.push((format!("x-{c}y"), "v".into()));
        cases.push(("x".into(), format!("a{c}b")));
    }
    cases.push(("x-é".into(), "v".into()));
    cases.push(("x".into(), "é".into()));
    cases.push((String::new(), "v".into()));
    // Empty values are fine; whitespace around a value is not (a receiver
    // would strip it).
    for v in [
        "", " ", "\t", " v", "v ", "\tv", "v\t", "a b", "a\tb", "a  b",
    ] {
        cases.push(("x".into(), v.into()));
    }
    for v in [
        "0",
        "7",
        "12",
        "00",
        "012",
        "-1",
        "1a",
        " 1",
        "9999999999999999",
        "10000000000000000",
    ] {
        cases.push(("content-length".into(), v.into()));
    }
    for v in ["chunked", "Chunked", "gzip", "chunked "] {
        cases.push(("transfer-encoding".into(), v.into()));
    }
    // StaticHeader::new panics on a bad pair: keep those panics quiet.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let results: Vec<_> = cases
        .iter()
        .map(|(n, v)| (n, v, static_ok(n, v), check_header(n, v).is_ok()))
        .collect();
    // `range` and `content-range` are never static headers, whatever
    // their values (Headers::insert takes them).
    let range = static_ok("range", "bytes=0-1");
    let content_range = static_ok("content-range", "bytes 0-1/2");
    std::panic::set_hook(hook);
    for (n, v, got, want) in results {
        assert_eq!(got, want, "{n:?}: {v:?}");
    }
    assert!(!range && !content_range);
    assert!(check_header("range", "bytes=0-1").is_ok());
    assert!(check_header("content-range", "bytes 0-1/2").is_ok());
}
