//! Transports (TCP loopback, AF_UNIX paths), the raw-socket floor peers and
//! the raw client that talks to any server without an HTTP library.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// The transport a scenario runs over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// TCP over 127.0.0.1.
    Tcp,
    /// AF_UNIX, a filesystem path in the temp directory.
    Unix,
}

impl Transport {
    /// The name shown in tables.
    pub fn name(self) -> &'static str {
        match self {
            Transport::Tcp => "tcp",
            Transport::Unix => "unix",
        }
    }
}

/// Where a server listens.
#[derive(Clone, Debug)]
pub enum Where {
    /// A TCP address.
    Tcp(SocketAddr),
    /// An AF_UNIX path.
    Unix(PathBuf),
}

impl Where {
    /// A blocking connection to it.
    pub fn connect(&self) -> io::Result<Stream> {
        Ok(match self {
            Where::Tcp(a) => {
                let s = TcpStream::connect(a)?;
                s.set_nodelay(true)?;
                Stream::Tcp(s)
            }
            Where::Unix(p) => Stream::Unix(UnixStream::connect(p)?),
        })
    }

    /// A blocking connection whose connect (TCP), reads and writes each
    /// give up after `t`.
    pub fn connect_within(&self, t: Duration) -> io::Result<Stream> {
        Ok(match self {
            Where::Tcp(a) => {
                let s = TcpStream::connect_timeout(a, t)?;
                s.set_nodelay(true)?;
                s.set_read_timeout(Some(t))?;
                s.set_write_timeout(Some(t))?;
                Stream::Tcp(s)
            }
            Where::Unix(p) => {
                let s = UnixStream::connect(p)?;
                s.set_read_timeout(Some(t))?;
                s.set_write_timeout(Some(t))?;
                Stream::Unix(s)
            }
        })
    }

    /// The same address as Degu spells it.
    pub fn degu(&self) -> degu_core::Address {
        let text = match self {
            Where::Tcp(a) => a.to_string(),
            Where::Unix(p) => format!("unix:{}", p.display()),
        };
        text.parse().expect("a loopback or path address parses")
    }
}

/// A fresh AF_UNIX path, unique in this process, removed first if present.
pub fn unix_path() -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let p = std::env::temp_dir().join(format!("degu-bench-{}-{n}.sock", std::process::id()));
    let _ = std::fs::remove_file(&p);
    p
}

/// A bound listener and its address.
pub enum Listener {
    /// TCP.
    Tcp(TcpListener),
    /// AF_UNIX (the path is removed on drop).
    Unix(UnixListener, PathBuf),
}

impl Listener {
    /// Binds a listener on loopback or a fresh path.
    pub fn bind(t: Transport) -> io::Result<Listener> {
        Ok(match t {
            Transport::Tcp => Listener::Tcp(TcpListener::bind("127.0.0.1:0")?),
            Transport::Unix => {
                let p = unix_path();
                Listener::Unix(UnixListener::bind(&p)?, p)
            }
        })
    }

    /// Where it listens.
    pub fn addr(&self) -> io::Result<Where> {
        Ok(match self {
            Listener::Tcp(l) => Where::Tcp(l.local_addr()?),
            Listener::Unix(_, p) => Where::Unix(p.clone()),
        })
    }

