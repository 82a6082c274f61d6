//! One connection: read a request, call the app, write the response,
//! until the peer leaves, a limit is reached, or something goes wrong.

use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use degu_core::{Conn, Error, Method, Response, StaticHeader, Transport, UnreadBody, Version};

use crate::app::{App, AppError, ConnectionInfo};
use crate::patient;
use crate::request::Request;
use crate::session::Session;
use crate::worker::mark;

/// Most bytes of an unread request body the server reads and discards to
/// keep a connection alive; a larger unread body closes the connection.
pub const DRAIN_LIMIT: u64 = 1024 * 1024;

/// While lingering (see [`Outcome::Linger`]), the longest the server
/// waits for the peer's next bytes before it takes the peer to be done:
/// longer than a retransmission, shorter than patience.
pub(crate) const LINGER_GAP: Duration = Duration::from_secs(1);

/// What the request loop needs besides the connection and its session.
pub(crate) struct ConnCtx<'a> {
    pub app: &'a dyn App,
    pub max_requests: u64,
    pub stop: &'a AtomicBool,
    /// Most headers in a request.
    pub max_headers: usize,
    /// For a connection an event thread can park between requests.
    /// `None`: the loop serves the connection to its end.
    pub park: Option<Park<'a>>,
}

/// What the request loop of a connection served by a worker shares with
/// the pool.
pub(crate) struct Park<'a> {
    /// The mode its [`Patient`](crate::patient::Patient) transport reads in.
    pub mode: &'a AtomicU8,
    /// How many connections wait with no worker coming for them.
    pub starved: &'a AtomicUsize,
    /// The worker's progress count, raised at each request.
    pub progress: &'a AtomicU64,
    /// Called once in a stay, when the [`UNLIST_AFTER`]th request has
    /// arrived while the worker waited for it (the connection sends
    /// request after request): takes the connection out of the event
    /// thread's epoll set while the worker keeps it (`Inner::unlist`).
    pub unlist: &'a dyn Fn(),
}

/// How many requests a worker waits for and gets on one connection, in
/// one stay, before it takes the connection out of the event thread's
/// epoll set. Out of the set, each request costs the kernel a little less
/// (on loopback 1-3 % of a round trip); taking it out and adding it
/// again costs two system calls (one more than re-arming it). A stay
/// this long pays for them; shorter ones, common with many connections
/// sharing few workers, were measured 6 % slower when every stay of two
/// requests or more was taken out.
pub(crate) const UNLIST_AFTER: u32 = 32;

/// How [`serve_some`] left a connection.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// Between requests, quiet: back to the event thread to wait for its
    /// next request (any bytes of it already read are kept).
    Park,
    /// Ended by the server: its output is to be shut down, and what the
    /// peer still sends read and discarded for a while before the socket
    /// closes.
    ///
    /// Closing a socket whose peer has sent bytes not yet read (pipelined
    /// requests behind the last one answered, the rest of a refused or
    /// unread body) makes the kernel answer with a reset, and a reset
    /// destroys the response bytes still on their way, so the peer would
    /// miss the end of the last response and its `connection: close`. So
    /// the output is ended first (TLS `close_notify`, then
    /// `shutdown(SHUT_WR)`: the peer reads all of it, then the end of the
    /// stream), and then what the peer still sends is read and discarded
    /// until it closes its side, it is quiet for [`LINGER_GAP`], or the
    /// `linger` option has passed in all, whichever comes first: a peer
    /// that trickles bytes holds the connection no longer than `linger`.
    /// The event thread does the discarding, so a lingering connection
    /// holds no worker; it gives way to a new connection when every slot
    /// is taken.
    Linger(CloseReason),
    /// Over: the peer left, or the connection broke.
    Closed(CloseReason),
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
    /// A request's preamble (over TLS, with the handshake) was not whole
    /// within `header_timeout` of its first byte.
    HeaderTimeout,
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
            CloseReason::HeaderTimeout => f.write_str("preamble not whole within header_timeout"),
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
            | CloseReason::HeaderTimeout
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
    let ctx = ConnCtx {
        app,
        max_requests: session.max_requests(),
        stop: &stop,
        max_headers: degu_core::MAX_HEADERS,
        park: None,
    };
    if !app.on_connect(session, info) {
        return CloseReason::RefusedByOnConnect;
    }
    let mut conn = Conn::new(transport);
    match serve_some(&mut conn, session, &ctx) {
        Outcome::Linger(reason) => {
            let _ = conn.shutdown_write();
            reason
        }
        Outcome::Closed(reason) => reason,
        Outcome::Park => unreachable!("a connection without `park` is never parked"),
    }
}

