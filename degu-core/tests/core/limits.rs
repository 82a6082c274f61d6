//! Every limit at N (accepted) and N + 1 (refused).

use degu_core::{
    ChunkedBody, Framing, Headers, MAX_CHUNK_LINE, MAX_CHUNK_SIZE, MAX_HEADERS, MAX_PREAMBLE,
    MAX_RESPONSE_HEADERS, Range, Reader, check_header, parse_chunk_line, parse_request,
    parse_request_with, write_chunk,
};

use crate::util::*;

/// A request preamble of exactly `total` bytes, `\r\n\r\n` included.
fn request_of(total: usize) -> Vec<u8> {
    let mut wire = b"GET / HTTP/1.1\r\nx: ".to_vec();
    let pad = total - wire.len() - 4;
    wire.extend(std::iter::repeat_n(b'a', pad));
    wire.extend_from_slice(b"\r\n\r\n");
    assert_eq!(wire.len(), total);
    wire
}

#[test]
fn preamble_of_32768_bytes() {
    assert_eq!(MAX_PREAMBLE, 32768);
    let wire = request_of(MAX_PREAMBLE);
    for step in [usize::MAX, 4096, 1000, 7] {
        let mut r = Reader::new(trickle(&wire, step));
        let pre = r.read_preamble().unwrap().unwrap();
        assert_eq!(pre.len(), MAX_PREAMBLE - 4);
        let p = parse_request(pre).unwrap();
        assert_eq!(p.headers.get("x").unwrap().len(), MAX_PREAMBLE - 4 - 19);
        assert!(r.read_preamble().unwrap().is_none());
    }
}

#[test]
fn preamble_of_32769_bytes() {
    let wire = request_of(MAX_PREAMBLE + 1);
    for step in [usize::MAX, 4096, 7] {
        let mut r = Reader::new(trickle(&wire, step));
        check_err(r.read_preamble(), "preamble larger than 32768 bytes");
    }
}

#[test]
fn preamble_limit_after_a_pipelined_message() {
    // The second preamble starts mid-buffer: the limit is the same.
    let mut wire = b"GET /first HTTP/1.1\r\n\r\n".to_vec();
    wire.extend(request_of(MAX_PREAMBLE));
    wire.extend(b"GET /first HTTP/1.1\r\n\r\n");
    wire.extend(request_of(MAX_PREAMBLE + 1));
    let mut r = Reader::new(trickle(&wire, 5000));
    assert_eq!(r.read_request().unwrap().unwrap().uri, "/first");
    assert_eq!(r.read_preamble().unwrap().unwrap().len(), MAX_PREAMBLE - 4);
    assert_eq!(r.read_request().unwrap().unwrap().uri, "/first");
    check_err(r.read_preamble(), "preamble larger than 32768 bytes");
}

#[test]
fn parse_refuses_a_buffer_larger_than_a_preamble() {
    let wire = request_of(MAX_PREAMBLE);
    let mut buf = wire[..wire.len() - 4].to_vec();
    assert!(parse_request(&mut buf).is_ok());
    let wire = request_of(MAX_PREAMBLE + 1);
    let mut buf = wire[..wire.len() - 4].to_vec();
    check_err(parse_request(&mut buf), "preamble larger than 32768 bytes");
}

fn with_headers(n: usize) -> String {
    let mut s = String::from("GET / HTTP/1.1");
    for i in 0..n {
        s.push_str(&format!("\r\nheader-{i}: {i}"));
    }
    s
}

fn response_with_headers(n: usize) -> String {
    with_headers(n).replace("GET / HTTP/1.1", "HTTP/1.1 200 OK")
}

/// The pairs [`with_headers`] sends, as parsed.
fn expected_pairs(n: usize) -> Vec<(String, String)> {
    (0..n)
        .map(|i| (format!("header-{i}"), i.to_string()))
        .collect()
}

#[test]
fn sixty_four_request_headers() {
    assert_eq!(MAX_HEADERS, 64);
    let got = request(with_headers(64).as_bytes(), |p| {
        (p.headers.len(), pairs(&p.headers))
    });
    assert_eq!(got, Ok((64, expected_pairs(64))));
}

