//! The HTTP/1.1 connection protocol, once for both directions: [`Conn`].
//!
//! A server and a client each hold one [`Conn`] per connection and keep
//! only their policy (limits, the app call, 100-continue, reconnecting):
//! reading a preamble into the connection's buffer, deciding the body
//! framing of a request or a response, writing a head and a body under
//! the framing rules, finishing an unread body within a limit, and the
//! close decision all live here, written once.
//!
//! The transport is any [`Transport`] (a plain socket, a TLS stream, an
//! in-memory pipe), boxed; nothing here opens a socket. A `Conn` is
//! `Send`: between two exchanges it can move to another thread, and so
//! can the input body it hands out (see the `shared` module's cell).

use std::borrow::Cow;
use std::fmt;
use std::io::{self, IoSlice, Read, Write};

use crate::body::{Body, ChunkedBody, CloseBody, Incoming, Outgoing, Upload, duplex_body};
use crate::error::{Error, Result};
use crate::headers::{Headers, has_token};
use crate::message::{Response, Transport, standard_reason};
use crate::parse::{
    Framing, MAX_HEADERS, MAX_PREAMBLE, MAX_RESPONSE_HEADERS, Method, RequestPreamble, Version,
    parse_request_with,
};
use crate::reader::Reader;
use crate::shared::{BodyTracker, Shared, SharedWriter, body_source, shared, shared_reader};
use crate::stream::ConnectionInfo;
use crate::write::{write_framing, write_header_line, write_request_head, write_response_head};

pub use crate::shared::BodyState;

/// Largest bytes body sent in the same write as its preamble.
const COALESCE: usize = 64 * 1024;

/// Interim (1xx) responses skipped before a final one, at most.
const MAX_INTERIM: usize = 8;

/// True when a response to `method` with `status` has no body, whatever
/// its headers say (RFC 9110 §6.4.1): a response to HEAD, 204 and 304.
pub fn bodiless(method: Method, status: u16) -> bool {
    method == Method::Head || status == 204 || status == 304
}

/// One connection's protocol state: its transport behind a 32 KiB read
/// buffer, the input body it handed out last, and a buffer for the
/// preambles it writes.
///
/// A server's loop: [`read_preamble`](Self::read_preamble),
/// [`parse_request`](Self::parse_request), (the app),
/// [`write_response`](Self::write_response),
/// [`finish_body`](Self::finish_body). A client's:
/// [`prepare_request`](Self::prepare_request),
/// [`exchange`](Self::exchange).
///
/// ```
/// use degu_core::{Conn, Method, Response, Transport};
/// # struct Pipe { input: std::io::Cursor<Vec<u8>>, output: std::sync::Arc<std::sync::Mutex<Vec<u8>>> }
/// # impl std::io::Read for Pipe { fn read(&mut self, b: &mut [u8]) -> std::io::Result<usize> { self.input.read(b) } }
/// # impl std::io::Write for Pipe { fn write(&mut self, b: &[u8]) -> std::io::Result<usize> { self.output.lock().unwrap().extend_from_slice(b); Ok(b.len()) } fn flush(&mut self) -> std::io::Result<()> { Ok(()) } }
/// # impl Transport for Pipe {}
/// # let output = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
/// // `Pipe` reads the given bytes and keeps what is written to it.
/// let pipe = Pipe { input: std::io::Cursor::new(b"PUT /x HTTP/1.1\r\ncontent-length: 2\r\n\r\nhi".to_vec()), output: output.clone() };
/// let mut conn = Conn::new(Box::new(pipe));
/// assert!(conn.read_preamble().unwrap());
/// let (head, mut body) = conn.parse_request(64, |p, body| { assert_eq!(p.uri, "/x"); body }).unwrap();
/// assert_eq!(head.method, Method::Put);
/// let mut response = Response::new(200, "OK").body(body.take());
/// let close = conn.write_response(head.method, head.version, false, &mut response).unwrap();
/// assert!(!close);
/// conn.finish_body(1024).unwrap();
/// assert_eq!(&output.lock().unwrap()[..], b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nhi");
/// ```
pub struct Conn {
    cell: Shared<Box<dyn Transport>>,
    /// The input body handed out last, and its framing.
    body: Option<(BodyTracker, Framing)>,
    /// A preamble read and not yet parsed: where it is in the buffer.
    preamble: Option<(usize, usize)>,
    /// Where preambles are formatted.
    out: Vec<u8>,
    /// Whether any byte of a response to the last request arrived.
    heard: bool,
}

/// What a request says about its exchange (see [`Conn::parse_request`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestHead {
    /// Its method.
    pub method: Method,
    /// Its protocol version.
    pub version: Version,
    /// Its body's framing.
    pub framing: Framing,
    /// It asked for `100 Continue` before it sends its body (HTTP/1.1
    /// only, and only with a body to send: RFC 9110 §10.1.1).
    pub expects_continue: bool,
    /// It asked to end the connection after the exchange: `connection:
    /// close`, or HTTP/1.0 without `connection: keep-alive` (RFC 9112
    /// §9.3).
    pub close: bool,
}

/// A response as read by [`Conn::exchange`]: its preamble, its body
/// reading from the connection, and whether the connection can take
/// another request after it.
#[derive(Debug)]
pub struct ResponseParts<'b> {
    /// The status line's protocol version.
    pub version: Version,
    /// The final status (interim 1xx responses are skipped).
    pub status: u16,
    /// The reason phrase as sent (borrowed when it is the status's usual
    /// one).
    pub reason: Cow<'static, str>,
    /// Every header, repeated ones included, in wire order.
    pub headers: Headers,
    /// The body: none when [`bodiless`]; a content-length or chunked body
    /// (trailers allowed); or a body delimited by the end of the
    /// connection.
    ///
    /// When the response came before the request body was all sent, the
    /// body sends the rest as it reads (see [`Conn::exchange`]): it holds
    /// the request body, hence the lifetime.
    pub body: Option<Incoming<'b>>,
    /// Whether the connection can take another request once the body is
    /// read (RFC 9112 §9.3): not after `connection: close`, nor after a
    /// body delimited by the end of the connection; after an HTTP/1.0
    /// response only when it said `connection: keep-alive` and its body
    /// had a length.
    pub keeps_alive: bool,
}

