//! One connection: read a request, call the app, write the response,
//! until the peer leaves, a limit is reached, or something goes wrong.

use std::fmt;
use std::io::{Read, Write};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::time::{Duration, Instant};

use degu_core::headers::has_token;
use degu_core::shared::{BodyState, BodyTracker, Shared, SharedWriter, body_source, shared};
use degu_core::{
    Body, ChunkedBody, Error, Framing, Headers, Incoming, MAX_PREAMBLE, MAX_RESPONSE_HEADERS,
    Method, Outgoing, Response, Transport, Version, parse_request_with, write_framing,
    write_response_head,
};

use crate::app::{App, AppError, ConnectionInfo};
use crate::request::Request;
use crate::session::Session;
use crate::socket::PlainStream;

/// Most bytes of an unread request body the server reads and discards to
/// keep a connection alive; a larger unread body closes the connection.
pub const DRAIN_LIMIT: u64 = 1024 * 1024;

/// Largest bytes body sent in the same write as its preamble.
const COALESCE: usize = 64 * 1024;

/// While lingering (see [`close_gracefully`]), the longest the server
/// waits for the peer's next bytes before it takes the peer to be done:
/// longer than a retransmission, shorter than patience.
const LINGER_GAP: Duration = Duration::from_secs(1);

/// A connection's state, as the server (and its shutdown) sees it.
pub(crate) mod state {
    /// Between requests: waiting for the next preamble.
    pub const IDLE: u8 = 0;
    /// Reading a preamble's rest, running the app, writing a response.
    pub const BUSY: u8 = 1;
    /// Said its last word; reading and discarding what the peer still
    /// sends (see `close_gracefully`). Such a connection gives way to a
    /// new one when every slot is taken.
    pub const LINGERING: u8 = 2;
}

pub(crate) struct ConnCtx<'a> {
    pub app: &'a dyn App,
    pub max_requests: u64,
    pub stop: &'a AtomicBool,
    /// One of [`state`]'s values.
    pub state: &'a AtomicU8,
    /// The plain socket under the transport (none for in-memory ones).
    pub sock: Option<&'a PlainStream>,
    /// The longest the connection lingers after the server ended it.
    pub linger: Duration,
    /// Most headers in a request.
    pub max_headers: usize,
}

/// Why a connection ended, as the server logs it (`- ADDR Handled N
/// requests: REASON`, the reason in its `Display` form).
#[non_exhaustive]
#[derive(Debug)]
pub enum CloseReason {
    /// The app's [`on_connect`](App::on_connect) refused the connection.
    RefusedByOnConnect,
    /// The peer closed the connection between requests.
    PeerClosed,
    /// The connection waited its whole `timeout` for the next request.
    Timeout,
    /// The connection served `max_requests` requests.
    MaxRequests,
    /// The request or the response said `connection: close`, or the
    /// request body was left unread with too much of it to drain.
    ConnectionClose,
    /// The server is shutting down.
    ShuttingDown,
    /// The request could not be read or was refused (a refused preamble
    /// is answered with a bare 4xx/5xx status first).
    BadRequest(Error),
    /// Writing `100 Continue` failed.
    WriteError(std::io::Error),
    /// The app returned an error.
    AppError(AppError),
    /// The app panicked.
    AppPanicked,
    /// The response could not be written, or broke its framing.
    ResponseError(Error),
    /// The peer ended a request body the server was draining.
    BodyCutShort,
    /// A request body was left unread and could not be drained.
    BodyNotConsumed,
    /// Reading a request body failed.
    BodyFailed,
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CloseReason::RefusedByOnConnect => f.write_str("refused by on_connect"),
            CloseReason::PeerClosed => f.write_str("peer closed the connection"),
            CloseReason::Timeout => f.write_str("timeout"),
            CloseReason::MaxRequests => f.write_str("max_requests reached"),
            CloseReason::ConnectionClose => f.write_str("connection: close"),
            CloseReason::ShuttingDown => f.write_str("server shutting down"),
            CloseReason::BadRequest(e) => write!(f, "bad request: {e}"),
            CloseReason::WriteError(e) => write!(f, "write error: {e}"),
            CloseReason::AppError(e) => write!(f, "app error: {e}"),
            CloseReason::AppPanicked => f.write_str("app panicked"),
            CloseReason::ResponseError(e) => write!(f, "response error: {e}"),
            CloseReason::BodyCutShort => f.write_str("request body cut short"),
            CloseReason::BodyNotConsumed => f.write_str("request body not consumed"),
            CloseReason::BodyFailed => f.write_str("request body failed"),
        }
    }
}

