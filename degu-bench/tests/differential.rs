//! Differential check: the same request preambles fed to degu-core's
//! `parse_request` and to httparse, then a subset sent to a degu server
//! end to end.
//!
//! httparse is a syntax parser that follows RFC 9112 loosely and leaves
//! the semantics (methods, duplicate or conflicting framing headers) to its
//! caller; Degu follows RFC 9110/9112 where that costs nothing and stays
//! strict where strictness protects (framing, smuggling, limits: the byte
//! tables in `degu-core/src/tables.rs`). So the expected disagreements go
//! one way: httparse
//! accepts, Degu refuses. Each of them must be explained by one of the
//! intended strictnesses of [`STRICTNESS`], and the explanation is checked
//! on the bytes independently of Degu's error (a refusal whose error names
//! a rule the input does not break fails the test). A preamble Degu accepts
//! and httparse refuses must be listed in [`DEGU_LENIENT`] with a
//! justification; there are none today, and any would fail the test.

#![allow(
    unreachable_pub,
    reason = "a test or bench binary: `pub` marks what its modules share"
)]

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::Duration;

use degu_core::Error;

/// The intended strictnesses: (rule, why Degu refuses what httparse takes).
const STRICTNESS: &[(&str, &str)] = &[
    (
        "method",
        "only GET HEAD PUT POST DELETE PATCH OPTIONS, case-sensitive (TRACE, CONNECT and the rest are 501); httparse takes any token",
    ),
    (
        "uri",
        "origin-form only, each byte in the path/query tables, no empty inner path component, no `.` or `..` component, `%XX` escapes that decode to neither `/`, NUL nor a control byte, into valid UTF-8; httparse takes any visible byte and any form",
    ),
    (
        "header-name",
        "names are [-0-9A-Za-z] only; httparse takes any tchar (_ . ! # ...)",
    ),
    (
        "header-value",
        "values are RFC 9110 field content without obs-text (no byte above 0x7e); httparse takes obs-text",
    ),
    (
        "line-ending",
        "CRLF only; httparse also takes bare LF line endings",
    ),
    ("too-many-headers", "at most 64 headers by default"),
    (
        "duplicate",
        "a repeated header is refused (no list merging, no request smuggling through duplicates); httparse leaves it to the caller",
    ),
    (
        "content-length",
        "1 to 16 decimal digits, nothing else; httparse does not interpret it",
    ),
    (
        "transfer-encoding",
        "exactly `chunked`, and never in an HTTP/1.0 request (RFC 9112 §6.1); httparse does not interpret it",
    ),
    (
        "both-framings",
        "content-length and transfer-encoding together are refused (RFC 9112 §6.1 allows refusing; it is a smuggling vector)",
    ),
    ("body-not-allowed", "GET and HEAD carry no body"),
    (
        "content-range",
        "a content-range must be `bytes START-END/TOTAL` or `bytes */TOTAL`",
    ),
    ("too-large", "the preamble is at most 32 KiB"),
];

/// Preambles Degu accepts and httparse refuses, with the reason Degu is
/// right: none.
const DEGU_LENIENT: &[(&[u8], &str)] = &[];

/// What httparse says of a whole preamble (with its terminator).
#[derive(Debug, Clone, PartialEq)]
enum Hp {
    /// Accepted, consuming exactly the input.
    Ok {
        method: String,
        path: String,
        version: u8,
        headers: Vec<(String, Vec<u8>)>,
    },
    /// Accepted, but ended earlier (bare LF terminator inside).
    Shorter,
    /// Refused or incomplete.
    Refused,
}

fn httparse(input: &[u8]) -> Hp {
    let mut headers = [httparse::EMPTY_HEADER; 128];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(input) {
        Ok(httparse::Status::Complete(n)) if n == input.len() => Hp::Ok {
            method: req.method.unwrap_or_default().to_owned(),
            path: req.path.unwrap_or_default().to_owned(),
            version: req.version.unwrap_or(9),
            headers: req
                .headers
                .iter()
                .map(|h| (h.name.to_owned(), h.value.to_vec()))
                .collect(),
        },
        Ok(httparse::Status::Complete(_)) => Hp::Shorter,
        _ => Hp::Refused,
    }
}

