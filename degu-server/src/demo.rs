//! The demo: the app behind degu-server's `demo` example and degu-tls's
//! `demo_tls` ([`app`]), and the command line the two programs share
//! ([`parse_args`]). The interop tests, `cargo xtask soak` and the
//! benchmarks serve it too.
//!
//! The programs are the first thing a new user runs, the target of the
//! project's own interop tests, and the way to try Degu against real HTTP
//! tools (curl, Python's http.client, nginx, `openssl s_client`, wrk). So
//! their command lines, their output and the routes below are a contract:
//! options may be added, none of this changes.
//!
//! # Command lines
//!
//! ```text
//! cargo run --release -p degu-server --example demo -- [--max-connections N] [--max-requests N] [--timeout SECS] ADDRESS
//! cargo run --release -p degu-tls --example demo_tls -- --cert FILE --key FILE (--client-ca FILE | --allow-unauthenticated-clients) [same options] ADDRESS
//! ```
//!
//! - `--max-connections N`, `--max-requests N`: the server's limits
//!   ([`ServerOptions`]: 50 and 1000 by default, at least 1).
//! - `--timeout SECS`: the socket timeout for every read and write, in
//!   seconds, fractions allowed (30 by default; more than zero).
//! - `ADDRESS`: an [`Address`] in its text form, which decides the socket
//!   family: `127.0.0.1:8000` (AF_INET); `[::1]:8000`, or with a scope id
//!   by index or interface name `[fe80::1%2]:8000`, `[fe80::1%eth0]:8000`
//!   (AF_INET6); `unix:/run/app.sock` (an AF_UNIX socket file, absolute
//!   path); `unix:@name` (a Linux abstract name); `unix:@` (an abstract
//!   name the kernel picks). Port 0 asks the kernel for a free port. A DNS
//!   name is refused: a server binds an address, not a name.
//! - `demo_tls` only: `--cert FILE` and `--key FILE`, the server's
//!   certificate chain (leaf first) and key, in PEM; then exactly one of
//!   `--client-ca FILE` (a PEM file of CAs: clients must present a
//!   certificate issued by one) and `--allow-unauthenticated-clients`
//!   (clients without a certificate are served; logged as a warning).
//!   TLS 1.3 only (see degu-tls).
//!
//! # What the programs do
//!
//! - The **first line on stdout** is the bound address in the same text
//!   form, with the real port or abstract name (`127.0.0.1:40505`,
//!   `[::1]:40505`, `unix:@00022`), and stdout is flushed right after it,
//!   so a parent process can read the line and connect. Nothing else goes
//!   to stdout.
//! - Logs go to stderr ([`init_stderr_logger`]): one line when a
//!   connection starts (`+ ADDR New connection`) and one when it ends
//!   (`- ADDR Handled N requests: REASON`); `DEGU_LOG` sets the level
//!   (`debug`, `info`, `warn`, `error`, `off`; `info` by default).
//! - They serve until SIGINT or SIGTERM, then shut down gracefully (see
//!   [`ServerHandle::shutdown`](crate::ServerHandle::shutdown): stop
//!   accepting, close idle connections at once, let in-flight requests
//!   finish for up to the 10 s `shutdown_timeout`) and **exit with code
//!   0**.
//! - A bad command line (an unknown option, a bad value, a missing or
//!   unparsable ADDRESS, for `demo_tls` a TLS configuration that does not
//!   load) exits with code 2, the error and the usage on stderr; an
//!   address that cannot be bound exits with code 1.
//!
//! # Routes
//!
//! | request | response |
//! |---|---|
//! | `GET /`, `HEAD /` | `200 OK`, `content-type: text/plain`, `content-length: 12`, body `hello, world` (HEAD: the same headers, no body) |
//! | `PUT /echo`, `POST /echo`, `PATCH /echo` | `200 OK` with the request body sent back as it came, streamed as it is read (never buffered whole): a content-length body with the same length and bytes; a chunked body chunked, with the same chunk boundaries and the same chunk extensions, chunk by chunk; no body: an empty body (`content-length: 0`) |
//! | `GET /bytes/N`, `HEAD /bytes/N` | `200 OK`, `content-type: application/octet-stream`, N bytes where byte i is `i % 251`, made as they are sent (N is 1 to 16 digits: many GiB cost no memory); with a `range` header: `206 Partial Content` with `content-range`; a range that selects nothing (it starts at or past the end): `416 Range Not Satisfiable` with `content-range: bytes */N`; a `range` that does not parse, or asks for several ranges, is ignored (`200`, the whole body). HEAD: the same headers, no body |
//! | `GET /chunks/K/S` | `200 OK`, chunked: K chunks of S bytes each (byte j of every chunk is `j % 251`), chunk i (from 0) carrying the extension `i=<i>`, then the final empty chunk; made as it is sent, so no chunk is ever held whole. S is 1 to 16 MiB (otherwise `400 Bad Request`) |
//! | `GET /info` (any query) | `200 OK`, `content-type: application/json`, an object with `method`, `uri` (the request target as sent), `mount` and `path` (decoded path components: `/app/a%20b` has mount `["app"]` and path `["a b"]`), `query` (`null` when the URI has no `?`), `headers` (the request headers, names lowercased, values as strings), and `session`: `address` (the peer, as text), `credentials` (`[pid, uid, gid]` over AF_UNIX, otherwise `null`), `requests` (requests handled on this connection before this one) |
//! | `/app/...` | the routes above with `app` shifted onto `mount` first (the routing-middleware demo): `/app` is `/`, `/app/info` is `/info`; `/app/` is the path `[""]`, so `404` |
//! | any other path | `404 Not Found` (so is a `/bytes/N` or `/chunks/K/S` whose numbers are not 1 to 16 digits without a leading zero) |
//! | a method a route does not take | `405 Method Not Allowed` with `allow` (`HEAD /info`, `HEAD /chunks/K/S` too) |
//!
//! Every response is self-delimiting (`content-length` or chunked), so
//! standard clients never wait for the connection to close. An HTTP/1.0
//! request gets a body it can read: `content-length`, or (for a body that
//! would be chunked) the bare bytes up to the close of the connection,
//! never chunked; that is the server's rule for every app, not the
//! demo's.