/// Serves requests on `conn` until it is quiet between requests and can
/// be parked, or ends; a connection the server ends is to have its output
/// shut down next (see [`Outcome::Linger`]).
pub(crate) fn serve_some(conn: &mut Conn, session: &mut Session, ctx: &ConnCtx<'_>) -> Outcome {
    match serve_requests(conn, session, ctx) {
        Ok(()) => Outcome::Park,
        Err(reason) if reason.server_initiated() => Outcome::Linger(reason),
        Err(reason) => Outcome::Closed(reason),
    }
}

/// The request loop: returns `Ok` when the connection is to be parked,
/// or why it ended.
fn serve_requests(
    conn: &mut Conn,
    session: &mut Session,
    ctx: &ConnCtx<'_>,
) -> Result<(), CloseReason> {
    // One request, refilled for each request on the connection.
    let mut request = Request::blank();
    // Requests that arrived while the worker waited for them, this stay.
    let mut kept = 0u32;
    loop {
        if session.requests >= ctx.max_requests {
            return Err(CloseReason::MaxRequests);
        }
        let mut awaiting = None;
        if let Some(Park {
            mode,
            starved,
            progress,
            ..
        }) = &ctx.park
        {
            // Unless the next request is here already: stop when the
            // server stops, give the connection back when others wait
            // with no worker coming for them, else wait for the request
            // a little (a read in the awaiting mode; none happens when
            // it is here).
            if ctx.stop.load(Ordering::SeqCst) && !conn.preamble_ready() {
                return Err(CloseReason::ShuttingDown);
            }
            if starved.load(Ordering::Relaxed) > 0 && !conn.preamble_ready() {
                return Ok(());
            }
            mode.store(patient::mode::AWAITING, Ordering::Relaxed);
            mark::flag(progress, mark::AWAITING);
            awaiting = Some((mode, progress));
        } else if ctx.stop.load(Ordering::SeqCst) {
            return Err(CloseReason::ShuttingDown);
        }
        // The preamble is read and parsed in one borrow of the connection.
        let found = conn.read_request(ctx.max_headers, |p, body| request.refill(p, body));
        if let Some((mode, progress)) = awaiting {
            mode.store(patient::mode::EXCHANGE, Ordering::Relaxed);
            if matches!(&found, Err(e) if e.is_timeout()) {
                return Ok(());
            }
            // A request (or the end): progress, for the pool.
            mark::step(progress);
            if matches!(found, Ok(Some(_)))
                && let Some(park) = &ctx.park
            {
                kept += 1;
                if kept == UNLIST_AFTER {
                    (park.unlist)();
                }
            }
        }
        let head = match found {
            Ok(Some((head, ()))) => head,
            Ok(None) => return Err(CloseReason::PeerClosed),
            Err(e) => {
                if e.is_timeout() {
                    return Err(CloseReason::Timeout);
                }
                if !broken(&e) {
                    refuse(conn, &e);
                }
                return Err(CloseReason::BadRequest(e));
            }
        };
        if head.expects_continue
            && let Err(e) = conn.write_continue()
        {
            return Err(CloseReason::WriteError(e));
        }
        let result = catch_unwind(AssertUnwindSafe(|| ctx.app.call(session, &mut request)));
        // A body the app left in the request is the connection's to
        // finish (or not) below, never the next request's.
        request.body = None;
        let mut response = match result {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => {
                conn.fail_body();
                return Err(CloseReason::AppError(e));
            }
            Err(_) => {
                conn.fail_body();
                return Err(CloseReason::AppPanicked);
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
                return Err(CloseReason::ResponseError(e));
            }
        };
        session.requests += 1;
        match conn.finish_body(DRAIN_LIMIT) {
            Ok(()) => {}
            Err(UnreadBody::CutShort) => return Err(CloseReason::BodyCutShort),
            Err(UnreadBody::TooLarge) => return Err(CloseReason::BodyNotConsumed),
            Err(UnreadBody::Failed) => return Err(CloseReason::BodyFailed),
        }
        if head.close || close_after {
            return Err(CloseReason::ConnectionClose);
        }
        if session.requests >= ctx.max_requests {
            return Err(CloseReason::MaxRequests);
        }
        if ctx.stop.load(Ordering::SeqCst) {
            return Err(CloseReason::ShuttingDown);
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
