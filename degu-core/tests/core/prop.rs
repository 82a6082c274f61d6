//! Bounded property tests (at most 512 cases each, so the suite stays
//! fast): random bytes never panic the parsers; generated valid messages
//! round-trip; and the table-driven parser agrees with a naive, slow
//! reference written here from the rules, over the byte sets of `util`
//! (it shares no code with the parser).

use proptest::prelude::*;

use degu_core::{
    Chunk, ChunkedBody, ChunkedBodyIter, Framing, Headers, Method, decode_component,
    parse_chunk_line, parse_request, parse_response, write_request_preamble,
    write_response_preamble,
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

/// Lowercased header pairs in wire order, values without the optional
/// whitespace around them.
type Pairs = Vec<(String, String)>;

/// A range as `(start, stop, suffix)`.
type RangeParts = (Option<u64>, Option<u64>, Option<u64>);

/// What the typed headers say.
#[derive(Debug, PartialEq)]
struct TypedParts {
    framing: Framing,
    range: Option<RangeParts>,
    /// `(start, stop, total)`.
    content_range: Option<(u64, u64, u64)>,
}

/// What a request is made of.
#[derive(Debug, PartialEq)]
struct Req {
    method: String,
    version: String,
    uri: String,
    path: String,
    query: Option<String>,
    /// The path components, escapes decoded.
    decoded: Vec<String>,
    headers: Pairs,
    typed: TypedParts,
}

/// What a response is made of.
#[derive(Debug, PartialEq)]
struct Resp {
    version: String,
    status: u16,
    reason: String,
    headers: Pairs,
    typed: TypedParts,
}

/// The stop of an open-ended range: one past the largest 16-digit number.
const OPEN_END: u64 = 10_000_000_000_000_000;

fn all(s: &[u8], set: &Set) -> bool {
    s.iter().all(|&b| set[b as usize])
}

fn text(s: &[u8]) -> String {
    String::from_utf8(s.to_vec()).unwrap()
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

/// A `range` value: one range, or none (anything else is ignored).
fn range_of(v: &[u8]) -> Option<RangeParts> {
    let rest = v.strip_prefix(b"bytes=")?;
    let dash = rest.iter().position(|&b| b == b'-')?;
    let (first, last) = (&rest[..dash], &rest[dash + 1..]);
    if first.is_empty() {
        // `bytes=-N`: the last N bytes.
        return Some((None, None, Some(decimal(last)?)));
    }
    let a = decimal(first)?;
    if last.is_empty() {
        // `bytes=START-`: from START to the end.
        return Some((Some(a), Some(OPEN_END), None));
    }
    let b = decimal(last)?;
    (b >= a).then_some((Some(a), Some(b + 1), None))
}

/// A `content-range` value: `Err` when refused, `Ok(None)` for the
/// unsatisfied form `bytes */TOTAL`.
fn content_range_of(v: &[u8]) -> Result<Option<(u64, u64, u64)>, ()> {
    if let Some(total) = v.strip_prefix(b"bytes */") {
        return decimal(total).map(|_| None).ok_or(());
    }
    let rest = v.strip_prefix(b"bytes ").ok_or(())?;
    let (Some(dash), Some(slash)) = (
        rest.iter().position(|&b| b == b'-'),
        rest.iter().position(|&b| b == b'/'),
    ) else {
        return Err(());
    };
    if slash < dash {
        return Err(());
    }
    match (
        decimal(&rest[..dash]),
        decimal(&rest[dash + 1..slash]),
        decimal(&rest[slash + 1..]),
    ) {
        (Some(a), Some(b), Some(t)) if a <= b && b < t => Ok(Some((a, b + 1, t))),
        _ => Err(()),
    }
}

/// A path component's escapes decoded: each `%` and two hex digits, which
/// do not make a `/` or a control byte.
fn decode(comp: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < comp.len() {
        if comp[i] == b'%' {
            let digits = comp.get(i + 1..i + 3)?;
            if !all(digits, &util::hex()) {
                return None;
            }
            let b = u8::from_str_radix(std::str::from_utf8(digits).ok()?, 16).ok()?;
            if b == b'/' || b < 0x20 || b == 0x7f {
                return None;
            }
            out.push(b);
            i += 3;
        } else {
            out.push(comp[i]);
            i += 1;
        }
    }
    Some(out)
}

/// A path component, decoded; `None` when refused.
fn component(c: &[u8], last: bool) -> Option<String> {
    if c.is_empty() {
        return last.then(String::new);
    }
    if !all(c, &util::path()) {
        return None;
    }
    let decoded = String::from_utf8(decode(c)?).ok()?;
    if decoded == "." || decoded == ".." {
        return None;
    }
    Some(decoded)
}

/// A URI as path, query and decoded components; `None` when refused.
fn uri_parts(uri: &[u8]) -> Option<(String, Option<String>, Vec<String>)> {
    let (path, query) = match uri.iter().position(|&b| b == b'?') {
        Some(q) => (&uri[..q], Some(&uri[q + 1..])),
        None => (uri, None),
    };
    if path.first() != Some(&b'/') {
        return None;
    }
    if query.is_some_and(|q| !all(q, &util::query())) {
        return None;
    }
    let comps: Vec<&[u8]> = if path == b"/" {
        Vec::new()
    } else {
        path[1..].split(|&b| b == b'/').collect()
    };
    let n = comps.len();
    let decoded = comps
        .iter()
        .enumerate()
        .map(|(i, c)| component(c, i + 1 == n))
        .collect::<Option<Vec<_>>>()?;
    Some((text(path), query.map(text), decoded))
}

fn trim_ows(mut v: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = v {
        v = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = v {
        v = rest;
    }
    v
}

/// The header lines after the first line: the pairs and what the typed
/// headers say, or `None` when refused. At most `max` headers; with
/// `unique` (a request) no name twice, without it only the framing headers
/// and `content-range` are refused twice. Of several `range` headers (a
/// response's), the last one decides.
fn reference_headers(lines: &[&[u8]], max: usize, unique: bool) -> Option<(Pairs, TypedParts)> {
    let mut out: Pairs = Vec::new();
    let (mut length, mut chunked) = (None, false);
    let (mut range, mut content_range) = (None, None);
    for line in lines {
        if out.len() == max {
            return None;
        }
        // The name runs to the first `:`, which must be there.
        let colon = line.iter().position(|&b| b == b':')?;
        let (name, value) = (&line[..colon], &line[colon + 1..]);
        if name.is_empty() || !all(name, &util::name_in()) || !all(value, &util::value()) {
            return None;
        }
        let value = trim_ows(value);
        let name = text(&name.to_ascii_lowercase());
        let single = matches!(
            name.as_str(),
            "content-length" | "transfer-encoding" | "content-range"
        );
        if (unique || single) && out.iter().any(|(n, _)| *n == name) {
            return None;
        }
        match name.as_str() {
            "content-length" => length = Some(decimal(value)?),
            "transfer-encoding" if value == b"chunked" => chunked = true,
            "transfer-encoding" => return None,
            "range" => range = range_of(value),
            "content-range" => content_range = content_range_of(value).ok()?,
            _ => {}
        }
        out.push((name, text(value)));
    }
    let framing = match (length, chunked) {
        (Some(_), true) => return None,
        (Some(n), false) => Framing::Length(n),
        (None, true) => Framing::Chunked,
        (None, false) => Framing::None,
    };
    let typed = TypedParts {
        framing,
        range,
        content_range,
    };
    Some((out, typed))
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

fn reference_request(buf: &[u8]) -> Option<Req> {
    if buf.len() + 4 > 32 * 1024 {
        return None;
    }
    let lines = split_lines(buf)?;
    let parts: Vec<&[u8]> = lines[0].split(|&b| b == b' ').collect();
    let [method, uri, version] = parts[..] else {
        return None;
    };
    if !matches!(
        method,
        b"GET" | b"HEAD" | b"PUT" | b"POST" | b"DELETE" | b"PATCH" | b"OPTIONS"
    ) {
        return None;
    }
    if !matches!(version, b"HTTP/1.1" | b"HTTP/1.0") {
        return None;
    }
    let (path, query, decoded) = uri_parts(uri)?;
    let (headers, typed) = reference_headers(&lines[1..], 64, true)?;
    if matches!(method, b"GET" | b"HEAD") && typed.framing != Framing::None {
        return None;
    }
    if version == b"HTTP/1.0" && typed.framing == Framing::Chunked {
        return None;
    }
    Some(Req {
        method: text(method),
        version: text(version),
        uri: text(uri),
        path,
        query,
        decoded,
        headers,
        typed,
    })
}

fn reference_response(buf: &[u8]) -> Option<Resp> {
    if buf.len() + 4 > 32 * 1024 {
        return None;
    }
    let lines = split_lines(buf)?;
    let first = lines[0];
    let version = first.get(..8)?;
    if !matches!(version, b"HTTP/1.1" | b"HTTP/1.0") || first.get(8) != Some(&b' ') {
        return None;
    }
    let rest = &first[9..];
    let code = rest.get(..3)?;
    if !all(code, &util::digit()) || !(b'1'..=b'5').contains(&code[0]) {
        return None;
    }
    let status: u16 = std::str::from_utf8(code).ok()?.parse().ok()?;
    // No reason at all, or a space and a reason (which may be empty).
    let reason: &[u8] = match &rest[3..] {
        [] => b"",
        [b' ', reason @ ..] => reason,
        _ => return None,
    };
    if !all(reason, &util::reason()) {
        return None;
    }
    let (headers, typed) = reference_headers(&lines[1..], 100, false)?;
    Some(Resp {
        version: text(version),
        status,
        reason: text(reason),
        headers,
        typed,
    })
}

fn typed_parts(t: &degu_core::Typed) -> TypedParts {
    TypedParts {
        framing: t.framing,
        range: t.range.map(|r| (r.start(), r.stop(), r.suffix())),
        content_range: t.content_range.map(|c| (c.start(), c.stop(), c.total())),
    }
}

fn degu_request(input: &[u8]) -> Option<Req> {
    let mut buf = input.to_vec();
    let p = parse_request(&mut buf).ok()?;
    let decoded = p
        .path_components()
        .map(|c| {
            let mut s = String::new();
            decode_component(c, &mut s);
            s
        })
        .collect();
    Some(Req {
        method: p.method.to_string(),
        version: p.version.to_string(),
        uri: p.uri.to_owned(),
        path: p.path.to_owned(),
        query: p.query.map(str::to_owned),
        decoded,
        headers: util::pairs(&p.headers),
        typed: typed_parts(&p.typed),
    })
}

fn degu_response(input: &[u8]) -> Option<Resp> {
    let mut buf = input.to_vec();
    let p = parse_response(&mut buf).ok()?;
    Some(Resp {
        version: p.version.to_string(),
        status: p.status,
        reason: p.reason.to_owned(),
        headers: util::pairs(&p.headers),
        typed: typed_parts(&p.typed),
    })
}

// ---- Generators ------------------------------------------------------

fn from_set(set: Set, len: std::ops::RangeInclusive<usize>) -> impl Strategy<Value = String> {
    let bytes: Vec<u8> = (0..=255u8).filter(|&b| set[b as usize]).collect();
    prop::collection::vec(prop::sample::select(bytes), len)
        .prop_map(|v| String::from_utf8(v).unwrap())
}

/// Escapes a component may hold (each decodes to what it may hold).
const GOOD_ESCAPES: &[&str] = &[
    "%20",
    "%25",
    "%2E",
    "%2e",
    "%3F",
    "%3f",
    "%23",
    "%5C",
    "%7E",
    "%41",
    "%C3%A9",
    "%c3%a9",
    "%E2%82%AC",
    "%F0%9F%A6%80",
    "%C2%80",
];

/// A path component: path bytes but `%`, and whole escapes; never one
/// that is (or decodes to) `.` or `..`.
fn path_component() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            4 => from_set(util::without(util::path(), "%"), 1..=1),
            1 => prop::sample::select(GOOD_ESCAPES).prop_map(String::from),
        ],
        1..=6,
    )
    .prop_map(|pieces| {
        let c = pieces.concat();
        match decode(c.as_bytes()).as_deref() {
            Some(b".") | Some(b"..") => c + "x",
            _ => c,
        }
    })
}

fn uri() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(path_component(), 0..4),
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

/// A URI close to the rules' edges: escapes of any byte (either case),
/// dots, bare `%`s, separators.
fn edgy_uri() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            any::<u8>().prop_map(|b| format!("%{b:02X}")),
            any::<u8>().prop_map(|b| format!("%{b:02x}")),
            prop::sample::select(vec![
                ".",
                "..",
                "/",
                "/",
                "?",
                "%",
                "%2",
                "%G0",
                "%e",
                "a",
                "~",
                "@",
                "[",
                "]",
                " ",
                "%2e",
                "%2E",
                "%C3",
                "%A9",
                "%ED%A0%80",
                "%F4%90%80%80",
            ])
            .prop_map(String::from),
        ],
        0..8,
    )
    .prop_map(|pieces| format!("/{}", pieces.concat()))
}