/// True for an error that means the connection itself is broken (the peer
/// left, reset, or stalled), so there is nothing to close gracefully.
fn broken(e: &Error) -> bool {
    matches!(
        e,
        Error::Io(_) | Error::UnexpectedEof(_) | Error::TimedOut { .. }
    )
}

impl CloseReason {
    /// True when the server ends a connection that still works: its peer
    /// may have more bytes on the way, and may not have read all of ours.
    fn server_initiated(&self) -> bool {
        match self {
            CloseReason::PeerClosed
            | CloseReason::Timeout
            | CloseReason::WriteError(_)
            | CloseReason::BodyCutShort => false,
            CloseReason::BadRequest(e) | CloseReason::ResponseError(e) => !broken(e),
            _ => true,
        }
    }
}

fn error_status(e: &Error) -> (u16, &'static str) {
    match e {
        Error::BadMethod(_) => (501, "Not Implemented"),
        Error::BadProtocol(_) => (505, "HTTP Version Not Supported"),
        Error::TooManyHeaders(_) | Error::PreambleTooLarge => {
            (431, "Request Header Fields Too Large")
        }
        _ => (400, "Bad Request"),
    }
}

/// Serves one connection over any transport (an in-memory pipe, say) on
/// this thread, as the server does for each accepted socket: reads
/// requests, calls `app`, writes responses, until the peer leaves, a
/// limit is reached or an error closes it. Returns why it ended. For
/// tests, fuzzing and transports of one's own.
///
/// ```
/// use degu_server::{serve_transport, CloseReason, ConnectionInfo, Session};
/// # struct Pipe { input: std::io::Cursor<Vec<u8>>, output: Vec<u8> }
/// # impl std::io::Read for Pipe { fn read(&mut self, b: &mut [u8]) -> std::io::Result<usize> { self.input.read(b) } }
/// # impl std::io::Write for Pipe { fn write(&mut self, b: &[u8]) -> std::io::Result<usize> { self.output.extend_from_slice(b); Ok(b.len()) } fn flush(&mut self) -> std::io::Result<()> { Ok(()) } }
/// # impl degu_core::Transport for Pipe {}
/// // `Pipe` reads the given bytes and keeps what is written to it.
/// let pipe = Pipe { input: std::io::Cursor::new(b"GET / HTTP/1.1\r\n\r\n".to_vec()), output: Vec::new() };
/// let mut session = Session::new(degu_core::IPV4_LOOPBACK, None, 10);
/// let reason = serve_transport(Box::new(pipe), &ConnectionInfo::default(), &mut session, &degu_server::demo::app);
/// assert_eq!(session.requests(), 1);
/// assert!(matches!(reason, CloseReason::PeerClosed));
/// assert_eq!(reason.to_string(), "peer closed the connection");
/// ```
pub fn serve_transport(
    transport: Box<dyn Transport>,
    info: &ConnectionInfo,
    session: &mut Session,
    app: &dyn App,
) -> CloseReason {
    let stop = AtomicBool::new(false);
    let state = AtomicU8::new(state::BUSY);
    let ctx = ConnCtx {
        app,
        max_requests: session.max_requests(),
        stop: &stop,
        state: &state,
        sock: None,
        linger: Duration::ZERO,
        max_headers: degu_core::MAX_HEADERS,
    };
    serve(transport, info, session, &ctx)
}

/// Runs the connection, then closes it (gracefully when the server is the
/// one ending it); returns why it ended.
pub(crate) fn serve(
    transport: Box<dyn Transport>,
    info: &ConnectionInfo,
    session: &mut Session,
    ctx: &ConnCtx<'_>,
) -> CloseReason {
    if !ctx.app.on_connect(session, info) {
        return CloseReason::RefusedByOnConnect;
    }
    let conn = shared(transport);
    let reason = serve_requests(&conn, session, ctx);
    if reason.server_initiated() {
        close_gracefully(&conn, ctx);
    }
    reason
}

