//! One connection: read a request, call the app, write the response,
//! until the peer leaves, a limit is reached, or something goes wrong.

use std::io::{Read, Write};
use std::net::Shutdown;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use degu_core::shared::{BodyState, BodyTracker, Shared, SharedWriter, body_source, shared};
use degu_core::{
    Body, ChunkedBody, Error, Framing, Incoming, MAX_HEADERS, MAX_PREAMBLE, Method, Outgoing,
    Response, Transport, parse_request, write_framing, write_response_head,
};

use crate::app::{App, ConnectionInfo};
use crate::request::Request;
use crate::session::Session;
use crate::socket::PlainStream;

/// Most bytes of an unread request body the server reads and discards to
/// keep a connection alive; a larger unread body closes the connection.
pub const DRAIN_LIMIT: u64 = 1024 * 1024;

/// Largest bytes body sent in the same write as its preamble.
const COALESCE: usize = 64 * 1024;

pub(crate) struct ConnCtx<'a> {
    pub app: &'a dyn App,
    pub max_requests: u64,
    pub stop: &'a AtomicBool,
    pub busy: &'a AtomicBool,
    /// The plain socket under the transport (none for in-memory ones).
    pub sock: Option<&'a PlainStream>,
}

/// Why a connection ended, for the log line.
pub(crate) type Reason = String;

fn error_status(e: &Error) -> (u16, &'static str) {
    match e {
        Error::BadMethod(_) => (501, "Not Implemented"),
        Error::BadProtocol(_) => (505, "HTTP Version Not Supported"),
        Error::TooManyHeaders | Error::PreambleTooLarge => (431, "Request Header Fields Too Large"),
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
/// use degu_server::{serve_transport, ConnectionInfo, Session};
/// # struct Pipe { input: std::io::Cursor<Vec<u8>>, output: Vec<u8> }
/// # impl std::io::Read for Pipe { fn read(&mut self, b: &mut [u8]) -> std::io::Result<usize> { self.input.read(b) } }
/// # impl std::io::Write for Pipe { fn write(&mut self, b: &[u8]) -> std::io::Result<usize> { self.output.extend_from_slice(b); Ok(b.len()) } fn flush(&mut self) -> std::io::Result<()> { Ok(()) } }
/// # impl degu_core::Transport for Pipe {}
/// // `Pipe` reads the given bytes and keeps what is written to it.
/// let pipe = Pipe { input: std::io::Cursor::new(b"GET / HTTP/1.1\r\n\r\n".to_vec()), output: Vec::new() };
/// let mut session = Session::new(degu_core::IPV4_LOOPBACK, None, 10);
/// let reason = serve_transport(Box::new(pipe), &ConnectionInfo::default(), &mut session, &degu_server::demo::app);
/// assert_eq!(session.requests(), 1);
/// assert_eq!(reason, "peer closed the connection");
/// ```
pub fn serve_transport(
    transport: Box<dyn Transport>,
    info: &ConnectionInfo,
    session: &mut Session,
    app: &dyn App,
) -> String {
    let stop = AtomicBool::new(false);
    let busy = AtomicBool::new(false);
    let ctx = ConnCtx {
        app,
        max_requests: session.max_requests(),
        stop: &stop,
        busy: &busy,
        sock: None,
    };
    serve(transport, info, session, &ctx)
}

/// Runs the connection; returns the requests handled and why it ended.
pub(crate) fn serve(
    transport: Box<dyn Transport>,
    info: &ConnectionInfo,
    session: &mut Session,
    ctx: &ConnCtx<'_>,
) -> Reason {
    if !ctx.app.on_connect(session, info) {
        return "refused by on_connect".into();
    }
    let conn = shared(transport);
    let mut out = Vec::with_capacity(1024);
    // One request, refilled for each request on the connection.
    let mut request = Request::blank();
    loop {
        if session.requests >= ctx.max_requests {
            return "max_requests reached".into();
        }
        ctx.busy.store(false, Ordering::SeqCst);
        if ctx.stop.load(Ordering::SeqCst) {
            return "server shutting down".into();
        }
        let (framing, tracker, expect) = match read_request(&conn, ctx, &mut request) {
            Ok(Some(r)) => r,
            Ok(None) => return "peer closed the connection".into(),
            Err(e) => {
                if e.is_timeout() {
                    return "timeout".into();
                }
                if !matches!(e, Error::Io(_) | Error::UnexpectedEof(_)) {
                    let (status, reason) = error_status(&e);
                    refuse(&conn, ctx.sock, status, reason);
                }
                return format!("bad request: {e}");
            }
        };
        if expect {
            let r = conn
                .borrow_mut()
                .get_mut()
                .write_all(b"HTTP/1.1 100 Continue\r\n\r\n");
            if let Err(e) = r {
                return format!("write error: {e}");
            }
        }
        let method = request.method;
        // Connection options are case-insensitive tokens (RFC 9110 §7.6.1).
        let close_requested = request
            .headers
            .get("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"));
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
                return format!("app error: {e}");
            }
            Err(_) => {
                if let Some(t) = &tracker {
                    t.fail();
                }
                return "app panicked".into();
            }
        };
        // The last response on this connection says so, so a client sees a
        // clean end rather than a connection cut after it.
        let last = close_requested
            || session.requests + 1 >= ctx.max_requests
            || ctx.stop.load(Ordering::SeqCst)
            || (tracker.as_ref().is_some_and(|t| closes_unread(t, framing))
                && !response.body.reads_connection());
        let written = write_response(&conn, ctx.sock, &mut out, method, &mut response, last);
        request.recycle(std::mem::take(&mut response.headers));
        drop(response);
        let close_after = match written {
            Ok(close) => close,
            Err(e) => {
                if let Some(t) = &tracker {
                    t.fail();
                }
                return format!("response error: {e}");
            }
        };
        session.requests += 1;
        if let Some(t) = tracker
            && let Err(reason) = finish_body(&conn, framing, &t)
        {
            return reason;
        }
        if close_requested || close_after {
            return "connection: close".into();
        }
        if session.requests >= ctx.max_requests {
            return "max_requests reached".into();
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
    ctx.busy.store(true, Ordering::SeqCst);
    let p = parse_request(buf)?;
    let framing = p.typed.framing;
    let expect = framing != Framing::None
        && framing != Framing::Length(0)
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
) -> Result<(), Reason> {
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
                    Ok(0) | Err(_) => return Err("request body cut short".into()),
                    Ok(k) => left -= k as u64,
                }
            }
            Ok(())
        }
        (BodyState::Reading, _) => Err("request body not consumed".into()),
        _ => Err("request body failed".into()),
    }
}

