//! [`Connection`]: one connection, one request at a time, on one thread.

use std::borrow::Cow;
use std::fmt;
use std::io::{self, IoSlice, Read, Write};

use degu_core::shared::{BodyState, BodyTracker, Shared, SharedWriter, body_source, shared};
use degu_core::{
    Address, Body, ChunkedBody, CloseBody, Error, Framing, Headers, Incoming, MAX_HEADERS,
    MAX_PREAMBLE, Method, Outgoing, Range, Reader, Result, Transport, Version, parse_uri,
    standard_reason, write_framing,
};

use crate::client::Client;
use crate::response::Response;

/// Interim (1xx) responses skipped before a final one, at most.
const MAX_INTERIM: usize = 8;

type Conn = Shared<Box<dyn Transport>>;

/// One connection to a server, made by [`Client::connect`]: requests go
/// one at a time, each [`Response`] before the next request.
///
/// - Every request is validated before a byte is sent: the URI, the method
///   against the body (GET and HEAD take none), the headers (lowercase
///   names, checked values, at most [`MAX_HEADERS`] with the base headers),
///   and the body against any `content-length` or `transfer-encoding`
///   header (missing ones are added from the body). A request refused here
///   leaves the connection open.
/// - The preamble and a bytes body go out in one `writev`; other bodies
///   stream (never buffered whole).
/// - A response body reads from this connection. It must be read to its
///   end before the next request, which is otherwise refused with a clear
///   error (the connection stays usable: finish the body, or
///   [`close`](Self::close)).
/// - Any I/O or protocol error while sending a request or reading a
///   response, and any error while reading a response body, closes the
///   connection; using it afterwards gives [`Error::Closed`].
/// - A response ends the connection after it when it says
///   `connection: close`; when it is HTTP/1.0, unless it says
///   `connection: keep-alive` and its body is framed (or it has none);
///   and when its body has neither `content-length` nor
///   `transfer-encoding`, so runs until the server closes the connection
///   (an [`Incoming::Close`]). Its body can still be read; then requests
///   give [`Error::Closed`].
///
/// A `Connection` and its [`Response`]s are `Send`: a response body shares
/// the socket with its connection through an `Arc` and a lock held for one
/// read or write at a time, so either may move to another thread.
///
/// Dropping a `Connection` does not cut off a response body still alive:
/// the socket closes once both are gone. [`close`](Self::close) closes it
/// at once.
pub struct Connection {
    client: Client,
    conn: Option<Conn>,
    tracker: Option<BodyTracker>,
    ending: bool,
    requests: u64,
    buf: Vec<u8>,
}

/// A transport that is closed (what a live body reads after `close`).
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

/// A writer that sends `pending` (the preamble) together with the first
/// body bytes, in one vectored write.
struct Coalesce<'a, W> {
    pending: &'a [u8],
    inner: W,
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

fn busy() -> Error {
    Error::Invalid("connection is busy (a response body is being read)".into())
}

/// Whether the connection can take another request after this
/// response (RFC 9112 §9.3): not after `connection: close`, nor after
/// a body delimited by the connection's end; after an HTTP/1.0
/// response only when it said `connection: keep-alive`, and never when
/// it was chunked (which HTTP/1.0 does not have: its framing cannot be
/// trusted, RFC 9112 §6.1).
fn keeps_alive(version: Version, headers: &Headers, bodiless: bool, framing: Framing) -> bool {
    let framed = bodiless || framing != Framing::None;
    let close = headers
        .get_all("connection")
        .any(|v| degu_core::headers::has_token(v, "close"));
    match version {
        Version::Http11 => framed && !close,
        Version::Http10 => {
            let keep_alive = headers
                .get_all("connection")
                .any(|v| degu_core::headers::has_token(v, "keep-alive"));
            keep_alive && !close && (bodiless || matches!(framing, Framing::Length(_)))
        }
    }
}

fn push_header(out: &mut Vec<u8>, name: &str, value: &str) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value.as_bytes());
    out.extend_from_slice(b"\r\n");
}

impl Connection {
    pub(crate) fn new(client: Client, transport: Box<dyn Transport>) -> Connection {
        Connection {
            client,
            conn: Some(shared(transport)),
            tracker: None,
            ending: false,
            requests: 0,
            buf: Vec::with_capacity(512),
        }
    }

