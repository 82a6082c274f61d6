//! Bounded property tests (at most 512 cases each, so the suite stays
//! fast): random bytes never panic the parsers; generated valid messages
//! round-trip; and the table-driven parser agrees with a naive, slow
//! reference written here from DESIGN.md §2.

use proptest::prelude::*;

use degu_core::{
    Chunk, ChunkedBody, ChunkedBodyIter, Headers, Method, parse_chunk_line, parse_request,
    parse_response, write_request_preamble, write_response_preamble,
};

use crate::util::{self, Set};

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 512,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

// ---- A naive reference parser ----------------------------------------

/// Lowercased header pairs in wire order.
type Pairs = Vec<(String, String)>;
/// What the reference makes of a request: method, uri, headers.
type Parsed = (String, String, Pairs);
/// What the reference makes of a response: status, reason, headers.
type ParsedResponse = (u16, String, Pairs);

fn all(s: &[u8], set: &Set) -> bool {
    s.iter().all(|&b| set[b as usize])
}

fn decimal(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 16 || (s.len() > 1 && s[0] == b'0') {
        return None;
    }
    if !all(s, &util::digit()) {
        return None;
    }
    std::str::from_utf8(s).ok()?.parse().ok()
}

fn range_ok(v: &[u8]) -> bool {
    let Some(rest) = v.strip_prefix(b"bytes=") else {
        return false;
    };
    let Some(dash) = rest.iter().position(|&b| b == b'-') else {
        return false;
    };
    let end = &rest[dash + 1..];
    match decimal(&rest[..dash]) {
        // `bytes=START-`: from START to the end.
        Some(_) if end.is_empty() => true,
        Some(a) => decimal(end).is_some_and(|b| b >= a),
        None => false,
    }
}

fn content_range_ok(v: &[u8]) -> bool {
    if let Some(total) = v.strip_prefix(b"bytes */") {
        // The unsatisfied form of a 416 response.
        return decimal(total).is_some();
    }
    let Some(rest) = v.strip_prefix(b"bytes ") else {
        return false;
    };
    let (Some(dash), Some(slash)) = (
        rest.iter().position(|&b| b == b'-'),
        rest.iter().position(|&b| b == b'/'),
    ) else {
        return false;
    };
    if slash < dash {
        return false;
    }
    matches!(
        (decimal(&rest[..dash]), decimal(&rest[dash + 1..slash]), decimal(&rest[slash + 1..])),
        (Some(a), Some(b), Some(t)) if a <= b && b < t
    )
}

fn uri_ok(uri: &[u8]) -> bool {
    let (path, query) = match uri.iter().position(|&b| b == b'?') {
        Some(q) => (&uri[..q], Some(&uri[q + 1..])),
        None => (uri, None),
    };
    if path.first() != Some(&b'/') {
        return false;
    }
    let comps: Vec<&[u8]> = path[1..].split(|&b| b == b'/').collect();
    let n = comps.len();
    let comps_ok = comps
        .iter()
        .enumerate()
        .all(|(i, c)| all(c, &util::path()) && (!c.is_empty() || i == n - 1));
    comps_ok && query.is_none_or(|q| all(q, &util::query()))
}

/// The header lines after the first line: `None` when refused.
/// The header pairs, and whether there was a content-length and a
/// transfer-encoding.
fn reference_headers(lines: &[&[u8]]) -> Option<(Pairs, bool, bool)> {
    let mut out: Pairs = Vec::new();
    let (mut length, mut chunked) = (false, false);
    for line in lines {
        if out.len() == 20 {
            return None;
        }
        let sep = line.windows(2).position(|w| w == b": ")?;
        // The first `:` must be the one of `": "`.
        if line.iter().position(|&b| b == b':') != Some(sep) {
            return None;
        }
        let (name, value) = (&line[..sep], &line[sep + 2..]);
        if name.is_empty() || value.is_empty() {
            return None;
        }
        if !all(name, &util::name_in()) || !all(value, &util::value()) {
            return None;
        }
        let name = String::from_utf8(name.to_ascii_lowercase()).ok()?;
        match name.as_str() {
            "content-length" => {
                decimal(value)?;
                length = true;
            }
            "transfer-encoding" => {
                if value != b"chunked" {
                    return None;
                }
                chunked = true;
            }
            "range" if !range_ok(value) => return None,
            "content-range" if !content_range_ok(value) => return None,
            _ => {}
        }
        if out.iter().any(|(n, _)| *n == name) {
            return None;
        }
        out.push((name, String::from_utf8(value.to_vec()).ok()?));
    }
    if length && chunked {
        return None;
    }
    Some((out, length, chunked))
}

