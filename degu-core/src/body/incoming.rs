//! Input bodies: what a connection yields, read without ever reading past
//! their end.

use std::fmt;
use std::io::{self, Read, Write};

use super::{
    COPY_BUF, Chunk, ConnSource, Extension, FileSource, Plain, Source, Src, chunk_head, room,
    write_all, write_chunk,
};
use crate::error::{Error, Result, show};
use crate::headers::Headers;
use crate::parse::{Framing, MAX_CHUNK_LINE, MAX_CHUNK_SIZE, parse_chunk_line};
use crate::shared::BodyState;
use crate::tables::{self, all_in};

/// A content-length body: exactly `content_length` bytes from a reader,
/// never more, never fewer (a short read is an error).
///
/// ```
/// use degu_core::Body;
/// let mut body = Body::new(&b"hello, world"[..], 5);
/// assert_eq!(body.read_all().unwrap(), b"hello");
/// assert!(body.read_all().is_err()); // consumed twice
/// assert!(Body::new(&b"hi"[..], 5).read_all().is_err()); // too short
/// ```
pub struct Body<'a> {
    pub(super) src: Src<'a>,
    content_length: u64,
    remaining: u64,
    started: bool,
    completed: bool,
}

impl<'a> Body<'a> {
    /// A body of `content_length` bytes read from `reader`.
    pub fn new(reader: impl Read + Send + 'a, content_length: u64) -> Body<'a> {
        Body::from_source(Plain(reader), content_length)
    }

    /// A body of `content_length` bytes read from a [`Source`].
    pub fn from_source(src: impl Source + Send + 'a, content_length: u64) -> Body<'a> {
        Body::with_src(Src::Any(Box::new(src)), content_length)
    }

    /// A body of `content_length` bytes read from its connection: like
    /// [`from_source`](Self::from_source), without boxing the source (so
    /// a request or response body costs no allocation).
    pub(crate) fn from_connection(src: ConnSource, content_length: u64) -> Body<'a> {
        Body::with_src(Src::Conn(src), content_length)
    }

    pub(super) fn with_src(src: Src<'a>, content_length: u64) -> Body<'a> {
        let mut body = Body {
            src,
            content_length,
            remaining: content_length,
            started: false,
            completed: false,
        };
        if content_length == 0 {
            body.complete();
        }
        body
    }

    /// `len` bytes of `file` from `offset`: a body a transport may send
    /// with `sendfile` (see [`as_file`](Self::as_file)); otherwise read with
    /// positional reads. A file shorter than `offset + len` is an error
    /// when the body is written (too short), never a short body.
    pub fn file(file: std::fs::File, offset: u64, len: u64) -> Body<'static> {
        Body::with_src(Src::File(FileSource { file, pos: offset }), len)
    }

    /// For a body made by [`Body::file`] and not yet started: the file,
    /// the offset of its next byte, and the bytes left to send.
    pub fn as_file(&self) -> Option<(&std::fs::File, u64, u64)> {
        if self.started {
            return None;
        }
        let (f, pos) = self.src.file_position()?;
        Some((f, pos, self.remaining))
    }

    /// Records that `n` bytes of a file body were sent by other means
    /// (`sendfile`), as if they had been read; an error past the end.
    pub fn advance_sent(&mut self, n: u64) -> Result<()> {
        if n > self.remaining {
            return Err(Error::BodyTooLong {
                expected: self.content_length,
            });
        }
        self.src.advance(n);
        self.remaining -= n;
        if self.remaining == 0 {
            self.started = true;
            self.complete();
        }
        Ok(())
    }

    fn complete(&mut self) {
        if !self.completed {
            self.completed = true;
            self.src.on_complete();
        }
    }

    /// The declared length.
    pub fn content_length(&self) -> u64 {
        self.content_length
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> u64 {
        self.remaining
    }

    /// True once every byte has been read.
    pub fn is_complete(&self) -> bool {
        self.remaining == 0
    }

    fn start(&mut self) -> Result<()> {
        if self.started {
            return Err(Error::BodyConsumed);
        }
        self.started = true;
        Ok(())
    }

    /// Reads the whole body into a new `Vec`. An error if any of it was
    /// read before (a body is consumed once).
    pub fn read_all(&mut self) -> Result<Vec<u8>> {
        self.start()?;
        if self.content_length > MAX_CHUNK_SIZE.max(isize::MAX as u64 / 2) {
            return Err(Error::Invalid(format!(
                "body of {} bytes is too large to read into memory",
                self.content_length
            )));
        }
        let mut out = Vec::with_capacity(self.content_length.min(1 << 24) as usize);
        self.read_inner_to_end(&mut out)?;
        Ok(out)
    }

    /// Reads the rest straight into `out`'s tail (no scratch buffer and
    /// no second copy). Each read may fill [`COPY_BUF`] bytes or as many
    /// as were read before, whichever is more: what is zeroed ahead of
    /// the bytes stays within twice what arrived (a peer that declares a
    /// large body and sends little commits little memory).
    fn read_inner_to_end(&mut self, out: &mut Vec<u8>) -> Result<()> {
        while self.remaining > 0 {
            let start = out.len();
            let step = start.max(COPY_BUF);
            out.resize(start + (self.remaining.min(step as u64) as usize), 0);
            let got = self.read_some(&mut out[start..]);
            out.truncate(start + *got.as_ref().unwrap_or(&0));
            got?;
        }
        Ok(())
    }

    fn read_some(&mut self, buf: &mut [u8]) -> Result<usize> {
        if self.remaining == 0 {
            self.complete();
            return Ok(0);
        }
        let max = (buf.len() as u64).min(self.remaining) as usize;
        let n = loop {
            match self.src.read(&mut buf[..max]) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                r => break r?,
            }
        };
        if n == 0 && max > 0 {
            self.src.on_error();
            return Err(Error::BodyTooShort {
                expected: self.content_length,
                received: self.content_length - self.remaining,
            });
        }
        self.remaining -= n as u64;
        if self.remaining == 0 {
            self.complete();
        }
        Ok(n)
    }

    /// Writes the body (its remaining bytes) to `w`, streaming in pieces of
    /// at most 64 KiB; returns the bytes written. An error if it was
    /// consumed before.
    pub fn write_to(&mut self, w: &mut dyn Write) -> Result<u64> {
        self.start()?;
        let mut small = [0u8; 4096];
        let mut big;
        let buf: &mut [u8] = if self.remaining <= small.len() as u64 {
            &mut small
        } else {
            big = vec![0u8; (self.remaining as usize).min(COPY_BUF)];
            &mut big
        };
        let mut total = 0;
        while self.remaining > 0 {
            let n = self.read_some(buf)?;
            write_all(w, &buf[..n])?;
            total += n as u64;
        }
        Ok(total)
    }
}

impl Body<'_> {
    /// Appends the body's next piece (at most 64 KiB, read into
    /// `scratch`) to `out`, as a body sent a piece at a time is (see
    /// `Upload`); `first` on the first call, which refuses a body consumed
    /// before. True while bytes are left.
    pub(super) fn stage(
        &mut self,
        first: bool,
        scratch: &mut Vec<u8>,
        out: &mut Vec<u8>,
    ) -> Result<bool> {
        if first {
            self.start()?;
        }
        let want = (self.remaining as usize).min(COPY_BUF);
        let n = self.read_some(room(scratch, want))?;
        out.extend_from_slice(&scratch[..n]);
        Ok(self.remaining > 0)
    }
}

