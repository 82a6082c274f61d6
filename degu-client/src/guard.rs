//! A response body's source, watched so that any failure of the body marks
//! its connection failed.
//!
//! degu-core's `BodySource` marks its tracker failed when a read returns an
//! error, but not when the peer closes early (a read of 0 bytes, which
//! `Body` and `ChunkedBody` then report as too short), nor when the bytes
//! are read fine but break the chunk framing (a bad chunk-size line, data
//! not followed by `\r\n`), which the body detects above the source. Left
//! so, such a connection would look merely "not read to its end". This
//! wrapper sees every byte the body reads and fails the tracker in those
//! cases too, so the connection closes.

use std::io::{self, Read};

use degu_core::shared::{BodySource, BodyTracker};
use degu_core::{Result, Source, Transport, parse_chunk_line};

/// Where a chunked body is in its framing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    /// Content-length body: any bytes (its length is counted by `Body`).
    Any,
    /// A chunk-size line.
    Line,
    /// This many more bytes of chunk data.
    Data(u64),
    /// The `\r\n` after chunk data (or after the final chunk), this many
    /// of its bytes seen so far.
    Crlf(u8),
    /// The final `\r\n` seen: nothing more to read.
    Done,
}

pub(crate) struct Guarded {
    src: BodySource<Box<dyn Transport>>,
    tracker: BodyTracker,
    expect: Expect,
    last: bool,
}

impl Guarded {
    pub(crate) fn new(
        src: BodySource<Box<dyn Transport>>,
        tracker: BodyTracker,
        chunked: bool,
    ) -> Guarded {
        Guarded {
            src,
            tracker,
            expect: if chunked { Expect::Line } else { Expect::Any },
            last: false,
        }
    }

    fn fail(&mut self) {
        self.tracker.fail();
    }

    /// Follows the chunk framing through `bytes`; false on a broken rule.
    fn follow(&mut self, mut bytes: &[u8]) -> bool {
        while !bytes.is_empty() {
            match self.expect {
                Expect::Any => return true,
                Expect::Line | Expect::Done => return false,
                Expect::Data(left) => {
                    let n = (bytes.len() as u64).min(left);
                    bytes = &bytes[n as usize..];
                    self.expect = if n == left {
                        Expect::Crlf(0)
                    } else {
                        Expect::Data(left - n)
                    };
                }
                Expect::Crlf(seen) => {
                    if bytes[0] != b"\r\n"[seen as usize] {
                        return false;
                    }
                    bytes = &bytes[1..];
                    self.expect = match (seen, self.last) {
                        (0, _) => Expect::Crlf(1),
                        (_, false) => Expect::Line,
                        (_, true) => Expect::Done,
                    };
                }
            }
        }
        true
    }
}

impl Read for Guarded {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.src.read(buf) {
            Ok(0) if !buf.is_empty() => {
                // A body never reads past its end, so this is the peer
                // closing early.
                self.fail();
                Ok(0)
            }
            Ok(n) => {
                if !self.follow(&buf[..n]) {
                    self.fail();
                }
                Ok(n)
            }
            Err(e) => {
                self.fail();
                Err(e)
            }
        }
    }
}

impl Source for Guarded {
    fn read_line_into(&mut self, line: &mut Vec<u8>, max: usize) -> Result<()> {
        let r = self.src.read_line_into(line, max);
        let ok = r.is_ok()
            && self.expect == Expect::Line
            && match parse_chunk_line(line) {
                Ok(c) if c.size == 0 => {
                    self.last = true;
                    self.expect = Expect::Crlf(0);
                    true
                }
                Ok(c) => {
                    self.expect = Expect::Data(c.size);
                    true
                }
                Err(_) => false,
            };
        if !ok {
            self.fail();
        }
        r
    }

    fn on_complete(&mut self) {
        self.src.on_complete();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use degu_core::shared::{BodyState, body_source, shared};
    use degu_core::{ChunkedBody, Incoming};

    /// Reads `wire` as a chunked body through a guarded source; returns
    /// the body's result and the tracker's state.
    fn read_chunked(wire: &'static [u8]) -> (bool, BodyState) {
        let conn = shared(Box::new(Mem(wire)) as Box<dyn Transport>);
        let (src, tracker) = body_source(&conn);
        let mut body = Incoming::Chunked(ChunkedBody::from_source(Guarded::new(
            src,
            tracker.clone(),
            true,
        )));
        (body.read_all().is_ok(), tracker.state())
    }

    struct Mem(&'static [u8]);
    impl Read for Mem {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.0.read(buf)
        }
    }
    impl io::Write for Mem {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    impl Transport for Mem {}

    #[test]
    fn every_failure_fails_the_tracker() {
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
    }
}
