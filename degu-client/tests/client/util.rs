//! Test helpers: temp dirs, listeners on every address family, and canned
//! servers written with std sockets.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv6Addr, TcpListener, TcpStream};
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr as UnixAddr, UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use degu_client::{Address, Chunk, Client};

/// Every socket in these tests times out after this long: a broken test
/// fails instead of hanging.
pub const TIMEOUT: Duration = Duration::from_secs(10);

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A name unique to this process and call.
pub fn unique(tag: &str) -> String {
    format!(
        "degu-client-test-{}-{tag}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    )
}

/// A directory removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let path = std::env::temp_dir().join(unique(tag));
        std::fs::create_dir(&path).unwrap();
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A client for `address` with the test timeout.
pub fn client(address: &Address) -> Client {
    let mut c = Client::new(address.clone());
    c = c.with_timeout(Some(TIMEOUT));
    c
}

/// A listening socket of any family, bound before the test goes on (so
/// the address is known and connecting never races the server).
pub enum Listener {
    Tcp(TcpListener),
    Unix(UnixListener),
}

impl Listener {
    pub fn tcp4() -> (Listener, Address) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let a = Address::from(l.local_addr().unwrap());
        (Listener::Tcp(l), a)
    }

    /// `None` when the machine has no IPv6 loopback.
    pub fn tcp6() -> Option<(Listener, Address)> {
        let l = TcpListener::bind((Ipv6Addr::LOCALHOST, 0)).ok()?;
        let a = Address::from(l.local_addr().unwrap());
        Some((Listener::Tcp(l), a))
    }

    pub fn unix(dir: &TempDir) -> (Listener, Address) {
        let path = dir.path().join("s.sock");
        let l = UnixListener::bind(&path).unwrap();
        (Listener::Unix(l), Address::unix(path).unwrap())
    }

    pub fn abstract_name() -> (Listener, Address) {
        let name = unique("abs");
        let l = UnixListener::bind_addr(&UnixAddr::from_abstract_name(&name).unwrap()).unwrap();
        (Listener::Unix(l), Address::abstract_name(name).unwrap())
    }

    pub fn accept(&self) -> Peer {
        let stream = match self {
            Listener::Tcp(l) => Stream::Tcp(l.accept().unwrap().0),
            Listener::Unix(l) => Stream::Unix(l.accept().unwrap().0),
        };
        stream.set_timeout(TIMEOUT);
        Peer {
            r: BufReader::new(stream.try_clone()),
            w: stream,
        }
    }
}

