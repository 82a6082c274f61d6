//! Helpers: raw-socket clients with explicit timeouts, servers on loopback
//! or AF_UNIX, per-test temp dirs, the demo pattern, RSS, a tiny JSON
//! reader.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr as UnixAddr, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use degu_core::{ChunkedBody, Framing, IPV4_LOOPBACK, Reader};
use degu_server::{Address, App, Chunk, Server, ServerHandle, ServerOptions};

/// Names the test a child process runs (see [`in_child`]).
const CHILD: &str = "DEGU_TEST_CHILD";

/// Runs the test `path` (`module::child_name`) alone in a child process,
/// for what only works in a process of its own (leak counts, a global
/// logger, a lowered descriptor limit): re-executes this binary with
/// `--exact` on it and an environment variable telling it to run (`child_*`
/// tests do nothing otherwise). Panics with the child's output when it
/// fails.
pub fn in_child(path: &str) {
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new(exe)
        .args([path, "--exact", "--test-threads=1", "--nocapture"])
        .env(CHILD, path)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{path} failed:\n{text}");
    assert!(text.contains("1 passed"), "{path} did not run:\n{text}");
}

/// Whether this process is the child that runs the test `path`.
pub fn is_child(path: &str) -> bool {
    std::env::var(CHILD).as_deref() == Ok(path)
}

/// Read and write timeout of every test client socket.
pub const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// The demo pattern: byte at offset `i` is `i % 251`.
pub fn pattern(start: u64, len: usize) -> Vec<u8> {
    (0..len as u64).map(|i| ((start + i) % 251) as u8).collect()
}

/// Tests that move a lot of data or measure RSS run one at a time.
pub fn big_lock() -> MutexGuard<'static, ()> {
    static BIG: Mutex<()> = Mutex::new(());
    BIG.lock().unwrap_or_else(|p| p.into_inner())
}

/// A server running `app` on 127.0.0.1, port 0.
pub fn serve(app: impl App, options: ServerOptions) -> ServerHandle {
    serve_at(&IPV4_LOOPBACK, app, options)
}

/// A server running `app` at `address`.
pub fn serve_at(address: &Address, app: impl App, options: ServerOptions) -> ServerHandle {
    Server::bind(address, app, options)
        .unwrap_or_else(|e| panic!("bind {address}: {e}"))
        .spawn()
        .unwrap()
}

/// The demo app on 127.0.0.1 with default options.
pub fn serve_demo() -> ServerHandle {
    serve(degu_server::demo::app, ServerOptions::default())
}

/// A connected client socket: TCP or AF_UNIX.
#[derive(Debug)]
pub enum Stream {
    /// TCP.
    Tcp(TcpStream),
    /// AF_UNIX.
    Unix(UnixStream),
}

impl Stream {
    /// Connects to `address` with [`IO_TIMEOUT`] on reads and writes.
    pub fn connect(address: &Address) -> io::Result<Stream> {
        let s = match address {
            Address::Tcp4 { .. } | Address::Tcp6 { .. } => {
                let sa = address.socket_addr().unwrap().unwrap();
                Stream::Tcp(TcpStream::connect_timeout(&sa, IO_TIMEOUT)?)
            }
            Address::Unix(path) => Stream::Unix(UnixStream::connect(path)?),
            Address::Abstract(name) => Stream::Unix(UnixStream::connect_addr(
                &UnixAddr::from_abstract_name(name)?,
            )?),
            Address::Dns { .. } => panic!("tests connect to IP or AF_UNIX addresses"),
        };
        match &s {
            Stream::Tcp(t) => {
                t.set_read_timeout(Some(IO_TIMEOUT))?;
                t.set_write_timeout(Some(IO_TIMEOUT))?;
            }
            Stream::Unix(u) => {
                u.set_read_timeout(Some(IO_TIMEOUT))?;
                u.set_write_timeout(Some(IO_TIMEOUT))?;
            }
        }
        Ok(s)
    }

    /// Another handle to the same socket.
    pub fn try_clone(&self) -> Stream {
        match self {
            Stream::Tcp(t) => Stream::Tcp(t.try_clone().unwrap()),
            Stream::Unix(u) => Stream::Unix(u.try_clone().unwrap()),
        }
    }

