//! Any bytes into `parse_request`: never a panic; whatever is accepted
//! keeps the rules (the tables' bytes, lowercase names without repeats,
//! values without whitespace around them, no `.` or `..` component once
//! decoded, no body for GET and HEAD, no chunked HTTP/1.0, at most
//! `MAX_HEADERS` headers, a `range` kept only when it is one range), reads
//! alike through `iter`, `get` and `get_all` past the headers kept inline,
//! and formats back to a preamble that parses to the same request.
#![no_main]

use degu_core::{
    Error, Framing, Headers, MAX_HEADERS, Range, Version, decode_component, parse_request,
    parse_request_with, tables, write_request_preamble,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut buf = data.to_vec();
    let Ok(p) = parse_request(&mut buf) else {
        return;
    };
    assert!(p.uri.starts_with('/'));
    assert_eq!(
        p.uri.len(),
        p.path.len() + p.query.map_or(0, |q| q.len() + 1)
    );
    assert_eq!(
        degu_core::parse_uri(p.uri.as_bytes()).unwrap(),
        (p.path, p.query)
    );
    let mut decoded = String::new();
    for comp in p.path_components() {
        decode_component(comp, &mut decoded);
        assert!(decoded != "." && decoded != "..", "{comp:?}");
        assert!(!decoded.contains('/'), "{comp:?}");
        assert!(!decoded.chars().any(|c| c < ' ' || c == '\x7f'), "{comp:?}");
    }
    if p.method.forbids_body() {
        assert_eq!(p.typed.framing, Framing::None);
    }
    if p.version == Version::Http10 {
        assert_ne!(p.typed.framing, Framing::Chunked);
    }

    // The headers: every one through `iter`, the same through `get` and
    // `get_all` (no name twice in a request).
    let n = p.headers.len();
    assert!(n <= MAX_HEADERS);
    assert_eq!(p.headers.iter().count(), n);
    let mut h = Headers::new();
    for (name, value) in p.headers.iter() {
        assert!(
            tables::all_in(name.as_bytes(), tables::LOWER_NAME),
            "{name:?}"
        );
        assert!(tables::all_in(value.as_bytes(), tables::VALUE), "{value:?}");
        assert!(!value.starts_with([' ', '\t']) && !value.ends_with([' ', '\t']));
        assert_eq!(p.headers.get(name), Some(value));
        assert_eq!(p.headers.get_all(name).count(), 1);
        h.insert(name.to_owned(), value.to_owned())
            .expect("a parsed header is a valid outgoing one");
    }
    // A range is kept when it is one range, and ignored otherwise.
    match p.headers.get("range") {
        Some(v) => assert_eq!(p.typed.range, Range::parse(v.as_bytes()).ok()),
        None => assert_eq!(p.typed.range, None),
    }
    // Exactly `n` headers: a limit of `n` takes them, one less does not.
    assert!(parse_request_with(&mut data.to_vec(), n).is_ok());
    if n > 0 {
        match parse_request_with(&mut data.to_vec(), n - 1) {
            Err(Error::TooManyHeaders(max)) => assert_eq!(max, n - 1),
            other => panic!("{n} headers under a limit of {}: {other:?}", n - 1),
        }
    }

    // Written again (as HTTP/1.1, names lowercase, values trimmed), it
    // parses to the same request.
    let mut out = Vec::new();
    write_request_preamble(&mut out, p.method, p.uri, &h).expect("formats back");
    let mut again = out[..out.len() - 4].to_vec();
    let q = parse_request(&mut again).expect("parses again");
    assert_eq!(
        (q.method, q.uri, q.version),
        (p.method, p.uri, Version::Http11)
    );
    assert_eq!(q.headers, p.headers);
    assert_eq!(q.typed, p.typed);
});
