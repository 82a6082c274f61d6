//! A whole connection: any bytes in, through `degu_server::serve_transport`
//! and the demo app over an in-memory transport, bytes out. Invariants:
//!
//! - the transport is never read again once it reported its end;
//! - the output is a sequence of valid responses (only the last may be
//!   cut short, and only when the input's last request was cut short too,
//!   its body streamed back as it broke, or the output cap was hit); every
//!   one is framed, but for a body sent to an HTTP/1.0 client that would
//!   need chunks, which the end of the connection delimits (the response
//!   says `connection: close`);
//! - no final response follows one that says `connection: close` (a
//!   rejected request's bare 4xx/5xx among them): nothing more is written;
//! - the final responses are never more than the requests that can be
//!   framed in the input (whole requests, plus one for a preamble that is
//!   refused or whose body breaks), nor more than `max_requests`.
//!
//! The first input byte sets the transport's read size (1..=64, or
//! unlimited) and `max_requests` (1..=8); the rest is what the peer sends.
#![no_main]

use std::io::{self, Read, Write};
use std::sync::{Arc, Mutex};

use degu_core::headers::has_token;
use degu_core::{Body, ChunkedBody, Framing, Method, Reader, Transport, Version};
use degu_server::{ConnectionInfo, Session, serve_transport};
use libfuzzer_sys::fuzz_target;

/// Output past this is refused (`/bytes/N` may ask for a lot).
const OUTPUT_CAP: usize = 256 * 1024;

#[derive(Default)]
struct State {
    input: Vec<u8>,
    pos: usize,
    step: usize,
    eof_seen: bool,
    reads_after_eof: usize,
    output: Vec<u8>,
    capped: bool,
}

struct Pipe(Arc<Mutex<State>>);

impl Read for Pipe {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut s = self.0.lock().unwrap();
        if s.eof_seen {
            s.reads_after_eof += 1;
            return Ok(0);
        }
        let n = buf.len().min(s.step).min(s.input.len() - s.pos);
        if n == 0 && !buf.is_empty() {
            s.eof_seen = true;
            return Ok(0);
        }
        let pos = s.pos;
        buf[..n].copy_from_slice(&s.input[pos..pos + n]);
        s.pos += n;
        Ok(n)
    }
}

impl Write for Pipe {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut s = self.0.lock().unwrap();
        if s.output.len() + buf.len() > OUTPUT_CAP {
            s.capped = true;
            return Err(io::Error::new(io::ErrorKind::BrokenPipe, "output cap"));
        }
        s.output.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Transport for Pipe {}

/// How the input frames: the methods of the whole requests, in order;
/// whether one more preamble follows that is refused or whose body is
/// broken or cut short (it may get one response, possibly cut short); and
/// the versions of the requests whose preambles parse (the whole ones and
/// one with a broken body).
fn frame_requests(input: &[u8]) -> (Vec<Method>, bool, Vec<Version>) {
    let mut methods = Vec::new();
    let mut versions = Vec::new();
    let mut r = Reader::new(input);
    loop {
        let (method, framing) = match r.read_request() {
            Ok(None) => return (methods, false, versions),
            Ok(Some(p)) => {
                versions.push(p.version);
                (p.method, p.typed.framing)
            }
            Err(_) => return (methods, true, versions),
        };
        let body_ok = match framing {
            Framing::None => true,
            Framing::Length(n) => Body::from_source(&mut r, n).read_all().is_ok(),
            Framing::Chunked => ChunkedBody::from_source(&mut r).read_all().is_ok(),
        };
        if !body_ok {
            return (methods, true, versions);
        }
        methods.push(method);
    }
}

/// The output as responses: `(status, says close)` of each final response,
/// whether the output ended cleanly between responses, and whether the
/// last response's body ran to the end of the output (delimited by the
/// end of the connection: whole or cut short, the output cannot tell).
fn parse_output(output: &[u8], methods: &[Method]) -> (Vec<(u16, bool)>, bool, bool) {
    let mut r = Reader::new(output);
    let mut finals = Vec::new();
    loop {
        let (status, close, framing) = match r.read_preamble() {
            Ok(None) => return (finals, true, false),
            Err(_) => return (finals, false, false),
            Ok(Some(buf)) => match degu_core::parse_response(buf) {
                Ok(p) => (
                    p.status,
                    p.headers
                        .get_all("connection")
                        .any(|v| has_token(v, "close")),
                    p.typed.framing,
                ),
                Err(e) => panic!("the server wrote an invalid response preamble: {e}"),
            },
        };
        if status < 200 {
            assert_eq!(status, 100, "the only interim response is 100 Continue");
            assert_eq!(framing, Framing::None);
            continue;
        }
        let head = methods.get(finals.len()) == Some(&Method::Head);
        finals.push((status, close));
        let bodiless = head || status == 204 || status == 304;
        let ok = match framing {
            _ if bodiless => true,
            // Delimited by the end of the connection: the rest is its body.
            Framing::None if close => return (finals, true, true),
            Framing::None => panic!("a response without framing: {status}"),
            Framing::Length(n) => Body::from_source(&mut r, n).read_all().is_ok(),
            Framing::Chunked => ChunkedBody::from_source(&mut r).read_all().is_ok(),
        };
        if !ok {
            return (finals, false, false);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&knob, input)) = data.split_first() else {
        return;
    };
    let step = match knob & 0x3f {
        0 => usize::MAX,
        s => s as usize,
    };
    let max_requests = u64::from(knob >> 6) * 2 + 2; // 2, 4, 6, 8
    let state = Arc::new(Mutex::new(State {
        input: input.to_vec(),
        step,
        ..State::default()
    }));
    let mut session = Session::new(degu_core::IPV4_LOOPBACK, None, max_requests);
    let _reason = serve_transport(
        Box::new(Pipe(state.clone())),
        &ConnectionInfo::default(),
        &mut session,
        &degu_server::demo::app,
    );
    let s = state.lock().unwrap();
    assert_eq!(s.reads_after_eof, 0, "read again after the end of input");

    let (methods, trailing, versions) = frame_requests(input);
    let (finals, clean, open_ended) = parse_output(&s.output, &methods);

    // Only an HTTP/1.0 client gets a body delimited by the end of the
    // connection.
    if open_ended {
        assert_eq!(
            versions.get(finals.len() - 1),
            Some(&Version::Http10),
            "a response without framing to an HTTP/1.1 request"
        );
    }

    // Nothing after a response that closes the connection.
    if let Some(i) = finals.iter().position(|&(_, close)| close) {
        assert_eq!(i + 1, finals.len(), "a response after connection: close");
    }
    // A refused or broken request is the last one answered.
    let bound = methods.len() + usize::from(trailing);
    assert!(
        finals.len() <= bound,
        "{} responses for {} framed requests (+{})",
        finals.len(),
        methods.len(),
        trailing as u8
    );
    assert!(finals.len() as u64 <= max_requests, "past max_requests");
    // Every response the app gave was counted; past those, at most one:
    // a refusal, or a response cut short.
    let counted = session.requests() as usize;
    assert!(counted <= finals.len() && finals.len() <= counted + 1);
    if finals.len() == counted + 1 && clean && !open_ended {
        let (status, close) = finals[counted];
        assert!(status >= 400 && close, "an uncounted response {status}");
    }
    // A response cut short: only for a request cut short, or the cap.
    if !clean {
        assert!(
            s.capped || (trailing && finals.len() == methods.len() + 1),
            "output cut short without cause: {} responses, {} requests, trailing {trailing}",
            finals.len(),
            methods.len()
        );
    }
});