use std::io::{self, Read, Write};
use std::time::Duration;

use degu_core::{Address, Body, ChunkedBody, MAX_CHUNK_SIZE, Method, Response, StaticHeader};

use crate::{AppResult, Request, ServerOptions, Session};

const TEXT_PLAIN: StaticHeader = StaticHeader::new("content-type", "text/plain");
const HELLO_LENGTH: StaticHeader = StaticHeader::new("content-length", "12");

/// The demo app.
pub fn app(session: &mut Session, request: &mut Request) -> AppResult {
    if request.path.first().map(String::as_str) == Some("app") {
        request.shift_path();
    }
    // No route has more than three components.
    if request.path.len() > 3 {
        return not_found();
    }
    let mut parts = [""; 3];
    for (part, p) in parts.iter_mut().zip(&request.path) {
        *part = p;
    }
    let path = &parts[..request.path.len()];
    let m = request.method;
    match path {
        [] => match m {
            Method::Get | Method::Head => {
                let r = request
                    .response(200, "OK")
                    .static_header(TEXT_PLAIN)?
                    .static_header(HELLO_LENGTH)?;
                Ok(if m == Method::Get {
                    r.body("hello, world")
                } else {
                    r
                })
            }
            _ => not_allowed("GET, HEAD"),
        },
        ["echo"] => match m {
            Method::Put | Method::Post | Method::Patch => {
                Ok(Response::new(200, "OK").body(match request.body.take() {
                    Some(b) => b.into(),
                    None => degu_core::Outgoing::from(&b""[..]),
                }))
            }
            _ => not_allowed("PUT, POST, PATCH"),
        },
        // N must be a valid content-length (at most 16 digits): a larger
        // number names no resource, rather than a response that cannot be
        // sent.
        ["bytes", n] => match (m, degu_core::parse::parse_decimal(n.as_bytes())) {
            (Method::Get | Method::Head, Some(total)) => bytes(request, total),
            (_, Some(_)) => not_allowed("GET, HEAD"),
            _ => not_found(),
        },
        ["chunks", k, s] => match (m, number(k), number(s)) {
            (Method::Get, Ok(k), Ok(s)) if (1..=MAX_CHUNK_SIZE).contains(&s) => {
                Ok(Response::new(200, "OK").body(ChunkedBody::new(ChunksWire::new(k, s))))
            }
            (Method::Get, Ok(_), Ok(_)) => Ok(Response::new(400, "Bad Request")),
            (_, Ok(_), Ok(_)) => not_allowed("GET"),
            _ => not_found(),
        },
        ["info"] => match m {
            Method::Get => {
                let json = info_json(session, request);
                Ok(Response::new(200, "OK")
                    .header("content-type", "application/json")?
                    .body(json))
            }
            _ => not_allowed("GET"),
        },
        _ => not_found(),
    }
}