/// The request loop: returns why it stopped.
fn serve_requests(
    conn: &Shared<Box<dyn Transport>>,
    session: &mut Session,
    ctx: &ConnCtx<'_>,
) -> CloseReason {
    let mut out = Vec::with_capacity(1024);
    // One request, refilled for each request on the connection.
    let mut request = Request::blank();
    loop {
        if session.requests >= ctx.max_requests {
            return CloseReason::MaxRequests;
        }
        ctx.state.store(state::IDLE, Ordering::SeqCst);
        if ctx.stop.load(Ordering::SeqCst) {
            return CloseReason::ShuttingDown;
        }
        let (framing, tracker, expect) = match read_request(conn, ctx, &mut request) {
            Ok(Some(r)) => r,
            Ok(None) => return CloseReason::PeerClosed,
            Err(e) => {
                if e.is_timeout() {
                    return CloseReason::Timeout;
                }
                if !broken(&e) {
                    refuse(conn, &e);
                }
                return CloseReason::BadRequest(e);
            }
        };
        if expect {
            let r = conn
                .borrow_mut()
                .get_mut()
                .write_all(b"HTTP/1.1 100 Continue\r\n\r\n");
            if let Err(e) = r {
                return CloseReason::WriteError(e);
            }
        }
        let method = request.method;
        let version = request.version;
        // Connection options are case-insensitive tokens (RFC 9110 §7.6.1);
        // an HTTP/1.0 connection closes after each exchange unless the
        // request asked to keep it (RFC 9112 §9.3).
        let close_requested = match version {
            Version::Http11 => request.headers.has_token("connection", "close"),
            Version::Http10 => !request.headers.has_token("connection", "keep-alive"),
        };
        let result = catch_unwind(AssertUnwindSafe(|| ctx.app.call(session, &mut request)));
        // A body the app left in the request is the connection's to
        // finish (or not) below, never the next request's.
        request.body = None;
        let mut response = match result {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => {
                if let Some(t) = &tracker {
                    t.fail();
                }
                return CloseReason::AppError(e);
            }
            Err(_) => {
                if let Some(t) = &tracker {
                    t.fail();
                }
                return CloseReason::AppPanicked;
            }
        };
        // The last response on this connection says so, so a client sees a
        // clean end rather than a connection cut after it.
        let last = close_requested
            || session.requests + 1 >= ctx.max_requests
            || ctx.stop.load(Ordering::SeqCst)
            || (tracker.as_ref().is_some_and(|t| closes_unread(t, framing))
                && !response.body.reads_connection());
        let head = Head {
            method,
            version,
            last,
        };
        let written = write_response(conn, ctx.sock, &mut out, head, &mut response);
        request.recycle(std::mem::take(&mut response.headers));
        drop(response);
        let close_after = match written {
            Ok(close) => close,
            Err(e) => {
                if let Some(t) = &tracker {
                    t.fail();
                }
                return CloseReason::ResponseError(e);
            }
        };
        session.requests += 1;
        if let Some(t) = tracker
            && let Err(reason) = finish_body(conn, framing, &t)
        {
            return reason;
        }
        if close_requested || close_after {
            return CloseReason::ConnectionClose;
        }
        if session.requests >= ctx.max_requests {
            return CloseReason::MaxRequests;
        }
    }
}

type ReadResult = (Framing, Option<BodyTracker>, bool);

/// Reads the next request into `request`; returns its framing, its body's
/// tracker and whether it expects `100 Continue`.
fn read_request(
    conn: &Shared<Box<dyn Transport>>,
    ctx: &ConnCtx<'_>,
    request: &mut Request,
) -> degu_core::Result<Option<ReadResult>> {
    let mut reader = conn.borrow_mut();
    let Some(buf) = reader.read_preamble()? else {
        return Ok(None);
    };
    ctx.state.store(state::BUSY, Ordering::SeqCst);
    let p = parse_request_with(buf, ctx.max_headers)?;
    let framing = p.typed.framing;
    // `100 Continue` is for HTTP/1.1 clients only (RFC 9110 §10.1.1).
    let expect = framing != Framing::None
        && framing != Framing::Length(0)
        && p.version == Version::Http11
        && p.headers
            .get("expect")
            .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"));
    let (body, tracker) = match framing {
        Framing::None => (None, None),
        Framing::Length(n) => {
            let (src, t) = body_source(conn);
            (Some(Incoming::Body(Body::from_connection(src, n))), Some(t))
        }
        Framing::Chunked => {
            let (src, t) = body_source(conn);
            (
                Some(Incoming::Chunked(ChunkedBody::from_connection(src))),
                Some(t),
            )
        }
    };
    request.refill(&p, body);
    Ok(Some((framing, tracker, expect)))
}