    /// Shuts down one or both directions (errors ignored: the peer may
    /// have closed already).
    pub fn shutdown(&self, how: Shutdown) {
        let _ = match self {
            Stream::Tcp(t) => t.shutdown(how),
            Stream::Unix(u) => u.shutdown(how),
        };
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(t) => t.read(buf),
            Stream::Unix(u) => u.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(t) => t.write(buf),
            Stream::Unix(u) => u.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A response's body as read by [`Client`].
#[derive(Debug, PartialEq, Eq)]
pub enum RespBody {
    /// No body (HEAD, or a response without framing headers).
    None,
    /// A content-length body.
    Bytes(Vec<u8>),
    /// A chunked body, every chunk including the final empty one.
    Chunks(Vec<Chunk>),
}

/// A response preamble, copied out of the reader.
#[derive(Debug)]
pub struct Head {
    /// Status code.
    pub status: u16,
    /// Reason phrase.
    pub reason: String,
    /// Headers in wire order.
    pub headers: Vec<(String, String)>,
    /// Body framing the headers declare.
    pub framing: Framing,
}

impl Head {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A whole response.
#[derive(Debug)]
pub struct Resp {
    /// The preamble.
    pub head: Head,
    /// The body.
    pub body: RespBody,
}

impl Resp {
    /// Status code.
    pub fn status(&self) -> u16 {
        self.head.status
    }

    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.header(name)
    }

    /// The body's bytes (chunk data concatenated); empty for no body.
    pub fn bytes(&self) -> Vec<u8> {
        match &self.body {
            RespBody::None => Vec::new(),
            RespBody::Bytes(b) => b.clone(),
            RespBody::Chunks(c) => c.iter().flat_map(|c| c.data.iter().copied()).collect(),
        }
    }

    /// The body as UTF-8 text.
    pub fn text(&self) -> String {
        String::from_utf8(self.bytes()).unwrap()
    }

    /// The body parsed as JSON.
    pub fn json(&self) -> Json {
        Json::parse(&self.text())
    }
}

/// How a connection ended, seen from the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ending {
    /// An orderly close (read returned 0).
    Eof,
    /// A reset (the server closed with bytes of ours unread).
    Reset,
}

/// A raw-socket HTTP client: writes whatever bytes a test gives it and
/// parses responses with degu-core's `Reader`.
pub struct Client {
    reader: Reader<Stream>,
}

impl Client {
    /// Connects to `address` (panics on failure).
    pub fn connect(address: &Address) -> Client {
        let s = Stream::connect(address).unwrap_or_else(|e| panic!("connect {address}: {e}"));
        Client::from_stream(s)
    }

    /// Wraps a connected stream.
    pub fn from_stream(s: Stream) -> Client {
        Client {
            reader: Reader::new(s),
        }
    }

    /// The socket.
    pub fn stream(&self) -> &Stream {
        self.reader.get_ref()
    }

    /// The buffered reader, for streaming a body.
    pub fn reader(&mut self) -> &mut Reader<Stream> {
        &mut self.reader
    }

    /// Writes `bytes` in one `write_all`.
    pub fn send(&mut self, bytes: impl AsRef<[u8]>) {
        self.reader.get_mut().write_all(bytes.as_ref()).unwrap();
    }

    /// Writes `bytes`, returning any error (the server may have closed).
    pub fn try_send(&mut self, bytes: impl AsRef<[u8]>) -> io::Result<()> {
        self.reader.get_mut().write_all(bytes.as_ref())
    }

    /// Sends `METHOD URI` without headers or body and reads the response.
    pub fn request(&mut self, method: &str, uri: &str) -> Resp {
        self.send(format!("{method} {uri} HTTP/1.1\r\n\r\n"));
        self.response(method == "HEAD")
    }

    /// `GET uri`.
    pub fn get(&mut self, uri: &str) -> Resp {
        self.request("GET", uri)
    }

