//! A buffered reader that hands out whole preambles and lines and never
//! consumes a byte it was not asked for.

use std::io::{self, Read};

use crate::blocks;
use crate::error::{Error, Result, show};
use crate::parse::{
    ChunkLine, MAX_CHUNK_LINE, MAX_PREAMBLE, RequestPreamble, ResponsePreamble, parse_chunk_line,
    parse_request, parse_response,
};

/// Size of a [`Reader`]'s buffer: exactly one maximal preamble.
pub const BUFFER_SIZE: usize = MAX_PREAMBLE;

/// Size of the small buffers a waiting connection reads its next preamble
/// into (see [`Reader::attach_buffer`]): most preambles fit; a longer one
/// makes the buffer grow, doubling, up to [`BUFFER_SIZE`].
pub const SMALL_BUFFER_SIZE: usize = 2048;

/// A buffered reader over any `Read` (a socket, a TLS stream, a slice).
///
/// It reads ahead into one buffer (32 KiB, unless it was given a smaller
/// one, which grows when a preamble needs it), but only *consumes* what a
/// caller asks for: a preamble up to its `\r\n\r\n`, a line up to its
/// `\r\n`, or body bytes up to the caller's buffer length. Whatever follows
/// (the next pipelined request, say) stays buffered, intact.
///
/// ```
/// use degu_core::Reader;
/// use std::io::Read;
/// let wire = b"PUT / HTTP/1.1\r\ncontent-length: 2\r\n\r\nhiGET / HTTP/1.1\r\n\r\n";
/// let mut r = Reader::new(&wire[..]);
/// let req = r.read_request().unwrap().unwrap();
/// assert_eq!(req.uri, "/");
/// let mut body = [0u8; 2];
/// r.read_exact(&mut body).unwrap();
/// assert_eq!(&body, b"hi");
/// assert_eq!(r.read_request().unwrap().unwrap().method, degu_core::Method::Get);
/// assert!(r.read_request().unwrap().is_none()); // clean end of stream
/// ```
pub struct Reader<R> {
    inner: R,
    buf: Box<[u8]>,
    pos: usize,
    end: usize,
}

impl<R> Reader<R> {
    /// Wraps `inner` with a 32 KiB buffer.
    pub fn new(inner: R) -> Reader<R> {
        Reader {
            inner,
            buf: vec![0u8; BUFFER_SIZE].into_boxed_slice(),
            pos: 0,
            end: 0,
        }
    }

    /// Wraps `inner` with no buffer yet: the first read allocates one,
    /// unless [`attach_buffer`](Self::attach_buffer) gives it one first.
    pub(crate) fn unbuffered(inner: R) -> Reader<R> {
        Reader {
            inner,
            buf: Box::default(),
            pos: 0,
            end: 0,
        }
    }

    /// The wrapped reader.
    pub fn get_ref(&self) -> &R {
        &self.inner
    }

