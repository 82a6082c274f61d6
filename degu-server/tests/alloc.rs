//! Serving a request allocates nothing once the connection is set up: the
//! server refills one `Request` per connection, reads into its buffer and
//! its body straight from the connection (no boxed reader), formats into
//! its output buffer, and an app that starts its response with
//! `Request::response` reuses the previous response's header list.
//! (Chunked bodies are not covered: their chunk lines and extensions are
//! read and formatted into fresh buffers, a few allocations per body.)
//!
//! Checked with a counting global allocator (dhat, in testing mode), so
//! this is its own test binary, with its own `main` (no libtest harness):
//! the count is process-wide, and the harness's own threads allocate now
//! and then while a test runs. Here one thread runs, and every block
//! counted is the server's.

#![allow(
    unreachable_pub,
    reason = "a test or bench binary: `pub` marks what its modules share"
)]

use std::io::{self, Cursor, Read, Write};

use degu_server::{CloseReason, ConnectionInfo, Session, serve_transport};

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

/// An in-memory connection whose buffers are all allocated up front.
struct Pipe {
    input: Cursor<Vec<u8>>,
    output: Vec<u8>,
}

impl Read for Pipe {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.input.read(buf)
    }
}

impl Write for Pipe {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        assert!(
            self.output.len() + buf.len() <= self.output.capacity(),
            "the test's output buffer must not grow"
        );
        self.output.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl degu_core::Transport for Pipe {}

/// Heap blocks allocated while one connection serves `requests` pairs of
/// the two requests in `pair`, sent pipelined to the demo app.
fn blocks_for(pair: &[u8], requests: usize) -> (u64, usize) {
    let input = pair.repeat(requests / 2);
    let pipe = Box::new(Pipe {
        input: Cursor::new(input),
        output: Vec::with_capacity(requests * 128),
    });
    let info = ConnectionInfo::default();
    let mut session = Session::new(degu_core::IPV4_LOOPBACK, None, 1_000_000);
    let before = dhat::HeapStats::get().total_blocks;
    let reason = serve_transport(pipe, &info, &mut session, &degu_server::demo::app);
    let after = dhat::HeapStats::get().total_blocks;
    assert!(matches!(reason, CloseReason::PeerClosed), "{reason}");
    (after - before, session.requests() as usize)
}

/// Blocks allocated per request beyond the connection's setup.
fn per_request(pair: &[u8]) -> f64 {
    let (few, n_few) = blocks_for(pair, 10);
    let (many, n_many) = blocks_for(pair, 2010);
    assert_eq!((n_few, n_many), (10, 2010));
    (many - few) as f64 / 2000.0
}

fn main() {
    serving_a_request_allocates_nothing();
    println!("test serving_a_request_allocates_nothing ... ok");
}

fn serving_a_request_allocates_nothing() {
    let _profiler = dhat::Profiler::builder().testing().build();
    // Setting up a connection allocates (its buffers); the requests after that, nothing: not their headers
    // (of two shapes, common names and others), paths, or responses.
    let gets = b"GET / HTTP/1.1\r\nhost: example.com\r\nx-request: 1\r\n\r\n\
                 GET /app/?q HTTP/1.1\r\nuser-agent: t\r\naccept: */*\r\n\r\n";
    assert_eq!(per_request(gets), 0.0);
    // Nor their bodies, echoed back.
    let puts = b"PUT /echo HTTP/1.1\r\ncontent-length: 2\r\n\r\nhi\
                 PUT /echo HTTP/1.1\r\ncontent-length: 3\r\n\r\nbye";
    assert_eq!(per_request(puts), 0.0);
}