/// True when the request body is unread and too much of it is left to
/// drain (see [`finish_body`]), so the connection will close after the
/// response, which says so. Unless the response body itself reads from the
/// connection (an echo), which will consume it.
fn closes_unread(t: &BodyTracker, framing: Framing) -> bool {
    t.state() == BodyState::Reading
        && match framing {
            Framing::Length(n) => n - t.consumed() > DRAIN_LIMIT,
            Framing::Chunked => true,
            Framing::None => false,
        }
}

/// After the response: the request body must have been read to its end,
/// or be small enough to drain; otherwise the connection closes (its
/// unread bytes must never be parsed as the next request).
fn finish_body(
    conn: &Shared<Box<dyn Transport>>,
    framing: Framing,
    t: &BodyTracker,
) -> Result<(), CloseReason> {
    let state = t.detach();
    match (state, framing) {
        (BodyState::Complete, _) => Ok(()),
        (BodyState::Reading, Framing::Length(n)) if n - t.consumed() <= DRAIN_LIMIT => {
            let mut left = n - t.consumed();
            let mut buf = [0u8; 8192];
            let mut reader = conn.borrow_mut();
            while left > 0 {
                let want = (left as usize).min(buf.len());
                match reader.read(&mut buf[..want]) {
                    Ok(0) | Err(_) => return Err(CloseReason::BodyCutShort),
                    Ok(k) => left -= k as u64,
                }
            }
            Ok(())
        }
        (BodyState::Reading, _) => Err(CloseReason::BodyNotConsumed),
        _ => Err(CloseReason::BodyFailed),
    }
}

/// Longest line of text a refusal's body holds.
const REFUSAL_TEXT: usize = 200;

/// Sends the status that answers the refused request, with
/// `connection: close` and a one-line `text/plain` body that says what was
/// wrong (the error's message: its excerpt of the input is short and
/// escaped); the graceful close that follows lets the peer read it
/// instead of a reset.
fn refuse(conn: &Shared<Box<dyn Transport>>, e: &Error) {
    let (status, reason) = error_status(e);
    let mut text = e.to_string();
    if text.len() > REFUSAL_TEXT {
        let mut end = REFUSAL_TEXT;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push_str("...");
    }
    text.push('\n');
    let msg = format!(
        "HTTP/1.1 {status} {reason}\r\nconnection: close\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: {}\r\n\r\n{text}",
        text.len()
    );
    let mut reader = conn.borrow_mut();
    let _ = reader.get_mut().write_all(msg.as_bytes());
    let _ = reader.get_mut().flush();
}

/// Ends a connection the server chose to end without losing what it sent.
///
/// Closing a socket whose peer has sent bytes not yet read (pipelined
/// requests behind the last one answered, the rest of a refused or unread
/// body) makes the kernel answer with a reset, and a reset destroys the
/// response bytes still on their way, so the peer would miss the end of
/// the last response and its `connection: close`. So: end the output
/// (TLS `close_notify`, then `shutdown(SHUT_WR)`: the peer reads all of it,
/// then the end of the stream), then read and discard what the peer still
/// sends until it closes its side, it is quiet for [`LINGER_GAP`], or
/// `linger` has passed in all, whichever comes first: a peer that
/// trickles bytes holds the connection no longer than `linger`. Meanwhile
/// the connection is [`state::LINGERING`], and gives way to a new
/// connection when every slot is taken.
fn close_gracefully(conn: &Shared<Box<dyn Transport>>, ctx: &ConnCtx<'_>) {
    ctx.state.store(state::LINGERING, Ordering::SeqCst);
    if let Some(mut reader) = conn.try_borrow_mut() {
        let _ = reader.get_mut().shutdown_write();
    }
    if let Some(sock) = ctx.sock {
        discard_input(sock, ctx.linger);
    }
}