/// A header value as an outgoing header holds it: no whitespace around.
fn header_value() -> impl Strategy<Value = String> {
    from_set(util::value(), 0..=24).prop_map(|v| v.trim_matches([' ', '\t']).to_owned())
}

/// Up to 40 headers (past the 20 a parse keeps inline), no name twice.
fn request_pairs() -> impl Strategy<Value = Pairs> {
    prop::collection::vec((from_set(util::name_out(), 1..=12), header_value()), 0..=40).prop_map(
        |pairs| {
            let mut seen = std::collections::HashSet::new();
            pairs
                .into_iter()
                .map(|(n, v)| (format!("x-{n}"), v))
                .filter(|(n, _)| seen.insert(n.clone()))
                .collect()
        },
    )
}

/// Up to 40 headers, some names repeated (as a response may).
fn response_pairs() -> impl Strategy<Value = Pairs> {
    prop::collection::vec(
        (
            prop_oneof![
                from_set(util::name_out(), 1..=12).prop_map(|n| format!("x-{n}")),
                prop::sample::select(vec!["set-cookie", "vary", "link", "x-a"])
                    .prop_map(String::from),
            ],
            header_value(),
        ),
        0..=40,
    )
}

fn method() -> impl Strategy<Value = Method> {
    prop::sample::select(vec![
        Method::Get,
        Method::Head,
        Method::Put,
        Method::Post,
        Method::Delete,
        Method::Patch,
        Method::Options,
    ])
}