/// A path number: 1 to 16 decimal digits, no sign, no leading zero.
fn number(s: &str) -> Result<u64, ()> {
    degu_core::parse::parse_decimal(s.as_bytes()).ok_or(())
}

fn not_found() -> AppResult {
    Ok(Response::new(404, "Not Found"))
}

fn not_allowed(allow: &'static str) -> AppResult {
    Ok(Response::new(405, "Method Not Allowed").header("allow", allow)?)
}

fn bytes(request: &Request, total: u64) -> AppResult {
    let head = request.method == Method::Head;
    let (status, reason, start, len, content_range) = match request.range() {
        None => (200, "OK", 0, total, None),
        Some(range) => match range.content_range(total) {
            Ok(cr) => (206, "Partial Content", cr.start(), cr.len(), Some(cr)),
            Err(_) => {
                return Ok(Response::new(416, "Range Not Satisfiable")
                    .header("content-range", format!("bytes */{total}"))?);
            }
        },
    };
    let mut r = Response::new(status, reason).header("content-type", "application/octet-stream")?;
    if let Some(cr) = content_range {
        r = r.header("content-range", cr.to_string())?;
    }
    if head {
        return Ok(r.header("content-length", len.to_string())?);
    }
    Ok(r.body(Body::new(Pattern { pos: start }, len)))
}

/// An endless reader of the demo pattern: byte at offset `i` is `i % 251`.
#[derive(Clone, Debug)]
pub struct Pattern {
    /// The offset of the next byte.
    pub pos: u64,
}

const PERIOD: usize = 251;

fn period() -> &'static [u8; 2 * PERIOD] {
    static P: std::sync::OnceLock<[u8; 2 * PERIOD]> = std::sync::OnceLock::new();
    P.get_or_init(|| std::array::from_fn(|i| (i % PERIOD) as u8))
}

impl Read for Pattern {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let p = period();
        let mut off = (self.pos % PERIOD as u64) as usize;
        let mut done = 0;
        while done < buf.len() {
            let n = (buf.len() - done).min(PERIOD);
            buf[done..done + n].copy_from_slice(&p[off..off + n]);
            done += n;
            off = (off + n) % PERIOD;
        }
        self.pos += buf.len() as u64;
        Ok(buf.len())
    }
}

/// The chunked wire form of `GET /chunks/K/S`, made as it is read: K
/// chunks of S pattern bytes (each from offset 0), chunk `i` with the
/// extension `i=<i>`, then the final chunk. No chunk is ever held in
/// memory whole, so any S up to [`MAX_CHUNK_SIZE`] costs the same memory.
#[derive(Debug)]
pub struct ChunksWire {
    count: u64,
    size: u64,
    next: u64,
    line: [u8; 64],
    line_len: usize,
    line_pos: usize,
    data_left: u64,
    done: bool,
}

impl ChunksWire {
    /// `count` chunks of `size` bytes (`size` at least 1).
    pub fn new(count: u64, size: u64) -> ChunksWire {
        ChunksWire {
            count,
            size,
            next: 0,
            line: [0; 64],
            line_len: 0,
            line_pos: 0,
            data_left: 0,
            done: false,
        }
    }

    fn set_line(&mut self, args: std::fmt::Arguments<'_>) {
        let mut w = &mut self.line[..];
        // At most 16 hex digits, `;i=`, 16 decimal digits and 4 bytes of
        // CRLF: always fits in 64 bytes.
        let _ = w.write_fmt(args);
        let left = w.len();
        self.line_len = self.line.len() - left;
        self.line_pos = 0;
    }
}

impl Read for ChunksWire {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.line_pos < self.line_len {
                let n = buf.len().min(self.line_len - self.line_pos);
                buf[..n].copy_from_slice(&self.line[self.line_pos..self.line_pos + n]);
                self.line_pos += n;
                return Ok(n);
            }
            if self.data_left > 0 {
                let n = (buf.len() as u64).min(self.data_left) as usize;
                Pattern {
                    pos: self.size - self.data_left,
                }
                .read(&mut buf[..n])?;
                self.data_left -= n as u64;
                if self.data_left == 0 {
                    self.set_line(format_args!("\r\n"));
                }
                return Ok(n);
            }
            if self.next < self.count {
                let (size, i) = (self.size, self.next);
                self.set_line(format_args!("{size:x};i={i}\r\n"));
                self.data_left = size;
                self.next += 1;
            } else if !self.done {
                self.set_line(format_args!("0\r\n\r\n"));
                self.done = true;
            } else {
                return Ok(0);
            }
        }
    }
}