fn split_lines(buf: &[u8]) -> Option<Vec<&[u8]>> {
    // Lines end with CRLF; a lone CR or LF is never allowed anywhere.
    let mut lines = Vec::new();
    let mut rest = buf;
    loop {
        match rest.windows(2).position(|w| w == b"\r\n") {
            Some(i) => {
                lines.push(&rest[..i]);
                rest = &rest[i + 2..];
                if rest.is_empty() {
                    break;
                }
            }
            None => {
                lines.push(rest);
                break;
            }
        }
    }
    if lines
        .iter()
        .any(|l| l.contains(&b'\r') || l.contains(&b'\n'))
    {
        return None;
    }
    Some(lines)
}

fn reference_request(buf: &[u8]) -> Option<Parsed> {
    if buf.len() + 4 > 32 * 1024 {
        return None;
    }
    let lines = split_lines(buf)?;
    let first = lines[0];
    let parts: Vec<&[u8]> = first.split(|&b| b == b' ').collect();
    let [method, uri, b"HTTP/1.1"] = parts[..] else {
        return None;
    };
    let method = match method {
        b"GET" | b"HEAD" | b"PUT" | b"POST" | b"DELETE" => method,
        _ => return None,
    };
    if !uri_ok(uri) {
        return None;
    }
    let (headers, length, chunked) = reference_headers(&lines[1..])?;
    if matches!(method, b"GET" | b"HEAD" | b"DELETE") && (length || chunked) {
        return None;
    }
    Some((
        String::from_utf8(method.to_vec()).ok()?,
        String::from_utf8(uri.to_vec()).ok()?,
        headers,
    ))
}

fn reference_response(buf: &[u8]) -> Option<ParsedResponse> {
    if buf.len() + 4 > 32 * 1024 {
        return None;
    }
    let lines = split_lines(buf)?;
    let first = lines[0];
    let rest = first.strip_prefix(b"HTTP/1.1 ")?;
    if rest.len() < 5 || rest[3] != b' ' {
        return None;
    }
    let code = std::str::from_utf8(&rest[..3]).ok()?;
    if !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let status: u16 = code.parse().ok()?;
    if !(100..=599).contains(&status) {
        return None;
    }
    let reason = &rest[4..];
    if reason.is_empty() || !all(reason, &util::reason()) {
        return None;
    }
    let (headers, _, _) = reference_headers(&lines[1..])?;
    Some((status, String::from_utf8(reason.to_vec()).ok()?, headers))
}

fn degu_request(input: &[u8]) -> Option<Parsed> {
    let mut buf = input.to_vec();
    let p = parse_request(&mut buf).ok()?;
    Some((
        p.method.to_string(),
        p.uri.to_owned(),
        util::pairs(&p.headers),
    ))
}

fn degu_response(input: &[u8]) -> Option<ParsedResponse> {
    let mut buf = input.to_vec();
    let p = parse_response(&mut buf).ok()?;
    Some((p.status, p.reason.to_owned(), util::pairs(&p.headers)))
}

// ---- Generators ------------------------------------------------------

fn from_set(set: Set, len: std::ops::RangeInclusive<usize>) -> impl Strategy<Value = String> {
    let bytes: Vec<u8> = (0..=255u8).filter(|&b| set[b as usize]).collect();
    prop::collection::vec(prop::sample::select(bytes), len)
        .prop_map(|v| String::from_utf8(v).unwrap())
}

fn uri() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(from_set(util::path(), 1..=8), 0..4),
        any::<bool>(),
        prop::option::of(from_set(util::query(), 0..=12)),
    )
        .prop_map(|(comps, trailing, query)| {
            let mut s = String::new();
            for c in &comps {
                s.push('/');
                s.push_str(c);
            }
            if trailing || comps.is_empty() {
                s.push('/');
            }
            if let Some(q) = query {
                s.push('?');
                s.push_str(&q);
            }
            s
        })
}