impl Read for Body<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.started = true;
        self.read_some(buf).map_err(io::Error::from)
    }
}

impl fmt::Debug for Body<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Body")
            .field("content_length", &self.content_length)
            .field("remaining", &self.remaining)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ChunkState {
    /// Expecting a chunk-size line.
    Head,
    /// Inside a chunk's data, `remaining` bytes to go, then `\r\n`.
    Data { remaining: u64 },
    /// The final chunk and the closing empty line have been read.
    Done,
}

/// The head of a chunk: its size and extension (see
/// [`ChunkedBody::read_chunk_head`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChunkHead {
    /// Data length; 0 for the final chunk.
    pub size: u64,
    /// The extension, if any.
    pub ext: Option<Extension>,
}

/// Most trailer fields after a chunked body that
/// [allows them](ChunkedBody::allow_trailers).
pub const MAX_TRAILERS: usize = 100;
/// Largest trailer section (every trailer line with its `\r\n`, and the
/// empty line that ends the body), in bytes.
pub const MAX_TRAILER_SECTION: usize = 32 * 1024;

/// A chunked body read from a reader, up to and including the final empty
/// chunk and the empty line after it.
///
/// ```
/// use degu_core::{Chunk, ChunkedBody};
/// let wire = b"5;i=0\r\nhello\r\n0\r\n\r\nNEXT";
/// let mut body = ChunkedBody::new(&wire[..]);
/// assert_eq!(body.read_chunk().unwrap(), Some(Chunk::with_ext("i", "0", "hello")));
/// assert_eq!(body.read_chunk().unwrap(), Some(Chunk::new("")));
/// assert_eq!(body.read_chunk().unwrap(), None);
/// ```
///
/// Trailer fields between the final chunk and that empty line are refused
/// (a bad chunk terminator) unless the body [allows
/// them](Self::allow_trailers), as a client does for a response: then
/// they are read, checked like header lines, and kept in
/// [`trailers`](Self::trailers).
///
/// ```
/// use degu_core::ChunkedBody;
/// let wire = b"2\r\nhi\r\n0\r\nX-Checksum: abc\r\n\r\n";
/// let mut body = ChunkedBody::new(&wire[..]).allow_trailers();
/// assert_eq!(body.read_all().unwrap(), b"hi");
/// assert_eq!(body.trailers().unwrap().get("x-checksum"), Some("abc"));
/// let err = ChunkedBody::new(&wire[..]).read_all().unwrap_err();
/// assert_eq!(err.to_string(), r#"bad chunk terminator: "X-""#);
/// ```
pub struct ChunkedBody<'a> {
    pub(super) src: Src<'a>,
    state: ChunkState,
    line: Vec<u8>,
    started: bool,
    completed: bool,
    allow_trailers: bool,
    trailers: Option<Headers>,
}

