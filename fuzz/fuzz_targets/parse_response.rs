//! Any bytes into `parse_response`: never a panic; whatever is accepted
//! keeps the rules (status 100..=599, a reason of the table's bytes that
//! may be empty, at most `MAX_RESPONSE_HEADERS` headers, names repeated
//! but for the framing headers and `content-range`, values without
//! whitespace around them), reads alike through `iter`, `get` and
//! `get_all` past the headers kept inline, and formats back to a preamble
//! that parses to the same response.
#![no_main]

use degu_core::{
    Headers, MAX_RESPONSE_HEADERS, Version, parse_response, tables, write_response_preamble,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut buf = data.to_vec();
    let Ok(p) = parse_response(&mut buf) else {
        return;
    };
    assert!((100..=599).contains(&p.status));
    assert!(tables::all_in(p.reason.as_bytes(), tables::REASON));

    let n = p.headers.len();
    assert!(n <= MAX_RESPONSE_HEADERS);
    assert_eq!(p.headers.iter().count(), n);
    for (name, value) in p.headers.iter() {
        assert!(!value.starts_with([' ', '\t']) && !value.ends_with([' ', '\t']));
        let all: Vec<&str> = p.headers.get_all(name).collect();
        assert_eq!(p.headers.get(name), all.first().copied());
        assert!(all.contains(&value));
        if matches!(
            name,
            "content-length" | "transfer-encoding" | "content-range"
        ) {
            assert_eq!(all.len(), 1, "{name} repeated");
        }
    }
    let h = Headers::from_raw(&p.headers);
    assert_eq!(h.len(), n);
    for (name, value) in h.iter() {
        degu_core::check_header(name, value).expect("a parsed header is a valid outgoing one");
    }

    // Written again (names lowercase, values trimmed), it parses to the
    // same response. The writer wants a reason: an empty one is written
    // by hand, in the version it came in.
    let mut out = Vec::new();
    let version = if p.reason.is_empty() {
        out.extend_from_slice(format!("{} {} \r\n", p.version, p.status).as_bytes());
        h.write_to(&mut out).expect("formats back");
        out.extend_from_slice(b"\r\n");
        p.version
    } else {
        write_response_preamble(&mut out, p.status, p.reason, &h).expect("formats back");
        Version::Http11
    };
    let mut again = out[..out.len() - 4].to_vec();
    let q = parse_response(&mut again).expect("parses again");
    assert_eq!(
        (q.version, q.status, q.reason),
        (version, p.status, p.reason)
    );
    assert_eq!(q.headers, p.headers);
    assert_eq!(q.typed, p.typed);
});