/// Why an input body left unread makes the connection close (see
/// [`Conn::finish_body`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnreadBody {
    /// The peer ended the body while the rest was being read and
    /// discarded.
    CutShort,
    /// Too much of it was left to read and discard.
    TooLarge,
    /// Reading it failed: its framing was broken, or its exchange failed.
    Failed,
}

/// What [`Conn::read_available`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Available {
    /// A whole preamble is buffered, or the buffer is full without one
    /// (which [`Conn::read_preamble`] refuses): reading a preamble now
    /// waits for nothing.
    Ready,
    /// Part of a preamble is buffered; the rest has not arrived.
    Partial,
    /// Nothing is buffered and nothing has arrived.
    Nothing,
    /// The peer ended the stream, with nothing buffered.
    Closed,
}

/// A thread's own buffers, lent to each connection it serves in turn (see
/// [`Conn::swap_buffers`]): a full-size read buffer and a buffer for
/// preambles.
pub struct ConnBuffers {
    read: Box<[u8]>,
    write: Vec<u8>,
}

impl ConnBuffers {
    /// A full-size ([`BUFFER_SIZE`](crate::BUFFER_SIZE)) read buffer, and a
    /// preamble buffer of 1 KiB.
    pub fn new() -> ConnBuffers {
        ConnBuffers {
            read: vec![0u8; crate::BUFFER_SIZE].into_boxed_slice(),
            write: Vec::with_capacity(1024),
        }
    }

    /// True when the read buffer is a full-size one (it is not while a
    /// connection has it, or after that connection was dropped holding
    /// it).
    pub fn is_whole(&self) -> bool {
        self.read.len() == crate::BUFFER_SIZE
    }
}

impl Default for ConnBuffers {
    fn default() -> ConnBuffers {
        ConnBuffers::new()
    }
}

/// A transport that is closed: what a body still alive reads after
/// [`Conn::close`].
struct ClosedTransport;

impl Read for ClosedTransport {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        Err(io::ErrorKind::NotConnected.into())
    }
}

