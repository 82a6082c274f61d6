//! [`Response`]: what a server answered.

use std::borrow::Cow;

use degu_core::{Headers, Incoming, Outgoing, Result};

/// A response: status, reason, headers, and a body reading from its
/// [`Connection`](crate::Connection).
///
/// The body is `None` for a response to HEAD, for 204 and 304, and for a
/// response with neither `content-length` nor `transfer-encoding`;
/// otherwise an [`Incoming::Body`] (content-length) or an
/// [`Incoming::Chunked`] (chunked, with each chunk's extension). Read it
/// whole ([`read_all`](Self::read_all)), as a stream (`Incoming` is
/// `std::io::Read`), or chunk by chunk (a [`ChunkedBody`](degu_core::ChunkedBody)
/// is an iterator of [`Chunk`](degu_core::Chunk)s). It must be read to its
/// end before the connection's next request.
///
/// A server app can return a `Response` as its own (see the `From` impl
/// below): that is a reverse proxy, the body streaming through.
#[derive(Debug)]
pub struct Response {
    /// Status code (200..=599; interim 1xx responses are skipped).
    pub status: u16,
    /// Reason phrase (borrowed when it is the status's usual phrase).
    pub reason: Cow<'static, str>,
    /// Headers, names lowercase.
    pub headers: Headers,
    /// The body, reading from the connection (see above).
    pub body: Option<Incoming<'static>>,
}

impl Response {
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
}

/// Headers that concern one connection only, not passed on by a proxy.
const HOP_BY_HOP: [&str; 2] = ["connection", "keep-alive"];

impl From<Response> for degu_core::Response<'static> {
    /// The response as a server app's response (a reverse proxy): status,
    /// reason, headers and body unchanged, the body streamed from the
    /// upstream connection as it is read (a chunked body chunk by chunk,
    /// extensions included).
    ///
    /// The framing headers stay consistent with the body: a
    /// `content-length` or `transfer-encoding` body keeps the header it
    /// came with; for 204 and 304, which have no body, they are dropped
    /// (for a response to HEAD they are kept, as HEAD allows). The
    /// connection-scoped `connection` and `keep-alive` headers are dropped.
    fn from(r: Response) -> Self {
        let mut headers = r.headers;
        for name in HOP_BY_HOP {
            headers.remove(name);
        }
        if r.body.is_none() && matches!(r.status, 204 | 304) {
            headers.remove("content-length");
            headers.remove("transfer-encoding");
        }
        degu_core::Response {
            status: r.status,
            reason: r.reason,
            headers,
            body: Outgoing::from(r.body),
        }
    }
}