#[test]
fn sixty_five_request_headers() {
    check_request_err(&with_headers(65), "more than 64 headers");
    // The limit counts headers, not lines: the 65th is refused even when
    // it is well formed and the others are short.
    let mut input = with_headers(64);
    input.push_str("\r\nx:");
    check_request_err(&input, "more than 64 headers");
}

#[test]
fn a_request_header_limit_of_the_callers_choice() {
    // Below, at and above the 20 headers kept inline, and above 255 (the
    // count does not wrap).
    for max in [0, 1, 19, 20, 21, 64, 65, 100, 255, 256, 300] {
        let mut buf = with_headers(max).into_bytes();
        let p = parse_request_with(&mut buf, max).unwrap();
        assert_eq!(p.headers.len(), max);
        assert_eq!(p.headers.is_empty(), max == 0);
        assert_eq!(pairs(&p.headers), expected_pairs(max));
        if max > 0 {
            let last = format!("header-{}", max - 1);
            assert_eq!(p.headers.get(&last), Some(&*(max - 1).to_string()));
        }
        let mut buf = with_headers(max + 1).into_bytes();
        check_err(
            parse_request_with(&mut buf, max),
            &format!("more than {max} headers"),
        );
    }
}

#[test]
fn one_hundred_response_headers() {
    assert_eq!(MAX_RESPONSE_HEADERS, 100);
    let got = response(response_with_headers(100).as_bytes(), |p| {
        (p.headers.len(), pairs(&p.headers))
    });
    assert_eq!(got, Ok((100, expected_pairs(100))));
    check_response_err(&response_with_headers(101), "more than 100 headers");
}

#[test]
fn one_hundred_outgoing_headers() {
    let mut h = Headers::new();
    for i in 0..101 {
        h.insert(format!("h{i}"), "v").unwrap();
    }
    check_err(h.write_to(&mut Vec::new()), "more than 100 headers");
    h.remove("h0");
    let mut out = Vec::new();
    h.write_to(&mut out).unwrap();
    assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 100);
}

#[test]
fn every_header_count_up_to_the_limit() {
    // The first 20 headers are kept inline, the rest found again in the
    // preamble: both halves, and the seam, read alike.
    for n in 0..=64 {
        let mut buf = with_headers(n).into_bytes();
        let p = parse_request(&mut buf).unwrap();
        assert_eq!(p.headers.len(), n);
        assert_eq!(pairs(&p.headers), expected_pairs(n), "{n} headers");
        for i in 0..n {
            let name = format!("header-{i}");
            assert_eq!(p.headers.get(&name), Some(&*i.to_string()), "{name} of {n}");
            let all: Vec<&str> = p.headers.get_all(&name).collect();
            assert_eq!(all, [i.to_string()], "{name} of {n}");
        }
        assert_eq!(p.headers.get(&format!("header-{n}")), None);
        assert_eq!(p.headers.get("header"), None);
        assert_eq!(p.headers.get_all("header-").count(), 0);
        // The same headers copied into owned ones.
        let owned = Headers::from_raw(&p.headers);
        let owned: Vec<(String, String)> = owned
            .iter()
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
            .collect();
        assert_eq!(owned, expected_pairs(n));
    }
}