fn header_pairs() -> impl Strategy<Value = Pairs> {
    prop::collection::vec(
        (
            from_set(util::name_out(), 1..=12),
            from_set(util::value(), 1..=24),
        ),
        0..=19,
    )
    .prop_map(|pairs| {
        let mut seen = std::collections::HashSet::new();
        pairs
            .into_iter()
            .map(|(n, v)| (format!("x-{n}"), v))
            .filter(|(n, _)| seen.insert(n.clone()))
            .collect()
    })
}

fn method() -> impl Strategy<Value = Method> {
    prop::sample::select(vec![
        Method::Get,
        Method::Head,
        Method::Put,
        Method::Post,
        Method::Delete,
    ])
}

fn valid_request() -> impl Strategy<Value = Vec<u8>> {
    (
        method(),
        uri(),
        header_pairs(),
        prop::option::of(0u64..100_000),
    )
        .prop_map(|(m, uri, pairs, length)| {
            let mut h = Headers::from_pairs(pairs).unwrap();
            if let Some(n) = length.filter(|_| !m.forbids_body()) {
                h.insert("content-length", n.to_string()).ok();
            }
            let mut out = Vec::new();
            write_request_preamble(&mut out, m, &uri, &h).unwrap();
            out.truncate(out.len() - 4);
            out
        })
}

/// A valid preamble with a few bytes changed, inserted or removed: close
/// to the edge, where the parser's decisions are.
fn mutated(valid: impl Strategy<Value = Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
    (
        valid,
        prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0..3u8), 1..4),
    )
        .prop_map(|(mut v, edits)| {
            for (at, byte, kind) in edits {
                if v.is_empty() {
                    v.push(byte);
                    continue;
                }
                let i = at.index(v.len());
                match kind {
                    0 => v[i] = byte,
                    1 => v.insert(i, byte),
                    _ => {
                        v.remove(i);
                    }
                }
            }
            v
        })
}

/// Edits biased to the bytes that matter: separators and case.
fn interesting_byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        any::<u8>(),
        prop::sample::select(
            b"\r\n :;=?/-_~%&\"'()*,<>[]{}!#$@\\^`|\t\x00\x7f\x80\xffAZaz09".to_vec()
        ),
    ]
}

fn valid_response() -> impl Strategy<Value = Vec<u8>> {
    (
        100u16..600,
        from_set(util::reason(), 1..=20),
        header_pairs(),
    )
        .prop_map(|(status, reason, pairs)| {
            let h = Headers::from_pairs(pairs).unwrap();
            let mut out = Vec::new();
            write_response_preamble(&mut out, status, &reason, &h).unwrap();
            out.truncate(out.len() - 4);
            out
        })
}

