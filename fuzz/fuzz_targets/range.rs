//! Any bytes into `Range::parse` and `ContentRange::parse`/`parse_header`:
//! never a panic; what is accepted renders back to text that parses to the
//! same value, and answers stay within the resource: a `start-stop` range
//! from its start, a suffix range the last bytes, nothing (a 416) when it
//! selects nothing.
#![no_main]

use degu_core::{ContentRange, MAX_LENGTH, Range};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = Range::parse(data) {
        assert_eq!(r.to_string().parse::<Range>().unwrap(), r);
        // The resource sizes around the range's ends.
        let ends: Vec<u64> = match (r.start(), r.stop(), r.suffix()) {
            (Some(start), Some(stop), None) => {
                assert!(start < stop && stop <= Range::OPEN_END);
                assert_eq!(Range::new(start, stop).unwrap(), r);
                vec![start, start + 1, stop - 1, stop]
            }
            (None, None, Some(n)) => {
                assert!(n <= MAX_LENGTH);
                assert_eq!(Range::last(n).unwrap(), r);
                vec![n.saturating_sub(1), n, n + 1]
            }
            other => panic!("a range is start-stop or a suffix: {other:?}"),
        };
        for total in [0, 1, 2, MAX_LENGTH, u64::MAX / 2].into_iter().chain(ends) {
            match (r.resolve(total), r.start(), r.suffix()) {
                (Ok(sel), Some(start), None) => {
                    assert_eq!(sel, start..r.stop().unwrap().min(total));
                    assert!(sel.start < sel.end);
                }
                (Ok(sel), None, Some(n)) => {
                    assert_eq!(sel, total - n.min(total)..total);
                    assert!(sel.start < sel.end);
                }
                (Err(_), Some(start), None) => assert!(start >= total),
                (Err(_), None, Some(n)) => assert!(n == 0 || total == 0),
                (result, _, _) => panic!("{r}: {result:?}"),
            }
            match r.content_range(total) {
                Ok(cr) => {
                    let sel = r.resolve(total).unwrap();
                    assert_eq!(
                        (cr.start(), cr.stop(), cr.total()),
                        (sel.start, sel.end, total)
                    );
                    assert_eq!(r.content_length(total).unwrap(), cr.len());
                }
                // Nothing selected, or a resource too long to describe.
                Err(_) => assert!(r.resolve(total).is_err() || total > MAX_LENGTH),
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