    /// The wrapped reader, mutably (for writing to a duplex stream).
    /// Reading from it directly skips the buffer.
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }

    /// Unwraps the reader, dropping any buffered bytes.
    pub fn into_inner(self) -> R {
        self.inner
    }

    /// Bytes read ahead and not yet consumed.
    pub fn buffered(&self) -> &[u8] {
        &self.buf[self.pos..self.end]
    }

    /// The buffer's bytes `start..start + len`, as
    /// [`read_preamble_span`](Self::read_preamble_span) gave them.
    pub(crate) fn span_mut(&mut self, start: usize, len: usize) -> &mut [u8] {
        &mut self.buf[start..start + len]
    }

    /// Forgets `n` buffered bytes (at most [`buffered`](Self::buffered)'s length).
    pub fn consume(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.end);
    }

    /// Gives up the buffer when nothing is buffered (a parked connection
    /// need not hold one); the next read takes one from
    /// [`attach_buffer`](Self::attach_buffer), or allocates one.
    pub fn release_buffer(&mut self) -> Option<Box<[u8]>> {
        if self.pos != self.end || self.buf.is_empty() {
            return None;
        }
        self.pos = 0;
        self.end = 0;
        Some(std::mem::take(&mut self.buf))
    }

    /// Gives a reader without a buffer one (from a pool), of any size up
    /// to [`BUFFER_SIZE`]: a smaller one grows when a preamble needs it.
    /// An empty buffer, a larger one, or a reader that has one already
    /// drops it.
    pub fn attach_buffer(&mut self, buf: Box<[u8]>) {
        if self.buf.is_empty() && !buf.is_empty() && buf.len() <= BUFFER_SIZE {
            self.buf = buf;
        }
    }

    /// Trades buffers with `other` (a thread's own, lent to each
    /// connection it serves in turn): what is buffered moves to the start
    /// of the buffer taken (which is replaced by a new one, just large
    /// enough, when it would not fit), and `other` holds the buffer given
    /// up. Its contents are stale.
    pub fn swap_buffer(&mut self, other: &mut Box<[u8]>) {
        let n = self.end - self.pos;
        if other.len() < n {
            *other = vec![0u8; n.next_power_of_two().clamp(SMALL_BUFFER_SIZE, BUFFER_SIZE)]
                .into_boxed_slice();
        }
        other[..n].copy_from_slice(&self.buf[self.pos..self.end]);
        std::mem::swap(&mut self.buf, other);
        self.pos = 0;
        self.end = n;
    }

    /// The size of the buffer (0 when it has none).
    pub fn capacity(&self) -> usize {
        self.buf.len()
    }

    /// True when the buffer holds a whole preamble, or is full without
    /// one (which [`read_preamble`](Self::read_preamble) refuses): either
    /// way, reading a preamble waits for nothing more.
    pub(crate) fn preamble_ready(&self) -> bool {
        let avail = &self.buf[self.pos..self.end];
        avail.len() >= MAX_PREAMBLE || find_end(avail, 0).is_some()
    }

    /// Makes room to read into: a buffer if the reader has none, the
    /// unconsumed bytes moved to the front when the tail is full, and a
    /// small buffer that is full of unconsumed bytes doubled.
    #[inline]
    fn make_room(&mut self) {
        if self.pos == self.end {
            self.pos = 0;
            self.end = 0;
            if self.buf.is_empty() {
                self.buf = vec![0u8; BUFFER_SIZE].into_boxed_slice();
            }
        } else if self.end == self.buf.len() {
            if self.pos > 0 {
                self.buf.copy_within(self.pos..self.end, 0);
                self.end -= self.pos;
                self.pos = 0;
            } else if self.buf.len() < BUFFER_SIZE {
                self.grow();
            }
        }
    }

    /// Doubles a small buffer that is full (up to [`BUFFER_SIZE`]).
    #[cold]
    fn grow(&mut self) {
        let size = (self.buf.len() * 2).clamp(SMALL_BUFFER_SIZE, BUFFER_SIZE);
        let mut buf = vec![0u8; size].into_boxed_slice();
        buf[..self.end].copy_from_slice(&self.buf[..self.end]);
        self.buf = buf;
    }

    /// Reads more bytes into the buffer with `read` (a non-blocking
    /// read, say); returns how many, as `read` does, and how many it was
    /// offered room for.
    pub(crate) fn fill_with(
        &mut self,
        read: impl FnOnce(&mut R, &mut [u8]) -> io::Result<usize>,
    ) -> io::Result<(usize, usize)> {
        self.make_room();
        let room = self.buf.len() - self.end;
        let n = read(&mut self.inner, &mut self.buf[self.end..])?;
        self.end += n;
        Ok((n, room))
    }
}