impl Write for ClosedTransport {
    fn write(&mut self, _: &[u8]) -> io::Result<usize> {
        Err(io::ErrorKind::NotConnected.into())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Transport for ClosedTransport {}

impl Conn {
    /// A connection over `transport`, with its 32 KiB read buffer.
    pub fn new(transport: Box<dyn Transport>) -> Conn {
        Conn {
            cell: shared(transport),
            body: None,
            preamble: None,
            out: Vec::with_capacity(1024),
            heard: false,
        }
    }

    /// A connection over `transport` that holds no read buffer yet, as a
    /// [parked](Self::park) one: for a server that accepts connections
    /// faster than they send.
    pub fn without_buffer(transport: Box<dyn Transport>) -> Conn {
        Conn {
            cell: shared_reader(Reader::unbuffered(transport)),
            body: None,
            preamble: None,
            out: Vec::new(),
            heard: false,
        }
    }

    /// What the transport knows about the connection.
    pub fn info(&self) -> ConnectionInfo {
        self.cell.borrow_mut().get_ref().info()
    }

    /// The state of the last input body handed out (`None` before the
    /// first, or after a message without one).
    pub fn body_state(&self) -> Option<BodyState> {
        self.body.as_ref().map(|(t, _)| t.state())
    }

    /// A new input body on the connection, of `framing` (the previous one
    /// is detached).
    fn new_body(&mut self, framing: Framing, trailers: bool) -> Option<Incoming<'static>> {
        Some(new_body(&self.cell, &mut self.body, framing, trailers))
    }

    // --- parking: a connection between requests, waiting on an event loop ---

    /// Reads without blocking (see [`Transport::read_nonblocking`]) what
    /// the peer has sent toward its next preamble, and says whether a
    /// preamble can be read now. A stream that ends in the middle of a
    /// preamble is an error ([`Error::UnexpectedEof`]).
    pub fn read_available(&mut self) -> Result<Available> {
        let mut reader = self.cell.borrow_mut();
        loop {
            if reader.preamble_ready() {
                return Ok(Available::Ready);
            }
            match reader.fill_with(|t, buf| t.read_nonblocking(buf)) {
                Ok((0, _)) if reader.buffered().is_empty() => return Ok(Available::Closed),
                Ok((0, _)) => return Err(Error::UnexpectedEof("preamble")),
                // A read that did not fill the room took all there was
                // (a stream socket's, or a TLS stream's plaintext): asking
                // again would only hear "would block". What arrives later
                // is a new event.
                Ok((n, room)) if n < room => {
                    return Ok(if reader.preamble_ready() {
                        Available::Ready
                    } else {
                        Available::Partial
                    });
                }
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    return Ok(if reader.buffered().is_empty() {
                        Available::Nothing
                    } else {
                        Available::Partial
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::Io(e)),
            }
        }
    }

    /// Whether the transport has answered the peer's opening handshake
    /// message, or has no handshake (see [`Transport::hello_answered`]).
    pub fn hello_answered(&self) -> bool {
        self.cell.borrow_mut().get_ref().hello_answered()
    }

    /// True when bytes are buffered: a pipelined request, or part of one.
    pub fn has_buffered(&self) -> bool {
        !self.cell.borrow_mut().buffered().is_empty()
    }

    /// True when a preamble can be read without waiting (see
    /// [`Available::Ready`]).
    pub fn preamble_ready(&self) -> bool {
        self.cell.borrow_mut().preamble_ready()
    }

    /// Readies a connection to wait between requests holding as little
    /// memory as it can: gives up its read buffer when nothing is
    /// buffered (returned, for a pool) and the buffer preambles are
    /// written in. The next read takes a buffer from
    /// [`attach_buffer`](Self::attach_buffer), or allocates one.
    pub fn park(&mut self) -> Option<Box<[u8]>> {
        self.out = Vec::new();
        self.cell.borrow_mut().release_buffer()
    }

    /// Gives a parked connection a read buffer (from a pool) before it
    /// reads again: a small one (say [`SMALL_BUFFER_SIZE`](crate::SMALL_BUFFER_SIZE))
    /// grows when a preamble needs it. One larger than
    /// [`BUFFER_SIZE`](crate::BUFFER_SIZE), or a connection that has one
    /// already, drops it.
    pub fn attach_buffer(&mut self, buf: Box<[u8]>) {
        self.cell.borrow_mut().attach_buffer(buf);
    }

    /// The size of the connection's read buffer (0 when it has none).
    pub fn buffer_capacity(&self) -> usize {
        self.cell.borrow_mut().capacity()
    }

    /// Trades buffers with a thread that serves many connections in turn
    /// (a server's worker): the connection takes `bufs`' read buffer (what
    /// it had buffered moves into it) and preamble buffer, and `bufs`
    /// holds the ones it gave up. Called again when the thread is done
    /// with the connection, it gives the thread its buffers back, and the
    /// connection keeps anything still buffered (a pipelined request) in
    /// its own, so a connection that waits between requests holds at most
    /// a small buffer, while the thread's full-size ones never move. Call
    /// it between requests only (not between
    /// [`read_preamble`](Self::read_preamble) and
    /// [`parse_request`](Self::parse_request)).
    pub fn swap_buffers(&mut self, bufs: &mut ConnBuffers) {
        self.preamble = None;
        self.cell.borrow_mut().swap_buffer(&mut bufs.read);
        self.out.clear();
        std::mem::swap(&mut self.out, &mut bufs.write);
    }

    // --- the server's side ---

    /// Reads until a whole preamble is buffered (at most
    /// [`MAX_PREAMBLE`] bytes with its `\r\n\r\n`); false when the stream
    /// ends cleanly before its first byte. [`parse_request`](Self::parse_request)
    /// parses it.
    pub fn read_preamble(&mut self) -> Result<bool> {
        self.preamble = None;
        self.preamble = self.cell.borrow_mut().read_preamble_span()?;
        Ok(self.preamble.is_some())
    }

    /// Parses the request preamble [`read_preamble`](Self::read_preamble)
    /// buffered, with at most `max_headers` headers, and hands it with
    /// its body (which reads from this connection) to `f` (header names
    /// are lowercased in place; the strings borrow the buffer). Returns
    /// what the request says about the exchange, and what `f` returned.
    pub fn parse_request<R>(
        &mut self,
        max_headers: usize,
        f: impl FnOnce(&RequestPreamble<'_>, Option<Incoming<'static>>) -> R,
    ) -> Result<(RequestHead, R)> {
        let Some((start, len)) = self.preamble.take() else {
            return Err(Error::Invalid("no request preamble was read".into()));
        };
        let mut reader = self.cell.borrow_mut();
        let p = parse_request_with(reader.span_mut(start, len), max_headers)?;
        Ok(request_exchange(&self.cell, &mut self.body, &p, f))
    }

    /// [`read_preamble`](Self::read_preamble), then
    /// [`parse_request`](Self::parse_request), in one borrow of the
    /// connection (a server's loop, one lock fewer per request); `None`
    /// when the stream ends cleanly before the preamble's first byte.
    pub fn read_request<R>(
        &mut self,
        max_headers: usize,
        f: impl FnOnce(&RequestPreamble<'_>, Option<Incoming<'static>>) -> R,
    ) -> Result<Option<(RequestHead, R)>> {
        self.preamble = None;
        let mut reader = self.cell.borrow_mut();
        let Some((start, len)) = reader.read_preamble_span()? else {
            return Ok(None);
        };
        let p = parse_request_with(reader.span_mut(start, len), max_headers)?;
        Ok(Some(request_exchange(&self.cell, &mut self.body, &p, f)))
    }

    /// Writes `100 Continue`.
    pub fn write_continue(&mut self) -> io::Result<()> {
        self.cell
            .borrow_mut()
            .get_mut()
            .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
    }

    /// Marks the input body failed (its exchange failed: the connection
    /// must close).
    pub fn fail_body(&mut self) {
        if let Some((t, _)) = &self.body {
            t.fail();
        }
    }

    /// True when the input body is unread and more than `drain_limit` of
    /// it is left (or it is chunked, so its length is unknown): the
    /// connection will close after the response (see
    /// [`finish_body`](Self::finish_body)).
    pub fn closes_unread(&self, drain_limit: u64) -> bool {
        self.body.as_ref().is_some_and(|(t, framing)| {
            t.state() == BodyState::Reading
                && match *framing {
                    Framing::Length(n) => n - t.consumed() > drain_limit,
                    Framing::Chunked => true,
                    Framing::None => false,
                }
        })
    }

    /// After the response: the input body must have been read to its
    /// end, or have at most `drain_limit` bytes left, which are read and
    /// discarded; otherwise the connection must close (its unread bytes
    /// must never be parsed as the next request). The body is detached:
    /// it can no longer read.
    pub fn finish_body(&mut self, drain_limit: u64) -> std::result::Result<(), UnreadBody> {
        let Some((t, framing)) = self.body.take() else {
            return Ok(());
        };
        match (t.detach(), framing) {
            (BodyState::Complete, _) => Ok(()),
            (BodyState::Reading, Framing::Length(n)) if n - t.consumed() <= drain_limit => {
                let mut left = n - t.consumed();
                let mut buf = [0u8; 8192];
                let mut reader = self.cell.borrow_mut();
                while left > 0 {
                    let want = (left as usize).min(buf.len());
                    match reader.read(&mut buf[..want]) {
                        Ok(0) | Err(_) => return Err(UnreadBody::CutShort),
                        Ok(k) => left -= k as u64,
                    }
                }
                Ok(())
            }
            (BodyState::Reading, _) => Err(UnreadBody::TooLarge),
            _ => Err(UnreadBody::Failed),
        }
    }

    /// Validates and writes `resp`, the answer to a `method` request of
    /// `version`; `last` when it is the connection's last response (it
    /// then says `connection: close`). Returns true when the connection
    /// must close after it.
    ///
    /// The framing header the response lacks is added from its body
    /// (`content-length: 0` when it has none; none for 204 and 304); a
    /// body that must be chunked goes to an HTTP/1.0 client raw, ending
    /// the connection. A bytes body of at most 64 KiB goes out in the same
    /// write as the preamble; a file body over a plain socket is sent with
    /// `sendfile(2)`; other bodies stream.
    pub fn write_response(
        &mut self,
        method: Method,
        version: Version,
        mut last: bool,
        resp: &mut Response<'_>,
    ) -> Result<bool> {
        let status = resp.status;
        if status < 200 {
            return Err(Error::Invalid(format!(
                "an app cannot answer with the interim status {status}"
            )));
        }
        let no_body = bodiless(method, status);
        let declared = resp.headers.framing()?;
        if no_body {
            if !resp.body.is_none() {
                return Err(Error::Invalid(format!(
                    "a response to {method} with status {status} cannot have a body"
                )));
            }
            if status == 204 && declared != Framing::None {
                return Err(Error::Invalid(
                    "a 204 response cannot declare a body".into(),
                ));
            }
        }
        // The framing header the response lacks: none, or the body's, or
        // (every response being self-delimiting) `content-length: 0` for no
        // body, to HEAD as to GET (a HEAD response carries the headers the
        // same response to GET would); 204 and 304 carry none. It goes
        // straight into the preamble; the app's headers are not changed.
        let mut add =
            if status != 204 && status != 304 && resp.body.is_none() && declared == Framing::None {
                Framing::Length(0)
            } else {
                resp.body.missing_framing(declared, no_body)?
            };
        // HTTP/1.0 has no chunked framing: a body that needs it goes to a
        // 1.0 client as it is, delimited by the end of the connection (RFC
        // 9112 §6.3), without the app's `transfer-encoding` and
        // `connection`.
        let unframed =
            version == Version::Http10 && (add == Framing::Chunked || declared == Framing::Chunked);
        if unframed {
            add = Framing::None;
            last = true;
        }
        let connection = if unframed {
            None
        } else {
            resp.headers.get("connection")
        };
        // The last response on the connection says so; to an HTTP/1.0
        // client that asked to keep it, a response that keeps it says that.
        let add_connection = match connection {
            Some(_) => None,
            None if last => Some("close"),
            None if version == Version::Http10 => Some("keep-alive"),
            None => None,
        };
        let extra = usize::from(add != Framing::None) + usize::from(add_connection.is_some());
        if resp.headers.len() + extra > MAX_RESPONSE_HEADERS {
            return Err(Error::TooManyHeaders(MAX_RESPONSE_HEADERS));
        }
        let out = &mut self.out;
        out.clear();
        if out.capacity() == 0 {
            // Given up by `park`.
            out.reserve(1024);
        }
        if unframed {
            write_response_head(out, status, &resp.reason, &Headers::new())?;
            for (name, value) in resp.headers.iter_bytes() {
                if name != b"transfer-encoding" && name != b"connection" {
                    write_header_line(out, name, value);
                }
            }
        } else {
            write_response_head(out, status, &resp.reason, &resp.headers)?;
        }
        write_framing(out, add);
        if let Some(value) = add_connection {
            write_header_line(out, b"connection", value.as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        if out.len() > MAX_PREAMBLE {
            return Err(Error::PreambleTooLarge);
        }
        let close =
            add_connection == Some("close") || connection.is_some_and(|v| has_token(v, "close"));
        let cell = &self.cell;
        match &mut resp.body {
            Outgoing::None => cell.borrow_mut().get_mut().write_all(out)?,
            body if unframed => {
                cell.borrow_mut().get_mut().write_all(out)?;
                body.write_data_to(&mut SharedWriter(cell.clone()))?;
            }
            Outgoing::Bytes(b) if out.len() + b.len() <= COALESCE => {
                out.extend_from_slice(b);
                cell.borrow_mut().get_mut().write_all(out)?;
            }
            Outgoing::Body(b) if b.as_file().is_some() => {
                let mut reader = cell.borrow_mut();
                reader.get_mut().write_all(out)?;
                match reader.get_ref().plain_fd() {
                    Some(fd) => send_file(fd, b)?,
                    None => {
                        drop(reader);
                        b.write_to(&mut SharedWriter(cell.clone()))?;
                    }
                }
            }
            body => {
                cell.borrow_mut().get_mut().write_all(out)?;
                body.write_to(&mut SharedWriter(cell.clone()))?;
            }
        }
        Ok(close)
    }

    /// Ends this side's output (see [`Transport::shutdown_write`]); does
    /// nothing while a body holds the connection.
    pub fn shutdown_write(&mut self) -> io::Result<()> {
        match self.cell.try_borrow_mut() {
            Some(mut reader) => reader.get_mut().shutdown_write(),
            None => Ok(()),
        }
    }

    // --- the client's side ---

    /// Validates a request and formats its preamble, to be sent by
    /// [`exchange`](Self::exchange): the URI; the method against
    /// the body (GET and HEAD take none); the headers, `base` first (those
    /// `headers` does not override), at most [`MAX_HEADERS`] in all; the
    /// body against any framing header (the missing one is added). Nothing
    /// is sent, and an error leaves the connection as it was.
    pub fn prepare_request(
        &mut self,
        method: Method,
        uri: &str,
        base: &Headers,
        headers: &Headers,
        body: &Outgoing<'_>,
    ) -> Result<()> {
        let out = &mut self.out;
        out.clear();
        if out.capacity() == 0 {
            // Given up by `park`.
            out.reserve(1024);
        }
        write_request_head(out, method, uri, &Headers::new())?;
        if method.forbids_body() && !body.is_none() {
            return Err(Error::BodyNotAllowed(method));
        }
        let add = body.missing_framing(headers.framing()?, false)?;
        let mut count = 0;
        for (n, v) in base
            .iter_bytes()
            .filter(|(n, _)| !headers.contains_bytes(n))
        {
            write_header_line(out, n, v);
            count += 1;
        }
        headers.write_to(out)?;
        count += headers.len();
        if add != Framing::None {
            write_framing(out, add);
            count += 1;
        }
        out.extend_from_slice(b"\r\n");
        if count > MAX_HEADERS {
            return Err(Error::TooManyHeaders(MAX_HEADERS));
        }
        if out.len() > MAX_PREAMBLE {
            return Err(Error::PreambleTooLarge);
        }
        Ok(())
    }

    /// Sends the request [`prepare_request`](Self::prepare_request)
    /// formatted, with `body`, and reads its response: skips interim (1xx)
    /// responses (at most 8; a `101` is an error, no upgrade having been
    /// asked for), and returns the final one with its body, which reads
    /// from this connection. Refused while the last response body handed
    /// out is still being read.
    ///
    /// Full duplex over a transport that can wait for readiness (see
    /// [`Transport::poll_fd`]): the preamble and a bytes body go out in
    /// one vectored write without waiting, and whatever the socket does
    /// not take yet is sent while the response is awaited and read. A
    /// response that starts before the body is all sent (an echo, an
    /// early refusal) is read as it comes: its body, reading, sends more
    /// of the request whenever it would wait for input. When the response
    /// ends with the request body not all sent, the rest is sent if the
    /// connection stays (the server reads it before its next request) and
    /// given up if the response closes the connection; a request body
    /// that could not be sent whole never lets the connection be reused.
    /// While the server neither reads nor answers for the socket's write
    /// timeout, the error is a write timeout ([`Error::TimedOut`],
    /// [`Stall::Write`](crate::Stall::Write)).
    ///
    /// Over any other transport the whole request is sent before the
    /// response is read.
    pub fn exchange<'b>(
        &mut self,
        method: Method,
        body: &mut Outgoing<'b>,
    ) -> Result<ResponseParts<'b>> {
        if self.body_state() == Some(BodyState::Reading) {
            return Err(Error::Invalid(
                "the previous response body was not read to its end".into(),
            ));
        }
        self.body = None;
        self.heard = false;
        let upload = {
            let mut reader = self.cell.borrow_mut();
            if reader.get_ref().poll_fd().is_some() {
                Upload::start(reader.get_mut(), &self.out, body)?
            } else {
                drop(reader);
                let mut w = Coalesce {
                    pending: &self.out,
                    inner: SharedWriter(self.cell.clone()),
                };
                body.write_to(&mut w)?;
                w.flush()?;
                None
            }
        };
        self.read_response(method, upload, body)
    }

    /// Reads the response to a `method` request, sending what is left of
    /// `upload` (of `body`) while it waits.
    fn read_response<'b>(
        &mut self,
        method: Method,
        mut upload: Option<Upload>,
        body: &mut Outgoing<'b>,
    ) -> Result<ResponseParts<'b>> {
        let mut interim = 0;
        let cell = &self.cell;
        let mut reader = cell.try_borrow_mut().ok_or_else(|| {
            Error::Invalid("connection is busy (a response body is being read)".into())
        })?;
        let (version, status, reason, headers, framing) = loop {
            if let Some(up) = upload.as_mut().filter(|u| !u.is_done()) {
                while !reader.preamble_ready() {
                    match up.fill(&mut reader, body) {
                        Ok(0) => break,
                        Ok(_) => {}
                        Err(e) => {
                            self.heard = interim > 0 || !reader.buffered().is_empty();
                            return Err(e);
                        }
                    }
                }
            }
            let p = match reader.read_response() {
                Ok(p) => p,
                Err(e) => {
                    self.heard = interim > 0 || !reader.buffered().is_empty();
                    return Err(e);
                }
            };
            self.heard = true;
            match p.status {
                101 => {
                    return Err(Error::Invalid(
                        "101 Switching Protocols without an upgrade request".into(),
                    ));
                }
                100..=199 => {
                    interim += 1;
                    if interim > MAX_INTERIM {
                        return Err(Error::Invalid(format!(
                            "more than {MAX_INTERIM} interim (1xx) responses"
                        )));
                    }
                }
                _ => {
                    break (
                        p.version,
                        p.status,
                        // The usual phrase for the status needs no copy.
                        match standard_reason(p.status) {
                            Some(r) if r == p.reason => Cow::Borrowed(r),
                            _ => Cow::Owned(p.reason.to_owned()),
                        },
                        Headers::from_raw(&p.headers),
                        p.typed.framing,
                    );
                }
            }
        };
        let no_body = bodiless(method, status);
        let mut keeps_alive = keeps_alive(version, &headers, no_body, framing);
        // A request body still going out goes on while the response body
        // is read; with no response body to read, it is finished now if
        // the connection stays, and given up if not. Either way a request
        // not sent whole ends the connection.
        let mut duplex = None;
        if let Some(mut up) = upload {
            if up.is_sending() && !no_body && framing != Framing::Length(0) {
                duplex = Some(up);
            } else {
                if up.is_sending() && keeps_alive {
                    let _ = up.finish(reader.get_mut(), body);
                }
                up.stop();
                keeps_alive &= up.is_done();
            }
        }
        drop(reader);
        // Neither content-length nor chunked: the body runs until the
        // server closes the connection (RFC 9112 §6.3).
        let body = if no_body {
            self.body = None;
            None
        } else if let Some(up) = duplex {
            let (src, tracker) = body_source(&self.cell);
            self.body = Some((tracker, framing));
            Some(duplex_body(
                src,
                framing,
                std::mem::take(body),
                up,
                keeps_alive,
            ))
        } else {
            self.new_body(framing, true)
        };
        Ok(ResponseParts {
            version,
            status,
            reason,
            headers,
            body,
            keeps_alive,
        })
    }