/// Reads and discards from `sock` until the peer closes or errs, is quiet
/// for [`LINGER_GAP`], or `linger` has passed.
pub(crate) fn discard_input(sock: &PlainStream, linger: Duration) {
    let deadline = Instant::now() + linger;
    let mut buf = [0u8; 8192];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || sock.set_read_timeout(Some(left.min(LINGER_GAP))).is_err() {
            return;
        }
        match (&mut &*sock).read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}

/// What the request says about how to write its response.
#[derive(Clone, Copy)]
struct Head {
    method: Method,
    version: Version,
    /// The last response on the connection: it says `connection: close`.
    last: bool,
}

/// Validates and writes a response; returns true when the connection
/// should close after it.
fn write_response(
    conn: &Shared<Box<dyn Transport>>,
    sock: Option<&PlainStream>,
    out: &mut Vec<u8>,
    head: Head,
    resp: &mut Response<'static>,
) -> degu_core::Result<bool> {
    let Head {
        method,
        version,
        mut last,
    } = head;
    let status = resp.status;
    if status < 200 {
        return Err(Error::Invalid(format!(
            "an app cannot answer with the interim status {status}"
        )));
    }
    let bodiless = method == Method::Head || status == 204 || status == 304;
    let declared = resp.headers.framing()?;
    if bodiless {
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
    // The framing header the response lacks: none, or the body's, or (every
    // response being self-delimiting) `content-length: 0` for no body, to
    // HEAD as to GET (a HEAD response carries the headers the same response
    // to GET would); 204 and 304 carry none. It goes straight into the
    // preamble; the app's headers are not changed.
    let mut add =
        if status != 204 && status != 304 && resp.body.is_none() && declared == Framing::None {
            Framing::Length(0)
        } else {
            resp.body.missing_framing(declared, bodiless)?
        };
    // HTTP/1.0 has no chunked framing: a body that needs it goes to a 1.0
    // client as it is, delimited by the end of the connection (RFC 9112
    // §6.3), without the app's `transfer-encoding` and `connection`.
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
    // The last response on the connection says so; to an HTTP/1.0 client
    // that asked to keep it, a response that keeps it says that.
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
    out.clear();
    if unframed {
        write_response_head(out, status, &resp.reason, &Headers::new())?;
        for (name, value) in resp.headers.iter() {
            if name != "transfer-encoding" && name != "connection" {
                out.extend_from_slice(name.as_bytes());
                out.extend_from_slice(b": ");
                out.extend_from_slice(value.as_bytes());
                out.extend_from_slice(b"\r\n");
            }
        }
    } else {
        write_response_head(out, status, &resp.reason, &resp.headers)?;
    }
    write_framing(out, add);
    if let Some(value) = add_connection {
        out.extend_from_slice(b"connection: ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    if out.len() > MAX_PREAMBLE {
        return Err(Error::PreambleTooLarge);
    }
    let close =
        add_connection == Some("close") || connection.is_some_and(|v| has_token(v, "close"));
    match &mut resp.body {
        Outgoing::None => conn.borrow_mut().get_mut().write_all(out)?,
        body if unframed => {
            conn.borrow_mut().get_mut().write_all(out)?;
            body.write_data_to(&mut SharedWriter(conn.clone()))?;
        }
        Outgoing::Bytes(b) if out.len() + b.len() <= COALESCE => {
            out.extend_from_slice(b);
            conn.borrow_mut().get_mut().write_all(out)?;
        }
        Outgoing::Body(b)
            if b.as_file().is_some() && conn.borrow_mut().get_ref().plain_fd().is_some() =>
        {
            conn.borrow_mut().get_mut().write_all(out)?;
            match sock {
                Some(sock) => send_file(sock, b)?,
                None => {
                    b.write_to(&mut SharedWriter(conn.clone()))?;
                }
            }
        }
        body => {
            conn.borrow_mut().get_mut().write_all(out)?;
            body.write_to(&mut SharedWriter(conn.clone()))?;
        }
    }
    Ok(close)
}

/// Sends a file body with `sendfile(2)`: the kernel copies from the page
/// cache to the socket, nothing passes through user space. Only for plain
/// sockets (the transport reported its descriptor).
fn send_file(sock: &PlainStream, body: &mut degu_core::Body<'static>) -> degu_core::Result<()> {
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