/// The server side of a connection.
pub enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Stream {
    fn try_clone(&self) -> Stream {
        match self {
            Stream::Tcp(s) => Stream::Tcp(s.try_clone().unwrap()),
            Stream::Unix(s) => Stream::Unix(s.try_clone().unwrap()),
        }
    }

    /// Shuts the write half down; an error (the client already closed
    /// the connection) is ignored.
    fn shutdown_write(&self) {
        let _ = match self {
            Stream::Tcp(s) => s.shutdown(std::net::Shutdown::Write),
            Stream::Unix(s) => s.shutdown(std::net::Shutdown::Write),
        };
    }

    fn set_timeout(&self, t: Duration) {
        match self {
            Stream::Tcp(s) => {
                s.set_read_timeout(Some(t)).unwrap();
                s.set_write_timeout(Some(t)).unwrap();
            }
            Stream::Unix(s) => {
                s.set_read_timeout(Some(t)).unwrap();
                s.set_write_timeout(Some(t)).unwrap();
            }
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(buf),
            Stream::Unix(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write(buf),
            Stream::Unix(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A request as a canned server saw it.
#[derive(Debug, Default)]
pub struct Req {
    /// Request line and header lines, each with its `\r\n`, and the final
    /// `\r\n`: exactly the bytes on the wire.
    pub head: String,
    /// The request line without `\r\n`.
    pub line: String,
    /// Header pairs in wire order.
    pub headers: Vec<(String, String)>,
    /// The body's bytes exactly as on the wire (chunk framing included).
    pub wire: Vec<u8>,
    /// The body's data (chunks joined).
    pub body: Vec<u8>,
    /// For a chunked body, its chunks (the final empty one included).
    pub chunks: Option<Vec<Chunk>>,
}

impl Req {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The server's end of one accepted connection.
pub struct Peer {
    r: BufReader<Stream>,
    w: Stream,
}

impl Peer {
    fn line(&mut self, wire: &mut Vec<u8>) -> Option<String> {
        let mut line = Vec::new();
        if self.r.read_until(b'\n', &mut line).unwrap() == 0 {
            return None;
        }
        wire.extend_from_slice(&line);
        assert!(line.ends_with(b"\r\n"), "line without CRLF: {line:?}");
        line.truncate(line.len() - 2);
        Some(String::from_utf8(line).unwrap())
    }

    /// Reads one request with its body; `None` at a clean end of stream.
    pub fn read_request(&mut self) -> Option<Req> {
        let mut req = self.read_head()?;
        self.read_body(&mut req);
        Some(req)
    }

    /// Reads and discards what the client sends until it closes; returns
    /// how many bytes that was.
    pub fn drain(&mut self) -> u64 {
        std::io::copy(&mut self.r, &mut std::io::sink()).unwrap()
    }

    /// Reads one request's preamble (not its body); `None` at a clean end
    /// of stream.
    pub fn read_head(&mut self) -> Option<Req> {
        let mut req = Req::default();
        let mut head = Vec::new();
        req.line = self.line(&mut head)?;
        loop {
            let line = self.line(&mut head).expect("eof in preamble");
            if line.is_empty() {
                break;
            }
            let (n, v) = line.split_once(": ").expect("header line");
            req.headers.push((n.to_owned(), v.to_owned()));
        }
        req.head = String::from_utf8(head).unwrap();
        Some(req)
    }

    /// Reads the body `req`'s preamble declares into it.
    pub fn read_body(&mut self, req: &mut Req) {
        if let Some(n) = req.header("content-length") {
            let mut body = vec![0u8; n.parse().unwrap()];
            self.r.read_exact(&mut body).unwrap();
            req.wire = body.clone();
            req.body = body;
        } else if req.header("transfer-encoding") == Some("chunked") {
            let mut chunks = Vec::new();
            loop {
                let size_line = self.line(&mut req.wire).expect("eof in chunk line");
                let (size, ext) = match size_line.split_once(';') {
                    Some((s, e)) => {
                        let (k, v) = e.split_once('=').unwrap();
                        (s.to_owned(), Some((k.to_owned(), v.to_owned())))
                    }
                    None => (size_line.clone(), None),
                };
                let size = usize::from_str_radix(&size, 16).unwrap();
                let mut data = vec![0u8; size + 2];
                self.r.read_exact(&mut data).unwrap();
                req.wire.extend_from_slice(&data);
                assert_eq!(&data[size..], b"\r\n");
                data.truncate(size);
                req.body.extend_from_slice(&data);
                chunks.push(Chunk { ext, data });
                if size == 0 {
                    break;
                }
            }
            req.chunks = Some(chunks);
        }
    }

    /// Writes raw bytes.
    pub fn write(&mut self, bytes: impl AsRef<[u8]>) {
        self.w.write_all(bytes.as_ref()).unwrap();
    }

    /// Writes `HTTP/1.1 200 OK` with a content-length body.
    pub fn ok(&mut self, body: &[u8]) {
        let mut out =
            format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n", body.len()).into_bytes();
        out.extend_from_slice(body);
        self.write(out);
    }

    /// Ends the server's side of the connection (the client reads the end
    /// of the stream) while still reading what the client sends.
    pub fn shutdown_write(&mut self) {
        self.w.shutdown_write();
    }

    /// Reads until the client closes (true) or the timeout passes (false).
    pub fn wait_eof(&mut self) -> bool {
        let mut buf = [0u8; 4096];
        loop {
            match self.r.read(&mut buf) {
                Ok(0) => return true,
                Ok(_) => {}
                Err(_) => return false,
            }
        }
    }
}

/// A server thread serving one connection with a canned script.
pub struct Canned {
    pub address: Address,
    thread: Option<JoinHandle<()>>,
}

impl Canned {
    /// Accepts one connection on `listener` and runs `script` on it in a
    /// thread.
    pub fn start(
        (listener, address): (Listener, Address),
        script: impl FnOnce(&mut Peer) + Send + 'static,
    ) -> Canned {
        let thread = std::thread::spawn(move || {
            let mut peer = listener.accept();
            script(&mut peer);
        });
        Canned {
            address,
            thread: Some(thread),
        }
    }

    /// Waits for the script to end; its panics (failed assertions) fail
    /// the test.
    pub fn join(mut self) {
        if let Some(t) = self.thread.take()
            && let Err(e) = t.join()
        {
            std::panic::resume_unwind(e);
        }
    }
}

/// Bytes where byte i is `i % 251`.
pub fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i % 251) as u8).collect()
}