    /// Whether any byte of a response to the last request sent arrived
    /// (an interim response counts). When a request fails and this is
    /// false, the server sent nothing back: on a connection it had
    /// already closed, an idempotent request can be sent again on a new
    /// one (RFC 9110 §9.2.2).
    pub fn heard_response(&self) -> bool {
        self.heard
    }

    /// True when the connection, idle between exchanges, can no longer
    /// carry a request: the peer closed it (or reset it), or sent bytes
    /// nobody asked for. Looks without blocking and without waiting; a
    /// transport that cannot read without blocking is taken as usable
    /// (a request on it fails then).
    pub fn is_stale(&self) -> bool {
        let Some(mut reader) = self.cell.try_borrow_mut() else {
            return true;
        };
        if !reader.buffered().is_empty() {
            return true;
        }
        let mut probe = [0u8; 1];
        match reader.get_mut().read_nonblocking(&mut probe) {
            Ok(_) => true,
            Err(e) => !matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::Unsupported | io::ErrorKind::Interrupted
            ),
        }
    }

    /// Closes the transport now, even while an input body still holds the
    /// connection: the body is detached (its reads fail with
    /// [`Error::BodyDetached`]) and the socket closes at once.
    pub fn close(&mut self) {
        if let Some((t, _)) = self.body.take() {
            t.detach();
        }
        if let Some(mut reader) = self.cell.try_borrow_mut() {
            let n = reader.buffered().len();
            reader.consume(n);
            *reader.get_mut() = Box::new(ClosedTransport);
        }
    }
}