/// `range` values, some of them ignored.
fn range_value() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "bytes=0-99",
        "bytes=5-",
        "bytes=-10",
        "bytes=-0",
        "bytes=0-1,5-6",
        "bytes=5-1",
        "bytes=",
        "nonsense",
        "",
    ])
}

/// How a header line is written: the separator, the whitespace after the
/// value, and the case of the name.
type Style = (usize, usize, u8);

const SEPARATORS: [&str; 5] = [": ", ":", ":\t", ":  ", ": \t "];
const TRAILERS: [&str; 4] = ["", " ", "\t", " \t "];

fn styles() -> impl Strategy<Value = Vec<Style>> {
    prop::collection::vec((0..SEPARATORS.len(), 0..TRAILERS.len(), 0..3u8), 44)
}

/// `\r\n` and one header line, written in `style`.
fn header_line(out: &mut String, name: &str, value: &str, (sep, trail, case): Style) {
    out.push_str("\r\n");
    match case {
        0 => out.push_str(name),
        1 => out.push_str(&name.to_ascii_uppercase()),
        _ => {
            // Title-Case.
            let mut up = true;
            for c in name.chars() {
                out.push(if up { c.to_ascii_uppercase() } else { c });
                up = c == '-';
            }
        }
    }
    out.push_str(SEPARATORS[sep]);
    out.push_str(value);
    out.push_str(TRAILERS[trail]);
}

