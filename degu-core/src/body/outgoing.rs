//! Output bodies: anything that can be sent, each writing itself under
//! its framing.

use std::borrow::Cow;
use std::fmt;
use std::io::{self, Write};

use super::{Body, Chunk, ChunkedBody, CloseBody, Extension, Incoming, write_all, write_chunk};
use crate::error::{Error, Result};
use crate::headers::Headers;
use crate::parse::Framing;
use crate::range::MAX_LENGTH;

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

impl BodyIter<'_> {
    /// Appends the next piece to `out`, checked as
    /// [`write_to`](Self::write_to) checks it, `total` counting the bytes
    /// so far; `first` on the first call. True while pieces may be left.
    pub(super) fn stage(
        &mut self,
        first: bool,
        total: &mut u64,
        out: &mut Vec<u8>,
    ) -> Result<bool> {
        if first {
            if self.started {
                return Err(Error::BodyConsumed);
            }
            self.started = true;
        }
        let expected = self.content_length;
        let mut append = |piece: &[u8]| -> Result<()> {
            if *total + piece.len() as u64 > expected {
                return Err(Error::BodyTooLong { expected });
            }
            out.extend_from_slice(piece);
            *total += piece.len() as u64;
            Ok(())
        };
        match self.pieces.next_piece(&mut append) {
            Some(r) => r.map(|()| true),
            None if *total != expected => Err(Error::BodyTooShort {
                expected,
                received: *total,
            }),
            None => Ok(false),
        }
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

impl ChunkedBodyIter<'_> {
    /// Appends the next chunk, framed, to `out`; `first` on the first
    /// call. True until the final chunk is appended.
    pub(super) fn stage(&mut self, first: bool, out: &mut Vec<u8>) -> Result<bool> {
        if first {
            if self.started {
                return Err(Error::BodyConsumed);
            }
            self.started = true;
        }
        match self.chunks.write_next(out, false) {
            Some(r) => r.map(|(_, last)| !last),
            None => Err(Error::MissingFinalChunk),
        }
    }
}

impl fmt::Debug for ChunkedBodyIter<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChunkedBodyIter").finish_non_exhaustive()
    }
}

/// Where a body sent a piece at a time stands (see [`Outgoing::stage`]).
#[derive(Debug, Default)]
pub(super) struct StageState {
    /// A piece was asked for before.
    begun: bool,
    /// A chunked body sent on is inside a chunk's data.
    in_chunk: bool,
    /// Bytes an iterator body gave so far.
    total: u64,
    /// Where a reader's pieces are read.
    scratch: Vec<u8>,
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
            Outgoing::Body(b) => b.src.is_connection(),
            Outgoing::Chunked(c) => c.src.is_connection(),
            Outgoing::Close(c) => c.src.is_connection(),
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

    /// Appends the body's next piece to `out`, framed as
    /// [`write_to`](Self::write_to) frames it, for a body sent a piece at
    /// a time (see `Upload`, which keeps `state`); true while pieces are
    /// left. A bytes body is sent from where it is, never staged: it has
    /// no piece to give.
    pub(super) fn stage(&mut self, state: &mut StageState, out: &mut Vec<u8>) -> Result<bool> {
        let first = !state.begun;
        state.begun = true;
        match self {
            Outgoing::None | Outgoing::Bytes(_) => Ok(false),
            Outgoing::Body(b) => b.stage(first, &mut state.scratch, out),
            Outgoing::Chunked(c) => c.stage(first, &mut state.in_chunk, &mut state.scratch, out),
            Outgoing::BodyIter(b) => b.stage(first, &mut state.total, out),
            Outgoing::ChunkedIter(c) => c.stage(first, out),
            Outgoing::Close(c) => c.stage(first, &mut state.scratch, out),
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