impl fmt::Debug for Conn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Conn")
            .field("body", &self.body_state())
            .finish_non_exhaustive()
    }
}

/// A new input body on `cell`, of `framing`, its tracker kept in `slot`
/// (the previous body is detached).
fn new_body(
    cell: &Shared<Box<dyn Transport>>,
    slot: &mut Option<(BodyTracker, Framing)>,
    framing: Framing,
    trailers: bool,
) -> Incoming<'static> {
    let (src, tracker) = body_source(cell);
    *slot = Some((tracker, framing));
    match framing {
        Framing::Length(n) => Incoming::Body(Body::from_connection(src, n)),
        Framing::Chunked if trailers => {
            Incoming::Chunked(ChunkedBody::from_connection(src).allow_trailers())
        }
        Framing::Chunked => Incoming::Chunked(ChunkedBody::from_connection(src)),
        Framing::None => Incoming::Close(CloseBody::from_connection(src)),
    }
}

/// What parsed request `p` says about its exchange, and what `f`
/// returned, handed `p` and its body (a new input body on `cell`, its
/// tracker kept in `slot`, when `p` has one).
fn request_exchange<R>(
    cell: &Shared<Box<dyn Transport>>,
    slot: &mut Option<(BodyTracker, Framing)>,
    p: &RequestPreamble<'_>,
    f: impl FnOnce(&RequestPreamble<'_>, Option<Incoming<'static>>) -> R,
) -> (RequestHead, R) {
    let framing = p.typed.framing;
    let head = RequestHead {
        method: p.method,
        version: p.version,
        framing,
        expects_continue: framing != Framing::None
            && framing != Framing::Length(0)
            && p.version == Version::Http11
            && p.headers
                .get("expect")
                .is_some_and(|v| v.eq_ignore_ascii_case("100-continue")),
        close: match (p.headers.get("connection"), p.version) {
            (None, version) => version == Version::Http10,
            (Some(v), Version::Http11) => has_token(v, "close"),
            (Some(v), Version::Http10) => !has_token(v, "keep-alive"),
        },
    };
    let body = match framing {
        Framing::None => {
            *slot = None;
            None
        }
        _ => Some(new_body(cell, slot, framing, false)),
    };
    (head, f(p, body))
}

