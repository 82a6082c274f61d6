//! Large bodies stream through the server in bounded memory: the process's
//! RSS (client and server live in this process) grows by far less than
//! the body.

use std::io::{Read, Write};
use std::thread;

use degu_core::{ChunkedBody, Framing};

use crate::util::{Client, big_lock, req, rss, serve_demo};

const GIB: u64 = 1 << 30;
const MIB: usize = 1 << 20;
/// Most the RSS may grow while a body of a GiB streams through.
const RSS_BOUND: u64 = 64 << 20;

/// The pattern from offset 0, one period longer than a MiB, so any MiB of
/// it starting at any offset is a slice.
fn period_buffer() -> Vec<u8> {
    crate::util::pattern(0, MIB + 251)
}

fn pattern_slice(buf: &[u8], offset: u64, len: usize) -> &[u8] {
    let at = (offset % 251) as usize;
    &buf[at..at + len]
}

/// Reads exactly `total` bytes of the pattern (starting at `start`) from
/// `r`, checking every 4096th byte and the first and last byte of every
/// read, plus every byte of the first and last MiB; returns the highest
/// RSS seen (sampled every 64 MiB).
fn verify_stream(r: &mut impl Read, start: u64, total: u64, full: &[u8]) -> u64 {
    let mut buf = vec![0u8; MIB];
    let mut off = 0u64;
    let mut peak = rss();
    let mut next_sample = 64 << 20;
    while off < total {
        let want = (total - off).min(buf.len() as u64) as usize;
        let n = r.read(&mut buf[..want]).unwrap();
        assert!(n > 0, "body ended after {off} of {total} bytes");
        let got = &buf[..n];
        let expect = |i: usize| ((start + off + i as u64) % 251) as u8;
        if off < MIB as u64 || off + n as u64 > total.saturating_sub(MIB as u64) {
            assert!(
                got == pattern_slice(full, start + off, n),
                "wrong bytes in {off}..{}",
                off + n as u64
            );
        } else {
            let first = ((4096 - (start + off) % 4096) % 4096) as usize;
            for i in (first..n).step_by(4096).chain([0, n - 1]) {
                assert_eq!(got[i], expect(i), "byte {}", off + i as u64);
            }
        }
        off += n as u64;
        if off >= next_sample {
            peak = peak.max(rss());
            next_sample += 64 << 20;
        }
    }
    peak.max(rss())
}

/// Writes `total` bytes of the pattern from offset 0 in MiB pieces.
fn write_pattern(w: &mut impl Write, total: u64) {
    let full = period_buffer();
    let mut off = 0u64;
    while off < total {
        let n = (total - off).min(MIB as u64) as usize;
        w.write_all(pattern_slice(&full, off, n)).unwrap();
        off += n as u64;
    }
}

#[test]
fn one_gib_get_streams_in_bounded_memory() {
    let _big = big_lock();
    let server = serve_demo();
    let mut c = Client::connect(server.address());
    let before = rss();
    c.send(req("GET", &format!("/bytes/{GIB}"), &[]));
    let head = c.head();
    assert_eq!((head.status, head.framing), (200, Framing::Length(GIB)));
    let peak = verify_stream(c.reader(), 0, GIB, &period_buffer());
    // The connection is exactly at the end of the body.
    assert_eq!(c.get("/").text(), "hello, world");
    let growth = peak.saturating_sub(before);
    println!(
        "GET 1 GiB: RSS {} MiB before, peak growth {} KiB",
        before >> 20,
        growth >> 10
    );
    assert!(growth < RSS_BOUND, "RSS grew by {growth} bytes");
    assert_eq!(server.shutdown(), 0);
}

#[test]
fn one_gib_put_echo_streams_both_ways_in_bounded_memory() {
    let _big = big_lock();
    let server = serve_demo();
    let mut c = Client::connect(server.address());
    let mut w = c.stream().try_clone();
    let before = rss();
    let writer = thread::spawn(move || {
        w.write_all(format!("PUT /echo HTTP/1.1\r\ncontent-length: {GIB}\r\n\r\n").as_bytes())
            .unwrap();
        write_pattern(&mut w, GIB);
    });
    let head = c.head();
    assert_eq!((head.status, head.framing), (200, Framing::Length(GIB)));
    let peak = verify_stream(c.reader(), 0, GIB, &period_buffer());
    writer.join().unwrap();
    assert_eq!(c.get("/").text(), "hello, world");
    let growth = peak.saturating_sub(before);
    println!(
        "PUT 1 GiB echo: RSS {} MiB before, peak growth {} KiB",
        before >> 20,
        growth >> 10
    );
    assert!(growth < RSS_BOUND, "RSS grew by {growth} bytes");
    assert_eq!(server.shutdown(), 0);
}

#[test]
fn chunked_echo_of_256_mib_streams_in_bounded_memory() {
    let _big = big_lock();
    let server = serve_demo();
    let mut c = Client::connect(server.address());
    let mut w = c.stream().try_clone();
    let chunks = 256u64;
    let before = rss();
    let writer = thread::spawn(move || {
        let full = period_buffer();
        w.write_all(b"POST /echo HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n")
            .unwrap();
        for i in 0..chunks {
            w.write_all(format!("{MIB:x};i={i}\r\n").as_bytes())
                .unwrap();
            w.write_all(pattern_slice(&full, i * MIB as u64, MIB))
                .unwrap();
            w.write_all(b"\r\n").unwrap();
        }
        w.write_all(b"0\r\n\r\n").unwrap();
    });
    let head = c.head();
    assert_eq!((head.status, head.framing), (200, Framing::Chunked));
    let mut peak = before;
    let full = period_buffer();
    {
        let mut body = ChunkedBody::from_source(c.reader());
        for i in 0..chunks {
            let h = body.read_chunk_head().unwrap().unwrap();
            assert_eq!(h.size, MIB as u64);
            assert_eq!(h.ext, Some(("i".to_owned(), i.to_string())));
            let mut data = ChunkData(&mut body);
            peak = peak.max(verify_stream(&mut data, i * MIB as u64, MIB as u64, &full));
            assert_eq!(data.0.read_chunk_data(&mut [0u8; 1]).unwrap(), 0);
        }
        let last = body.read_chunk_head().unwrap().unwrap();
        assert_eq!((last.size, last.ext), (0, None));
        assert!(body.is_complete());
    }
    writer.join().unwrap();
    assert_eq!(c.get("/").text(), "hello, world");
    let growth = peak.saturating_sub(before);
    println!("chunked 256 MiB echo: peak RSS growth {} KiB", growth >> 10);
    assert!(growth < RSS_BOUND, "RSS grew by {growth} bytes");
}

/// The current chunk's data as a `Read`.
struct ChunkData<'a, 'b>(&'a mut ChunkedBody<'b>);

impl Read for ChunkData<'_, '_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        Ok(self.0.read_chunk_data(buf)?)
    }
}