impl<'a> ChunkedBody<'a> {
    /// A chunked body read from `reader` (wrap slow readers in a
    /// `BufReader`: chunk lines are read a byte at a time).
    pub fn new(reader: impl Read + Send + 'a) -> ChunkedBody<'a> {
        ChunkedBody::from_source(Plain(reader))
    }

    /// A chunked body read from a [`Source`].
    pub fn from_source(src: impl Source + Send + 'a) -> ChunkedBody<'a> {
        ChunkedBody::with_src(Src::Any(Box::new(src)))
    }

    /// A chunked body read from its connection: like
    /// [`from_source`](Self::from_source), without boxing the source.
    pub(crate) fn from_connection(src: ConnSource) -> ChunkedBody<'a> {
        ChunkedBody::with_src(Src::Conn(src))
    }

    pub(super) fn with_src(src: Src<'a>) -> ChunkedBody<'a> {
        ChunkedBody {
            src,
            state: ChunkState::Head,
            line: Vec::new(),
            started: false,
            completed: false,
            allow_trailers: false,
            trailers: None,
        }
    }

    /// Accepts trailer fields after the final chunk (a client reading a
    /// response does; a server reading a request does not): at most
    /// [`MAX_TRAILERS`] lines in at most [`MAX_TRAILER_SECTION`] bytes,
    /// each `name:[OWS]value[OWS]` with a name of `-0-9a-zA-Z`
    /// (lowercased) and a value of visible ASCII, spaces and tabs (the
    /// whitespace around it stripped). A malformed trailer is an error,
    /// as is a repeated `content-length`, `transfer-encoding` or
    /// `content-range`; other names may repeat.
    pub fn allow_trailers(mut self) -> ChunkedBody<'a> {
        self.allow_trailers = true;
        self
    }

    /// The trailer fields, once the body has been read to its end (empty
    /// when there were none, or when trailers are not
    /// [allowed](Self::allow_trailers)); `None` before.
    pub fn trailers(&self) -> Option<&Headers> {
        self.trailers.as_ref()
    }

    /// True once the final chunk has been read.
    pub fn is_complete(&self) -> bool {
        self.state == ChunkState::Done
    }

    /// Reads the trailer section after the final chunk, up to and
    /// including the empty line that ends the body.
    fn read_trailers(&mut self) -> Result<Headers> {
        let too_large = || {
            Error::Invalid(format!(
                "trailer section larger than {MAX_TRAILER_SECTION} bytes"
            ))
        };
        let mut trailers = Headers::new();
        let mut budget = MAX_TRAILER_SECTION;
        loop {
            // Even the empty line that ends the section takes two bytes.
            if budget < 2 {
                return Err(too_large());
            }
            match self.src.read_line_into(&mut self.line, budget) {
                Ok(()) => {}
                Err(Error::ChunkLineTooLong) => return Err(too_large()),
                Err(Error::UnexpectedEof(_)) => {
                    return Err(Error::UnexpectedEof("trailer section"));
                }
                // A line ending in a bare `\n`.
                Err(Error::BadChunkSize(line)) => return Err(Error::BadHeaderLine(line)),
                Err(e) => return Err(e),
            }
            budget -= self.line.len() + 2;
            if self.line.is_empty() {
                return Ok(trailers);
            }
            if trailers.len() == MAX_TRAILERS {
                return Err(Error::TooManyHeaders(MAX_TRAILERS));
            }
            let (name, value) = parse_trailer(&mut self.line)?;
            trailers.append(name, value)?;
        }
    }

    fn expect_crlf(&mut self) -> Result<()> {
        let mut crlf = [0u8; 2];
        let mut got = 0;
        while got < 2 {
            match self.src.read(&mut crlf[got..]) {
                Ok(0) => return Err(Error::UnexpectedEof("chunk")),
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
        if &crlf != b"\r\n" {
            return Err(Error::BadChunkTerminator(show(&crlf)));
        }
        Ok(())
    }

    /// Reads the next chunk's size line. `Ok(None)` after the final chunk.
    /// The chunk's data must then be read with
    /// [`read_chunk_data`](Self::read_chunk_data) until it returns 0.
    pub fn read_chunk_head(&mut self) -> Result<Option<ChunkHead>> {
        let r = self.head_inner();
        if r.is_err() {
            self.src.on_error();
        }
        r
    }

    fn head_inner(&mut self) -> Result<Option<ChunkHead>> {
        self.started = true;
        match self.state {
            ChunkState::Done => return Ok(None),
            ChunkState::Data { .. } => {
                return Err(Error::Invalid(
                    "chunk data not read to its end before the next chunk".into(),
                ));
            }
            ChunkState::Head => {}
        }
        self.src.read_line_into(&mut self.line, MAX_CHUNK_LINE)?;
        let parsed = parse_chunk_line(&self.line)?;
        let head = ChunkHead {
            size: parsed.size,
            ext: parsed.ext.map(|(k, v)| (k.to_owned(), v.to_owned())),
        };
        if head.size == 0 {
            // The final chunk: trailers, when allowed, then an empty line.
            let trailers = if self.allow_trailers {
                self.read_trailers()?
            } else {
                self.expect_crlf()?;
                Headers::new()
            };
            self.trailers = Some(trailers);
            self.state = ChunkState::Done;
            if !self.completed {
                self.completed = true;
                self.src.on_complete();
            }
        } else {
            self.state = ChunkState::Data {
                remaining: head.size,
            };
        }
        Ok(Some(head))
    }

    /// Reads data of the current chunk; 0 once the chunk's data and its
    /// `\r\n` have been read.
    pub fn read_chunk_data(&mut self, buf: &mut [u8]) -> Result<usize> {
        let r = self.data_inner(buf);
        if r.is_err() {
            self.src.on_error();
        }
        r
    }

    fn data_inner(&mut self, buf: &mut [u8]) -> Result<usize> {
        let ChunkState::Data { remaining } = self.state else {
            return Ok(0);
        };
        if buf.is_empty() {
            return Ok(0);
        }
        let max = (buf.len() as u64).min(remaining) as usize;
        let n = loop {
            match self.src.read(&mut buf[..max]) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                r => break r?,
            }
        };
        if n == 0 {
            return Err(Error::UnexpectedEof("chunk"));
        }
        let remaining = remaining - n as u64;
        if remaining == 0 {
            self.expect_crlf()?;
            self.state = ChunkState::Head;
        } else {
            self.state = ChunkState::Data { remaining };
        }
        Ok(n)
    }

    /// Reads one whole chunk. The final chunk comes back with empty data;
    /// after it, `Ok(None)`.
    pub fn read_chunk(&mut self) -> Result<Option<Chunk>> {
        let Some(head) = self.read_chunk_head()? else {
            return Ok(None);
        };
        let mut data = vec![0u8; head.size as usize];
        let mut got = 0;
        while got < data.len() {
            got += self.read_chunk_data(&mut data[got..])?;
        }
        Ok(Some(Chunk {
            ext: head.ext,
            data,
        }))
    }

    /// Reads every chunk's data into one `Vec` (boundaries are lost). An
    /// error if any of the body was read before.
    pub fn read_all(&mut self) -> Result<Vec<u8>> {
        if self.started {
            return Err(Error::BodyConsumed);
        }
        let mut out = Vec::new();
        while let Some(chunk) = self.read_chunk()? {
            out.extend_from_slice(&chunk.data);
        }
        Ok(out)
    }

    /// Writes the body, chunk by chunk, to `w`, streaming each chunk's data
    /// in pieces (a chunk is never buffered whole) and preserving chunk
    /// boundaries and extensions. Trailers are read but not written: the
    /// body written ends with the final chunk and an empty line (they stay
    /// in [`trailers`](Self::trailers)). Returns bytes written.
    pub fn write_to(&mut self, w: &mut dyn Write) -> Result<u64> {
        if self.started {
            return Err(Error::BodyConsumed);
        }
        let mut buf = Vec::new();
        let mut total = 0u64;
        while let Some(head) = self.read_chunk_head()? {
            let ext = head.ext.as_ref().map(|(k, v)| (k.as_str(), v.as_str()));
            let line = chunk_head(ext, head.size)?;
            if head.size == 0 {
                let mut last = line;
                last.extend_from_slice(b"\r\n");
                write_all(w, &last)?;
                total += last.len() as u64;
                break;
            }
            write_all(w, &line)?;
            total += line.len() as u64;
            if buf.is_empty() {
                buf = vec![0u8; COPY_BUF];
            }
            let want = (head.size as usize).min(buf.len());
            loop {
                let n = self.read_chunk_data(&mut buf[..want])?;
                if n == 0 {
                    break;
                }
                write_all(w, &buf[..n])?;
                total += n as u64;
            }
            write_all(w, b"\r\n")?;
            total += 2;
        }
        Ok(total)
    }
}

impl ChunkedBody<'_> {
    /// Appends the body's next piece to `out`, framed as
    /// [`write_to`](Self::write_to) frames it: a chunk-size line, at most
    /// 64 KiB of a chunk's data (read into `scratch`), or a chunk's
    /// closing `\r\n` (while `in_chunk`, which it keeps). `first` on the
    /// first call. True while pieces are left.
    pub(super) fn stage(
        &mut self,
        first: bool,
        in_chunk: &mut bool,
        scratch: &mut Vec<u8>,
        out: &mut Vec<u8>,
    ) -> Result<bool> {
        if first && self.started {
            return Err(Error::BodyConsumed);
        }
        if *in_chunk {
            let n = self.read_chunk_data(room(scratch, COPY_BUF))?;
            out.extend_from_slice(&scratch[..n]);
            if n == 0 {
                out.extend_from_slice(b"\r\n");
                *in_chunk = false;
            }
            return Ok(true);
        }
        let Some(head) = self.read_chunk_head()? else {
            return Ok(false);
        };
        let ext = head.ext.as_ref().map(|(k, v)| (k.as_str(), v.as_str()));
        out.extend_from_slice(&chunk_head(ext, head.size)?);
        if head.size == 0 {
            out.extend_from_slice(b"\r\n");
            return Ok(false);
        }
        *in_chunk = true;
        Ok(true)
    }
}

impl Iterator for ChunkedBody<'_> {
    type Item = Result<Chunk>;
    fn next(&mut self) -> Option<Result<Chunk>> {
        match self.read_chunk() {
            Ok(Some(c)) => Some(Ok(c)),
            Ok(None) => None,
            Err(e) => {
                self.state = ChunkState::Done;
                Some(Err(e))
            }
        }
    }
}