/// Sends a bare error status with `connection: close`, then closes
/// gracefully: shut down writing and discard what the peer still sends
/// (briefly and boundedly), so the peer reads the status instead of a reset.
fn refuse(
    conn: &Shared<Box<dyn Transport>>,
    sock: Option<&PlainStream>,
    status: u16,
    reason: &str,
) {
    let msg =
        format!("HTTP/1.1 {status} {reason}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n");
    let mut reader = conn.borrow_mut();
    if reader.get_mut().write_all(msg.as_bytes()).is_err() {
        return;
    }
    let _ = reader.get_mut().flush();
    if let Some(sock) = sock {
        linger(sock);
    }
}

pub(crate) fn linger(sock: &PlainStream) {
    let _ = sock.shutdown(Shutdown::Write);
    let _ = sock.set_timeout(Some(Duration::from_millis(200)));
    let mut s = match sock.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    };
    let mut buf = [0u8; 8192];
    let mut total = 0;
    while total < 256 * 1024 {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => total += n,
        }
    }
}

/// Validates and writes a response; returns true when the connection
/// should close after it.
fn write_response(
    conn: &Shared<Box<dyn Transport>>,
    sock: Option<&PlainStream>,
    out: &mut Vec<u8>,
    method: Method,
    resp: &mut Response<'static>,
    last: bool,
) -> degu_core::Result<bool> {
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
    // response being self-delimiting) `content-length: 0` for no body. It
    // goes straight into the preamble; the app's headers are not changed.
    let add = if !bodiless && resp.body.is_none() && declared == Framing::None {
        Framing::Length(0)
    } else {
        resp.body.missing_framing(declared, bodiless)?
    };
    // The last response on the connection says so.
    let connection = resp.headers.get("connection");
    let add_close = last && connection.is_none();
    let extra = usize::from(add != Framing::None) + usize::from(add_close);
    if resp.headers.len() + extra > MAX_HEADERS {
        return Err(Error::TooManyHeaders);
    }
    out.clear();
    write_response_head(out, status, &resp.reason, &resp.headers)?;
    write_framing(out, add);
    if add_close {
        out.extend_from_slice(b"connection: close\r\n");
    }
    out.extend_from_slice(b"\r\n");
    if out.len() > MAX_PREAMBLE {
        return Err(Error::PreambleTooLarge);
    }
    let close = add_close || connection == Some("close");
    match &mut resp.body {
        Outgoing::None => conn.borrow_mut().get_mut().write_all(out)?,
        Outgoing::Bytes(b) if out.len() + b.len() <= COALESCE => {
            out.extend_from_slice(b);
            conn.borrow_mut().get_mut().write_all(out)?;
        }
        Outgoing::Body(b)
            if b.as_file().is_some() && conn.borrow().get_ref().plain_fd().is_some() =>
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
