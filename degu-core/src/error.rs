//! The one error type of degu-core (and, re-exported, of the transports).

use std::fmt;
use std::io;
use std::time::Duration;

use crate::Method;

/// Everything that can go wrong while parsing, framing or moving a message.
///
/// Display gives a short lowercase phrase naming the broken rule and, where
/// there is one, the offending value (escaped and truncated), for example
/// `bad content-length: "12a"`.
#[non_exhaustive]
#[derive(Debug)]
pub enum Error {
    /// An I/O error from the underlying transport.
    Io(io::Error),
    /// The peer closed the connection in the middle of a message; the
    /// string says where (`"preamble"`, `"chunk line"`, ...).
    UnexpectedEof(&'static str),
    /// No `\r\n\r\n` within the first 32 KiB of a preamble.
    PreambleTooLarge,
    /// The request line is not `METHOD SP URI SP HTTP/1.x`.
    BadRequestLine(String),
    /// A method other than GET, HEAD, PUT, POST, DELETE, PATCH and
    /// OPTIONS.
    BadMethod(String),
    /// A URI that is not `/path[?query]` with allowed bytes only, or whose
    /// path has a `.` or `..` component or an escape that decodes to what
    /// a component may not hold.
    BadUri(String),
    /// A protocol other than `HTTP/1.1` and `HTTP/1.0`.
    BadProtocol(String),
    /// The status line is not `HTTP/1.x SP NNN [SP reason]`.
    BadStatusLine(String),
    /// A status code outside 100..=599 or not three digits.
    BadStatus(String),
    /// A reason phrase with a byte outside its table.
    BadReason(String),
    /// A header line without a `:` right after the name.
    BadHeaderLine(String),
    /// A header name that is empty or has a byte outside its table (for
    /// outgoing headers: not lowercase).
    BadHeaderName(String),
    /// A header value with a byte outside its table (for outgoing
    /// headers: also one with whitespace around it; an empty one is fine).
    BadHeaderValue {
        /// The header's name.
        name: String,
        /// The offending value (escaped).
        value: String,
    },
    /// The same header name twice (in a request; in a response, a framing
    /// header or `content-range` twice).
    DuplicateHeader(String),
    /// More headers than the limit (the number).
    TooManyHeaders(usize),
    /// A content-length that is not 1 to 16 decimal digits without a
    /// leading zero.
    BadContentLength(String),
    /// A transfer-encoding other than exactly `chunked`.
    BadTransferEncoding(String),
    /// Both content-length and transfer-encoding.
    ContentLengthAndChunked,
    /// A GET or HEAD request that declares a body.
    BodyNotAllowed(Method),
    /// A range that is not `bytes=START-END` with END >= START,
    /// `bytes=START-` or `bytes=-N` (the parser ignores such a `range`
    /// header).
    BadRange(String),
    /// A content-range header that is not `bytes START-END/TOTAL` with
    /// START <= END < TOTAL.
    BadContentRange(String),
    /// A range that selects nothing of the resource: it starts at or past
    /// the end, or is a suffix of zero bytes or of an empty resource.
    RangeNotSatisfiable {
        /// The requested range, rendered as in a header.
        range: String,
        /// The resource's total length.
        total: u64,
    },
    /// A chunk-size line longer than 4 KiB.
    ChunkLineTooLong,
    /// A chunk size that is not 1 to 16 hex digits without a leading zero.
    BadChunkSize(String),
    /// A chunk larger than [`MAX_CHUNK_SIZE`](crate::MAX_CHUNK_SIZE).
    ChunkTooLarge(u64),
    /// A chunk extension that is not one `key=value` with allowed bytes.
    BadChunkExtension(String),
    /// Chunk data not followed by `\r\n`, or a final chunk not followed by
    /// an empty line (trailers are not allowed in a request body; a client
    /// takes them after a response's, see `ChunkedBody::allow_trailers`).
    BadChunkTerminator(String),
    /// A body that ended before its declared length.
    BodyTooShort {
        /// Declared length.
        expected: u64,
        /// Bytes received or produced.
        received: u64,
    },
    /// A body that produced more bytes than its declared length.
    BodyTooLong {
        /// Declared length.
        expected: u64,
    },
    /// An empty chunk that is not the last one of a chunked body iterator.
    EmptyChunkNotLast,
    /// A chunked body iterator that ended without the empty final chunk.
    MissingFinalChunk,
    /// A body consumed a second time.
    BodyConsumed,
    /// A body that is no longer readable: its connection moved on, failed,
    /// or was closed.
    BodyDetached,
    /// An address that is malformed or not valid where it is used.
    BadAddress(String),
    /// The headers and the body disagree (the string says how).
    FramingMismatch(String),
    /// A message that is not allowed here (the string says why).
    Invalid(String),
    /// The connection is closed (after an error, or by request).
    Closed,
    /// A request that failed on a reused connection before any byte of a
    /// response arrived, and was not sent again because its method is not
    /// idempotent (POST, PATCH) or its body cannot be sent twice (a
    /// stream): the server may or may not have acted on it (RFC 9110
    /// §9.2.2).
    NotResent {
        /// The request's method.
        method: Method,
        /// How the request failed.
        error: Box<Error>,
    },
    /// A socket operation waited its whole timeout: the peer stalled.
    TimedOut {
        /// What was waiting.
        stalled: Stall,
        /// The timeout that ran out, when known.
        after: Option<Duration>,
    },
}

/// What waited when a socket timed out (see [`Error::TimedOut`]).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stall {
    /// A read: the peer sent nothing for the whole timeout.
    Read,
    /// A write: the peer stopped reading (its receive buffer and ours are
    /// full).
    Write,
    /// A TLS handshake that was not done by its deadline.
    Handshake,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(e) => write!(f, "i/o error: {e}"),
            Error::UnexpectedEof(what) => write!(f, "connection closed in the middle of a {what}"),
            Error::PreambleTooLarge => f.write_str("preamble larger than 32768 bytes"),
            Error::BadRequestLine(s) => write!(f, "bad request line: {s}"),
            Error::BadMethod(s) => write!(f, "bad method: {s}"),
            Error::BadUri(s) => write!(f, "bad uri: {s}"),
            Error::BadProtocol(s) => write!(f, "bad protocol: {s}"),
            Error::BadStatusLine(s) => write!(f, "bad status line: {s}"),
            Error::BadStatus(s) => write!(f, "bad status: {s}"),
            Error::BadReason(s) => write!(f, "bad reason: {s}"),
            Error::BadHeaderLine(s) => write!(f, "bad header line: {s}"),
            Error::BadHeaderName(s) => write!(f, "bad header name: {s}"),
            Error::BadHeaderValue { name, value } => write!(f, "bad {name} value: {value}"),
            Error::DuplicateHeader(s) => write!(f, "duplicate header: {s}"),
            Error::TooManyHeaders(n) => write!(f, "more than {n} headers"),
            Error::BadContentLength(s) => write!(f, "bad content-length: {s}"),
            Error::BadTransferEncoding(s) => write!(f, "bad transfer-encoding: {s}"),
            Error::ContentLengthAndChunked => {
                f.write_str("both content-length and transfer-encoding")
            }
            Error::BodyNotAllowed(m) => write!(f, "{m} request with a body"),
            Error::BadRange(s) => write!(f, "bad range: {s}"),
            Error::BadContentRange(s) => write!(f, "bad content-range: {s}"),
            Error::RangeNotSatisfiable { range, total } => {
                write!(f, "range not satisfiable: {range} of {total} bytes")
            }
            Error::ChunkLineTooLong => f.write_str("chunk line longer than 4096 bytes"),
            Error::BadChunkSize(s) => write!(f, "bad chunk size: {s}"),
            Error::ChunkTooLarge(n) => write!(f, "chunk of {n} bytes is larger than 16777216"),
            Error::BadChunkExtension(s) => write!(f, "bad chunk extension: {s}"),
            Error::BadChunkTerminator(s) => write!(f, "bad chunk terminator: {s}"),
            Error::BodyTooShort { expected, received } => {
                write!(f, "body too short: {received} of {expected} bytes")
            }
            Error::BodyTooLong { expected } => {
                write!(f, "body too long: more than {expected} bytes")
            }
            Error::EmptyChunkNotLast => f.write_str("empty chunk before the final chunk"),
            Error::MissingFinalChunk => f.write_str("chunked body ended without a final chunk"),
            Error::BodyConsumed => f.write_str("body already consumed"),
            Error::BodyDetached => f.write_str("body no longer readable from its connection"),
            Error::BadAddress(s) => write!(f, "bad address: {s}"),
            Error::FramingMismatch(s) => write!(f, "headers do not match body: {s}"),
            Error::Invalid(s) => f.write_str(s),
            Error::Closed => f.write_str("connection is closed"),
            Error::NotResent { method, error } => write!(
                f,
                "{method} failed on a reused connection before any response arrived \
                 (the server may have closed it as the request went out), and was not \
                 sent again: {}: {error}",
                if method.is_idempotent() {
                    "its body is a stream that cannot be sent twice"
                } else {
                    "the server may have acted on it already"
                }
            ),
            Error::TimedOut { stalled, after } => {
                let what = match stalled {
                    Stall::Read => "read",
                    Stall::Write => "write",
                    Stall::Handshake => "TLS handshake",
                };
                write!(f, "{what} timed out")?;
                if let Some(after) = after {
                    write!(f, " after {after:?}")?;
                }
                match stalled {
                    Stall::Read => f.write_str(": the peer sent nothing"),
                    Stall::Write => f.write_str(": the peer stopped reading"),
                    Stall::Handshake => Ok(()),
                }
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(e) => Some(e),
            Error::NotResent { error, .. } => Some(&**error),
            _ => None,
        }
    }
}