    /// The client that made this connection.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Where this connection goes.
    pub fn address(&self) -> &Address {
        self.client.address()
    }

    /// Requests sent on this connection so far.
    pub fn requests(&self) -> u64 {
        self.requests
    }

    /// True when no further request can be made: closed by
    /// [`close`](Self::close) or an error, failed while reading a response
    /// body, or ended by the server (`connection: close`, an HTTP/1.0
    /// response without keep-alive, or a body delimited by the end of the
    /// connection).
    pub fn is_closed(&self) -> bool {
        self.conn.is_none()
            || self.ending
            || self
                .tracker
                .as_ref()
                .is_some_and(|t| matches!(t.state(), BodyState::Failed | BodyState::Detached))
    }

    /// Closes the connection now. A response body still alive can no longer
    /// be read (it gives [`Error::BodyDetached`]). Closing twice is fine.
    pub fn close(&mut self) {
        if let Some(t) = self.tracker.take() {
            t.detach();
        }
        if let Some(conn) = self.conn.take() {
            log::debug!("closing connection to {}", self.client.address());
            // A live body still holds the cell: swap the socket out so it
            // closes now rather than when the body is dropped.
            if std::sync::Arc::strong_count(&conn) > 1
                && let Some(mut reader) = conn.try_borrow_mut()
            {
                *reader = Reader::new(Box::new(ClosedTransport));
            }
        }
    }

    /// Checks the connection can take a request.
    fn ready(&mut self) -> Result<Conn> {
        let Some(conn) = &self.conn else {
            return Err(Error::Closed);
        };
        let conn = conn.clone();
        if let Some(t) = &self.tracker {
            match t.state() {
                BodyState::Complete => {}
                BodyState::Reading => {
                    return Err(Error::Invalid(
                        "the previous response body was not read to its end".into(),
                    ));
                }
                BodyState::Failed | BodyState::Detached => {
                    self.close();
                    return Err(Error::Closed);
                }
            }
        }
        if self.ending {
            self.close();
            return Err(Error::Closed);
        }
        self.tracker = None;
        Ok(conn)
    }

    /// Validates the request and formats its preamble into `self.buf`.
    fn prepare(
        &mut self,
        method: Method,
        uri: &str,
        headers: &Headers,
        body: &Outgoing<'_>,
    ) -> Result<()> {
        parse_uri(uri.as_bytes())?;
        if method.forbids_body() && !body.is_none() {
            return Err(Error::BodyNotAllowed(method));
        }
        // The framing headers the request declares, checked against the
        // body; the one missing is written after them.
        let add = body.missing_framing(headers.framing()?, false)?;

        let base = self.client.base_headers();
        let out = &mut self.buf;
        out.clear();
        out.extend_from_slice(method.as_str().as_bytes());
        out.push(b' ');
        out.extend_from_slice(uri.as_bytes());
        out.extend_from_slice(b" HTTP/1.1\r\n");
        let mut count = 0;
        for (n, v) in base.iter().filter(|(n, _)| !headers.contains(n)) {
            push_header(out, n, v);
            count += 1;
        }
        for (n, v) in headers.iter() {
            push_header(out, n, v);
            count += 1;
        }
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

    /// Sends a request and reads its response (status line and headers; the
    /// body, if any, is read from the returned [`Response`]).
    ///
    /// `body` is anything that converts into an [`Outgoing`]: `()` for no
    /// body, bytes (`&[u8]`, `Vec<u8>`, `&str`, `String`), a [`Body`], a
    /// [`ChunkedBody`], a [`BodyIter`](degu_core::BodyIter), a
    /// [`ChunkedBodyIter`](degu_core::ChunkedBodyIter), or an [`Incoming`]
    /// (another connection's body, streamed through).
    pub fn request<'b>(
        &mut self,
        method: Method,
        uri: &str,
        headers: &Headers,
        body: impl Into<Outgoing<'b>>,
    ) -> Result<Response> {
        let mut body = body.into();
        let conn = self.ready()?;
        self.prepare(method, uri, headers, &body)?;
        match self.exchange(&conn, method, &mut body) {
            Ok(r) => Ok(r),
            Err(e) => {
                log::debug!("{} {uri} to {}: {e}", method, self.client.address());
                self.close();
                Err(e)
            }
        }
    }

