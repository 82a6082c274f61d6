//! Bodies: input bodies that read from a connection without ever reading
//! past their end, and output bodies that write themselves.
//!
//! | kind | framing | source |
//! |---|---|---|
//! | [`Body`] | content-length | any `Read` (or a connection) |
//! | [`ChunkedBody`] | chunked (trailers on opt-in) | any `Read` (or a connection) |
//! | [`CloseBody`] | none: the end of its source ends it | any `Read` (or a connection) |
//! | [`BodyIter`] | content-length | an iterator of byte pieces |
//! | [`ChunkedBodyIter`] | chunked | an iterator of [`Chunk`]s, or of borrowed `(extension, data)` pieces |
//! | bytes | content-length | a `Vec<u8>`, `&[u8]`, `String`, `&str` |
//!
//! [`Incoming`] is what a connection yields (a `Body`, a `ChunkedBody`, or
//! for a response without framing a `CloseBody`); [`Outgoing`] is anything
//! that can be sent, including *no body*, which is not the same as an
//! empty body. An `Incoming` converts into an `Outgoing`: that is how an
//! app echoes a request body or a proxy forwards an upstream one,
//! streaming, chunk boundaries and extensions intact.
//!
//! A [`CloseBody`] has no length to declare, so it is never sent on as
//! it came: as an [`Outgoing`] its framing is [`Framing::Chunked`] and
//! [`Outgoing::write_to`] sends its bytes as chunks (to an HTTP/1.0 peer,
//! [`Outgoing::write_data_to`] sends them raw, delimited by the end of the
//! connection again). Trailers read after a chunked body are not passed
//! on: a chunked body written again ends with `0\r\n\r\n`.

use std::borrow::Cow;
use std::fmt;
use std::io::{self, Read, Write};

use crate::error::{Error, Result, show};
use crate::headers::Headers;
use crate::message::Transport;
use crate::parse::{Framing, MAX_CHUNK_LINE, MAX_CHUNK_SIZE, parse_chunk_line, parse_extension};
use crate::range::MAX_LENGTH;
use crate::reader::Reader;
use crate::shared::BodySource;
use crate::tables::{self, all_in};

/// Where an input body's bytes come from: `Read`, plus a line reader for
/// chunk-size lines and a hook called once the body has been read to its
/// end (transports use it to know the connection can move on).
pub trait Source: Read {
    /// Reads one `\r\n`-terminated line of at most `max` bytes (with its
    /// `\r\n`) into `line` (cleared first), without the `\r\n`. The default
    /// reads one byte at a time, so it never reads past the line.
    fn read_line_into(&mut self, line: &mut Vec<u8>, max: usize) -> Result<()> {
        line.clear();
        let mut b = [0u8; 1];
        loop {
            match self.read(&mut b) {
                Ok(0) => return Err(Error::UnexpectedEof("chunk line")),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            }
            if b[0] == b'\n' {
                if line.last() != Some(&b'\r') {
                    return Err(Error::BadChunkSize(show(line)));
                }
                line.pop();
                return Ok(());
            }
            line.push(b[0]);
            if line.len() + 1 > max {
                return Err(Error::ChunkLineTooLong);
            }
        }
    }

    /// Called once, when the body has been read to its very end.
    fn on_complete(&mut self) {}

    /// Called when the body found its framing broken (too short, a bad
    /// chunk line, a missing `\r\n`): the connection under it cannot be
    /// trusted any more.
    fn on_error(&mut self) {}

    /// For a source reading a file: the file and the offset of the next
    /// byte, so a transport may send it with `sendfile` instead.
    fn file_position(&self) -> Option<(&std::fs::File, u64)> {
        None
    }

    /// Tells a file source that `n` bytes were sent by other means (see
    /// [`file_position`](Self::file_position)).
    fn advance(&mut self, n: u64) {
        let _ = n;
    }
}

/// A body's source on a connection's transport (see
/// [`Body::from_connection`]).
pub type ConnSource = BodySource<Box<dyn Transport>>;

/// Where a body reads from: its connection, held inline, or any source in
/// a box.
enum Src<'a> {
    Conn(ConnSource),
    Any(Box<dyn Source + Send + 'a>),
}