impl Read for ChunkedBody<'_> {
    /// Reads the data of the chunks as one stream (boundaries are lost).
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            match self.state {
                ChunkState::Done => return Ok(0),
                ChunkState::Head => {
                    self.read_chunk_head()?;
                }
                ChunkState::Data { .. } => {
                    return self.read_chunk_data(buf).map_err(io::Error::from);
                }
            }
        }
    }
}

impl fmt::Debug for ChunkedBody<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChunkedBody")
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

/// Splits a trailer line (without its `\r\n`) into its lowercased name
/// and its value without the whitespace around it, checking every byte.
fn parse_trailer(line: &mut [u8]) -> Result<(String, String)> {
    let Some(colon) = memchr::memchr(b':', line) else {
        return Err(Error::BadHeaderLine(show(line)));
    };
    let (name, rest) = line.split_at_mut(colon);
    if name.is_empty() || !all_in(name, tables::NAME) {
        return Err(Error::BadHeaderName(show(name)));
    }
    name.make_ascii_lowercase();
    let ows = |b: &u8| matches!(b, b' ' | b'\t');
    let value = &rest[1..];
    let start = value.iter().position(|b| !ows(b)).unwrap_or(value.len());
    let end = value.iter().rposition(|b| !ows(b)).map_or(start, |i| i + 1);
    let value = &value[start..end];
    // Both are ASCII once checked.
    let name = String::from_utf8_lossy(name).into_owned();
    if !all_in(value, tables::VALUE) {
        return Err(Error::BadHeaderValue {
            name,
            value: show(value),
        });
    }
    Ok((name, String::from_utf8_lossy(value).into_owned()))
}

