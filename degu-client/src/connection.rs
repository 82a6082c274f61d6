//! [`Connection`]: one connection, one request at a time, on one thread.

use std::fmt;

use degu_core::conn::BodyState;
use degu_core::{Address, Conn, Error, Headers, Method, Outgoing, Range, Result, Transport};

use crate::client::Client;
use crate::response::Response;

/// One connection to a server, made by [`Client::connect`]: requests go
/// one at a time, each [`Response`] before the next request.
///
/// - Every request is validated before a byte is sent: the URI, the method
///   against the body (GET and HEAD take none), the headers (lowercase
///   names, checked values, at most [`MAX_HEADERS`](degu_core::MAX_HEADERS) with the base headers),
///   and the body against any `content-length` or `transfer-encoding`
///   header (missing ones are added from the body). A request refused here
///   leaves the connection open.
/// - The preamble and a bytes body go out in one `writev`; other bodies
///   stream (never buffered whole).
/// - Full duplex: a response that starts while the body is still going
///   out (an echo, an early refusal) is read as it comes, and its body
///   sends the rest of the request as it is read; at its end the rest is
///   sent if the connection stays, given up if the response closes it
///   (see [`Conn::exchange`](degu_core::Conn::exchange)). A server that
///   neither reads nor answers for the timeout is a write timeout
///   ([`Error::TimedOut`]).
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
///   (an [`Incoming::Close`](degu_core::Incoming::Close)). Its body can still be read; then requests
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
    /// `None` once closed.
    conn: Option<Conn>,
    /// The server ended the connection with its last response.
    ending: bool,
    requests: u64,
}

/// How a request failed (see [`Connection::exchange`]).
pub(crate) enum Failure {
    /// Refused before a byte was sent: the connection is as it was.
    Refused(Error),
    /// Failed while sending or reading the response: the connection is
    /// closed. `heard`: whether any byte of a response had arrived.
    Failed { error: Error, heard: bool },
}

impl Failure {
    pub(crate) fn into_error(self) -> Error {
        match self {
            Failure::Refused(e) | Failure::Failed { error: e, .. } => e,
        }
    }
}

impl Connection {
    pub(crate) fn new(client: Client, transport: Box<dyn Transport>) -> Connection {
        Connection::from_parts(client, Conn::new(transport), 0)
    }

    /// A connection of `client` over `conn`, which carried `requests`.
    pub(crate) fn from_parts(client: Client, conn: Conn, requests: u64) -> Connection {
        Connection {
            client,
            conn: Some(conn),
            ending: false,
            requests,
        }
    }

    /// The connection and its request count, for the pool; `None` when
    /// it cannot take another request.
    pub(crate) fn into_parts(mut self) -> Option<(Conn, u64)> {
        if self.is_closed() {
            return None;
        }
        self.conn.take().map(|c| (c, self.requests))
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
        match &self.conn {
            None => true,
            Some(conn) => {
                self.ending
                    || matches!(
                        conn.body_state(),
                        Some(BodyState::Failed | BodyState::Detached)
                    )
            }
        }
    }

    /// Closes the connection now. A response body still alive can no longer
    /// be read (it gives [`Error::BodyDetached`]). Closing twice is fine.
    pub fn close(&mut self) {
        if let Some(mut conn) = self.conn.take() {
            log::debug!("closing connection to {}", self.client.address());
            conn.close();
        }
    }

    /// Checks the connection can take a request.
    fn ready(&mut self) -> Result<()> {
        let Some(conn) = &self.conn else {
            return Err(Error::Closed);
        };
        let state = conn.body_state();
        if state == Some(BodyState::Reading) {
            return Err(Error::Invalid(
                "the previous response body was not read to its end".into(),
            ));
        }
        if self.ending || matches!(state, Some(BodyState::Failed | BodyState::Detached)) {
            self.close();
            return Err(Error::Closed);
        }
        Ok(())
    }

    /// Sends a request and reads its response (status line and headers; the
    /// body, if any, is read from the returned [`Response`]).
    ///
    /// `body` is anything that converts into an [`Outgoing`]: `()` for no
    /// body, bytes (`&[u8]`, `Vec<u8>`, `&str`, `String`), a [`Body`](degu_core::Body), a
    /// [`ChunkedBody`](degu_core::ChunkedBody), a [`BodyIter`](degu_core::BodyIter), a
    /// [`ChunkedBodyIter`](degu_core::ChunkedBodyIter), or an [`Incoming`](degu_core::Incoming)
    /// (another connection's body, streamed through).
    pub fn request<'b>(
        &mut self,
        method: Method,
        uri: &str,
        headers: &Headers,
        body: impl Into<Outgoing<'b>>,
    ) -> Result<Response<'b>> {
        self.exchange(method, uri, headers, &mut body.into())
            .map_err(Failure::into_error)
    }

    /// [`request`](Self::request), saying how it failed.
    pub(crate) fn exchange<'b>(
        &mut self,
        method: Method,
        uri: &str,
        headers: &Headers,
        body: &mut Outgoing<'b>,
    ) -> std::result::Result<Response<'b>, Failure> {
        self.ready().map_err(Failure::Refused)?;
        let conn = self.conn.as_mut().ok_or(Failure::Refused(Error::Closed))?;
        conn.prepare_request(method, uri, self.client.base_headers(), headers, body)
            .map_err(Failure::Refused)?;
        self.requests += 1;
        match conn.exchange(method, body) {
            Ok(r) => {
                self.ending = !r.keeps_alive;
                Ok(Response {
                    version: r.version,
                    status: r.status,
                    reason: r.reason,
                    headers: r.headers,
                    body: r.body,
                })
            }
            Err(error) => {
                log::debug!("{} {uri} to {}: {error}", method, self.client.address());
                let heard = conn.heard_response();
                self.close();
                Err(Failure::Failed { error, heard })
            }
        }
    }

    /// `GET uri` (no body).
    pub fn get(&mut self, uri: &str, headers: &Headers) -> Result<Response<'static>> {
        self.request(Method::Get, uri, headers, ())
    }

    /// `HEAD uri` (no body; the response has none either).
    pub fn head(&mut self, uri: &str, headers: &Headers) -> Result<Response<'static>> {
        self.request(Method::Head, uri, headers, ())
    }

    /// `DELETE uri` (no body).
    pub fn delete(&mut self, uri: &str, headers: &Headers) -> Result<Response<'static>> {
        self.request(Method::Delete, uri, headers, ())
    }

    /// `PUT uri` with `body` (see [`request`](Self::request)).
    pub fn put<'b>(
        &mut self,
        uri: &str,
        headers: &Headers,
        body: impl Into<Outgoing<'b>>,
    ) -> Result<Response<'b>> {
        self.request(Method::Put, uri, headers, body)
    }

    /// `POST uri` with `body` (see [`request`](Self::request)).
    pub fn post<'b>(
        &mut self,
        uri: &str,
        headers: &Headers,
        body: impl Into<Outgoing<'b>>,
    ) -> Result<Response<'b>> {
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
    ) -> Result<Response<'static>> {
        self.request(Method::Get, uri, &with_range(headers, start, stop)?, ())
    }
}

/// `headers` with `range: bytes=start-(stop-1)` (replacing any range).
pub(crate) fn with_range(headers: &Headers, start: u64, stop: u64) -> Result<Headers> {
    let range = Range::new(start, stop)?;
    let mut headers = headers.clone();
    headers.set("range", range.to_string())?;
    Ok(headers)
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
