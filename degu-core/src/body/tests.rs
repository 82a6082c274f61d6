//! Input bodies over the connection cell (the `shared` module): the
//! tracker's states, detaching, echo (reading a request body while writing
//! the response to the same connection), and the hooks a body calls on
//! its source.

use std::io::{self, Read, Write};
use std::sync::atomic::AtomicU32;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};

use super::{Body, ChunkedBody, CloseBody, Incoming, Outgoing, Source, Src};
use crate::message::Transport;
use crate::parse::Framing;
use crate::shared::{BodyState, SharedWriter, body_source, shared};

/// The hooks a body calls on its source: once at its very end, or when
/// its framing breaks.
pub(crate) trait Hooks: Source {
    fn on_complete(&mut self);
    fn on_error(&mut self);
}

fn check_err<T: std::fmt::Debug, E: std::fmt::Display>(result: Result<T, E>, expected: &str) {
    match result {
        Ok(v) => panic!("expected the error {expected:?}, got Ok({v:?})"),
        Err(e) => assert_eq!(e.to_string(), expected),
    }
}

fn err_of<T: std::fmt::Debug>(r: crate::Result<T>) -> String {
    r.unwrap_err().to_string()
}

fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i % 251) as u8).collect()
}

/// An in-memory duplex transport: reads from `input`, writes to `output`.
struct Duplex {
    input: io::Cursor<Vec<u8>>,
    output: Arc<Mutex<Vec<u8>>>,
}

impl Duplex {
    fn boxed(input: &[u8]) -> Box<dyn Transport> {
        Duplex::with_output(input).0
    }

    /// The transport, and what is written to it.
    fn with_output(input: &[u8]) -> (Box<dyn Transport>, Arc<Mutex<Vec<u8>>>) {
        let output = Arc::new(Mutex::new(Vec::new()));
        let duplex = Duplex {
            input: io::Cursor::new(input.to_vec()),
            output: output.clone(),
        };
        (Box::new(duplex), output)
    }
}

impl Read for Duplex {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.input.read(buf)
    }
}