impl From<io::Error> for Error {
    /// Unwraps an [`Error`] that travelled through an `io::Error` (as it
    /// does through `Read` implementations); wraps anything else.
    fn from(e: io::Error) -> Self {
        if e.get_ref().is_some_and(|inner| inner.is::<Error>()) {
            match e.into_inner().map(|b| b.downcast::<Error>()) {
                Some(Ok(inner)) => return *inner,
                _ => unreachable!("checked above"),
            }
        }
        Error::Io(e)
    }
}

impl From<Error> for io::Error {
    fn from(e: Error) -> Self {
        match e {
            Error::Io(e) => e,
            Error::UnexpectedEof(_) | Error::BodyTooShort { .. } => {
                io::Error::new(io::ErrorKind::UnexpectedEof, e)
            }
            Error::TimedOut { .. } => io::Error::new(io::ErrorKind::TimedOut, e),
            other => io::Error::new(io::ErrorKind::InvalidData, other),
        }
    }
}

impl Error {
    /// True when the error is a socket timeout: [`Error::TimedOut`], or an
    /// I/O error of kind `WouldBlock` or `TimedOut`.
    pub fn is_timeout(&self) -> bool {
        match self {
            Error::TimedOut { .. } => true,
            Error::Io(e) => is_timeout_kind(e),
            _ => false,
        }
    }