    /// `METHOD uri` with a content-length body.
    pub fn send_body(&mut self, method: &str, uri: &str, body: &[u8]) -> Resp {
        let mut req = format!(
            "{method} {uri} HTTP/1.1\r\ncontent-length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        req.extend_from_slice(body);
        self.send(req);
        self.response(false)
    }

    /// Reads one response preamble (panics if there is none).
    pub fn head(&mut self) -> Head {
        let p = self
            .reader
            .read_response()
            .unwrap_or_else(|e| panic!("reading a response preamble: {e}"));
        Head {
            status: p.status,
            reason: p.reason.to_owned(),
            headers: p
                .headers
                .iter()
                .map(|(n, v)| (n.to_owned(), v.to_owned()))
                .collect(),
            framing: p.typed.framing,
        }
    }

    /// Reads one whole response; `to_head` says it answers a HEAD request
    /// (so it has no body whatever its headers say).
    pub fn response(&mut self, to_head: bool) -> Resp {
        let head = self.head();
        let body = match head.framing {
            _ if to_head => RespBody::None,
            Framing::None => RespBody::None,
            Framing::Length(n) => RespBody::Bytes(self.raw(n as usize)),
            Framing::Chunked => {
                let mut body = ChunkedBody::from_source(&mut self.reader);
                let mut chunks = Vec::new();
                while let Some(c) = body.read_chunk().unwrap() {
                    chunks.push(c);
                }
                RespBody::Chunks(chunks)
            }
        };
        Resp { head, body }
    }

    /// Reads exactly `n` raw bytes.
    pub fn raw(&mut self, n: usize) -> Vec<u8> {
        let mut v = vec![0u8; n];
        self.reader
            .read_exact(&mut v)
            .unwrap_or_else(|e| panic!("reading {n} bytes: {e}"));
        v
    }

    /// Reads everything until the server closes (at most 64 MiB): the
    /// bytes and how it ended. Panics if the close does not come within
    /// the socket timeout.
    pub fn finish(&mut self) -> (Vec<u8>, Ending) {
        let mut out = self.reader.buffered().to_vec();
        let n = out.len();
        self.reader.consume(n);
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            assert!(out.len() < 64 << 20, "the server keeps sending");
            match self.reader.get_mut().read(&mut buf) {
                Ok(0) => return (out, Ending::Eof),
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {
                    return (out, Ending::Reset);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => panic!(
                    "the connection was not closed ({e}) after {} bytes: {:?}",
                    out.len(),
                    String::from_utf8_lossy(&out)
                ),
            }
        }
    }

    /// Asserts the server closes the connection without sending anything
    /// more.
    pub fn expect_closed(&mut self) {
        let (rest, _) = self.finish();
        assert!(
            rest.is_empty(),
            "expected a close, got {:?}",
            String::from_utf8_lossy(&rest)
        );
    }
}

/// A request with no body: `METHOD URI HTTP/1.1` and `headers`.
pub fn req(method: &str, uri: &str, headers: &[(&str, &str)]) -> Vec<u8> {
    let mut s = format!("{method} {uri} HTTP/1.1\r\n");
    for (n, v) in headers {
        s.push_str(&format!("{n}: {v}\r\n"));
    }
    s.push_str("\r\n");
    s.into_bytes()
}

/// Encodes chunks as a chunked body (the last one should be empty).
pub fn chunked(chunks: &[Chunk]) -> Vec<u8> {
    let mut out = Vec::new();
    for c in chunks {
        out.extend_from_slice(format!("{:x}", c.data.len()).as_bytes());
        if let Some((k, v)) = &c.ext {
            out.extend_from_slice(format!(";{k}={v}").as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&c.data);
        if !c.data.is_empty() {
            out.extend_from_slice(b"\r\n");
        }
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// A directory under the system temp dir, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    /// A new, empty directory.
    pub fn new() -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::SeqCst);
        let path =
            std::env::temp_dir().join(format!("degu-server-test-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A field of `/proc/self/status` (for example `VmRSS` or `Uid`).
pub fn proc_status(field: &str) -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .unwrap_or_else(|| panic!("no {field} in /proc/self/status"))
        .trim()
        .to_owned()
}

/// This process's resident set size in bytes.
pub fn rss() -> u64 {
    let kib = proc_status("VmRSS");
    kib.trim_end_matches("kB").trim().parse::<u64>().unwrap() * 1024
}

/// True when `cmd` is an executable on PATH.
pub fn on_path(cmd: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths).any(|dir| {
            let p = dir.join(cmd);
            std::fs::metadata(&p).is_ok_and(|m| m.is_file())
        })
    })
}

/// A JSON value, just enough to read `/info`.
#[derive(Clone, Debug, PartialEq)]
pub enum Json {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number.
    Num(f64),
    /// A string.
    Str(String),
    /// An array.
    Arr(Vec<Json>),
    /// An object, members in order.
    Obj(Vec<(String, Json)>),
}

impl Json {
    /// Parses a whole document (panics on malformed input).
    pub fn parse(text: &str) -> Json {
        let mut p = JsonParser {
            s: text.as_bytes(),
            i: 0,
        };
        let v = p.value();
        p.ws();
        assert_eq!(p.i, p.s.len(), "trailing bytes in JSON {text:?}");
        v
    }