impl<R: Read> Reader<R> {
    /// Reads more bytes into the buffer; returns how many (0 at the end of
    /// the stream). Moves unconsumed bytes to the front when the buffer's
    /// tail is full.
    pub(crate) fn fill(&mut self) -> io::Result<usize> {
        self.make_room();
        loop {
            match self.inner.read(&mut self.buf[self.end..]) {
                Ok(n) => {
                    self.end += n;
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Reads and consumes one preamble, returned without its `\r\n\r\n`.
    /// `Ok(None)` when the stream ends cleanly before its first byte.
    pub fn read_preamble(&mut self) -> Result<Option<&mut [u8]>> {
        Ok(match self.read_preamble_span()? {
            Some((start, len)) => Some(self.span_mut(start, len)),
            None => None,
        })
    }

    /// As [`read_preamble`](Self::read_preamble), returning where the
    /// preamble is in the buffer: it stays there, intact, until the next
    /// read (see [`span_mut`](Self::span_mut)).
    pub(crate) fn read_preamble_span(&mut self) -> Result<Option<(usize, usize)>> {
        let mut scanned = 0usize;
        loop {
            let avail = &self.buf[self.pos..self.end];
            if let Some(len) = find_end(avail, scanned) {
                let start = self.pos;
                self.pos += len + 4;
                return Ok(Some((start, len)));
            }
            scanned = avail.len();
            if scanned >= MAX_PREAMBLE {
                return Err(Error::PreambleTooLarge);
            }
            if self.fill()? == 0 {
                return if scanned == 0 {
                    Ok(None)
                } else {
                    Err(Error::UnexpectedEof("preamble"))
                };
            }
        }
    }

    /// The response preamble's bytes (the end of the stream is an error
    /// here: a response was expected).
    pub(crate) fn read_response_preamble(&mut self) -> Result<&mut [u8]> {
        match self.read_preamble()? {
            None => Err(Error::UnexpectedEof("response preamble")),
            Some(buf) => Ok(buf),
        }
    }

    /// Reads and parses a request preamble (`Ok(None)` at a clean end).
    pub fn read_request(&mut self) -> Result<Option<RequestPreamble<'_>>> {
        match self.read_preamble()? {
            None => Ok(None),
            Some(buf) => parse_request(buf).map(Some),
        }
    }

    /// Reads and parses a response preamble (the end of the stream is an
    /// error here: a response was expected).
    pub fn read_response(&mut self) -> Result<ResponsePreamble<'_>> {
        parse_response(self.read_response_preamble()?)
    }

    /// Reads and consumes one line of at most `max` bytes including its
    /// `\r\n`, returned without it.
    pub fn read_line(&mut self, max: usize, what: &'static str) -> Result<&[u8]> {
        let mut scanned = 0usize;
        loop {
            let avail = &self.buf[self.pos..self.end];
            if let Some(i) = memchr::memchr(b'\n', &avail[scanned..]) {
                let nl = scanned + i;
                if nl == 0 || avail[nl - 1] != b'\r' {
                    return Err(Error::BadChunkSize(show(&avail[..nl])));
                }
                if nl + 1 > max {
                    return Err(Error::ChunkLineTooLong);
                }
                let start = self.pos;
                self.pos += nl + 1;
                return Ok(&self.buf[start..start + nl - 1]);
            }
            scanned = avail.len();
            if scanned >= max {
                return Err(Error::ChunkLineTooLong);
            }
            if self.fill()? == 0 {
                return Err(Error::UnexpectedEof(what));
            }
        }
    }

    /// Reads and parses a chunk-size line.
    pub fn read_chunk_line(&mut self) -> Result<ChunkLine<'_>> {
        let line = self.read_line(MAX_CHUNK_LINE, "chunk line")?;
        parse_chunk_line(line)
    }
}

/// Where the first `\r\n\r\n` in `buf` starts, given that none ends
/// before `from`: the `\n`s from there, sixteen bytes at a time (see
/// [`blocks`](crate::blocks)), each checked for the three bytes before
/// it. No call per line, as a search for each `\n` would make: a short
/// REST preamble is two or three blocks.
#[inline]
fn find_end(buf: &[u8], from: usize) -> Option<usize> {
    let ends = |nl: usize| nl >= 3 && buf.get(nl - 3..nl) == Some(b"\r\n\r");
    let mut i = from;
    while let Some(block) = buf
        .get(i..i + 16)
        .and_then(|b| <&[u8; 16]>::try_from(b).ok())
    {
        let mut nl = blocks::newlines(block);
        while nl != 0 {
            let at = i + blocks::first(nl);
            if ends(at) {
                return Some(at - 3);
            }
            nl = blocks::next(nl);
        }
        i += 16;
    }
    (i..buf.len())
        .find(|&k| buf[k] == b'\n' && ends(k))
        .map(|k| k - 3)
}

impl<R: Read> Read for Reader<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        if self.pos == self.end {
            if out.len() >= BUFFER_SIZE {
                // A large read bypasses the buffer: it cannot overshoot,
                // since it reads at most what the caller asked for.
                return self.inner.read(out);
            }
            if self.fill()? == 0 {
                return Ok(0);
            }
        }
        let n = out.len().min(self.end - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::find_end;

    /// The first `\r\n\r\n` by a plain search.
    fn naive(buf: &[u8]) -> Option<usize> {
        buf.windows(4).position(|w| w == b"\r\n\r\n")
    }

    /// The end at every place in buffers of every length up to 70 (the
    /// sixteen-byte blocks, their seams and the tail), with lines and a
    /// false start (`\r\n\r` then another byte) before it, searched from
    /// every place that leaves it unseen before.
    #[test]
    fn the_end_is_found_at_every_place() {
        for len in 0..70 {
            for end in 0..=len.max(4) - 4 {
                let mut buf = vec![b'a'; len.max(end + 4)];
                for k in (1..end).step_by(9) {
                    buf[k - 1..=k].copy_from_slice(b"\r\n");
                }
                if end >= 8 {
                    buf[end - 8..end - 4].copy_from_slice(b"\r\n\rx");
                }
                buf[end..end + 4].copy_from_slice(b"\r\n\r\n");
                // The lines may make an earlier end: the plain search says.
                let want = naive(&buf);
                let first = want.unwrap_or_default();
                assert!(first <= end, "{len} {end}");
                for from in 0..=first + 3 {
                    assert_eq!(find_end(&buf, from), want, "{len} {end} from {from}");
                }
            }
            let mut none = vec![b'\n'; len];
            none.iter_mut().step_by(2).for_each(|b| *b = b'\r');
            assert_eq!(find_end(&none, 0), naive(&none), "{len}");
            assert_eq!(find_end(&vec![b'a'; len], 0), None);
        }
    }
}
