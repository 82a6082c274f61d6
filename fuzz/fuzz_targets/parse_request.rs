//! Any bytes into `parse_request`: never a panic; whatever is accepted is
//! exactly as strict as the tables, lowercased, and formats back to a
//! preamble that parses to the same request.
#![no_main]

use degu_core::{Headers, parse_request, tables, write_request_preamble};
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
    assert!(p.headers.len() <= degu_core::MAX_HEADERS);
    let mut h = Headers::new();
    for (name, value) in p.headers.iter() {
        assert!(
            tables::all_in(name.as_bytes(), tables::LOWER_NAME),
            "{name:?}"
        );
        assert!(tables::all_in(value.as_bytes(), tables::VALUE), "{value:?}");
        h.insert(name.to_owned(), value.to_owned())
            .expect("a parsed header is a valid outgoing one");
    }
    let mut out = Vec::new();
    write_request_preamble(&mut out, p.method, p.uri, &h).expect("formats back");
    let mut again = out[..out.len() - 4].to_vec();
    let q = parse_request(&mut again).expect("parses again");
    assert_eq!((q.method, q.uri), (p.method, p.uri));
    assert_eq!(q.headers, p.headers);
    assert_eq!(q.typed, p.typed);
});