/// A body delimited by the end of its source: every byte until the reader
/// reports the end of the stream. It is how an HTTP/1.0 server, or any
/// server answering without `content-length` or `transfer-encoding`,
/// sends a response body, the connection closing after it; a client reads
/// it whole and never reuses that connection.
///
/// Its end cannot be told from a connection cut short: only an I/O error
/// is an error. Sent on (as an [`Outgoing`](crate::Outgoing)), it is
/// chunked (see the [module](crate::body) docs).
///
/// ```
/// use degu_core::{CloseBody, Framing, Incoming, Outgoing};
/// let mut body = CloseBody::new(&b"all of it"[..]);
/// assert_eq!(body.read_all().unwrap(), b"all of it");
/// assert!(body.is_complete());
///
/// let incoming = Incoming::Close(CloseBody::new(&b"hello"[..]));
/// assert_eq!(incoming.framing(), Framing::Chunked);
/// let mut out = Vec::new();
/// Outgoing::from(incoming).write_to(&mut out).unwrap();
/// assert_eq!(out, b"5\r\nhello\r\n0\r\n\r\n");
/// ```
pub struct CloseBody<'a> {
    pub(super) src: Src<'a>,
    received: u64,
    done: bool,
    started: bool,
}

impl<'a> CloseBody<'a> {
    /// A body of everything `reader` yields.
    pub fn new(reader: impl Read + Send + 'a) -> CloseBody<'a> {
        CloseBody::from_source(Plain(reader))
    }

    /// A body of everything a [`Source`] yields.
    pub fn from_source(src: impl Source + Send + 'a) -> CloseBody<'a> {
        CloseBody::with_src(Src::Any(Box::new(src)))
    }

    /// A body read from its connection up to the connection's end: like
    /// [`from_source`](Self::from_source), without boxing the source.
    pub(crate) fn from_connection(src: ConnSource) -> CloseBody<'a> {
        CloseBody::with_src(Src::Conn(src))
    }

    pub(super) fn with_src(src: Src<'a>) -> CloseBody<'a> {
        CloseBody {
            src,
            received: 0,
            done: false,
            started: false,
        }
    }

    /// Bytes read so far.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// True once the end of the stream has been read.
    pub fn is_complete(&self) -> bool {
        self.done
    }

    fn start(&mut self) -> Result<()> {
        if self.started {
            return Err(Error::BodyConsumed);
        }
        self.started = true;
        Ok(())
    }

    fn read_some(&mut self, buf: &mut [u8]) -> Result<usize> {
        if self.done || buf.is_empty() {
            return Ok(0);
        }
        let n = loop {
            match self.src.read(buf) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.src.on_error();
                    return Err(e.into());
                }
                Ok(n) => break n,
            }
        };
        if n == 0 {
            self.done = true;
            self.src.on_complete();
        }
        self.received += n as u64;
        Ok(n)
    }