impl Read for Src<'_> {
    #[inline]
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Src::Conn(s) => s.read(buf),
            Src::Any(s) => s.read(buf),
        }
    }
}

impl Source for Src<'_> {
    fn read_line_into(&mut self, line: &mut Vec<u8>, max: usize) -> Result<()> {
        match self {
            Src::Conn(s) => s.read_line_into(line, max),
            Src::Any(s) => s.read_line_into(line, max),
        }
    }
    fn on_complete(&mut self) {
        match self {
            Src::Conn(s) => s.on_complete(),
            Src::Any(s) => s.on_complete(),
        }
    }
    fn on_error(&mut self) {
        match self {
            Src::Conn(s) => s.on_error(),
            Src::Any(s) => s.on_error(),
        }
    }
    fn file_position(&self) -> Option<(&std::fs::File, u64)> {
        match self {
            Src::Conn(s) => s.file_position(),
            Src::Any(s) => s.file_position(),
        }
    }
    fn advance(&mut self, n: u64) {
        match self {
            Src::Conn(s) => s.advance(n),
            Src::Any(s) => s.advance(n),
        }
    }
}

/// A region of a file as a [`Source`], read with positional reads (the
/// file's own offset is never used or moved).
#[derive(Debug)]
pub struct FileSource {
    file: std::fs::File,
    pos: u64,
}