    /// An object member (panics if missing).
    pub fn get(&self, key: &str) -> &Json {
        match self {
            Json::Obj(m) => m
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v)
                .unwrap_or_else(|| panic!("no {key:?} in {self:?}")),
            _ => panic!("{self:?} is not an object"),
        }
    }

    /// The string value (panics otherwise).
    pub fn str(&self) -> &str {
        match self {
            Json::Str(s) => s,
            _ => panic!("{self:?} is not a string"),
        }
    }

    /// The number as an integer (panics otherwise).
    pub fn int(&self) -> u64 {
        match self {
            Json::Num(n) => *n as u64,
            _ => panic!("{self:?} is not a number"),
        }
    }

    /// An array of strings as a `Vec<&str>` (panics otherwise).
    pub fn strs(&self) -> Vec<&str> {
        match self {
            Json::Arr(a) => a.iter().map(Json::str).collect(),
            _ => panic!("{self:?} is not an array"),
        }
    }

    /// An object of strings as `(name, value)` pairs (panics otherwise).
    pub fn pairs(&self) -> Vec<(&str, &str)> {
        match self {
            Json::Obj(m) => m.iter().map(|(k, v)| (k.as_str(), v.str())).collect(),
            _ => panic!("{self:?} is not an object"),
        }
    }
}

struct JsonParser<'a> {
    s: &'a [u8],
    i: usize,
}

impl JsonParser<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }

    fn eat(&mut self, b: u8) {
        self.ws();
        assert_eq!(
            self.s.get(self.i),
            Some(&b),
            "JSON: expected {:?}",
            b as char
        );
        self.i += 1;
    }

    fn peek(&mut self) -> u8 {
        self.ws();
        *self.s.get(self.i).expect("JSON: unexpected end")
    }

    fn value(&mut self) -> Json {
        match self.peek() {
            b'n' => self.word("null", Json::Null),
            b't' => self.word("true", Json::Bool(true)),
            b'f' => self.word("false", Json::Bool(false)),
            b'"' => Json::Str(self.string()),
            b'[' => {
                self.eat(b'[');
                let mut items = Vec::new();
                if self.peek() == b']' {
                    self.eat(b']');
                    return Json::Arr(items);
                }
                loop {
                    items.push(self.value());
                    if self.peek() == b',' {
                        self.eat(b',');
                    } else {
                        self.eat(b']');
                        return Json::Arr(items);
                    }
                }
            }
            b'{' => {
                self.eat(b'{');
                let mut members = Vec::new();
                if self.peek() == b'}' {
                    self.eat(b'}');
                    return Json::Obj(members);
                }
                loop {
                    self.ws();
                    let k = self.string();
                    self.eat(b':');
                    members.push((k, self.value()));
                    if self.peek() == b',' {
                        self.eat(b',');
                    } else {
                        self.eat(b'}');
                        return Json::Obj(members);
                    }
                }
            }
            _ => {
                let start = self.i;
                while self.i < self.s.len() && b"-+.eE0123456789".contains(&self.s[self.i]) {
                    self.i += 1;
                }
                let text = std::str::from_utf8(&self.s[start..self.i]).unwrap();
                Json::Num(
                    text.parse()
                        .unwrap_or_else(|_| panic!("JSON number {text:?}")),
                )
            }
        }
    }

    fn word(&mut self, w: &str, v: Json) -> Json {
        assert!(
            self.s[self.i..].starts_with(w.as_bytes()),
            "JSON: expected {w}"
        );
        self.i += w.len();
        v
    }

    fn string(&mut self) -> String {
        self.eat(b'"');
        let mut out = String::new();
        loop {
            let c = self.s[self.i];
            self.i += 1;
            match c {
                b'"' => return out,
                b'\\' => {
                    let e = self.s[self.i];
                    self.i += 1;
                    match e {
                        b'"' | b'\\' | b'/' => out.push(e as char),
                        b'n' => out.push('\n'),
                        b't' => out.push('\t'),
                        b'r' => out.push('\r'),
                        b'u' => {
                            let hex = std::str::from_utf8(&self.s[self.i..self.i + 4]).unwrap();
                            self.i += 4;
                            out.push(
                                char::from_u32(u32::from_str_radix(hex, 16).unwrap()).unwrap(),
                            );
                        }
                        _ => panic!("JSON: bad escape {:?}", e as char),
                    }
                }
                _ => out.push(c as char),
            }
        }
    }
}