    fn exchange(
        &mut self,
        conn: &Conn,
        method: Method,
        body: &mut Outgoing<'_>,
    ) -> Result<Response> {
        self.requests += 1;
        let mut w = Coalesce {
            pending: &self.buf,
            inner: SharedWriter(conn.clone()),
        };
        body.write_to(&mut w)?;
        w.flush()?;
        drop(w);
        self.read_response(conn, method)
    }

    fn read_response(&mut self, conn: &Conn, method: Method) -> Result<Response> {
        let mut interim = 0;
        let (version, status, reason, headers, framing) = loop {
            let mut reader = conn.try_borrow_mut().ok_or_else(busy)?;
            let p = reader.read_response()?;
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
                        // Every header, repeated ones included.
                        Headers::from_raw(&p.headers),
                        p.typed.framing,
                    );
                }
            }
        };
        let bodiless = method == Method::Head || status == 204 || status == 304;
        if !keeps_alive(version, &headers, bodiless, framing) {
            self.ending = true;
        }
        let body = match framing {
            _ if bodiless => None,
            Framing::Length(n) => {
                let (src, tracker) = body_source(conn);
                self.tracker = Some(tracker);
                Some(Incoming::Body(Body::from_connection(src, n)))
            }
            Framing::Chunked => {
                let (src, tracker) = body_source(conn);
                self.tracker = Some(tracker);
                let body = ChunkedBody::from_connection(src).allow_trailers();
                Some(Incoming::Chunked(body))
            }
            Framing::None => {
                // Neither content-length nor chunked: the body runs until
                // the server closes the connection (RFC 9112 §6.3), which
                // then ends (`keeps_alive` said so).
                let (src, tracker) = body_source(conn);
                self.tracker = Some(tracker);
                Some(Incoming::Close(CloseBody::from_connection(src)))
            }
        };
        Ok(Response {
            version,
            status,
            reason,
            headers,
            body,
        })
    }

    /// `GET uri` (no body).
    pub fn get(&mut self, uri: &str, headers: &Headers) -> Result<Response> {
        self.request(Method::Get, uri, headers, ())
    }

    /// `HEAD uri` (no body; the response has none either).
    pub fn head(&mut self, uri: &str, headers: &Headers) -> Result<Response> {
        self.request(Method::Head, uri, headers, ())
    }

    /// `DELETE uri` (no body).
    pub fn delete(&mut self, uri: &str, headers: &Headers) -> Result<Response> {
        self.request(Method::Delete, uri, headers, ())
    }

    /// `PUT uri` with `body` (see [`request`](Self::request)).
    pub fn put<'b>(
        &mut self,
        uri: &str,
        headers: &Headers,
        body: impl Into<Outgoing<'b>>,
    ) -> Result<Response> {
        self.request(Method::Put, uri, headers, body)
    }

    /// `POST uri` with `body` (see [`request`](Self::request)).
    pub fn post<'b>(
        &mut self,
        uri: &str,
        headers: &Headers,
        body: impl Into<Outgoing<'b>>,
    ) -> Result<Response> {
        self.request(Method::Post, uri, headers, body)
    }

    /// `GET uri` for bytes `start..stop` (stop exclusive): adds
    /// `range: bytes=start-(stop-1)` to `headers` (replacing any range
    /// there). A server answers `206 Partial Content` (or `200 OK` with the
    /// whole resource if it ignores ranges, or `416` past the end).
    pub fn get_range(
        &mut self,
        uri: &str,
        headers: &Headers,
        start: u64,
        stop: u64,
    ) -> Result<Response> {
        let range = Range::new(start, stop)?;
        let mut headers = headers.clone();
        headers.set("range", range.to_string())?;
        self.request(Method::Get, uri, &headers, ())
    }
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("address", self.client.address())
            .field("requests", &self.requests)
            .field("closed", &self.is_closed())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
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
                degu_core::Chunk::with_ext("k", "v", "abc"),
                degu_core::Chunk::new(""),
            ];
            let mut chunked = Outgoing::from(degu_core::ChunkedBodyIter::new(chunks));
            let (out, _) = coalesce(preamble, &mut chunked, max);
            assert_eq!(out, [&preamble[..], b"3;k=v\r\nabc\r\n0\r\n\r\n"].concat());
        }
    }
}