    /// Names a socket timeout, for transports' `Read` and `Write`
    /// implementations: an error that is a timeout (a blocking socket with
    /// a timeout reports `WouldBlock`) becomes [`Error::TimedOut`] carried
    /// in an `io::Error` of kind `TimedOut`, saying what stalled and, from
    /// `after` (asked only then), the timeout that ran out. Any other
    /// error is returned as it is.
    ///
    /// ```
    /// use std::{io, time::Duration};
    /// use degu_core::{Error, Stall};
    /// let e = io::Error::from(io::ErrorKind::WouldBlock);
    /// let e = Error::name_timeout(e, Stall::Write, || Some(Duration::from_secs(30)));
    /// assert_eq!(e.kind(), io::ErrorKind::TimedOut);
    /// let e = Error::from(e);
    /// assert!(e.is_timeout());
    /// assert_eq!(e.to_string(), "write timed out after 30s: the peer stopped reading");
    /// ```
    pub fn name_timeout(
        e: io::Error,
        stalled: Stall,
        after: impl FnOnce() -> Option<Duration>,
    ) -> io::Error {
        if is_timeout_kind(&e) {
            Error::TimedOut {
                stalled,
                after: after(),
            }
            .into()
        } else {
            e
        }
    }
}

fn is_timeout_kind(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    ) && !e.get_ref().is_some_and(|inner| inner.is::<Error>())
}

/// A `Result` with degu's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// Renders bytes for an error message: quoted, escaped, at most 64 bytes.
pub(crate) fn show(bytes: &[u8]) -> String {
    const MAX: usize = 64;
    let (head, more) = if bytes.len() > MAX {
        (&bytes[..MAX], "...")
    } else {
        (bytes, "")
    };
    format!("\"{}\"{more}", head.escape_ascii())
}