/// Degu on the same preamble (without its terminator, as its reader
/// hands it over).
fn degu(input: &[u8]) -> Result<(), Error> {
    let mut buf = input[..input.len() - 4].to_vec();
    degu_core::parse_request(&mut buf).map(drop)
}

fn in_table(b: &[u8], extra: &[u8]) -> bool {
    b.iter()
        .all(|c| c.is_ascii_alphanumeric() || *c == b'-' || extra.contains(c))
}

/// Which intended strictness the input breaks, checked on httparse's view
/// of it and on the raw bytes, independently of Degu's error. `None`: it
/// breaks none of them.
fn strictness(input: &[u8], hp: &Hp) -> Option<&'static str> {
    if input.len() > degu_core::MAX_PREAMBLE {
        return Some("too-large");
    }
    let Hp::Ok {
        method,
        path,
        version,
        headers,
    } = hp
    else {
        return Some("line-ending");
    };
    // Bare LF anywhere: httparse takes it as a line ending.
    let body = &input[..input.len() - 4];
    if body
        .iter()
        .enumerate()
        .any(|(i, &c)| c == b'\n' && (i == 0 || body[i - 1] != b'\r'))
        || input.ends_with(b"\n\n") && !input.ends_with(b"\r\n\r\n")
    {
        return Some("line-ending");
    }
    if !["GET", "HEAD", "PUT", "POST", "DELETE", "PATCH", "OPTIONS"].contains(&method.as_str()) {
        return Some("method");
    }
    if !uri_ok(path.as_bytes()) {
        return Some("uri");
    }
    if headers.len() > degu_core::MAX_HEADERS {
        return Some("too-many-headers");
    }
    for (name, _) in headers {
        if name.is_empty() || !in_table(name.as_bytes(), b"") {
            return Some("header-name");
        }
    }
    // The raw lines: `name:` then the value, the optional whitespace
    // around it stripped (as httparse does too).
    let mut raw: Vec<(String, &[u8])> = Vec::new();
    for line in body.split(|&c| c == b'\n').skip(1) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let colon = line.iter().position(|&c| c == b':')?;
        let (n, v) = (&line[..colon], &line[colon + 1..]);
        if !v.iter().all(|&c| (b' '..=b'~').contains(&c) || c == b'\t') {
            return Some("header-value");
        }
        let v = v.trim_ascii();
        raw.push((String::from_utf8_lossy(n).to_ascii_lowercase(), v));
    }
    for (i, (n, _)) in raw.iter().enumerate() {
        if raw[..i].iter().any(|(m, _)| m == n) {
            return Some("duplicate");
        }
    }
    let get = |name: &str| raw.iter().find(|(n, _)| n == name).map(|(_, v)| *v);
    let cl = get("content-length");
    let te = get("transfer-encoding");
    if let Some(v) = cl
        && (v.is_empty() || v.len() > 16 || !v.iter().all(u8::is_ascii_digit))
    {
        return Some("content-length");
    }
    if let Some(v) = te
        && (v != b"chunked" || *version == 0)
    {
        return Some("transfer-encoding");
    }
    if cl.is_some() && te.is_some() {
        return Some("both-framings");
    }
    if ["GET", "HEAD"].contains(&method.as_str()) && (cl.is_some() || te.is_some()) {
        return Some("body-not-allowed");
    }
    if let Some(v) = get("content-range")
        && degu_core::ContentRange::parse_header(v).is_err()
    {
        return Some("content-range");
    }
    None
}

/// The URI rules, written out: a `/`-rooted path of components in the
/// path table (no empty one but the last, none `.` or `..`, each `%`
/// starting an escape of two hex digits that decodes to neither `/`, NUL
/// nor a control byte, the decoded component valid UTF-8 and not `.` or
/// `..`), then an optional `?query` in the query table.
fn uri_ok(uri: &[u8]) -> bool {
    let (path, query) = match uri.iter().position(|&c| c == b'?') {
        Some(q) => (&uri[..q], Some(&uri[q + 1..])),
        None => (uri, None),
    };
    if path.first() != Some(&b'/') {
        return false;
    }
    let comps: Vec<&[u8]> = path[1..].split(|&c| c == b'/').collect();
    let n = comps.len();
    let path_ok = comps.iter().enumerate().all(|(i, c)| {
        (!c.is_empty() || i + 1 == n) && in_table(c, b"+.:_~!$&'()*,;=@%") && component_ok(c)
    });
    path_ok && query.is_none_or(|q| in_table(q, b"+.:_~!$&'()*,;=@%/?[]{}|^`"))
}