impl Write for Duplex {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.output.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Transport for Duplex {}

#[test]
fn body_completes_only_at_its_end() {
    let conn = shared(Duplex::boxed(b"hello, worldGET / HTTP/1.1\r\n\r\n"));
    let (src, tracker) = body_source(&conn);
    let mut body = Body::from_connection(src, 12);
    let mut buf = [0u8; 5];
    body.read_exact(&mut buf).unwrap();
    assert_eq!(tracker.state(), BodyState::Reading);
    assert_eq!(tracker.consumed(), 5);
    let mut rest = [0u8; 7];
    body.read_exact(&mut rest).unwrap();
    assert_eq!(&rest, b", world");
    assert_eq!(tracker.state(), BodyState::Complete);
    assert_eq!(tracker.consumed(), 12);
    // The next preamble is intact in the connection's buffer.
    let mut reader = conn.borrow_mut();
    assert_eq!(reader.read_request().unwrap().unwrap().uri, "/");
}

#[test]
fn an_empty_body_is_complete_at_once() {
    let conn = shared(Duplex::boxed(b""));
    let (src, tracker) = body_source(&conn);
    let _body = Body::from_connection(src, 0);
    assert_eq!(tracker.state(), BodyState::Complete);
    assert_eq!(tracker.detach(), BodyState::Complete);
    assert_eq!(tracker.state(), BodyState::Complete);
}

#[test]
fn a_detached_body_refuses_reads() {
    let conn = shared(Duplex::boxed(b"hello"));
    let (src, tracker) = body_source(&conn);
    let mut body = Body::from_connection(src, 5);
    let mut one = [0u8; 1];
    body.read_exact(&mut one).unwrap();
    assert_eq!(tracker.detach(), BodyState::Reading);
    assert_eq!(tracker.state(), BodyState::Detached);
    let e = body.read(&mut one).unwrap_err();
    assert_eq!(e.to_string(), "body no longer readable from its connection");
    // Nothing more was taken from the connection.
    assert_eq!(tracker.consumed(), 1);
    assert_eq!(conn.borrow_mut().buffered(), b"ello");
}

#[test]
fn a_failed_read_marks_the_body_failed() {
    let conn = shared(Duplex::boxed(b"hi"));
    let (src, tracker) = body_source(&conn);
    check_err(
        Body::from_connection(src, 5).read_all(),
        "body too short: 2 of 5 bytes",
    );
    assert_eq!(tracker.state(), BodyState::Failed);
    assert_eq!(tracker.detach(), BodyState::Failed);

    let conn = shared(Duplex::boxed(b"5\r\nhelloXX"));
    let (src, tracker) = body_source(&conn);
    check_err(
        ChunkedBody::from_connection(src).read_all(),
        r#"bad chunk terminator: "XX""#,
    );
    assert_eq!(tracker.state(), BodyState::Failed);

    let conn = shared(Duplex::boxed(b"hello"));
    let (src, tracker) = body_source(&conn);
    tracker.fail();
    check_err(
        Body::from_connection(src, 5).read_all(),
        "body no longer readable from its connection",
    );
}

#[test]
fn a_chunked_body_completes_after_the_final_chunk() {
    let wire = b"5;i=0\r\nhello\r\n0\r\n\r\nPUT / HTTP/1.1\r\n\r\n";
    let conn = shared(Duplex::boxed(wire));
    let (src, tracker) = body_source(&conn);
    let mut body = ChunkedBody::from_connection(src);
    assert_eq!(body.read_chunk().unwrap().unwrap().data, b"hello");
    assert_eq!(tracker.state(), BodyState::Reading);
    let head = body.read_chunk_head().unwrap().unwrap();
    assert_eq!(head.size, 0);
    assert_eq!(tracker.state(), BodyState::Complete);
    assert_eq!(tracker.consumed(), 19);
    assert_eq!(body.read_chunk().unwrap(), None);
    let mut reader = conn.borrow_mut();
    assert_eq!(reader.read_request().unwrap().unwrap().uri, "/");
}

#[test]
fn a_complete_body_cannot_be_read_again_through_its_source() {
    let conn = shared(Duplex::boxed(b"abcdef"));
    let (mut src, tracker) = body_source(&conn);
    let mut body = Body::from_connection(src.clone(), 3);
    body.read_all().unwrap();
    drop(body);
    assert_eq!(tracker.state(), BodyState::Complete);
    let mut buf = [0u8; 3];
    assert_eq!(
        src.read(&mut buf).unwrap_err().to_string(),
        "body already consumed"
    );
}

#[test]
fn a_busy_connection_is_an_error_not_a_panic() {
    let conn = shared(Duplex::boxed(b"hello"));
    let (src, tracker) = body_source(&conn);
    let mut body = Body::from_connection(src, 5);
    let held = conn.borrow_mut();
    let mut buf = [0u8; 5];
    assert_eq!(
        body.read(&mut buf).unwrap_err().to_string(),
        "connection is busy"
    );
    assert_eq!(tracker.state(), BodyState::Failed);
    drop(held);
    let held = conn.borrow_mut();
    let e = SharedWriter(conn.clone()).write(b"x").unwrap_err();
    assert_eq!(e.to_string(), "connection is busy");
    drop(held);
}

#[test]
fn echo_a_body_into_the_same_connection() {
    // The request body streams into the response on the same connection,
    // one borrow per read and per write.
    let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let (duplex, output) = Duplex::with_output(&data);
    let conn = shared(duplex);
    let (src, tracker) = body_source(&conn);
    let mut body = Outgoing::from(Body::from_connection(src, data.len() as u64));
    assert_eq!(body.framing(), Framing::Length(data.len() as u64));
    let n = body.write_to(&mut SharedWriter(conn.clone())).unwrap();
    assert_eq!(n, data.len() as u64);
    assert_eq!(tracker.state(), BodyState::Complete);
    assert_eq!(*output.lock().unwrap(), data);
}

#[test]
fn echo_a_chunked_body_keeps_its_chunks() {
    let wire = b"3;a=1\r\nabc\r\n4;b=2\r\ndefg\r\n0\r\n\r\n";
    let (duplex, output) = Duplex::with_output(wire);
    let conn = shared(duplex);
    let (src, tracker) = body_source(&conn);
    let mut body = Outgoing::from(ChunkedBody::from_connection(src));
    body.write_to(&mut SharedWriter(conn.clone())).unwrap();
    assert_eq!(tracker.state(), BodyState::Complete);
    assert_eq!(*output.lock().unwrap(), wire);
}

#[test]
fn a_new_body_detaches_the_previous_one() {
    let conn = shared(Duplex::boxed(b"hellohello"));
    let (src, first) = body_source(&conn);
    let mut old = Body::from_connection(src, 5);
    let mut buf = [0u8; 2];
    old.read_exact(&mut buf).unwrap();
    assert_eq!((first.state(), first.consumed()), (BodyState::Reading, 2));

    let (src, second) = body_source(&conn);
    assert_eq!(first.state(), BodyState::Detached);
    assert_eq!(first.detach(), BodyState::Detached);
    check_err(
        old.read(&mut buf),
        "body no longer readable from its connection",
    );
    // The old body's failure and tracker calls do not touch the new body.
    first.fail();
    assert_eq!((second.state(), second.consumed()), (BodyState::Reading, 0));

    let mut new = Body::from_connection(src, 3);
    let mut three = [0u8; 3];
    new.read_exact(&mut three).unwrap();
    assert_eq!(&three, b"llo");
    assert_eq!(
        (second.state(), second.consumed()),
        (BodyState::Complete, 3)
    );
}

/// Reads `wire` as a chunked body from the connection; returns whether
/// the body read fine and the tracker's state after.
fn read_chunked(wire: &[u8]) -> (bool, BodyState) {
    let conn = shared(Duplex::boxed(wire));
    let (src, tracker) = body_source(&conn);
    let mut body = ChunkedBody::from_connection(src);
    (body.read_all().is_ok(), tracker.state())
}

#[test]
fn every_body_failure_fails_the_tracker() {
    use BodyState::{Complete, Failed};
    let cases: [(&[u8], bool, BodyState); 8] = [
        (b"5;a=b\r\nhello\r\n0\r\n\r\nNEXT", true, Complete),
        (b"0\r\n\r\n", true, Complete),
        (b"5\r\nhelloXY0\r\n\r\n", false, Failed),
        (b"5\r\nhello\r\n0\r\nX\r\n", false, Failed),
        (b"z\r\n", false, Failed),
        (b"5\r\nhel", false, Failed),
        (b"5\r\nhello\r", false, Failed),
        (b"", false, Failed),
    ];
    for (wire, ok, state) in cases {
        assert_eq!(read_chunked(wire), (ok, state), "{:?}", wire.escape_ascii());
    }
    // A content-length body the peer cuts short.
    let conn = shared(Duplex::boxed(b"hel"));
    let (src, tracker) = body_source(&conn);
    assert!(Body::from_connection(src, 5).read_all().is_err());
    assert_eq!(tracker.state(), Failed);
}

/// A source that fails after its bytes, or ends; counts the hooks called.
struct Hooked<'a> {
    data: &'a [u8],
    fail: bool,
    completed: &'a AtomicU32,
    failed: &'a AtomicU32,
}