impl Read for FileSource {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        use std::os::unix::fs::FileExt;
        let n = self.file.read_at(buf, self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl Source for FileSource {
    fn file_position(&self) -> Option<(&std::fs::File, u64)> {
        Some((&self.file, self.pos))
    }

    fn advance(&mut self, n: u64) {
        self.pos += n;
    }
}

impl<R: Read> Source for Reader<R> {
    fn read_line_into(&mut self, line: &mut Vec<u8>, max: usize) -> Result<()> {
        let l = self.read_line(max, "chunk line")?;
        line.clear();
        line.extend_from_slice(l);
        Ok(())
    }
}

impl<S: Source + ?Sized> Source for &mut S {
    fn read_line_into(&mut self, line: &mut Vec<u8>, max: usize) -> Result<()> {
        (**self).read_line_into(line, max)
    }
    fn on_complete(&mut self) {
        (**self).on_complete()
    }
    fn on_error(&mut self) {
        (**self).on_error()
    }
}

/// Any `Read` as a [`Source`] with the default (byte-at-a-time) line
/// reader. Wrap slow readers (files, sockets) in a `BufReader` first.
pub struct Plain<R>(pub R);

impl<R: Read> Read for Plain<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl<R: Read> Source for Plain<R> {}

const COPY_BUF: usize = 64 * 1024;

fn write_all(w: &mut dyn Write, bytes: &[u8]) -> Result<()> {
    w.write_all(bytes).map_err(Error::from)
}

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
    src: Src<'a>,
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

    /// A body of `content_length` bytes read from a [`Source`], whose
    /// [`on_complete`](Source::on_complete) is called at the end.
    pub fn from_source(src: impl Source + Send + 'a, content_length: u64) -> Body<'a> {
        Body::with_src(Src::Any(Box::new(src)), content_length)
    }

    /// A body of `content_length` bytes read from its connection: like
    /// [`from_source`](Self::from_source), without boxing the source (so
    /// a request or response body costs no allocation).
    pub fn from_connection(src: ConnSource, content_length: u64) -> Body<'a> {
        Body::with_src(Src::Conn(src), content_length)
    }

    fn with_src(src: Src<'a>, content_length: u64) -> Body<'a> {
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
        Body::from_source(FileSource { file, pos: offset }, len)
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

    fn read_inner_to_end(&mut self, out: &mut Vec<u8>) -> Result<()> {
        let mut buf = vec![0u8; (self.remaining as usize).min(COPY_BUF)];
        while self.remaining > 0 {
            let n = self.read_some(&mut buf)?;
            out.extend_from_slice(&buf[..n]);
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

/// A chunk extension: one `(key, value)` pair.
pub type Extension = (String, String);

/// One chunk of a chunked body: an optional extension and its data. The
/// final chunk, and only it, has empty data.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Chunk {
    /// The `;key=value` extension, if any.
    pub ext: Option<Extension>,
    /// The data.
    pub data: Vec<u8>,
}

impl Chunk {
    /// A chunk without extension.
    pub fn new(data: impl Into<Vec<u8>>) -> Chunk {
        Chunk {
            ext: None,
            data: data.into(),
        }
    }

    /// A chunk with the extension `key=value`.
    pub fn with_ext(
        key: impl Into<String>,
        value: impl Into<String>,
        data: impl Into<Vec<u8>>,
    ) -> Chunk {
        Chunk {
            ext: Some((key.into(), value.into())),
            data: data.into(),
        }
    }

    /// True for the final (empty) chunk.
    pub fn is_final(&self) -> bool {
        self.data.is_empty()
    }
}

/// Writes one chunk: size line (with its extension), data, `\r\n`; for an
/// empty `data`, the final chunk and the empty line that ends the body.
pub fn write_chunk(w: &mut dyn Write, ext: Option<(&str, &str)>, data: &[u8]) -> Result<u64> {
    let head = chunk_head(ext, data.len() as u64)?;
    let mut total = head.len() as u64;
    if data.is_empty() {
        let mut last = head;
        last.extend_from_slice(b"\r\n");
        write_all(w, &last)?;
        return Ok(total + 2);
    }
    if data.len() <= 16 * 1024 {
        let mut all = head;
        all.extend_from_slice(data);
        all.extend_from_slice(b"\r\n");
        write_all(w, &all)?;
    } else {
        write_all(w, &head)?;
        write_all(w, data)?;
        write_all(w, b"\r\n")?;
    }
    total += data.len() as u64 + 2;
    Ok(total)
}

fn chunk_head(ext: Option<(&str, &str)>, size: u64) -> Result<Vec<u8>> {
    if size > MAX_CHUNK_SIZE {
        return Err(Error::ChunkTooLarge(size));
    }
    let mut head = Vec::with_capacity(32);
    write!(head, "{size:x}").map_err(Error::Io)?;
    if let Some((k, v)) = ext {
        head.push(b';');
        let start = head.len();
        head.extend_from_slice(k.as_bytes());
        head.push(b'=');
        head.extend_from_slice(v.as_bytes());
        parse_extension(&head[start..])?;
    }
    if head.len() + 2 > MAX_CHUNK_LINE {
        return Err(Error::ChunkLineTooLong);
    }
    head.extend_from_slice(b"\r\n");
    Ok(head)
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
    src: Src<'a>,
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

    /// A chunked body read from a [`Source`], whose
    /// [`on_complete`](Source::on_complete) is called after the final chunk.
    pub fn from_source(src: impl Source + Send + 'a) -> ChunkedBody<'a> {
        ChunkedBody::with_src(Src::Any(Box::new(src)))
    }

    /// A chunked body read from its connection: like
    /// [`from_source`](Self::from_source), without boxing the source.
    pub fn from_connection(src: ConnSource) -> ChunkedBody<'a> {
        ChunkedBody::with_src(Src::Conn(src))
    }

    fn with_src(src: Src<'a>) -> ChunkedBody<'a> {
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
/// is an error. Sent on (as an [`Outgoing`]), it is chunked (see the
/// [module](self) docs).
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
    src: Src<'a>,
    received: u64,
    done: bool,
    started: bool,
}

impl<'a> CloseBody<'a> {
    /// A body of everything `reader` yields.
    pub fn new(reader: impl Read + Send + 'a) -> CloseBody<'a> {
        CloseBody::from_source(Plain(reader))
    }

    /// A body of everything a [`Source`] yields; its
    /// [`on_complete`](Source::on_complete) is called at the end of the
    /// stream, its [`on_error`](Source::on_error) on a read error.
    pub fn from_source(src: impl Source + Send + 'a) -> CloseBody<'a> {
        CloseBody::with_src(Src::Any(Box::new(src)))
    }

    /// A body read from its connection up to the connection's end: like
    /// [`from_source`](Self::from_source), without boxing the source.
    pub fn from_connection(src: ConnSource) -> CloseBody<'a> {
        CloseBody::with_src(Src::Conn(src))
    }

    fn with_src(src: Src<'a>) -> CloseBody<'a> {
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

trait Pieces {
    fn next_piece(&mut self, f: &mut dyn FnMut(&[u8]) -> Result<()>) -> Option<Result<()>>;
}

impl<I, B> Pieces for I
where
    I: Iterator<Item = B>,
    B: AsRef<[u8]>,
{
    fn next_piece(&mut self, f: &mut dyn FnMut(&[u8]) -> Result<()>) -> Option<Result<()>> {
        self.next().map(|b| f(b.as_ref()))
    }
}

/// A content-length body produced by an iterator of byte pieces whose
/// lengths must add up to the declared length: too many or too few bytes
/// is an error (raised before the extra bytes are written).
///
/// ```
/// use degu_core::BodyIter;
/// let mut out = Vec::new();
/// BodyIter::new(["hello", ", ", "world"], 12).write_to(&mut out).unwrap();
/// assert_eq!(out, b"hello, world");
/// assert!(BodyIter::new(["toolong"], 3).write_to(&mut Vec::new()).is_err());
/// ```
pub struct BodyIter<'a> {
    pieces: Box<dyn Pieces + Send + 'a>,
    content_length: u64,
    started: bool,
}

impl<'a> BodyIter<'a> {
    /// A body of `content_length` bytes from `pieces`.
    pub fn new<I, B>(pieces: I, content_length: u64) -> BodyIter<'a>
    where
        I: IntoIterator<Item = B>,
        I::IntoIter: Send + 'a,
        B: AsRef<[u8]>,
    {
        BodyIter {
            pieces: Box::new(pieces.into_iter()),
            content_length,
            started: false,
        }
    }

    /// The declared length.
    pub fn content_length(&self) -> u64 {
        self.content_length
    }

    /// Writes every piece to `w`; returns bytes written.
    pub fn write_to(&mut self, w: &mut dyn Write) -> Result<u64> {
        if self.started {
            return Err(Error::BodyConsumed);
        }
        self.started = true;
        let expected = self.content_length;
        let mut total = 0u64;
        let mut write = |piece: &[u8]| -> Result<()> {
            if total + piece.len() as u64 > expected {
                return Err(Error::BodyTooLong { expected });
            }
            write_all(w, piece)?;
            total += piece.len() as u64;
            Ok(())
        };
        while let Some(r) = self.pieces.next_piece(&mut write) {
            r?;
        }
        if total != expected {
            return Err(Error::BodyTooShort {
                expected,
                received: total,
            });
        }
        Ok(total)
    }
}

impl fmt::Debug for BodyIter<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BodyIter")
            .field("content_length", &self.content_length)
            .finish_non_exhaustive()
    }
}

/// A chunked body produced by an iterator of [`Chunk`]s; the last, and
/// only the last, has empty data.
///
/// ```
/// use degu_core::{Chunk, ChunkedBodyIter};
/// let chunks = vec![Chunk::with_ext("i", "0", "hello"), Chunk::new("")];
/// let mut out = Vec::new();
/// ChunkedBodyIter::new(chunks).write_to(&mut out).unwrap();
/// assert_eq!(out, b"5;i=0\r\nhello\r\n0\r\n\r\n");
/// assert!(ChunkedBodyIter::new(vec![Chunk::new("x")]).write_to(&mut Vec::new()).is_err());
/// ```
pub struct ChunkedBodyIter<'a> {
    chunks: Box<dyn ChunkSeq + Send + 'a>,
    started: bool,
}

/// Chunks to write, one at a time.
trait ChunkSeq {
    /// Writes the next chunk to `w` (framed, or only its data when `raw`):
    /// the bytes written and whether it was the final chunk; `None` when
    /// there are no more. A final chunk is written only once it is known
    /// that no chunk follows it.
    fn write_next(&mut self, w: &mut dyn Write, raw: bool) -> Option<Result<(u64, bool)>>;
}

struct Seq<I: Iterator>(std::iter::Peekable<I>);

impl<I, B> ChunkSeq for Seq<I>
where
    I: Iterator<Item = (Option<Extension>, B)>,
    B: AsRef<[u8]>,
{
    fn write_next(&mut self, w: &mut dyn Write, raw: bool) -> Option<Result<(u64, bool)>> {
        let (ext, data) = self.0.next()?;
        let data = data.as_ref();
        let last = data.is_empty();
        // The final chunk ends the body for the peer: make sure it is the
        // last before writing it.
        if last && self.0.peek().is_some() {
            return Some(Err(Error::EmptyChunkNotLast));
        }
        if raw {
            return Some(write_all(w, data).map(|()| (data.len() as u64, last)));
        }
        let ext = ext.as_ref().map(|(k, v)| (k.as_str(), v.as_str()));
        Some(write_chunk(w, ext, data).map(|n| (n, last)))
    }
}

impl<'a> ChunkedBodyIter<'a> {
    /// A chunked body from `chunks`.
    pub fn new<I>(chunks: I) -> ChunkedBodyIter<'a>
    where
        I: IntoIterator<Item = Chunk>,
        I::IntoIter: Send + 'a,
    {
        ChunkedBodyIter::from_pieces(chunks.into_iter().map(|c| (c.ext, c.data)))
    }

    /// A chunked body from `(extension, data)` pairs, whose data is any
    /// bytes (`&'static [u8]`, a shared buffer, a `Vec`): written as it
    /// is, never copied. The last pair, and only it, has empty data.
    ///
    /// ```
    /// use degu_core::ChunkedBodyIter;
    /// static DATA: [u8; 4] = *b"abcd";
    /// let pieces = [(None, &DATA[..2]), (Some(("i".into(), "1".into())), &DATA[2..]), (None, &[][..])];
    /// let mut out = Vec::new();
    /// ChunkedBodyIter::from_pieces(pieces).write_to(&mut out).unwrap();
    /// assert_eq!(out, b"2\r\nab\r\n2;i=1\r\ncd\r\n0\r\n\r\n");
    /// ```
    pub fn from_pieces<I, B>(pieces: I) -> ChunkedBodyIter<'a>
    where
        I: IntoIterator<Item = (Option<Extension>, B)>,
        I::IntoIter: Send + 'a,
        B: AsRef<[u8]> + Send,
    {
        ChunkedBodyIter {
            chunks: Box::new(Seq(pieces.into_iter().peekable())),
            started: false,
        }
    }

    /// Writes every chunk to `w`; returns bytes written.
    pub fn write_to(&mut self, w: &mut dyn Write) -> Result<u64> {
        self.write(w, false)
    }

    /// Writes only the chunks' data, one after the other (no chunk
    /// framing, boundaries and extensions lost), as a body delimited by the
    /// end of the connection is sent to an HTTP/1.0 peer; returns bytes
    /// written. The chunks are checked as [`write_to`](Self::write_to)
    /// checks them.
    pub fn write_data_to(&mut self, w: &mut dyn Write) -> Result<u64> {
        self.write(w, true)
    }

    fn write(&mut self, w: &mut dyn Write, raw: bool) -> Result<u64> {
        if self.started {
            return Err(Error::BodyConsumed);
        }
        self.started = true;
        let mut total = 0;
        while let Some(r) = self.chunks.write_next(w, raw) {
            let (n, last) = r?;
            total += n;
            if last {
                return Ok(total);
            }
        }
        Err(Error::MissingFinalChunk)
    }
}

impl fmt::Debug for ChunkedBodyIter<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChunkedBodyIter").finish_non_exhaustive()
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

    /// The framing the body is sent on with ([`Outgoing::from`]):
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

/// Anything that can be sent as a body, or no body at all.
#[derive(Debug, Default)]
pub enum Outgoing<'a> {
    /// No body (not the same as an empty one).
    #[default]
    None,
    /// Bytes in memory (content-length framing).
    Bytes(Cow<'a, [u8]>),
    /// A content-length body from a reader.
    Body(Body<'a>),
    /// A chunked body from a reader.
    Chunked(ChunkedBody<'a>),
    /// A content-length body from an iterator.
    BodyIter(BodyIter<'a>),
    /// A chunked body from an iterator.
    ChunkedIter(ChunkedBodyIter<'a>),
    /// A body of unknown length read to the end of its source (an
    /// upstream's close-delimited body, proxied): sent chunked, or raw to
    /// an HTTP/1.0 peer (see [`write_data_to`](Self::write_data_to)).
    Close(CloseBody<'a>),
}

impl Outgoing<'_> {
    /// The framing this body needs.
    pub fn framing(&self) -> Framing {
        match self {
            Outgoing::None => Framing::None,
            Outgoing::Bytes(b) => Framing::Length(b.len() as u64),
            Outgoing::Body(b) => Framing::Length(b.content_length()),
            Outgoing::BodyIter(b) => Framing::Length(b.content_length()),
            Outgoing::Chunked(_) | Outgoing::ChunkedIter(_) | Outgoing::Close(_) => {
                Framing::Chunked
            }
        }
    }

    /// True when the body reads from a connection (a request body echoed
    /// back, an upstream body proxied): its bytes are not all there yet.
    pub fn reads_connection(&self) -> bool {
        match self {
            Outgoing::Body(b) => matches!(b.src, Src::Conn(_)),
            Outgoing::Chunked(c) => matches!(c.src, Src::Conn(_)),
            Outgoing::Close(c) => matches!(c.src, Src::Conn(_)),
            _ => false,
        }
    }

    /// True for no body.
    pub fn is_none(&self) -> bool {
        matches!(self, Outgoing::None)
    }

    /// Writes only the body's data to `w`, without chunk framing: how a
    /// chunked or close-delimited body goes to an HTTP/1.0 peer, delimited
    /// by the end of the connection (a content-length body is written as
    /// it is). Returns bytes written.
    pub fn write_data_to(&mut self, w: &mut dyn Write) -> Result<u64> {
        match self {
            Outgoing::Chunked(c) => Ok(io::copy(c, w)?),
            Outgoing::ChunkedIter(c) => c.write_data_to(w),
            Outgoing::Close(c) => c.write_to(w),
            other => other.write_to(w),
        }
    }

    /// Writes the body to `w` framed as [`framing`](Self::framing) says
    /// (a [`CloseBody`] as chunks); returns bytes written.
    pub fn write_to(&mut self, w: &mut dyn Write) -> Result<u64> {
        match self {
            Outgoing::None => Ok(0),
            Outgoing::Bytes(b) => {
                write_all(w, b)?;
                Ok(b.len() as u64)
            }
            Outgoing::Body(b) => b.write_to(w),
            Outgoing::Chunked(c) => c.write_to(w),
            Outgoing::BodyIter(b) => b.write_to(w),
            Outgoing::ChunkedIter(c) => c.write_to(w),
            Outgoing::Close(c) => c.write_chunked_to(w),
        }
    }

    /// Makes `headers` declare this body's framing: adds `content-length`
    /// or `transfer-encoding: chunked` when missing, and refuses headers
    /// that contradict the body. With no body, headers that declare one are
    /// refused unless `declared_ok` (a response to HEAD).
    pub fn apply_framing(&self, headers: &mut Headers, declared_ok: bool) -> Result<()> {
        match self.missing_framing(headers.framing()?, declared_ok)? {
            Framing::None => Ok(()),
            Framing::Length(n) => headers.insert("content-length", n.to_string()),
            Framing::Chunked => headers.insert("transfer-encoding", "chunked"),
        }
    }

    /// What [`apply_framing`](Self::apply_framing) would add to headers
    /// that declare `declared` ([`Headers::framing`]), without changing
    /// them: the framing header this body needs and they lack
    /// ([`Framing::None`] when they already declare it, or there is no
    /// body), or the same error. A writer can then put the header straight
    /// into the preamble (see [`write_framing`](crate::write_framing)).
    pub fn missing_framing(&self, declared: Framing, declared_ok: bool) -> Result<Framing> {
        match (self.framing(), declared) {
            (Framing::None, Framing::None) => Ok(Framing::None),
            (Framing::None, _) if declared_ok => Ok(Framing::None),
            (Framing::None, d) => Err(Error::FramingMismatch(format!(
                "no body, but the headers declare {d:?}"
            ))),
            (Framing::Length(n), _) if n > MAX_LENGTH => Err(Error::BadContentLength(format!(
                "{n} is more than 16 digits"
            ))),
            (Framing::Length(n), Framing::None) => Ok(Framing::Length(n)),
            (Framing::Length(n), Framing::Length(m)) if n == m => Ok(Framing::None),
            (Framing::Chunked, Framing::None) => Ok(Framing::Chunked),
            (Framing::Chunked, Framing::Chunked) => Ok(Framing::None),
            (body, d) => Err(Error::FramingMismatch(format!(
                "the body is {body:?}, the headers declare {d:?}"
            ))),
        }
    }
}

impl From<()> for Outgoing<'_> {
    fn from(_: ()) -> Self {
        Outgoing::None
    }
}
impl From<Vec<u8>> for Outgoing<'_> {
    fn from(v: Vec<u8>) -> Self {
        Outgoing::Bytes(Cow::Owned(v))
    }
}
impl<'a> From<&'a [u8]> for Outgoing<'a> {
    fn from(v: &'a [u8]) -> Self {
        Outgoing::Bytes(Cow::Borrowed(v))
    }
}
impl<'a, const N: usize> From<&'a [u8; N]> for Outgoing<'a> {
    fn from(v: &'a [u8; N]) -> Self {
        Outgoing::Bytes(Cow::Borrowed(v))
    }
}
impl<'a> From<&'a str> for Outgoing<'a> {
    fn from(v: &'a str) -> Self {
        Outgoing::Bytes(Cow::Borrowed(v.as_bytes()))
    }
}
impl From<String> for Outgoing<'_> {
    fn from(v: String) -> Self {
        Outgoing::Bytes(Cow::Owned(v.into_bytes()))
    }
}
impl<'a> From<Body<'a>> for Outgoing<'a> {
    fn from(b: Body<'a>) -> Self {
        Outgoing::Body(b)
    }
}
impl<'a> From<ChunkedBody<'a>> for Outgoing<'a> {
    fn from(b: ChunkedBody<'a>) -> Self {
        Outgoing::Chunked(b)
    }
}
impl<'a> From<BodyIter<'a>> for Outgoing<'a> {
    fn from(b: BodyIter<'a>) -> Self {
        Outgoing::BodyIter(b)
    }
}
impl<'a> From<ChunkedBodyIter<'a>> for Outgoing<'a> {
    fn from(b: ChunkedBodyIter<'a>) -> Self {
        Outgoing::ChunkedIter(b)
    }
}
impl<'a> From<CloseBody<'a>> for Outgoing<'a> {
    fn from(b: CloseBody<'a>) -> Self {
        Outgoing::Close(b)
    }
}
impl<'a> From<Incoming<'a>> for Outgoing<'a> {
    /// The same body, to be sent on with the framing
    /// [`Incoming::framing`] names: a close-delimited body goes out
    /// chunked ([`Outgoing::Close`]), never unframed.
    fn from(b: Incoming<'a>) -> Self {
        match b {
            Incoming::Body(b) => Outgoing::Body(b),
            Incoming::Chunked(c) => Outgoing::Chunked(c),
            Incoming::Close(c) => Outgoing::Close(c),
        }
    }
}
impl<'a> From<Option<Incoming<'a>>> for Outgoing<'a> {
    fn from(b: Option<Incoming<'a>>) -> Self {
        b.map_or(Outgoing::None, Outgoing::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chunk_after_the_final_one_is_refused_before_the_final_is_written() {
        let chunks = vec![Chunk::new("a"), Chunk::new(""), Chunk::new("b")];
        let mut out = Vec::new();
        let err = ChunkedBodyIter::new(chunks).write_to(&mut out).unwrap_err();
        assert!(matches!(err, Error::EmptyChunkNotLast));
        assert_eq!(out, b"1\r\na\r\n", "the peer must not see a complete body");
    }
}