/// A path component's escapes and what it decodes to.
fn component_ok(c: &[u8]) -> bool {
    let mut decoded = Vec::new();
    let mut i = 0;
    while i < c.len() {
        if c[i] == b'%' {
            let Some(hex) = c.get(i + 1..i + 3) else {
                return false;
            };
            let Ok(b) = u8::from_str_radix(std::str::from_utf8(hex).unwrap_or("x"), 16) else {
                return false;
            };
            if !hex.iter().all(u8::is_ascii_hexdigit) || b == b'/' || b < 0x20 || b == 0x7f {
                return false;
            }
            decoded.push(b);
            i += 3;
        } else {
            decoded.push(c[i]);
            i += 1;
        }
    }
    std::str::from_utf8(&decoded).is_ok() && decoded != b"." && decoded != b".."
}

/// The table of interesting preambles (each without its terminator).
fn table() -> Vec<Vec<u8>> {
    let mut t: Vec<Vec<u8>> = [
        // Accepted by both.
        &b"GET / HTTP/1.1"[..],
        b"HEAD / HTTP/1.1",
        b"DELETE /a/b/ HTTP/1.1",
        b"GET /foo/bar?x=1&y=%20 HTTP/1.1\r\nHost: example.com",
        b"GET /? HTTP/1.1",
        b"GET /a?b?c HTTP/1.1",
        b"PUT /echo HTTP/1.1\r\nContent-Length: 5",
        b"PUT /echo HTTP/1.1\r\ncontent-length: 0",
        b"POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked",
        b"GET / HTTP/1.1\r\nRange: bytes=0-99",
        b"GET / HTTP/1.1\r\nX-Quote: \"a b\" (c) [d] <e>; f, g*",
        b"GET / HTTP/1.1\r\nAccept: text/html; q=0.9",
        b"GET / HTTP/1.1\r\nUser-Agent: curl/8.5.0",
        b"GET /~user/.x_y+z:1 HTTP/1.1",
        b"POST /a HTTP/1.1\r\ncontent-length: 9999999999999999",
        // Methods and versions.
        b"PATCH / HTTP/1.1",
        b"OPTIONS / HTTP/1.1",
        b"OPTIONS * HTTP/1.1",
        b"TRACE / HTTP/1.1",
        b"get / HTTP/1.1",
        b"CONNECT example.com:443 HTTP/1.1",
        b"GET / HTTP/1.0",
        b"GET / HTTP/2.0",
        b"GET / http/1.1",
        b"GET  / HTTP/1.1",
        b"GET / HTTP/1.1 ",
        // URIs.
        b"GET http://example.com/ HTTP/1.1",
        b"GET /a//b HTTP/1.1",
        b"GET //a HTTP/1.1",
        b"GET /a#frag HTTP/1.1",
        b"GET /a@b HTTP/1.1",
        b"GET /a!$'()*,; HTTP/1.1",
        b"GET /%2e%2e/ HTTP/1.1",
        b"GET /a/../b HTTP/1.1",
        b"GET /./b HTTP/1.1",
        b"GET /a%20b/caf%C3%A9 HTTP/1.1",
        b"GET /a%2Fb HTTP/1.1",
        b"GET /a%00 HTTP/1.1",
        b"GET /a%zz HTTP/1.1",
        b"GET /a%FF HTTP/1.1",
        b"GET /?filter[name]={x}|y^z`w HTTP/1.1",
        b"GET /a?b=[c] HTTP/1.1",
        b"GET /a?b/c HTTP/1.1",
        b"GET /a{b} HTTP/1.1",
        b"GET /a|b HTTP/1.1",
        b"GET /\x7f HTTP/1.1",
        b"GET /\xc3\xa9 HTTP/1.1",
        // Header names.
        b"GET / HTTP/1.1\r\nX_Under: 1",
        b"GET / HTTP/1.1\r\nX.Dot: 1",
        b"GET / HTTP/1.1\r\nX!Bang: 1",
        b"GET / HTTP/1.1\r\n: empty-name",
        b"GET / HTTP/1.1\r\nX Y: 1",
        // Header values.
        b"GET / HTTP/1.1\r\nX-A: tab\there",
        b"GET / HTTP/1.1\r\nX-A: obs-text \xe9",
        b"GET / HTTP/1.1\r\nX-A: a@b.c",
        b"GET / HTTP/1.1\r\nX-A: {json}",
        b"GET / HTTP/1.1\r\nX-A: back\\slash",
        b"GET / HTTP/1.1\r\nX-A: #1 $2 !3 |4 ^5 `6",
        b"GET / HTTP/1.1\r\nX-A:",
        b"GET / HTTP/1.1\r\nX-A: ",
        // Header lines.
        b"GET / HTTP/1.1\r\nX-A:1",
        b"GET / HTTP/1.1\r\nX-A:  1",
        b"GET / HTTP/1.1\r\nX-A: 1 ",
        b"GET / HTTP/1.1\r\nX-A : 1",
        b"GET / HTTP/1.1\r\nX-A: 1\r\n folded",
        b"GET / HTTP/1.1\r\nno-colon",
        b"GET / HTTP/1.1\nHost: a",
        b"GET / HTTP/1.0\r\nConnection: keep-alive",
        b"PUT / HTTP/1.0\r\nTransfer-Encoding: chunked",
        b"PUT / HTTP/1.1\r\nContent-Range: bytes 0-1",
        // Framing.
        b"PUT / HTTP/1.1\r\nContent-Length: 1\r\ncontent-length: 1",
        b"GET / HTTP/1.1\r\nHost: a\r\nhost: b",
        b"PUT / HTTP/1.1\r\nContent-Length: +5",
        b"PUT / HTTP/1.1\r\nContent-Length: 0x10",
        b"PUT / HTTP/1.1\r\nContent-Length: 5, 5",
        b"PUT / HTTP/1.1\r\nContent-Length: 12345678901234567",
        b"PUT / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked",
        b"PUT / HTTP/1.1\r\nTransfer-Encoding: Chunked",
        b"PUT / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked",
        b"GET / HTTP/1.1\r\nContent-Length: 0",
        b"DELETE / HTTP/1.1\r\nTransfer-Encoding: chunked",
        b"GET / HTTP/1.1\r\nRange: bytes=5-",
        b"GET / HTTP/1.1\r\nRange: bytes=0-1,3-4",
    ]
    .iter()
    .map(|p| p.to_vec())
    .collect();
    for n in [20, 21, 64, 65] {
        let mut many = b"GET / HTTP/1.1".to_vec();
        for i in 0..n {
            many.extend_from_slice(format!("\r\nx-{i}: {i}").as_bytes());
        }
        t.push(many);
    }
    let mut big = b"GET / HTTP/1.1\r\nx-big: ".to_vec();
    big.resize(33 * 1024, b'a');
    t.push(big);
    t
}