    /// Reads the whole body into a new `Vec`. An error if any of it was
    /// read before (a body is consumed once).
    pub fn read_all(&mut self) -> Result<Vec<u8>> {
        self.start()?;
        let mut out = Vec::new();
        let mut buf = vec![0u8; COPY_BUF];
        loop {
            let n = self.read_some(&mut buf)?;
            if n == 0 {
                return Ok(out);
            }
            out.extend_from_slice(&buf[..n]);
        }
    }

    /// Writes the body to `w` as it came, raw bytes up to the end of the
    /// stream, in pieces of at most 64 KiB; returns bytes written. An
    /// error if it was consumed before.
    pub fn write_to(&mut self, w: &mut dyn Write) -> Result<u64> {
        self.write(w, false)
    }

    /// Writes the body to `w` chunked: each piece read (at most 64 KiB) as
    /// one chunk, then the final chunk; returns bytes written. This is how
    /// it is sent on, having no length to declare.
    pub fn write_chunked_to(&mut self, w: &mut dyn Write) -> Result<u64> {
        self.write(w, true)
    }

    fn write(&mut self, w: &mut dyn Write, chunked: bool) -> Result<u64> {
        self.start()?;
        let mut buf = vec![0u8; COPY_BUF];
        let mut total = 0;
        loop {
            let n = self.read_some(&mut buf)?;
            if n == 0 {
                if chunked {
                    total += write_chunk(w, None, &[])?;
                }
                return Ok(total);
            }
            total += if chunked {
                write_chunk(w, None, &buf[..n])?
            } else {
                write_all(w, &buf[..n])?;
                n as u64
            };
        }
    }
}