impl Read for Hooked<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.data.is_empty() && self.fail {
            return Err(io::ErrorKind::ConnectionReset.into());
        }
        let n = buf.len().min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

impl Source for Hooked<'_> {}

impl Hooks for Hooked<'_> {
    fn on_complete(&mut self) {
        self.completed.fetch_add(1, Relaxed);
    }
    fn on_error(&mut self) {
        self.failed.fetch_add(1, Relaxed);
    }
}

#[test]
fn close_body_calls_its_source_hooks() {
    let (completed, failed) = (AtomicU32::new(0), AtomicU32::new(0));
    let src = Hooked {
        data: b"abc",
        fail: false,
        completed: &completed,
        failed: &failed,
    };
    let mut body = CloseBody::with_src(Src::Hooked(Box::new(src)));
    assert_eq!(body.read_all().unwrap(), b"abc");
    let mut buf = [0u8; 4];
    assert_eq!(body.read(&mut buf).unwrap(), 0);
    assert_eq!((completed.load(Relaxed), failed.load(Relaxed)), (1, 0));

    // A read error is an error, never the end of the body.
    let (completed, failed) = (AtomicU32::new(0), AtomicU32::new(0));
    let src = Hooked {
        data: b"abc",
        fail: true,
        completed: &completed,
        failed: &failed,
    };
    let mut body = CloseBody::with_src(Src::Hooked(Box::new(src)));
    let e = err_of(body.read_all());
    assert!(e.contains("reset"), "{e}");
    assert!(!body.is_complete());
    assert_eq!((completed.load(Relaxed), failed.load(Relaxed)), (0, 1));
}

