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
//! it came: as an [`Outgoing`] its framing is [`Framing::Chunked`](crate::Framing::Chunked) and
//! [`Outgoing::write_to`] sends its bytes as chunks (to an HTTP/1.0 peer,
//! [`Outgoing::write_data_to`] sends them raw, delimited by the end of the
//! connection again). Trailers read after a chunked body are not passed
//! on: a chunked body written again ends with `0\r\n\r\n`.

use std::io::{self, Read, Write};

use crate::error::{Error, Result, show};
use crate::message::Transport;
use crate::parse::{MAX_CHUNK_LINE, MAX_CHUNK_SIZE, parse_extension};
use crate::reader::Reader;
use crate::shared::BodySource;
use upload::Duplex;

/// Where an input body's bytes come from, when they do not come from a
/// connection: `Read`, plus a line reader for chunk-size lines.
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
}

/// A body's source on a connection's transport.
pub(crate) type ConnSource = BodySource<Box<dyn Transport>>;

/// Where a body reads from: its connection (which it tells when the body
/// is complete or broken), a file region (which a transport may send with
/// `sendfile` instead), or any source in a box. Held inline, so a body
/// from a connection costs no allocation.
enum Src<'a> {
    Conn(ConnSource),
    File(FileSource),
    Any(Box<dyn Source + Send + 'a>),
    /// A response body from its connection while the request body still
    /// goes out.
    Duplex(Box<Duplex<'a>>),
    /// A source that counts the hooks called, for the tests.
    #[cfg(test)]
    Hooked(Box<dyn tests::Hooks + Send + 'a>),
}

impl Read for Src<'_> {
    #[inline]
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Src::Conn(s) => s.read(buf),
            Src::File(s) => s.read(buf),
            Src::Any(s) => s.read(buf),
            Src::Duplex(s) => s.read(buf),
            #[cfg(test)]
            Src::Hooked(s) => s.read(buf),
        }
    }
}

impl Src<'_> {
    fn read_line_into(&mut self, line: &mut Vec<u8>, max: usize) -> Result<()> {
        match self {
            Src::Conn(s) => s.read_line_into(line, max),
            Src::File(s) => s.read_line_into(line, max),
            Src::Any(s) => s.read_line_into(line, max),
            Src::Duplex(s) => s.read_line_into(line, max),
            #[cfg(test)]
            Src::Hooked(s) => s.read_line_into(line, max),
        }
    }

    /// Sets the hook a connection's body calls once it stops using the
    /// connection; false for a body that reads from no connection.
    fn set_release(&mut self, release: crate::shared::Release) -> bool {
        match self {
            Src::Conn(s) => {
                s.set_release(release);
                true
            }
            Src::Duplex(d) => {
                d.src.set_release(release);
                true
            }
            _ => false,
        }
    }

    /// The body has been read to its very end (called once).
    fn on_complete(&mut self) {
        match self {
            Src::Conn(s) => s.complete(),
            Src::Duplex(d) => d.on_complete(),
            #[cfg(test)]
            Src::Hooked(s) => s.on_complete(),
            _ => {}
        }
    }

    /// The body found its framing broken (too short, a bad chunk line, a
    /// missing `\r\n`): the connection under it cannot be trusted any
    /// more.
    fn on_error(&mut self) {
        match self {
            Src::Conn(s) => s.fail(),
            Src::Duplex(d) => d.on_error(),
            #[cfg(test)]
            Src::Hooked(s) => s.on_error(),
            _ => {}
        }
    }

    /// For a file region: the file and the offset of the next byte.
    fn file_position(&self) -> Option<(&std::fs::File, u64)> {
        match self {
            Src::File(f) => Some((&f.file, f.pos)),
            _ => None,
        }
    }

    /// Tells a file region that `n` bytes were sent by other means.
    fn advance(&mut self, n: u64) {
        if let Src::File(f) = self {
            f.pos += n;
        }
    }

    /// True when the body reads from a connection.
    fn is_connection(&self) -> bool {
        matches!(self, Src::Conn(_) | Src::Duplex(_))
    }
}

/// A region of a file, read with positional reads (the file's own offset
/// is never used or moved).
#[derive(Debug)]
pub(crate) struct FileSource {
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

impl Source for FileSource {}

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

/// The first `want` bytes of `scratch`, grown (never shrunk) to hold
/// them: where a body sent a piece at a time reads its next piece.
fn room(scratch: &mut Vec<u8>, want: usize) -> &mut [u8] {
    if scratch.len() < want {
        scratch.resize(want, 0);
    }
    &mut scratch[..want]
}

fn write_all(w: &mut dyn Write, bytes: &[u8]) -> Result<()> {
    w.write_all(bytes).map_err(Error::from)
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

mod incoming;
mod outgoing;
mod upload;

pub use incoming::{
    Body, ChunkHead, ChunkedBody, CloseBody, Incoming, MAX_TRAILER_SECTION, MAX_TRAILERS,
};
pub use outgoing::{BodyIter, ChunkedBodyIter, Outgoing};
pub(crate) use upload::{Upload, duplex_body};

#[cfg(test)]
mod tests;
