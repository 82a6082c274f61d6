//! One connection: read a request, call the app, write the response,
//! until the peer leaves, a limit is reached, or something goes wrong.

use std::fmt;
use std::io::Read;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::time::{Duration, Instant};

use degu_core::{
    Conn, Error, Method, PlainStream, Response, StaticHeader, Transport, UnreadBody, Version,
};

use crate::app::{App, AppError, ConnectionInfo};
use crate::request::Request;
use crate::session::Session;

/// Most bytes of an unread request body the server reads and discards to
/// keep a connection alive; a larger unread body closes the connection.
pub const DRAIN_LIMIT: u64 = 1024 * 1024;

/// While lingering (see [`close_gracefully`]), the longest the server
/// waits for the peer's next bytes before it takes the peer to be done:
/// longer than a retransmission, shorter than patience.
const LINGER_GAP: Duration = Duration::from_secs(1);

/// A connection's state, as the server (and its shutdown) sees it.
pub(crate) mod state {
    /// Between requests: waiting for the next preamble.
    pub(crate) const IDLE: u8 = 0;
    /// Reading a preamble's rest, running the app, writing a response.
    pub(crate) const BUSY: u8 = 1;
    /// Said its last word; reading and discarding what the peer still
    /// sends (see `close_gracefully`). Such a connection gives way to a
    /// new one when every slot is taken.
    pub(crate) const LINGERING: u8 = 2;
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
    let mut conn = Conn::new(transport);
    let reason = serve_requests(&mut conn, session, ctx);
    if reason.server_initiated() {
        close_gracefully(&mut conn, ctx);
    }
    reason
}

/// The request loop: returns why it stopped.
fn serve_requests(conn: &mut Conn, session: &mut Session, ctx: &ConnCtx<'_>) -> CloseReason {
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
        let head = conn.read_preamble().and_then(|found| {
            if !found {
                return Ok(None);
            }
            ctx.state.store(state::BUSY, Ordering::SeqCst);
            let (head, ()) =
                conn.parse_request(ctx.max_headers, |p, body| request.refill(p, body))?;
            Ok(Some(head))
        });
        let head = match head {
            Ok(Some(head)) => head,
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
        if head.expects_continue
            && let Err(e) = conn.write_continue()
        {
            return CloseReason::WriteError(e);
        }
        let result = catch_unwind(AssertUnwindSafe(|| ctx.app.call(session, &mut request)));
        // A body the app left in the request is the connection's to
        // finish (or not) below, never the next request's.
        request.body = None;
        let mut response = match result {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => {
                conn.fail_body();
                return CloseReason::AppError(e);
            }
            Err(_) => {
                conn.fail_body();
                return CloseReason::AppPanicked;
            }
        };
        // The last response on this connection says so, so a client sees a
        // clean end rather than a connection cut after it.
        let last = head.close
            || session.requests + 1 >= ctx.max_requests
            || ctx.stop.load(Ordering::SeqCst)
            || (conn.closes_unread(DRAIN_LIMIT) && !response.body.reads_connection());
        let written = conn.write_response(head.method, head.version, last, &mut response);
        request.recycle(std::mem::take(&mut response.headers));
        drop(response);
        let close_after = match written {
            Ok(close) => close,
            Err(e) => {
                conn.fail_body();
                return CloseReason::ResponseError(e);
            }
        };
        session.requests += 1;
        match conn.finish_body(DRAIN_LIMIT) {
            Ok(()) => {}
            Err(UnreadBody::CutShort) => return CloseReason::BodyCutShort,
            Err(UnreadBody::TooLarge) => return CloseReason::BodyNotConsumed,
            Err(UnreadBody::Failed) => return CloseReason::BodyFailed,
        }
        if head.close || close_after {
            return CloseReason::ConnectionClose;
        }
        if session.requests >= ctx.max_requests {
            return CloseReason::MaxRequests;
        }
    }
}

/// Longest line of text a refusal's body holds.
const REFUSAL_TEXT: usize = 200;

/// Sends the status that answers the refused request, with
/// `connection: close` and a one-line `text/plain` body that says what was
/// wrong (the error's message: its excerpt of the input is short and
/// escaped); the graceful close that follows lets the peer read it
/// instead of a reset.
fn refuse(conn: &mut Conn, e: &Error) {
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
    let mut response = Response::new(status, reason)
        .static_header(StaticHeader::new("connection", "close"))
        .and_then(|r| {
            r.static_header(StaticHeader::new(
                "content-type",
                "text/plain; charset=utf-8",
            ))
        })
        .map(|r| r.body(text));
    if let Ok(response) = &mut response {
        let _ = conn.write_response(Method::Get, Version::Http11, true, response);
    }
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
fn close_gracefully(conn: &mut Conn, ctx: &ConnCtx<'_>) {
    ctx.state.store(state::LINGERING, Ordering::SeqCst);
    let _ = conn.shutdown_write();
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
