//! Every limit at N (accepted) and N + 1 (refused).

use degu_core::{
    ChunkedBody, Framing, Headers, MAX_CHUNK_LINE, MAX_CHUNK_SIZE, MAX_HEADERS, MAX_PREAMBLE,
    Reader, check_header, parse_chunk_line, parse_request, write_chunk,
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

#[test]
fn twenty_headers() {
    assert_eq!(MAX_HEADERS, 20);
    let n = request(with_headers(20).as_bytes(), |p| p.headers.len());
    assert_eq!(n, Ok(20));
    let n = response(
        with_headers(20)
            .replace("GET / HTTP/1.1", "HTTP/1.1 200 OK")
            .as_bytes(),
        |p| p.headers.len(),
    );
    assert_eq!(n, Ok(20));
}

#[test]
fn twenty_one_headers() {
    check_request_err(&with_headers(21), "more than 20 headers");
    check_response_err(
        &with_headers(21).replace("GET / HTTP/1.1", "HTTP/1.1 200 OK"),
        "more than 20 headers",
    );
    let mut h = Headers::new();
    for i in 0..21 {
        h.insert(format!("h{i}"), "v").unwrap();
    }
    check_err(h.write_to(&mut Vec::new()), "more than 20 headers");
    h.remove("h0");
    assert!(h.write_to(&mut Vec::new()).is_ok());
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
