//! The response an app returns, and the transport trait.

use std::borrow::Cow;
use std::io::{Read, Write};
use std::os::fd::BorrowedFd;

use crate::body::Outgoing;
use crate::error::Result;
use crate::headers::Headers;

/// A whole response in one value, as an app returns it: status, reason,
/// headers and body, so middleware can see and change everything in one
/// place.
///
/// ```
/// use degu_core::Response;
/// let r = Response::new(200, "OK").header("content-type", "text/plain").unwrap().body("hello");
/// assert_eq!(r.status, 200);
/// assert_eq!(r.headers.get("content-type"), Some("text/plain"));
/// ```
#[derive(Debug)]
pub struct Response<'a> {
    /// Status code, 100..=599.
    pub status: u16,
    /// Reason phrase.
    pub reason: Cow<'static, str>,
    /// Headers (lowercase names). `content-length` or
    /// `transfer-encoding` are added from the body when missing.
    pub headers: Headers,
    /// The body, or [`Outgoing::None`].
    pub body: Outgoing<'a>,
}

impl<'a> Response<'a> {
    /// A response without headers or body.
    pub fn new(status: u16, reason: impl Into<Cow<'static, str>>) -> Response<'a> {
        Response {
            status,
            reason: reason.into(),
            headers: Headers::new(),
            body: Outgoing::None,
        }
    }

    /// Adds a header (checked, see [`Headers::insert`]).
    pub fn header(
        mut self,
        name: impl Into<Cow<'static, str>>,
        value: impl Into<Cow<'static, str>>,
    ) -> Result<Self> {
        self.headers.insert(name, value)?;
        Ok(self)
    }

    /// Adds a header checked at compile time (see
    /// [`StaticHeader`](crate::StaticHeader)).
    pub fn static_header(mut self, header: crate::StaticHeader) -> Result<Self> {
        self.headers.insert_static(header)?;
        Ok(self)
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<Outgoing<'a>>) -> Self {
        self.body = body.into();
        self
    }
}

/// The reason phrase RFC 9110 gives `status`, for the statuses a REST API
/// commonly uses; `None` for others.
///
/// ```
/// assert_eq!(degu_core::standard_reason(404), Some("Not Found"));
/// assert_eq!(degu_core::standard_reason(299), None);
/// ```
pub fn standard_reason(status: u16) -> Option<&'static str> {
    Some(match status {
        100 => "Continue",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        206 => "Partial Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Content Too Large",
        416 => "Range Not Satisfiable",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => return None,
    })
}

/// A connection's byte stream: a plain socket, a TLS stream, or an
/// in-memory pipe in tests. `Send`, so a connection can move between
/// threads.
pub trait Transport: Read + Write + Send {
    /// The socket's descriptor when bytes written to it reach the peer
    /// unchanged (plain TCP or AF_UNIX), so a file body may be sent with
    /// `sendfile`; `None` for TLS and anything else.
    fn plain_fd(&self) -> Option<BorrowedFd<'_>> {
        None
    }

    /// What is known about the connection (TLS, the peer's certificates);
    /// the default says: not TLS, nothing more.
    fn info(&self) -> crate::stream::ConnectionInfo {
        crate::stream::ConnectionInfo::default()
    }

    /// Ends this side's output, so the peer reads everything written and
    /// then the end of the stream: a TLS stream sends its `close_notify`
    /// first, a socket shuts down its writing side (`shutdown(SHUT_WR)`).
    /// Reading stays possible. The default does nothing (an in-memory
    /// pipe).
    fn shutdown_write(&mut self) -> std::io::Result<()> {
        Ok(())
    }

    /// Reads what has arrived without waiting: `Ok(0)` at the end of the
    /// stream, an error of kind `WouldBlock` when nothing has arrived
    /// yet. A server parks a connection between requests, and reads its
    /// next preamble as it trickles in, only when its transport can do
    /// this; the default (an in-memory pipe, say) cannot
    /// (`Unsupported`), and such a connection is served on one thread
    /// from start to end.
    fn read_nonblocking(&mut self, _buf: &mut [u8]) -> std::io::Result<usize> {
        Err(std::io::ErrorKind::Unsupported.into())
    }

    /// Writes what can be written without waiting: an error of kind
    /// `WouldBlock` when nothing can. The default cannot
    /// (`Unsupported`).
    fn write_nonblocking(&mut self, _buf: &[u8]) -> std::io::Result<usize> {
        Err(std::io::ErrorKind::Unsupported.into())
    }

    /// [`write_nonblocking`](Self::write_nonblocking) from several
    /// buffers in turn, in one system call where the transport can (a
    /// preamble and its body); the default writes the first non-empty
    /// buffer only.
    fn write_vectored_nonblocking(
        &mut self,
        bufs: &[std::io::IoSlice<'_>],
    ) -> std::io::Result<usize> {
        match bufs.iter().find(|b| !b.is_empty()) {
            Some(b) => self.write_nonblocking(b),
            None => Ok(0),
        }
    }

    /// Writes, without waiting, what the transport holds back from its
    /// earlier writes (a TLS stream's records the socket did not take):
    /// true once nothing is held back. The default holds nothing back.
    fn flush_nonblocking(&mut self) -> std::io::Result<bool> {
        Ok(true)
    }

    /// The descriptor to wait on until the transport can be read or
    /// written (the socket under a TLS stream too), for a client that
    /// reads a response while it still sends the request body; `None`
    /// (the default) when there is none, and such a transport sends a
    /// whole request before it reads anything. A transport that names
    /// one must also read and write without waiting
    /// ([`read_nonblocking`](Self::read_nonblocking),
    /// [`write_nonblocking`](Self::write_nonblocking),
    /// [`flush_nonblocking`](Self::flush_nonblocking)).
    fn poll_fd(&self) -> Option<BorrowedFd<'_>> {
        None
    }

    /// False while a handshake waits for the peer's opening message (a
    /// TLS server that has not yet had a whole ClientHello): nothing has
    /// been answered, and what comes next depends on the peer alone. True
    /// (the default) once the transport has answered, or when it has no
    /// handshake.
    fn hello_answered(&self) -> bool {
        true
    }
}

impl<T: Transport + ?Sized> Transport for Box<T> {
    fn plain_fd(&self) -> Option<BorrowedFd<'_>> {
        (**self).plain_fd()
    }

    fn info(&self) -> crate::stream::ConnectionInfo {
        (**self).info()
    }

    fn shutdown_write(&mut self) -> std::io::Result<()> {
        (**self).shutdown_write()
    }

    fn read_nonblocking(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        (**self).read_nonblocking(buf)
    }

    fn write_nonblocking(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        (**self).write_nonblocking(buf)
    }

    fn write_vectored_nonblocking(
        &mut self,
        bufs: &[std::io::IoSlice<'_>],
    ) -> std::io::Result<usize> {
        (**self).write_vectored_nonblocking(bufs)
    }

    fn flush_nonblocking(&mut self) -> std::io::Result<bool> {
        (**self).flush_nonblocking()
    }

    fn poll_fd(&self) -> Option<BorrowedFd<'_>> {
        (**self).poll_fd()
    }

    fn hello_answered(&self) -> bool {
        (**self).hello_answered()
    }
}