/// xorshift64*, seeded: the generated cases are the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Bytes worth trying: separators, every table's edge, controls, high bytes.
const ALPHABET: &[u8] = b" \t\r\n:;,/?#@!$%&'()*+-.=[]{}<>|\\^`~\"_aZ09\x00\x7f\x80\xff";

/// A few thousand preambles: a valid one, then 1..=3 random edits.
fn generated(n: usize) -> Vec<Vec<u8>> {
    let mut rng = Rng(0x5eed_0000_0051);
    let bases: Vec<Vec<u8>> = table().into_iter().take(15).collect();
    let names = [
        "host",
        "content-length",
        "transfer-encoding",
        "range",
        "x-a",
    ];
    let values = ["a", "5", "chunked", "bytes=0-9", "0", "", " x"];
    (0..n)
        .map(|_| {
            let mut p = bases[rng.below(bases.len())].clone();
            for _ in 0..1 + rng.below(3) {
                match rng.below(6) {
                    0 if !p.is_empty() => {
                        let i = rng.below(p.len());
                        p[i] = ALPHABET[rng.below(ALPHABET.len())];
                    }
                    1 => {
                        let i = rng.below(p.len() + 1);
                        p.insert(i, ALPHABET[rng.below(ALPHABET.len())]);
                    }
                    2 if !p.is_empty() => {
                        let i = rng.below(p.len());
                        p.remove(i);
                    }
                    3 => {
                        let (name, value) = (names[rng.below(5)], values[rng.below(7)]);
                        p.extend_from_slice(format!("\r\n{name}: {value}").as_bytes());
                    }
                    4 if !p.is_empty() => {
                        let i = rng.below(p.len());
                        p[i] = p[i].to_ascii_uppercase();
                    }
                    _ => p.extend_from_slice(b"\r\nX-Gen: v"),
                }
            }
            p
        })
        .collect()
}