/// Appends `s` to `out` as a JSON string.
pub fn json_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn json_list(out: &mut String, items: &[String]) {
    out.push('[');
    for (i, s) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        json_str(out, s);
    }
    out.push(']');
}

fn info_json(session: &Session, r: &Request) -> String {
    let mut o = String::with_capacity(512);
    o.push_str("{\"method\":");
    json_str(&mut o, r.method.as_str());
    o.push_str(",\"uri\":");
    json_str(&mut o, &r.uri);
    o.push_str(",\"mount\":");
    json_list(&mut o, &r.mount);
    o.push_str(",\"path\":");
    json_list(&mut o, &r.path);
    o.push_str(",\"query\":");
    match &r.query {
        Some(q) => json_str(&mut o, q),
        None => o.push_str("null"),
    }
    o.push_str(",\"headers\":{");
    for (i, (n, v)) in r.headers.iter().enumerate() {
        if i > 0 {
            o.push(',');
        }
        json_str(&mut o, n);
        o.push(':');
        json_str(&mut o, v);
    }
    o.push_str("},\"session\":{\"address\":");
    json_str(&mut o, &session.address().to_string());
    o.push_str(",\"credentials\":");
    match session.credentials() {
        Some(c) => o.push_str(&format!("[{},{},{}]", c.pid, c.uid, c.gid)),
        None => o.push_str("null"),
    }
    o.push_str(&format!(",\"requests\":{}}}}}", session.requests()));
    o
}

/// A handler for program-specific options: gets the option and the
/// remaining arguments, returns whether it took the option.
pub type ExtraOption<'a> =
    dyn FnMut(&str, &mut dyn Iterator<Item = String>) -> Result<bool, String> + 'a;

/// The demo programs' common command line:
/// `[--max-connections N] [--max-requests N] [--timeout SECS] ADDRESS`.
/// `extra` sees every other `--option` first (with the remaining
/// arguments, to take its value) and returns whether it took it.
pub fn parse_args(
    args: impl IntoIterator<Item = String>,
    extra: &mut ExtraOption<'_>,
) -> Result<(ServerOptions, Address), String> {
    let mut opts = ServerOptions::default();
    let mut address = None;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let mut value = |name: &str| -> Result<String, String> {
            args.next().ok_or_else(|| format!("{name} needs a value"))
        };
        match arg.as_str() {
            "--max-connections" => {
                let v = value(&arg)?;
                opts = opts.with_max_connections(
                    v.parse()
                        .map_err(|_| format!("bad --max-connections {v:?}"))?,
                );
            }
            "--max-requests" => {
                let v = value(&arg)?;
                opts = opts
                    .with_max_requests(v.parse().map_err(|_| format!("bad --max-requests {v:?}"))?);
            }
            "--timeout" => {
                let v = value(&arg)?;
                let secs: f64 = v.parse().map_err(|_| format!("bad --timeout {v:?}"))?;
                if !(secs.is_finite() && secs > 0.0) {
                    return Err(format!("bad --timeout {v:?}"));
                }
                opts = opts.with_timeout(Some(Duration::from_secs_f64(secs)));
            }
            a if a.starts_with("--") => {
                if !extra(a, &mut args)? {
                    return Err(format!("unknown option {a}"));
                }
            }
            a => {
                if address.is_some() {
                    return Err(format!("unexpected argument {a:?}"));
                }
                address = Some(a.parse::<Address>().map_err(|e| e.to_string())?);
            }
        }
    }
    opts.validate().map_err(|e| e.to_string())?;
    let address = address.ok_or("missing ADDRESS")?;
    Ok((opts, address))
}

/// A minimal `log` logger to stderr (`DEGU_LOG=debug|info|warn|error|off`,
/// default info), for the demo programs.
pub fn init_stderr_logger() {
    struct Stderr;
    impl log::Log for Stderr {
        fn enabled(&self, m: &log::Metadata<'_>) -> bool {
            m.level() <= log::max_level()
        }
        fn log(&self, r: &log::Record<'_>) {
            if self.enabled(r.metadata()) {
                let _ = writeln!(io::stderr().lock(), "{} {}", r.level(), r.args());
            }
        }
        fn flush(&self) {}
    }
    static LOGGER: Stderr = Stderr;
    let level = match std::env::var("DEGU_LOG").as_deref() {
        Ok("debug") => log::LevelFilter::Debug,
        Ok("warn") => log::LevelFilter::Warn,
        Ok("error") => log::LevelFilter::Error,
        Ok("off") => log::LevelFilter::Off,
        _ => log::LevelFilter::Info,
    };
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(level);
    }
}