/// Whether the connection can take another request after this response
/// (RFC 9112 §9.3): not after `connection: close`, nor after a body
/// delimited by the connection's end; after an HTTP/1.0 response only when
/// it said `connection: keep-alive`, and never when it was chunked (which
/// HTTP/1.0 does not have: its framing cannot be trusted, RFC 9112 §6.1).
fn keeps_alive(version: Version, headers: &Headers, no_body: bool, framing: Framing) -> bool {
    let framed = no_body || framing != Framing::None;
    let close = headers.has_token("connection", "close");
    match version {
        Version::Http11 => framed && !close,
        Version::Http10 => {
            headers.has_token("connection", "keep-alive")
                && !close
                && (no_body || matches!(framing, Framing::Length(_)))
        }
    }
}

/// Sends a file body with `sendfile(2)`: the kernel copies from the page
/// cache to the socket, nothing passes through user space. Only for plain
/// sockets (the transport reported its descriptor).
fn send_file(sock: std::os::fd::BorrowedFd<'_>, body: &mut Body<'_>) -> Result<()> {
    const MAX_STEP: u64 = 1 << 30;
    loop {
        let Some((file, mut pos, left)) = body.as_file() else {
            return Ok(());
        };
        if left == 0 {
            return Ok(());
        }
        let step = left.min(MAX_STEP) as usize;
        let n = match rustix::fs::sendfile(sock, file, Some(&mut pos), step) {
            Ok(n) => n as u64,
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(Error::Io(e.into())),
        };
        if n == 0 {
            return Err(Error::BodyTooShort {
                expected: body.content_length(),
                received: body.content_length() - left,
            });
        }
        body.advance_sent(n)?;
    }
}

