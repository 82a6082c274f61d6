//! Any bytes into `parse_chunk_line`: never a panic; what is accepted is
//! written back by `write_chunk` as the same line.
#![no_main]

use degu_core::{MAX_CHUNK_SIZE, parse_chunk_line, write_chunk};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(c) = parse_chunk_line(data) else {
        return;
    };
    assert!(c.size <= MAX_CHUNK_SIZE);
    if c.size > 4096 {
        return; // keep the round trip cheap
    }
    let payload = vec![b'x'; c.size as usize];
    let mut out = Vec::new();
    write_chunk(&mut out, c.ext, &payload).expect("an accepted line is writable");
    let line_end = out.windows(2).position(|w| w == b"\r\n").unwrap();
    let again = parse_chunk_line(&out[..line_end]).expect("parses again");
    assert_eq!(again, c);
});