/// An in-memory transport: reads `data`, then the end of the stream (or
/// an error).
struct Mem {
    data: io::Cursor<Vec<u8>>,
    fail_at_end: bool,
}

impl Read for Mem {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.data.read(buf)?;
        if n == 0 && self.fail_at_end && !buf.is_empty() {
            return Err(io::ErrorKind::ConnectionReset.into());
        }
        Ok(n)
    }
}

impl Write for Mem {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Transport for Mem {}

#[test]
fn close_body_on_a_shared_connection_tells_its_tracker() {
    let conn = shared(Box::new(Mem {
        data: io::Cursor::new(pattern(100_000)),
        fail_at_end: false,
    }) as Box<dyn Transport>);
    let (src, tracker) = body_source(&conn);
    let mut body = Incoming::Close(CloseBody::from_connection(src));
    assert!(body.is_close_delimited());
    assert_eq!(tracker.state(), BodyState::Reading);
    assert!(body.read_all().unwrap() == pattern(100_000));
    assert_eq!(tracker.state(), BodyState::Complete);
    assert_eq!(tracker.consumed(), 100_000);

    let conn = shared(Box::new(Mem {
        data: io::Cursor::new(b"some".to_vec()),
        fail_at_end: true,
    }) as Box<dyn Transport>);
    let (src, tracker) = body_source(&conn);
    let mut body = CloseBody::from_connection(src);
    assert!(body.read_all().is_err());
    assert_eq!(tracker.state(), BodyState::Failed);

    // Sent on, it still reads its connection.
    let conn = shared(Box::new(Mem {
        data: io::Cursor::new(b"xy".to_vec()),
        fail_at_end: false,
    }) as Box<dyn Transport>);
    let (src, tracker) = body_source(&conn);
    let mut out = Outgoing::from(Incoming::Close(CloseBody::from_connection(src)));
    assert!(out.reads_connection());
    let mut wire = Vec::new();
    out.write_to(&mut wire).unwrap();
    assert_eq!(wire, b"2\r\nxy\r\n0\r\n\r\n");
    assert_eq!(tracker.state(), BodyState::Complete);
}

/// Hands out at most `piece` bytes per read.
struct Trickle {
    data: io::Cursor<Vec<u8>>,
    piece: usize,
}

impl Read for Trickle {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(self.piece);
        self.data.read(&mut buf[..n])
    }
}

#[test]
fn read_all_takes_a_body_in_any_pieces() {
    // Larger than one read's step, in pieces that straddle every step.
    for (len, piece) in [(0, 1), (12, 5), (70_000, 999), (300_000, 65_537)] {
        let data = pattern(len);
        let trickle = Trickle {
            data: io::Cursor::new(data.clone()),
            piece,
        };
        let got = Body::new(trickle, len as u64).read_all().unwrap();
        assert_eq!(got.len(), len);
        assert!(got == data, "{len} bytes in pieces of {piece}");
    }
    // Cut short: the bytes that came are not handed out as a body.
    let trickle = Trickle {
        data: io::Cursor::new(pattern(70_000)),
        piece: 4096,
    };
    check_err(
        Body::new(trickle, 100_000).read_all(),
        "body too short: 70000 of 100000 bytes",
    );
}