#[test]
fn late_headers_are_read_like_early_ones() {
    // Header 40 (past the inline ones) with optional whitespace, an empty
    // value, a value with a colon, and typed headers past the seam.
    let mut input = String::from("PUT /late HTTP/1.1");
    for i in 0..39 {
        input.push_str(&format!("\r\nX-{i}: {i}"));
    }
    input.push_str("\r\nX-Fortieth:\t forty \t");
    input.push_str("\r\nX-Empty:");
    input.push_str("\r\nX-Blank: \t ");
    input.push_str("\r\nX-Colon: a:b: c");
    input.push_str("\r\nCONTENT-LENGTH:  7 ");
    input.push_str("\r\nRange: bytes=-5");
    let got = request(input.as_bytes(), |p| {
        let h = &p.headers;
        assert_eq!(h.len(), 45);
        assert_eq!(h.iter().nth(39), Some(("x-fortieth", "forty")));
        assert_eq!(h.get("x-fortieth"), Some("forty"));
        assert_eq!(h.get("x-empty"), Some(""));
        assert_eq!(h.get("x-blank"), Some(""));
        assert_eq!(h.get("x-colon"), Some("a:b: c"));
        assert_eq!(h.get("content-length"), Some("7"));
        assert_eq!(h.get("x-0"), Some("0"));
        assert_eq!(h.get("x-19"), Some("19"));
        assert_eq!(h.get("x-20"), Some("20"));
        assert_eq!(h.get("x-38"), Some("38"));
        assert_eq!(h.get("x-39"), None);
        assert_eq!(
            h.iter().skip(38).collect::<Vec<_>>(),
            [
                ("x-38", "38"),
                ("x-fortieth", "forty"),
                ("x-empty", ""),
                ("x-blank", ""),
                ("x-colon", "a:b: c"),
                ("content-length", "7"),
                ("range", "bytes=-5"),
            ]
        );
        (p.typed.framing, p.typed.range)
    });
    assert_eq!(got, Ok((Framing::Length(7), Some(Range::last(5).unwrap()))));
}

#[test]
fn duplicates_are_found_across_the_inline_seam() {
    // Header `second` repeats the name of header `first` (in another
    // case): refused wherever the two are, in a request.
    let spots = [0, 1, 18, 19, 20, 21, 22, 39, 40, 63];
    for &first in &spots {
        for &second in spots.iter().filter(|&&s| s > first) {
            let mut input = String::from("GET / HTTP/1.1");
            for i in 0..64 {
                if i == second {
                    input.push_str(&format!("\r\nHeader-{first}: again"));
                } else {
                    input.push_str(&format!("\r\nheader-{i}: {i}"));
                }
            }
            check_request_err(&input, &format!("duplicate header: \"header-{first}\""));
            // A response takes it, and keeps both, in order.
            let input = input.replace("GET / HTTP/1.1", "HTTP/1.1 200 OK");
            let got = response(input.as_bytes(), |p| {
                let name = format!("header-{first}");
                (
                    p.headers.len(),
                    p.headers.get(&name).map(str::to_owned),
                    p.headers
                        .get_all(&name)
                        .map(str::to_owned)
                        .collect::<Vec<_>>(),
                )
            });
            assert_eq!(
                got,
                Ok((
                    64,
                    Some(first.to_string()),
                    vec![first.to_string(), "again".into()]
                )),
                "{first} then {second}"
            );
        }
    }
}

#[test]
fn repeated_response_headers_on_both_sides_of_the_seam() {
    let mut input = String::from("HTTP/1.1 200 OK");
    for i in 0..100 {
        if i % 3 == 0 {
            input.push_str(&format!("\r\nSet-Cookie: c{i}=v"));
        } else {
            input.push_str(&format!("\r\nx-{i}: {i}"));
        }
    }
    let got = response(input.as_bytes(), |p| {
        assert_eq!(p.headers.len(), 100);
        assert_eq!(p.headers.get("set-cookie"), Some("c0=v"));
        assert_eq!(p.headers.get("x-98"), Some("98"));
        p.headers
            .get_all("set-cookie")
            .map(str::to_owned)
            .collect::<Vec<_>>()
    });
    let expected: Vec<String> = (0..100).step_by(3).map(|i| format!("c{i}=v")).collect();
    assert_eq!(got, Ok(expected));
}

#[test]
fn content_length_of_16_digits() {
    let n = request(b"PUT / HTTP/1.1\r\ncontent-length: 9999999999999999", |p| {
        p.typed.framing
    });
    assert_eq!(n, Ok(Framing::Length(9_999_999_999_999_999)));
    assert!(check_header("content-length", "1000000000000000").is_ok());
}

#[test]
fn content_length_of_17_digits() {
    check_request_err(
        "PUT / HTTP/1.1\r\ncontent-length: 10000000000000000",
        r#"bad content-length: "10000000000000000""#,
    );
    check_err(
        check_header("content-length", "10000000000000000"),
        r#"bad content-length: "10000000000000000""#,
    );
}