    /// Accepts one connection.
    pub fn accept(&self) -> io::Result<Stream> {
        Ok(match self {
            Listener::Tcp(l) => {
                let (s, _) = l.accept()?;
                s.set_nodelay(true)?;
                Stream::Tcp(s)
            }
            Listener::Unix(l, _) => Stream::Unix(l.accept()?.0),
        })
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let Listener::Unix(_, p) = self {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// A connected stream of either family.
pub enum Stream {
    /// TCP.
    Tcp(TcpStream),
    /// AF_UNIX.
    Unix(UnixStream),
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(buf),
            Stream::Unix(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write(buf),
            Stream::Unix(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The request every small round trip sends (the floor sends exactly
/// these bytes; the raw client sends them to every server).
pub const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n";

/// The floor's fixed response: what the Degu demo app answers to `GET /`.
pub const RESPONSE: &[u8] =
    b"HTTP/1.1 200 OK\r\ncontent-length: 12\r\ncontent-type: text/plain\r\n\r\nhello, world";

/// The body of every small response.
pub const HELLO: &[u8] = b"hello, world";

/// Buffer size of the bulk floor, the raw client and the read/write loop.
pub const BULK_BUF: usize = 1 << 20;

/// A server thread serving one connection; joined on [`stop`](Self::stop).
pub struct OneShot(Option<JoinHandle<io::Result<()>>>);

impl OneShot {
    /// Runs `serve` on a thread of its own.
    pub fn spawn(serve: impl FnOnce() -> io::Result<()> + Send + 'static) -> OneShot {
        OneShot(Some(thread::spawn(serve)))
    }

    /// Waits for the server thread (the client has closed its side).
    pub fn stop(mut self) -> io::Result<()> {
        match self.0.take() {
            Some(h) => h
                .join()
                .map_err(|_| io::Error::other("server thread panicked"))?,
            None => Ok(()),
        }
    }
}

/// The round-trip floor server: on one connection, reads exactly
/// `REQUEST.len()` bytes and writes [`RESPONSE`] in one write, until EOF.
pub fn floor_server(t: Transport) -> io::Result<(Where, OneShot)> {
    let l = Listener::bind(t)?;
    let addr = l.addr()?;
    let h = thread::spawn(move || {
        let mut s = l.accept()?;
        let mut buf = [0u8; REQUEST.len()];
        loop {
            let mut got = 0;
            while got < buf.len() {
                match s.read(&mut buf[got..])? {
                    0 if got == 0 => return Ok(()),
                    0 => return Err(io::ErrorKind::UnexpectedEof.into()),
                    n => got += n,
                }
            }
            s.write_all(RESPONSE)?;
        }
    });
    Ok((addr, OneShot(Some(h))))
}

/// The round-trip floor client: `n` times, one write of [`REQUEST`] and
/// reads until `RESPONSE.len()` bytes, checked once at the end.
pub fn floor_client(s: &mut Stream, n: u64) -> io::Result<()> {
    let mut buf = [0u8; RESPONSE.len()];
    for _ in 0..n {
        s.write_all(REQUEST)?;
        s.read_exact(&mut buf)?;
    }
    if buf != RESPONSE {
        return Err(io::Error::other("floor: wrong response"));
    }
    Ok(())
}

/// What a bulk floor or read/write-loop server sends after the request.
#[derive(Clone, Debug)]
pub enum BulkSource {
    /// `n` bytes written from one in-memory buffer.
    Memory(u64),
    /// A file's contents, copied with a plain read/write loop.
    File(PathBuf),
    /// A file's contents, sent with `sendfile(2)` (the kernel's own speed
    /// for a file body, under any server that uses it).
    Sendfile(PathBuf),
}

/// A one-connection server that reads one request preamble (up to
/// `\r\n\r\n`, unparsed), writes `content-length` and then the body from
/// `src`, then waits for EOF.
pub fn bulk_server(t: Transport, src: BulkSource) -> io::Result<(Where, OneShot)> {
    let l = Listener::bind(t)?;
    let addr = l.addr()?;
    let h = thread::spawn(move || {
        let mut s = l.accept()?;
        let mut req = Vec::new();
        let mut b = [0u8; 1024];
        while !req.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = s.read(&mut b)?;
            if n == 0 || req.len() > 32 * 1024 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            req.extend_from_slice(&b[..n]);
        }
        let mut buf = vec![0u8; BULK_BUF];
        match src {
            BulkSource::Memory(total) => {
                write!(s, "HTTP/1.1 200 OK\r\ncontent-length: {total}\r\n\r\n")?;
                let mut left = total;
                while left > 0 {
                    let k = left.min(buf.len() as u64) as usize;
                    s.write_all(&buf[..k])?;
                    left -= k as u64;
                }
            }
            BulkSource::File(path) => {
                let mut f = std::fs::File::open(path)?;
                let total = f.metadata()?.len();
                write!(s, "HTTP/1.1 200 OK\r\ncontent-length: {total}\r\n\r\n")?;
                loop {
                    let n = f.read(&mut buf)?;
                    if n == 0 {
                        break;
                    }
                    s.write_all(&buf[..n])?;
                }
            }
            BulkSource::Sendfile(path) => {
                let f = std::fs::File::open(path)?;
                let total = f.metadata()?.len();
                write!(s, "HTTP/1.1 200 OK\r\ncontent-length: {total}\r\n\r\n")?;
                let mut pos = 0u64;
                while pos < total {
                    let step = (total - pos).min(1 << 30) as usize;
                    let n = match &s {
                        Stream::Tcp(t) => rustix::fs::sendfile(t, &f, Some(&mut pos), step),
                        Stream::Unix(u) => rustix::fs::sendfile(u, &f, Some(&mut pos), step),
                    }?;
                    if n == 0 {
                        return Err(io::ErrorKind::UnexpectedEof.into());
                    }
                }
            }
        }
        // Until the client closes.
        while s.read(&mut b)? > 0 {}
        Ok(())
    });
    Ok((addr, OneShot(Some(h))))
}

/// A client without an HTTP library: writes a fixed request in one write,
/// reads the response preamble, checks `HTTP/1.1 200 ` and reads exactly
/// `content-length` body bytes (chunked responses are not supported: the
/// servers it meets answer these requests with a content-length).
pub struct RawClient {
    s: Stream,
    buf: Vec<u8>,
}

impl RawClient {
    /// Connects to `w` with a read buffer of `cap` bytes.
    pub fn connect(w: &Where, cap: usize) -> io::Result<RawClient> {
        Ok(RawClient {
            s: w.connect()?,
            buf: vec![0; cap],
        })
    }

    /// Connects to `w` as [`connect`](Self::connect) does, but the connect,
    /// each read and each write give up after `t`.
    pub fn connect_within(w: &Where, cap: usize, t: Duration) -> io::Result<RawClient> {
        Ok(RawClient {
            s: w.connect_within(t)?,
            buf: vec![0; cap],
        })
    }

    /// Sends `request` and reads its response; `sink` sees the body in
    /// pieces. Returns the body length.
    pub fn exchange(&mut self, request: &[u8], mut sink: impl FnMut(&[u8])) -> io::Result<u64> {
        self.s.write_all(request)?;
        let mut have = 0;
        let head_end = loop {
            let n = self.s.read(&mut self.buf[have..])?;
            if n == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            have += n;
            if let Some(i) = find(&self.buf[..have], b"\r\n\r\n") {
                break i + 4;
            }
            if have == self.buf.len() {
                return Err(io::Error::other("raw client: preamble too long"));
            }
        };
        let head = &self.buf[..head_end];
        if !head.starts_with(b"HTTP/1.1 200 ") {
            return Err(io::Error::other(format!(
                "raw client: not a 200: {:?}",
                String::from_utf8_lossy(head)
            )));
        }
        let total = content_length(head)
            .ok_or_else(|| io::Error::other("raw client: no content-length"))?;
        let first = (have - head_end) as u64;
        if first > total {
            return Err(io::Error::other("raw client: bytes past the body"));
        }
        sink(&self.buf[head_end..have]);
        let mut left = total - first;
        while left > 0 {
            let k = left.min(self.buf.len() as u64) as usize;
            let n = self.s.read(&mut self.buf[..k])?;
            if n == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            sink(&self.buf[..n]);
            left -= n as u64;
        }
        Ok(total)
    }

    /// [`exchange`](Self::exchange) of [`REQUEST`], checking the body is
    /// `hello, world`.
    pub fn hello(&mut self) -> io::Result<()> {
        let mut ok = true;
        let mut at = 0;
        let n = self.exchange(REQUEST, |piece| {
            ok &= HELLO.get(at..at + piece.len()) == Some(piece);
            at += piece.len();
        })?;
        if ok && n == HELLO.len() as u64 {
            Ok(())
        } else {
            Err(io::Error::other("raw client: wrong body"))
        }
    }
}

/// Where `needle` (not empty) first occurs in `hay`.
pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    // Preambles are short: a plain scan beats building a searcher.
    let first = needle[0];
    let mut at = 0;
    while let Some(i) = memchr::memchr(first, &hay[at..]) {
        let start = at + i;
        if hay[start..].starts_with(needle) {
            return Some(start);
        }
        at = start + 1;
    }
    None
}

/// The value of the `content-length` header (any case) of a preamble.
pub fn content_length(head: &[u8]) -> Option<u64> {
    const NAME: &[u8] = b"content-length:";
    for nl in memchr::memchr_iter(b'\n', head) {
        let line = &head[nl + 1..];
        if line.len() > NAME.len() && line[..NAME.len()].eq_ignore_ascii_case(NAME) {
            let value = &line[NAME.len()..];
            let end = memchr::memchr(b'\r', value)?;
            let digits = value[..end].trim_ascii();
            if digits.is_empty() || digits.len() > 16 || !digits.iter().all(u8::is_ascii_digit) {
                return None;
            }
            return Some(digits.iter().fold(0, |n, d| n * 10 + u64::from(d - b'0')));
        }
    }
    None
}