/// The whole wire form of a preamble: cut at its first `\r\n\r\n` (where
/// Degu's reader would), terminator included.
fn wire(preamble: &[u8]) -> Vec<u8> {
    let mut w = preamble.to_vec();
    w.extend_from_slice(b"\r\n\r\n");
    let end = w.windows(4).position(|x| x == b"\r\n\r\n").unwrap() + 4;
    w.truncate(end);
    w
}

#[derive(Default, Debug)]
struct Tally {
    both: usize,
    neither: usize,
    stricter: std::collections::BTreeMap<&'static str, usize>,
}

/// Compares one preamble; returns whether Degu accepted it.
fn compare(input: &[u8], tally: &mut Tally) -> bool {
    let hp = httparse(input);
    let dg = degu(input);
    let hp_ok = matches!(hp, Hp::Ok { .. } | Hp::Shorter);
    let show = || String::from_utf8_lossy(input).into_owned();
    match (&dg, hp_ok) {
        (Ok(()), true) => {
            // Both accept: the input breaks none of Degu's rules either.
            assert_eq!(strictness(input, &hp), None, "Degu accepted {:?}", show());
            tally.both += 1;
            // The same headers, in the same order, with the same values
            // (both strip the whitespace around a value), the same version.
            if let Hp::Ok {
                headers, version, ..
            } = &hp
            {
                let mut buf = input[..input.len() - 4].to_vec();
                let p = degu_core::parse_request(&mut buf).unwrap();
                let ours: Vec<(&str, &str)> = p.headers.iter().collect();
                assert_eq!(ours.len(), headers.len(), "{:?}", show());
                for ((n, v), (hn, hv)) in ours.iter().zip(headers) {
                    assert_eq!(*n, hn.to_ascii_lowercase());
                    assert_eq!(v.as_bytes(), &hv[..], "{:?}", show());
                }
                let v = if *version == 0 {
                    "HTTP/1.0"
                } else {
                    "HTTP/1.1"
                };
                assert_eq!(p.version.as_str(), v, "{:?}", show());
            }
        }
        (Err(_), false) => tally.neither += 1,
        (Err(e), true) => {
            let rule = strictness(input, &hp).unwrap_or_else(|| {
                panic!(
                    "Degu refuses {:?} ({e}) but the input breaks no intended strictness: a Degu bug or a missing rule",
                    show()
                )
            });
            assert!(STRICTNESS.iter().any(|s| s.0 == rule));
            *tally.stricter.entry(rule).or_default() += 1;
        }
        (Ok(()), false) => {
            assert!(
                DEGU_LENIENT.iter().any(|(p, _)| *p == input),
                "Degu accepts {:?}, httparse refuses it ({hp:?}): unjustified",
                show()
            );
        }
    }
    dg.is_ok()
}

#[test]
fn the_table_and_generated_preambles_agree_or_are_explained() {
    let mut tally = Tally::default();
    for p in table() {
        compare(&wire(&p), &mut tally);
    }
    let table_tally = format!("{tally:?}");
    for p in generated(5000) {
        compare(&wire(&p), &mut tally);
    }
    eprintln!("table: {table_tally}\ntable + generated: {tally:?}");
    // The table covers every intended strictness but the size limit's
    // neighbours, and both sides accept a real share of generated cases.
    for (rule, _) in STRICTNESS {
        assert!(tally.stricter.contains_key(rule), "no case for {rule}");
    }
    assert!(tally.both > 200, "{tally:?}");
}

