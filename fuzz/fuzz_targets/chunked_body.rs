//! A `ChunkedBody` over any bytes: never a panic, never reads past the
//! final chunk, and a body that ends cleanly re-encodes to as many bytes
//! as it was read from (only the case of hex digits may differ), which read
//! back to the same chunks.
#![no_main]

use degu_core::{ChunkedBody, Reader};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut src = data;
    let mut body = ChunkedBody::new(&mut src);
    let mut chunks = Vec::new();
    let mut ok = true;
    for c in &mut body {
        match c {
            Ok(c) => chunks.push(c),
            Err(_) => {
                ok = false;
                break;
            }
        }
    }
    let complete = body.is_complete();
    drop(body);
    let used = data.len() - src.len();
    if ok {
        assert!(complete);
        let mut out = Vec::new();
        degu_core::ChunkedBodyIter::new(chunks.clone())
            .write_to(&mut out)
            .unwrap();
        assert_eq!(out.len(), used);
        let again: Vec<_> = ChunkedBody::new(&out[..]).map(|c| c.unwrap()).collect();
        assert_eq!(again, chunks);
        // The buffered reader reads the same chunks and leaves the rest.
        let mut r = Reader::new(data);
        let again: Vec<_> = ChunkedBody::from_source(&mut r)
            .map(|c| c.unwrap())
            .collect();
        assert_eq!(again, chunks);
        if data.len() <= degu_core::BUFFER_SIZE {
            assert_eq!(r.buffered(), &data[used..]);
        }
    } else {
        // The buffered reader agrees that this body is broken.
        let mut r = Reader::new(data);
        assert!(ChunkedBody::from_source(&mut r).read_all().is_err());
    }
});
