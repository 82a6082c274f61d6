//! [`Response`]: what a server answered.

use std::borrow::Cow;

use degu_core::{Headers, Incoming, Outgoing, Result, Version, standard_reason};

/// A response: version, status, reason, headers, and a body reading from
/// its [`Connection`](crate::Connection).
///
/// The body is `None` for a response to HEAD and for 204 and 304;
/// otherwise, by its framing:
///
/// - `content-length`: an [`Incoming::Body`];
/// - `transfer-encoding: chunked`: an [`Incoming::Chunked`], with each
///   chunk's extension, and the trailer fields after the final chunk
///   ([`trailers`](Self::trailers), once the body is read);
/// - neither: an [`Incoming::Close`], the body running until the server
///   closes the connection (HTTP/1.0 servers, nginx with
///   `chunked_transfer_encoding off`); the connection is not reused.
///
/// Read it whole ([`read_all`](Self::read_all)), as a stream (`Incoming`
/// is `std::io::Read`), or chunk by chunk (a
/// [`ChunkedBody`](degu_core::ChunkedBody) is an iterator of
/// [`Chunk`](degu_core::Chunk)s). It must be read to its end before the
/// connection's next request.
///
/// Any reason phrase is taken (an empty one too), up to 100 headers, and
/// repeated headers are all kept in wire order
/// ([`Headers::get_all`], `set-cookie`); a repeated `content-length`,
/// `transfer-encoding` or `content-range` is refused.
///
/// A server app can return a `Response` as its own (see the `From` impl
/// below): that is a reverse proxy, the body streaming through.
///
/// The lifetime is the request body's: a response that came before its
/// request body was all sent (an echo streaming back, an early refusal)
/// sends the rest as its body is read, so it holds the request body
/// until then. A request with an owned body (or none) gives a
/// `Response<'static>`.
#[derive(Debug)]
pub struct Response<'b> {
    /// The protocol version of the status line: `HTTP/1.1`, or `HTTP/1.0`
    /// (whose connection is not reused unless it said
    /// `connection: keep-alive` and its body is framed).
    pub version: Version,
    /// Status code (200..=599; interim 1xx responses are skipped).
    pub status: u16,
    /// Reason phrase, as sent (possibly empty; borrowed when it is the
    /// status's usual phrase).
    pub reason: Cow<'static, str>,
    /// Headers, names lowercase, every one in wire order (repeated ones
    /// included).
    pub headers: Headers,
    /// The body, reading from the connection (see above).
    pub body: Option<Incoming<'b>>,
}

impl Response<'_> {
    /// Reads the whole body into memory (chunk boundaries are lost); empty
    /// when there is no body. An error if any of it was read before.
    pub fn read_all(&mut self) -> Result<Vec<u8>> {
        match &mut self.body {
            Some(body) => body.read_all(),
            None => Ok(Vec::new()),
        }
    }

    /// True when there is a body (which may still be empty).
    pub fn has_body(&self) -> bool {
        self.body.is_some()
    }

    /// The trailer fields sent after a chunked body, once it has been read
    /// to its end (empty when it had none); `None` before, and for other
    /// bodies.
    ///
    /// ```
    /// # use degu_client::{Client, Headers};
    /// # let (listener, address) = { let l = std::net::TcpListener::bind("127.0.0.1:0")?; let a = l.local_addr()?; (l, a) };
    /// # let server = std::thread::spawn(move || -> std::io::Result<()> {
    /// #     use std::io::{Read, Write};
    /// #     let (mut s, _) = listener.accept()?;
    /// #     let mut buf = [0u8; 1024];
    /// #     let _ = s.read(&mut buf)?;
    /// #     s.write_all(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\nx-checksum: abc\r\n\r\n")
    /// # });
    /// let mut conn = Client::new(address.into()).connect()?;
    /// let mut response = conn.get("/", &Headers::new())?;
    /// assert_eq!(response.trailers(), None); // not yet: the body comes first
    /// assert_eq!(response.read_all()?, b"hi");
    /// assert_eq!(response.trailers().unwrap().get("x-checksum"), Some("abc"));
    /// # server.join().unwrap()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn trailers(&self) -> Option<&Headers> {
        self.body.as_ref().and_then(Incoming::trailers)
    }
}

impl<'b> From<Response<'b>> for degu_core::Response<'b> {
    /// The response as a server app's response (a reverse proxy): status,
    /// reason, headers and body unchanged, the body streamed from the
    /// upstream connection as it is read (a chunked body chunk by chunk,
    /// extensions included).
    ///
    /// The framing headers stay consistent with the body: a
    /// `content-length` or `transfer-encoding` body keeps the header it
    /// came with; a close-delimited body becomes an
    /// [`Outgoing::Close`], sent on chunked (the server adds
    /// `transfer-encoding: chunked`; to an HTTP/1.0 client, raw until the
    /// connection closes); for 204 and 304, which have no body, they are
    /// dropped (for a response to HEAD they are kept, as HEAD allows). The
    /// hop-by-hop headers are dropped
    /// ([`Headers::remove_hop_by_hop`]), `trailer` among them: trailers
    /// are not passed on (a chunked body is sent on ending with an empty
    /// final chunk). An empty reason
    /// phrase, which a Degu server does not send, becomes the status's
    /// usual one (`Unknown` for a status without one).
    fn from(r: Response<'b>) -> Self {
        let mut headers = r.headers;
        headers.remove_hop_by_hop();
        if r.body.is_none() && matches!(r.status, 204 | 304) {
            headers.remove("content-length");
            headers.remove("transfer-encoding");
        }
        let reason = if r.reason.is_empty() {
            Cow::Borrowed(standard_reason(r.status).unwrap_or("Unknown"))
        } else {
            r.reason
        };
        degu_core::Response {
            status: r.status,
            reason,
            headers,
            body: Outgoing::from(r.body),
        }
    }
}