/// A writer that sends `pending` (a preamble) together with the first
/// body bytes, in one vectored write.
pub(crate) struct Coalesce<'a, W> {
    pub(crate) pending: &'a [u8],
    pub(crate) inner: W,
}

impl<W: Write> Write for Coalesce<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        while !self.pending.is_empty() {
            let n = self
                .inner
                .write_vectored(&[IoSlice::new(self.pending), IoSlice::new(buf)])?;
            if n == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            if n < self.pending.len() {
                self.pending = &self.pending[n..];
                continue;
            }
            let extra = n - self.pending.len();
            self.pending = &[];
            if extra > 0 {
                return Ok(extra);
            }
        }
        self.inner.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        while !self.pending.is_empty() {
            match self.inner.write(self.pending) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => self.pending = &self.pending[n..],
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// Accepts at most `max` bytes per call, counting calls.
    struct Trickle {
        out: Vec<u8>,
        max: usize,
        calls: usize,
    }

    impl Write for Trickle {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.write_vectored(&[IoSlice::new(buf)])
        }
        fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
            self.calls += 1;
            let mut n = 0;
            for b in bufs {
                let take = b.len().min(self.max - n);
                self.out.extend_from_slice(&b[..take]);
                n += take;
            }
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn coalesce(preamble: &[u8], body: &mut Outgoing<'_>, max: usize) -> (Vec<u8>, usize) {
        let mut w = Coalesce {
            pending: preamble,
            inner: Trickle {
                out: Vec::new(),
                max,
                calls: 0,
            },
        };
        body.write_to(&mut w).unwrap();
        w.flush().unwrap();
        (w.inner.out, w.inner.calls)
    }

    #[test]
    fn preamble_and_body_in_one_write() {
        let (out, calls) = coalesce(b"HEAD", &mut Outgoing::from("body"), usize::MAX);
        assert_eq!((out.as_slice(), calls), (&b"HEADbody"[..], 1));
        let (out, calls) = coalesce(b"HEAD", &mut Outgoing::None, usize::MAX);
        assert_eq!((out.as_slice(), calls), (&b"HEAD"[..], 1));
        let (out, calls) = coalesce(b"HEAD", &mut Outgoing::from(""), usize::MAX);
        assert_eq!((out.as_slice(), calls), (&b"HEAD"[..], 1));
    }

    #[test]
    fn partial_writes_lose_nothing() {
        let preamble = b"PUT / HTTP/1.1\r\ncontent-length: 26\r\n\r\n";
        let body = b"abcdefghijklmnopqrstuvwxyz";
        for max in 1..=preamble.len() + body.len() + 1 {
            let (out, _) = coalesce(preamble, &mut Outgoing::from(&body[..]), max);
            assert_eq!(out, [&preamble[..], &body[..]].concat(), "max {max}");
            let chunks = vec![
                crate::Chunk::with_ext("k", "v", "abc"),
                crate::Chunk::new(""),
            ];
            let mut chunked = Outgoing::from(crate::ChunkedBodyIter::new(chunks));
            let (out, _) = coalesce(preamble, &mut chunked, max);
            assert_eq!(out, [&preamble[..], b"3;k=v\r\nabc\r\n0\r\n\r\n"].concat());
        }
    }

    /// Gives its bytes out in the given pieces, one per non-blocking
    /// read (then "would block"), counting the reads.
    struct Pieces {
        pieces: VecDeque<Vec<u8>>,
        reads: Arc<AtomicUsize>,
    }

    impl Read for Pieces {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.read_nonblocking(buf)
        }
    }

    impl Write for Pieces {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Transport for Pieces {
        fn read_nonblocking(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.reads.fetch_add(1, Ordering::Relaxed);
            let Some(mut piece) = self.pieces.pop_front() else {
                return Err(io::ErrorKind::WouldBlock.into());
            };
            let n = piece.len().min(buf.len());
            buf[..n].copy_from_slice(&piece[..n]);
            if n < piece.len() {
                self.pieces.push_front(piece.split_off(n));
            }
            Ok(n)
        }
    }

    fn pieces(pieces: &[&[u8]]) -> (Conn, Arc<AtomicUsize>) {
        let reads = Arc::default();
        let t = Pieces {
            pieces: pieces.iter().map(|p| p.to_vec()).collect(),
            reads: Arc::clone(&reads),
        };
        (Conn::without_buffer(Box::new(t)), reads)
    }

    fn reads(n: &AtomicUsize) -> usize {
        n.load(Ordering::Relaxed)
    }

    #[test]
    fn a_short_read_is_all_there_was() {
        let (mut conn, n) = pieces(&[b"GET / HTTP/1.1\r\n", b"\r\n"]);
        conn.attach_buffer(vec![0u8; crate::SMALL_BUFFER_SIZE].into_boxed_slice());
        assert_eq!(conn.read_available().unwrap(), Available::Partial);
        assert_eq!(reads(&n), 1, "a short read is not followed by another");
        assert_eq!(conn.read_available().unwrap(), Available::Ready);
        assert_eq!(reads(&n), 2);
        assert_eq!(conn.read_available().unwrap(), Available::Ready);
        assert_eq!(reads(&n), 2, "nothing is read with a preamble ready");
    }

    #[test]
    fn a_small_buffer_grows_for_a_long_preamble() {
        let mut wire = b"GET / HTTP/1.1\r\n".to_vec();
        for i in 0..300 {
            wire.extend_from_slice(format!("x-h{i}: {i:020}\r\n").as_bytes());
        }
        wire.extend_from_slice(b"\r\nGET /next HTTP/1.1\r\n\r\n");
        assert!(wire.len() > 4 * crate::SMALL_BUFFER_SIZE);
        let (mut conn, _) = pieces(&[&wire]);
        conn.attach_buffer(vec![0u8; crate::SMALL_BUFFER_SIZE].into_boxed_slice());
        assert_eq!(conn.read_available().unwrap(), Available::Ready);
        let cap = conn.buffer_capacity();
        assert!(
            cap > 4 * crate::SMALL_BUFFER_SIZE && cap <= crate::BUFFER_SIZE,
            "{cap}"
        );
        assert!(conn.read_preamble().unwrap());
        let uri = conn.parse_request(400, |p, _| {
            assert_eq!(p.headers.len(), 300);
            p.uri.to_owned()
        });
        assert_eq!(uri.unwrap().1, "/");
        assert!(conn.read_preamble().unwrap());
        let uri = conn.parse_request(400, |p, _| p.uri.to_owned()).unwrap().1;
        assert_eq!(uri, "/next");
    }

    #[test]
    fn read_request_reads_and_parses_as_the_two_steps_do() {
        let wire: &[&[u8]] = &[
            b"PUT /a HTTP/1.1\r\ncontent-length: 2\r\n",
            b"\r\nhiGET /b HTTP/1.0\r\n\r\nGET /c HTTP/1.1\r\nbad header\r\n\r\n",
        ];
        let (mut conn, _) = pieces(wire);
        let (head, (uri, body)) = conn
            .read_request(8, |p, body| (p.uri.to_owned(), body))
            .unwrap()
            .unwrap();
        assert_eq!((head.method, uri.as_str()), (Method::Put, "/a"));
        assert_eq!(head.framing, Framing::Length(2));
        assert!(!head.close);
        let mut text = String::new();
        body.unwrap().read_to_string(&mut text).unwrap();
        assert_eq!(text, "hi");
        assert_eq!(conn.finish_body(0), Ok(()));
        let (head, body) = conn.read_request(8, |_, body| body).unwrap().unwrap();
        assert!(head.close, "HTTP/1.0 without keep-alive");
        assert!(body.is_none());
        let e = conn.read_request(8, |_, _| ()).unwrap_err();
        assert!(e.to_string().contains("bad header"), "{e}");
        let (mut conn, _) = pieces(&[b""]);
        assert!(
            conn.read_request(8, |_, _| ()).unwrap().is_none(),
            "a clean end"
        );
    }

    #[test]
    fn swapped_buffers_keep_what_is_buffered() {
        let (mut conn, _) = pieces(&[b"GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\nGET /c"]);
        conn.attach_buffer(vec![0u8; crate::SMALL_BUFFER_SIZE].into_boxed_slice());
        assert_eq!(conn.read_available().unwrap(), Available::Ready);
        // A worker lends its buffers: the connection's bytes move along.
        let mut bufs = ConnBuffers::new();
        conn.swap_buffers(&mut bufs);
        assert_eq!(conn.buffer_capacity(), crate::BUFFER_SIZE);
        assert!(!bufs.is_whole());
        assert!(conn.read_preamble().unwrap());
        let uri = conn.parse_request(8, |p, _| p.uri.to_owned()).unwrap().1;
        assert_eq!(uri, "/a");
        // And takes them back: the pipelined rest stays with the
        // connection, in its small buffer.
        conn.swap_buffers(&mut bufs);
        assert!(bufs.is_whole());
        assert_eq!(conn.buffer_capacity(), crate::SMALL_BUFFER_SIZE);
        assert!(conn.park().is_none(), "bytes are buffered");
        assert!(conn.read_preamble().unwrap());
        let uri = conn.parse_request(8, |p, _| p.uri.to_owned()).unwrap().1;
        assert_eq!(uri, "/b");
        // Given back with only part of a preamble buffered.
        conn.swap_buffers(&mut bufs);
        conn.swap_buffers(&mut bufs);
        assert_eq!(conn.read_available().unwrap(), Available::Partial);
        // With nothing buffered, a connection gets a buffer only when
        // bytes need one, and gives it up when parked.
        let (mut conn, _) = pieces(&[]);
        let mut bufs = ConnBuffers::new();
        conn.swap_buffers(&mut bufs);
        conn.swap_buffers(&mut bufs);
        assert!(bufs.is_whole());
        assert_eq!(conn.buffer_capacity(), 0);
        assert!(conn.park().is_none());
    }

    #[test]
    fn bodiless_responses() {
        assert!(bodiless(Method::Head, 200));
        assert!(bodiless(Method::Get, 204));
        assert!(bodiless(Method::Put, 304));
        assert!(!bodiless(Method::Get, 200));
        assert!(!bodiless(Method::Post, 201));
    }
}
