//! Any bytes into `Range::parse` and `ContentRange::parse`/`parse_header`:
//! never a panic; what is accepted renders back to text that parses to the
//! same value, and answers stay within the resource.
#![no_main]

use degu_core::{ContentRange, Range};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = Range::parse(data) {
        assert!(r.start() < r.stop());
        assert_eq!(r.to_string().parse::<Range>().unwrap(), r);
        for total in [0, 1, r.start(), r.start() + 1, r.stop(), u64::MAX / 2] {
            if let Ok(cr) = r.content_range(total) {
                assert!(cr.stop() <= total && cr.start() == r.start());
                assert_eq!(r.content_length(total).unwrap(), cr.len());
            }
        }
    }
    if let Ok(cr) = ContentRange::parse(data) {
        assert!(cr.start() < cr.stop() && cr.stop() <= cr.total());
        assert_eq!(cr.to_string().parse::<ContentRange>().unwrap(), cr);
        assert_eq!(ContentRange::parse_header(data).unwrap(), Some(cr));
    }
    let _ = ContentRange::parse_header(data);
});