/// A chunk line of exactly `total` bytes, its `\r\n` included.
fn chunk_line(total: usize) -> Vec<u8> {
    let mut line = b"5;k=".to_vec();
    line.extend(std::iter::repeat_n(b'v', total - line.len() - 2));
    line.extend_from_slice(b"\r\n");
    line
}

#[test]
fn chunk_line_of_4096_bytes() {
    assert_eq!(MAX_CHUNK_LINE, 4096);
    let line = chunk_line(MAX_CHUNK_LINE);
    let c = parse_chunk_line(&line[..line.len() - 2]).unwrap();
    assert_eq!(c.ext.unwrap().1.len(), MAX_CHUNK_LINE - 6);
    let mut wire = line.clone();
    wire.extend_from_slice(b"hello\r\n0\r\n\r\n");
    assert_eq!(ChunkedBody::new(&wire[..]).read_all().unwrap(), b"hello");
    let mut r = Reader::new(&wire[..]);
    assert_eq!(r.read_chunk_line().unwrap().size, 5);
    let mut r = Reader::new(&wire[..]);
    assert_eq!(
        ChunkedBody::from_source(&mut r).read_all().unwrap(),
        b"hello"
    );
    // And the writer produces it.
    let mut out = Vec::new();
    let value = "v".repeat(MAX_CHUNK_LINE - 6);
    write_chunk(&mut out, Some(("k", &value)), b"hello").unwrap();
    assert_eq!(out, wire[..wire.len() - 5]);
}

#[test]
fn chunk_line_of_4097_bytes() {
    let line = chunk_line(MAX_CHUNK_LINE + 1);
    let msg = "chunk line longer than 4096 bytes";
    check_err(parse_chunk_line(&line[..line.len() - 2]), msg);
    let mut wire = line;
    wire.extend_from_slice(b"hello\r\n0\r\n\r\n");
    check_err(ChunkedBody::new(&wire[..]).read_all(), msg);
    check_err(Reader::new(&wire[..]).read_chunk_line(), msg);
    let mut r = Reader::new(&wire[..]);
    check_err(ChunkedBody::from_source(&mut r).read_all(), msg);
    let value = "v".repeat(MAX_CHUNK_LINE - 5);
    check_err(
        write_chunk(&mut Vec::new(), Some(("k", &value)), b"hello"),
        msg,
    );
}

#[test]
fn chunk_of_16_mib() {
    assert_eq!(MAX_CHUNK_SIZE, 16 * 1024 * 1024);
    assert_eq!(parse_chunk_line(b"1000000").unwrap().size, MAX_CHUNK_SIZE);
    let data = vec![7u8; MAX_CHUNK_SIZE as usize];
    let mut wire = Vec::new();
    write_chunk(&mut wire, None, &data).unwrap();
    write_chunk(&mut wire, None, b"").unwrap();
    assert!(wire.starts_with(b"1000000\r\n"));
    let mut body = ChunkedBody::new(&wire[..]);
    assert_eq!(body.read_chunk().unwrap().unwrap().data.len(), data.len());
    assert!(body.read_chunk().unwrap().unwrap().is_final());
}

#[test]
fn chunk_of_16_mib_and_1_byte() {
    let msg = "chunk of 16777217 bytes is larger than 16777216";
    check_err(parse_chunk_line(b"1000001"), msg);
    check_err(ChunkedBody::new(&b"1000001\r\n"[..]).read_chunk(), msg);
    let data = vec![7u8; MAX_CHUNK_SIZE as usize + 1];
    check_err(write_chunk(&mut Vec::new(), None, &data), msg);
}

#[test]
fn chunk_size_of_16_hex_digits_is_parsed_then_refused_by_size() {
    check_err(
        parse_chunk_line(b"ffffffffffffffff"),
        "chunk of 18446744073709551615 bytes is larger than 16777216",
    );
    check_err(
        parse_chunk_line(b"10000000000000000"),
        r#"bad chunk size: "10000000000000000""#,
    );
}
