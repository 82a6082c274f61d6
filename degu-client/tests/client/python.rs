//! Against Python's standard library server (http.server), started by the
//! test: static files, a chunked response with extensions, an echo, and
//! `Connection: close` on errors.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use degu_client::{Address, Chunk, Headers, Incoming, Version};

use crate::util::{TIMEOUT, TempDir, client, pattern};

const SERVER: &str = r#"
import http.server, sys

class Handler(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive; every response framed

    def do_GET(self):
        if self.path == "/chunked":
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i, part in enumerate([b"hello", b", ", b"world"]):
                self.wfile.write(b"%x;i=%d\r\n%s\r\n" % (len(part), i, part))
            self.wfile.write(b"0\r\n\r\n")
        else:
            super().do_GET()

    def do_PUT(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(201)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

handler = lambda *a: Handler(*a, directory=sys.argv[1])
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
print(server.server_address[1], flush=True)
server.serve_forever()
"#;

/// The Python server process, killed when dropped.
struct Python {
    child: Child,
    address: Address,
}

impl Drop for Python {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the server on `root`, or `None` when python3 is missing.
fn start(dir: &TempDir, root: &std::path::Path) -> Option<Python> {
    let script = dir.path().join("server.py");
    std::fs::write(&script, SERVER).unwrap();
    let mut child = match Command::new("python3")
        .arg(&script)
        .arg(root)
        .stdout(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            println!("skipped: cannot run python3 ({e})");
            return None;
        }
    };
    // The first line is the bound port: the server is listening.
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx.recv_timeout(TIMEOUT).expect("python3 did not start");
    let port: u16 = line.trim().parse().expect("python3 printed no port");
    Some(Python {
        child,
        address: format!("127.0.0.1:{port}").parse().unwrap(),
    })
}

#[test]
fn python_http_server() {
    let dir = TempDir::new("python");
    let root = dir.path().join("www");
    std::fs::create_dir(&root).unwrap();
    std::fs::write(root.join("hello.txt"), "hello from a file\n").unwrap();
    std::fs::write(root.join("big.bin"), pattern(300_000)).unwrap();
    let Some(python) = start(&dir, &root) else {
        return;
    };
    let mut conn = client(&python.address).connect().unwrap();
    let h = Headers::new();

    // Keep-alive: several requests on one connection.
    for _ in 0..3 {
        let mut r = conn.get("/hello.txt", &h).unwrap();
        assert_eq!((r.status, &*r.reason), (200, "OK"));
        assert_eq!(r.headers.get("content-type"), Some("text/plain"));
        assert!(r.headers.get("server").unwrap().contains("Python"));
        assert_eq!(r.read_all().unwrap(), b"hello from a file\n");
    }
    let r = conn.head("/hello.txt", &h).unwrap();
    assert_eq!(r.headers.content_length(), Some(18));
    assert!(r.body.is_none());
    let mut r = conn.get("/big.bin", &h).unwrap();
    assert!(r.read_all().unwrap() == pattern(300_000));

    // A chunked response, extensions included.
    let r = conn.get("/chunked", &h).unwrap();
    let Some(Incoming::Chunked(body)) = r.body else {
        panic!("not chunked: {r:?}")
    };
    let chunks: Vec<Chunk> = body.map(Result::unwrap).collect();
    assert_eq!(
        chunks,
        vec![
            Chunk::with_ext("i", "0", "hello"),
            Chunk::with_ext("i", "1", ", "),
            Chunk::with_ext("i", "2", "world"),
            Chunk::new(""),
        ]
    );

    // A request body.
    let mut r = conn.put("/echo", &h, "to python and back").unwrap();
    assert_eq!((r.status, &*r.reason), (201, "Created"));
    assert_eq!(r.read_all().unwrap(), b"to python and back");

    // An error page comes with `Connection: close`: the connection ends.
    let mut r = conn.get("/missing", &h).unwrap();
    assert_eq!(r.status, 404);
    assert!(conn.is_closed());
    assert!(!r.read_all().unwrap().is_empty());
    assert!(matches!(
        conn.get("/hello.txt", &h),
        Err(degu_client::Error::Closed)
    ));
    let mut conn = client(&python.address).connect().unwrap();
    assert_eq!(conn.get("/hello.txt", &h).unwrap().status, 200);
}

/// `python3 -m http.server` itself, as people run it, started with
/// `--protocol` (HTTP/1.0 is its default), or `None` when python3 is
/// missing.
fn start_module(root: &std::path::Path, protocol: &str) -> Option<Python> {
    let mut child = match Command::new("python3")
        .args(["-u", "-m", "http.server", "--bind", "127.0.0.1"])
        .arg("--directory")
        .arg(root)
        .args(["--protocol", protocol, "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            println!("skipped: cannot run python3 ({e})");
            return None;
        }
    };
    // "Serving HTTP on 127.0.0.1 port N (...) ...", printed once it listens.
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx
        .recv_timeout(TIMEOUT)
        .expect("python3 -m http.server did not start");
    let port: u16 = line
        .split_once(" port ")
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {line:?}"));
    Some(Python {
        child,
        address: format!("127.0.0.1:{port}").parse().unwrap(),
    })
}

#[test]
fn python_http_server_module_http10() {
    let dir = TempDir::new("python10");
    std::fs::write(dir.path().join("big.bin"), pattern(1_000_000)).unwrap();
    std::fs::write(dir.path().join("hi.txt"), "hi\n").unwrap();
    let Some(python) = start_module(dir.path(), "HTTP/1.0") else {
        return;
    };
    let h = Headers::new();
    let mut conn = client(&python.address).connect().unwrap();
    let mut r = conn.get("/big.bin", &h).unwrap();
    assert_eq!(
        (r.version, r.status, &*r.reason),
        (Version::Http10, 200, "OK")
    );
    // An HTTP/1.0 response without keep-alive: the connection ends.
    assert!(conn.is_closed());
    assert!(r.read_all().unwrap() == pattern(1_000_000));
    assert!(matches!(
        conn.get("/hi.txt", &h),
        Err(degu_client::Error::Closed)
    ));
    // A new connection for each request.
    for _ in 0..3 {
        let mut conn = client(&python.address).connect().unwrap();
        let mut r = conn.get("/hi.txt", &h).unwrap();
        assert_eq!(r.read_all().unwrap(), b"hi\n");
        assert!(conn.is_closed());
    }
    // The directory listing and an error page.
    let mut conn = client(&python.address).connect().unwrap();
    let mut r = conn.get("/", &h).unwrap();
    let listing = String::from_utf8(r.read_all().unwrap()).unwrap();
    assert!(listing.contains("big.bin"), "{listing}");
    let mut conn = client(&python.address).connect().unwrap();
    let mut r = conn.get("/missing", &h).unwrap();
    assert_eq!((r.version, r.status), (Version::Http10, 404));
    assert!(!r.read_all().unwrap().is_empty());
    // Through the client's pool: each response ends its connection, so
    // each request gets a new one, and none fails.
    let pooled = client(&python.address);
    for _ in 0..5 {
        let mut r = pooled.get("/hi.txt", &h).unwrap();
        assert_eq!(r.read_all().unwrap(), b"hi\n");
    }
    assert_eq!(pooled.connections_opened(), 5);
    assert_eq!(pooled.idle_connections(), 0);
}

#[test]
fn python_http_server_module_http11() {
    let dir = TempDir::new("python11");
    std::fs::write(dir.path().join("big.bin"), pattern(1_000_000)).unwrap();
    let Some(python) = start_module(dir.path(), "HTTP/1.1") else {
        return;
    };
    let h = Headers::new();
    let mut conn = client(&python.address).connect().unwrap();
    for _ in 0..3 {
        let mut r = conn.get("/big.bin", &h).unwrap();
        assert_eq!((r.version, r.status), (Version::Http11, 200));
        assert!(r.read_all().unwrap() == pattern(1_000_000));
        assert!(!conn.is_closed());
    }
    let mut r = conn.get_range("/big.bin", &h, 10, 20).unwrap();
    // http.server ignores ranges: the whole file, still on one connection.
    assert_eq!(r.read_all().unwrap().len(), 1_000_000);
    assert_eq!(conn.requests(), 4);
    // Through the client's pool: one connection for them all.
    let pooled = client(&python.address);
    for _ in 0..5 {
        let mut r = pooled.get("/big.bin", &h).unwrap();
        assert!(r.read_all().unwrap() == pattern(1_000_000));
    }
    assert_eq!(pooled.connections_opened(), 1);
}