#[test]
fn the_table_cases_are_sorted_as_expected() {
    // Spot checks of the table: which side accepts, and why.
    let cases: &[(&[u8], Option<&str>)] = &[
        (b"GET / HTTP/1.1", None),
        (b"PATCH / HTTP/1.1", None),
        (b"GET / HTTP/1.0", None),
        (b"TRACE / HTTP/1.1", Some("method")),
        (b"GET /a//b HTTP/1.1", Some("uri")),
        (b"GET /a/../b HTTP/1.1", Some("uri")),
        (b"GET /a%2fb HTTP/1.1", Some("uri")),
        (b"GET /a%20b?x=[1] HTTP/1.1", None),
        (b"GET / HTTP/1.1\r\nX_Under: 1", Some("header-name")),
        (b"GET / HTTP/1.1\r\nX-A: tab\there", None),
        (b"GET / HTTP/1.1\r\nX-A: caf\xc3\xa9", Some("header-value")),
        (b"GET / HTTP/1.1\r\nX-A:1", None),
        (b"GET / HTTP/1.1\r\nX-A:  1 ", None),
        (b"GET / HTTP/1.1\nHost: a", Some("line-ending")),
        (b"GET / HTTP/1.1\r\nHost: a\r\nhost: b", Some("duplicate")),
        (
            b"PUT / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked",
            Some("both-framings"),
        ),
        (
            b"GET / HTTP/1.1\r\nContent-Length: 0",
            Some("body-not-allowed"),
        ),
    ];
    for (p, want) in cases {
        let w = wire(p);
        let hp = httparse(&w);
        assert!(matches!(hp, Hp::Ok { .. } | Hp::Shorter), "{hp:?}");
        assert_eq!(degu(&w).is_ok(), want.is_none());
        assert_eq!(strictness(&w, &hp), *want);
    }
}

fn ok_app(_: &mut degu_server::Session, _: &mut degu_server::Request) -> degu_server::AppResult {
    Ok(degu_core::Response::new(200, "OK").header("x-app", "1")?)
}

/// Sends one preamble on a fresh connection; true when the app answered
/// (the server accepted it), false when the server refused it (a bare
/// error status with `connection: close`, or a close without a response).
fn accepted_end_to_end(addr: &str, wire: &[u8]) -> bool {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(wire).unwrap();
    let _ = s.shutdown(Shutdown::Write);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out);
    if text.contains("\r\nx-app: 1\r\n") {
        return true;
    }
    if !text.is_empty() {
        let status: u16 = text.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
        assert!(
            [400, 431, 501, 505].contains(&status)
                && text.contains("\r\nconnection: close\r\n")
                && text.contains("\r\ncontent-type: text/plain; charset=utf-8\r\n"),
            "refusal {text:?}"
        );
    }
    false
}

#[test]
fn the_server_accepts_what_the_parser_accepts() {
    let server = degu_server::Server::bind(
        &degu_core::IPV4_LOOPBACK,
        ok_app,
        degu_server::ServerOptions::default().with_timeout(Some(Duration::from_secs(5))),
    )
    .unwrap();
    let addr = server.address().to_string();
    let handle = server.spawn().unwrap();
    let mut cases: Vec<Vec<u8>> = table().into_iter().map(|p| wire(&p)).collect();
    cases.extend(generated(5000).into_iter().step_by(25).map(|p| wire(&p)));
    let (mut yes, mut no) = (0, 0);
    for w in &cases {
        if w.len() > degu_core::MAX_PREAMBLE {
            continue;
        }
        let parser = degu(w).is_ok();
        assert_eq!(
            accepted_end_to_end(&addr, w),
            parser,
            "{:?}",
            String::from_utf8_lossy(w)
        );
        if parser { yes += 1 } else { no += 1 }
    }
    eprintln!("end to end: {yes} accepted, {no} refused, as the parser said");
    assert!(yes > 10 && no > 10);
    handle.shutdown();
}