fn valid_request() -> impl Strategy<Value = Vec<u8>> {
    (
        (method(), uri(), any::<bool>()),
        request_pairs(),
        (prop::option::of(range_value()), 0..3u8, 0u64..100_000),
        styles(),
    )
        .prop_map(
            |((m, uri, http10), mut pairs, (range, framing, n), styles)| {
                if let Some(r) = range {
                    pairs.push(("range".into(), r.into()));
                }
                if !m.forbids_body() {
                    match framing {
                        1 => pairs.push(("content-length".into(), n.to_string())),
                        2 if !http10 => pairs.push(("transfer-encoding".into(), "chunked".into())),
                        _ => {}
                    }
                }
                let minor = if http10 { 0 } else { 1 };
                let mut out = format!("{m} {uri} HTTP/1.{minor}");
                for ((name, value), style) in pairs.iter().zip(styles) {
                    header_line(&mut out, name, value, style);
                }
                out.into_bytes()
            },
        )
}

fn valid_response() -> impl Strategy<Value = Vec<u8>> {
    (
        (100u16..600, any::<bool>()),
        prop::option::of(from_set(util::reason(), 0..=20)),
        response_pairs(),
        (0..3u8, 0u64..100_000, prop::option::of(0u64..10)),
        styles(),
    )
        .prop_map(
            |((status, http10), reason, mut pairs, (framing, n, range), styles)| {
                match framing {
                    1 => pairs.push(("content-length".into(), n.to_string())),
                    2 => pairs.push(("transfer-encoding".into(), "chunked".into())),
                    _ => {}
                }
                if let Some(start) = range {
                    pairs.push(("content-range".into(), format!("bytes {start}-9/10")));
                }
                let minor = if http10 { 0 } else { 1 };
                let mut out = format!("HTTP/1.{minor} {status}");
                if let Some(r) = reason {
                    out.push(' ');
                    out.push_str(&r);
                }
                for ((name, value), style) in pairs.iter().zip(styles) {
                    header_line(&mut out, name, value, style);
                }
                out.into_bytes()
            },
        )
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

/// Edits biased to the bytes that matter: separators, dots, escapes and
/// case.
fn interesting_byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        any::<u8>(),
        prop::sample::select(
            b"\r\n :;=?/-_~%&\"'()*,<>[]{}!#$@\\^`|\t\x00\x01\x1f\x7f\x80\xffAZaz09.2eEfF".to_vec()
        ),
    ]
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
        start in prop::sample::select(vec![
            &b"GET / HTTP/1.1\r\n"[..],
            b"HTTP/1.1 200 OK\r\n",
            b"HTTP/1.0 200\r\n",
            b"PUT /a?b HTTP/1.1\r\nx: ",
            b"GET /a%",
            b"PATCH /a/.",
            b"OPTIONS /%C3",
        ]),
    ) {
        let mut input = start.to_vec();
        input.extend(tail);
        let _ = parse_request(&mut input.clone());
        let _ = parse_response(&mut input.clone());
    }

    #[test]
    fn valid_requests_round_trip(m in method(), uri in uri(), pairs in request_pairs()) {
        let h = Headers::from_pairs(pairs.clone()).unwrap();
        let mut out = Vec::new();
        write_request_preamble(&mut out, m, &uri, &h).unwrap();
        let mut r = degu_core::Reader::new(&out[..]);
        let p = r.read_request().unwrap().unwrap();
        prop_assert_eq!(p.method, m);
        prop_assert_eq!(p.uri, uri.as_str());
        prop_assert_eq!(util::pairs(&p.headers), pairs);
        prop_assert_eq!(Headers::from_raw(&p.headers), h);
        // Each component decodes as the reference decodes it.
        for c in p.path_components() {
            let mut s = String::new();
            decode_component(c, &mut s);
            prop_assert_eq!(Some(s.into_bytes()), decode(c.as_bytes()));
        }
    }

    #[test]
    fn valid_responses_round_trip(
        status in 100u16..600,
        reason in from_set(util::reason(), 1..=20),
        pairs in response_pairs(),
    ) {
        let mut h = Headers::new();
        for (n, v) in &pairs {
            h.append(n.clone(), v.clone()).unwrap();
        }
        let mut out = Vec::new();
        write_response_preamble(&mut out, status, &reason, &h).unwrap();
        let mut r = degu_core::Reader::new(&out[..]);
        let p = r.read_response().unwrap();
        prop_assert_eq!((p.status, p.reason), (status, reason.as_str()));
        prop_assert_eq!(util::pairs(&p.headers), pairs);
        prop_assert_eq!(Headers::from_raw(&p.headers), h);
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
    fn responses_with_interesting_edits_agree(
        valid in valid_response(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), interesting_byte()), 1..3),
    ) {
        let mut input = valid;
        for (at, b) in edits {
            let i = at.index(input.len());
            input[i] = b;
        }
        prop_assert_eq!(degu_response(&input), reference_response(&input), "{:?}", input.escape_ascii().to_string());
    }

    #[test]
    fn uris_near_the_rules_agree(uri in edgy_uri(), method in method(), minor in 0..2u8) {
        let input = format!("{method} {uri} HTTP/1.{minor}");
        let reference = reference_request(input.as_bytes());
        prop_assert_eq!(degu_request(input.as_bytes()), reference, "{:?}", input);
        let parts = uri_parts(uri.as_bytes()).map(|(path, query, _)| (path, query));
        let degu = degu_core::parse_uri(uri.as_bytes())
            .ok()
            .map(|(path, query)| (path.to_owned(), query.map(str::to_owned)));
        prop_assert_eq!(degu, parts, "{:?}", uri);
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
