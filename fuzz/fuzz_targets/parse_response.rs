//! Any bytes into `parse_response`: never a panic; what is accepted formats
//! back to a preamble that parses to the same response.
#![no_main]

use degu_core::{Headers, parse_response, tables, write_response_preamble};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut buf = data.to_vec();
    let Ok(p) = parse_response(&mut buf) else {
        return;
    };
    assert!((100..=599).contains(&p.status));
    assert!(tables::all_in(p.reason.as_bytes(), tables::REASON));
    let h = Headers::from_raw(&p.headers);
    for (name, value) in h.iter() {
        degu_core::check_header(name, value).expect("a parsed header is a valid outgoing one");
    }
    let mut out = Vec::new();
    write_response_preamble(&mut out, p.status, p.reason, &h).expect("formats back");
    let mut again = out[..out.len() - 4].to_vec();
    let q = parse_response(&mut again).expect("parses again");
    assert_eq!((q.status, q.reason), (p.status, p.reason));
    assert_eq!(q.headers, p.headers);
    assert_eq!(q.typed, p.typed);
});