fn chunks() -> impl Strategy<Value = Vec<Chunk>> {
    prop::collection::vec(
        (
            prop::option::of((
                from_set(util::ext_key(), 1..=8),
                from_set(util::ext_value(), 1..=12),
            )),
            prop::collection::vec(any::<u8>(), 1..300),
        ),
        0..8,
    )
    .prop_map(|v| {
        let mut chunks: Vec<Chunk> = v
            .into_iter()
            .map(|(ext, data)| Chunk { ext, data })
            .collect();
        chunks.push(Chunk::new(""));
        chunks
    })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn random_bytes_never_panic(input in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = parse_request(&mut input.clone());
        let _ = parse_response(&mut input.clone());
        let _ = parse_chunk_line(&input);
        let _ = ChunkedBody::new(&input[..]).read_all();
        let _ = degu_core::Reader::new(&input[..]).read_request().map(|_| ());
    }

    #[test]
    fn random_bytes_after_a_valid_start_never_panic(
        tail in prop::collection::vec(interesting_byte(), 0..128),
        start in prop::sample::select(vec![&b"GET / HTTP/1.1\r\n"[..], b"HTTP/1.1 200 OK\r\n", b"PUT /a?b HTTP/1.1\r\nx: "]),
    ) {
        let mut input = start.to_vec();
        input.extend(tail);
        let _ = parse_request(&mut input.clone());
        let _ = parse_response(&mut input.clone());
    }

    #[test]
    fn valid_requests_round_trip(m in method(), uri in uri(), pairs in header_pairs()) {
        let h = Headers::from_pairs(pairs.clone()).unwrap();
        let mut out = Vec::new();
        write_request_preamble(&mut out, m, &uri, &h).unwrap();
        let mut r = degu_core::Reader::new(&out[..]);
        let p = r.read_request().unwrap().unwrap();
        prop_assert_eq!(p.method, m);
        prop_assert_eq!(p.uri, uri.as_str());
        prop_assert_eq!(util::pairs(&p.headers), pairs);
    }

    #[test]
    fn valid_responses_round_trip(
        status in 100u16..600,
        reason in from_set(util::reason(), 1..=20),
        pairs in header_pairs(),
    ) {
        let h = Headers::from_pairs(pairs.clone()).unwrap();
        let mut out = Vec::new();
        write_response_preamble(&mut out, status, &reason, &h).unwrap();
        let mut r = degu_core::Reader::new(&out[..]);
        let p = r.read_response().unwrap();
        prop_assert_eq!((p.status, p.reason), (status, reason.as_str()));
        prop_assert_eq!(util::pairs(&p.headers), pairs);
    }

    #[test]
    fn valid_chunks_round_trip(chunks in chunks()) {
        let mut wire = Vec::new();
        ChunkedBodyIter::new(chunks.clone()).write_to(&mut wire).unwrap();
        let read: Vec<Chunk> = ChunkedBody::new(&wire[..]).map(|c| c.unwrap()).collect();
        prop_assert_eq!(&read, &chunks);
        let mut r = degu_core::Reader::new(&wire[..]);
        let read: Vec<Chunk> = ChunkedBody::from_source(&mut r).map(|c| c.unwrap()).collect();
        prop_assert_eq!(read, chunks);
    }

    #[test]
    fn requests_agree_with_the_reference(input in mutated(valid_request())) {
        prop_assert_eq!(degu_request(&input), reference_request(&input), "{:?}", input.escape_ascii().to_string());
    }

    #[test]
    fn requests_with_interesting_edits_agree(
        valid in valid_request(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), interesting_byte()), 1..3),
    ) {
        let mut input = valid;
        for (at, b) in edits {
            let i = at.index(input.len());
            input[i] = b;
        }
        prop_assert_eq!(degu_request(&input), reference_request(&input), "{:?}", input.escape_ascii().to_string());
    }

    #[test]
    fn responses_agree_with_the_reference(input in mutated(valid_response())) {
        prop_assert_eq!(degu_response(&input), reference_response(&input), "{:?}", input.escape_ascii().to_string());
    }

    #[test]
    fn valid_inputs_agree_with_the_reference(req in valid_request(), resp in valid_response()) {
        prop_assert!(reference_request(&req).is_some());
        prop_assert_eq!(degu_request(&req), reference_request(&req));
        prop_assert!(reference_response(&resp).is_some());
        prop_assert_eq!(degu_response(&resp), reference_response(&resp));
    }

    #[test]
    fn chunk_lines_agree_with_the_reference(
        line in prop_oneof![
            prop::collection::vec(interesting_byte(), 0..12),
            (0u64..0x200_0000, prop::option::of((from_set(util::ext_key(), 0..=4), from_set(util::ext_value(), 0..=6))))
                .prop_map(|(n, ext)| match ext {
                    None => format!("{n:x}").into_bytes(),
                    Some((k, v)) => format!("{n:x};{k}={v}").into_bytes(),
                }),
        ],
    ) {
        let reference = (|| {
            let (size, ext) = match line.iter().position(|&b| b == b';') {
                Some(i) => (&line[..i], Some(&line[i + 1..])),
                None => (&line[..], None),
            };
            if size.is_empty() || size.len() > 16 || (size.len() > 1 && size[0] == b'0') || !all(size, &util::hex()) {
                return None;
            }
            let n = u64::from_str_radix(std::str::from_utf8(size).ok()?, 16).ok()?;
            if n > 16 * 1024 * 1024 {
                return None;
            }
            let ext = match ext {
                None => None,
                Some(e) => {
                    let eq = e.iter().position(|&b| b == b'=')?;
                    let (k, v) = (&e[..eq], &e[eq + 1..]);
                    if k.is_empty() || v.is_empty() || !all(k, &util::ext_key()) || !all(v, &util::ext_value()) {
                        return None;
                    }
                    Some((String::from_utf8(k.to_vec()).ok()?, String::from_utf8(v.to_vec()).ok()?))
                }
            };
            Some((n, ext))
        })();
        let degu = parse_chunk_line(&line)
            .ok()
            .map(|c| (c.size, c.ext.map(|(k, v)| (k.to_owned(), v.to_owned()))));
        prop_assert_eq!(degu, reference);
    }
}