impl CloseBody<'_> {
    /// Appends the body's next piece (at most 64 KiB, read into
    /// `scratch`) to `out` as one chunk, or the final chunk once the
    /// source ends, as [`write_chunked_to`](Self::write_chunked_to) sends
    /// it. `first` on the first call. True while pieces are left.
    pub(super) fn stage(
        &mut self,
        first: bool,
        scratch: &mut Vec<u8>,
        out: &mut Vec<u8>,
    ) -> Result<bool> {
        if first {
            self.start()?;
        }
        let n = self.read_some(room(scratch, COPY_BUF))?;
        write_chunk(out, None, &scratch[..n])?;
        Ok(n > 0)
    }
}

impl Read for CloseBody<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.started = true;
        self.read_some(buf).map_err(io::Error::from)
    }
}

impl fmt::Debug for CloseBody<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CloseBody")
            .field("received", &self.received)
            .field("complete", &self.done)
            .finish_non_exhaustive()
    }
}

/// A body read from a connection: content-length, chunked, or (a
/// response without framing) delimited by the connection's end.
#[derive(Debug)]
pub enum Incoming<'a> {
    /// `content-length` framing.
    Body(Body<'a>),
    /// `transfer-encoding: chunked` framing.
    Chunked(ChunkedBody<'a>),
    /// No framing: the body runs until the connection closes (a response
    /// only; see [`CloseBody`]).
    Close(CloseBody<'a>),
}

impl Incoming<'_> {
    /// The whole body in memory (chunk boundaries are lost).
    pub fn read_all(&mut self) -> Result<Vec<u8>> {
        match self {
            Incoming::Body(b) => b.read_all(),
            Incoming::Chunked(c) => c.read_all(),
            Incoming::Close(c) => c.read_all(),
        }
    }

    /// The framing the body is sent on with
    /// ([`Outgoing::from`](crate::Outgoing::from)):
    /// `content-length` for a [`Body`], chunked for a [`ChunkedBody`],
    /// and chunked too for a [`CloseBody`], whose length is not known
    /// until it ends (tell it apart with
    /// [`is_close_delimited`](Self::is_close_delimited)).
    pub fn framing(&self) -> Framing {
        match self {
            Incoming::Body(b) => Framing::Length(b.content_length()),
            Incoming::Chunked(_) | Incoming::Close(_) => Framing::Chunked,
        }
    }

    /// True for a body delimited by the end of its connection.
    pub fn is_close_delimited(&self) -> bool {
        matches!(self, Incoming::Close(_))
    }

    /// Sets `release` to be called once, when this body stops using the
    /// connection it reads from, with its [`BodyState`] then:
    /// [`Complete`](BodyState::Complete) when it was read to its very end
    /// (the connection can take its next message),
    /// [`Failed`](BodyState::Failed) when a read or its framing failed,
    /// and, when the body is dropped before either,
    /// [`Reading`](BodyState::Reading) (left unread) or
    /// [`Detached`](BodyState::Detached) (its connection moved on or was
    /// closed). A client's connection pool takes a connection back this
    /// way. Returns false, calling nothing, for a body that does not read
    /// from a connection (one made with [`Body::new`], say).
    pub fn on_release(&mut self, release: impl FnOnce(BodyState) + Send + 'static) -> bool {
        let src = match self {
            Incoming::Body(b) => &mut b.src,
            Incoming::Chunked(c) => &mut c.src,
            Incoming::Close(c) => &mut c.src,
        };
        src.set_release(Box::new(release))
    }

    /// True once read to its end.
    pub fn is_complete(&self) -> bool {
        match self {
            Incoming::Body(b) => b.is_complete(),
            Incoming::Chunked(c) => c.is_complete(),
            Incoming::Close(c) => c.is_complete(),
        }
    }

    /// The trailer fields of a chunked body read to its end (see
    /// [`ChunkedBody::trailers`]); `None` for other bodies, and before
    /// the end.
    pub fn trailers(&self) -> Option<&Headers> {
        match self {
            Incoming::Chunked(c) => c.trailers(),
            _ => None,
        }
    }

    /// Streams the body, as it came, to `w`: a content-length or
    /// close-delimited body's bytes, a chunked body with its chunk framing
    /// (without its trailers).
    pub fn write_to(&mut self, w: &mut dyn Write) -> Result<u64> {
        match self {
            Incoming::Body(b) => b.write_to(w),
            Incoming::Chunked(c) => c.write_to(w),
            Incoming::Close(c) => c.write_to(w),
        }
    }
}

impl Read for Incoming<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Incoming::Body(b) => b.read(buf),
            Incoming::Chunked(c) => c.read(buf),
            Incoming::Close(c) => c.read(buf),
        }
    }
}
