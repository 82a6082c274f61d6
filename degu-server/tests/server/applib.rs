//! The app library end to end: Router, AllowedMethods, FilesApp (with
//! sendfile, ranges, traversal attempts) and a real browser.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::util::TempDir;
use degu_core::{Address, IPV4_LOOPBACK, Method, Reader};
use degu_server::applib::{AllowedMethods, MAX_ROUTER_DEPTH, Route, Router};
use degu_server::files::FilesApp;
use degu_server::{
    App, AppResult, Request, Response, Server, ServerHandle, ServerOptions, Session,
};

/// A fresh directory for a test, removed when the returned guard drops.
fn tempdir() -> (TempDir, PathBuf) {
    let guard = TempDir::new();
    let path = guard.path().to_path_buf();
    (guard, path)
}

fn serve(app: impl App) -> ServerHandle {
    let opts = ServerOptions::default().with_timeout(Some(Duration::from_secs(10)));
    Server::bind(&IPV4_LOOPBACK, app, opts)
        .unwrap()
        .spawn()
        .unwrap()
}

fn port(h: &ServerHandle) -> u16 {
    match h.address() {
        Address::Tcp4 { port, .. } => *port,
        a => panic!("not TCP: {a}"),
    }
}

/// One raw connection reading responses with degu-core's reader.
struct Raw {
    r: Reader<TcpStream>,
}

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

impl Raw {
    fn new(h: &ServerHandle) -> Raw {
        let s = TcpStream::connect(("127.0.0.1", port(h))).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        Raw { r: Reader::new(s) }
    }

    fn send(&mut self, req: &str) {
        self.r.get_mut().write_all(req.as_bytes()).unwrap();
    }

    fn reply(&mut self, head: bool) -> Reply {
        let p = self.r.read_response().unwrap();
        let status = p.status;
        let headers: Vec<(String, String)> = p
            .headers
            .iter()
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
            .collect();
        let framing = p.typed.framing;
        let mut body = Vec::new();
        if !head && let degu_core::Framing::Length(n) = framing {
            body.resize(n as usize, 0);
            self.r.read_exact(&mut body).unwrap();
        }
        Reply {
            status,
            headers,
            body,
        }
    }

    fn get(&mut self, uri: &str) -> Reply {
        self.send(&format!("GET {uri} HTTP/1.1\r\n\r\n"));
        self.reply(false)
    }
}

fn named(name: &'static str) -> impl App {
    move |_: &mut Session, r: &mut Request| -> AppResult {
        Ok(Response::new(200, "OK").body(format!("{name} mount={:?} path={:?}", r.mount, r.path)))
    }
}

#[test]
fn router_routes_nested_maps_and_404s() {
    let router = Router::new([
        ("", Route::app(named("index"))),
        ("a", Route::app(named("a"))),
        (
            "api",
            Route::map([
                ("", Route::app(named("api-index"))),
                ("users", Route::app(named("users"))),
                ("deep", Route::map([("x", Route::app(named("x")))])),
            ]),
        ),
    ])
    .unwrap();
    let h = serve(router);
    let mut c = Raw::new(&h);
    let body = |r: Reply| (r.status, String::from_utf8(r.body).unwrap());
    assert_eq!(body(c.get("/")), (200, "index mount=[] path=[]".into()));
    assert_eq!(
        body(c.get("/a/b/c")),
        (200, r#"a mount=["a"] path=["b", "c"]"#.into())
    );
    assert_eq!(
        body(c.get("/api/")),
        (200, r#"api-index mount=["api", ""] path=[]"#.into())
    );
    assert_eq!(
        body(c.get("/api")),
        (200, r#"api-index mount=["api"] path=[]"#.into())
    );
    assert_eq!(
        body(c.get("/api/users/7?x=1")),
        (200, r#"users mount=["api", "users"] path=["7"]"#.into())
    );
    assert_eq!(
        c.get("/api/deep").status,
        404,
        "ran out at a map without \"\""
    );
    assert_eq!(c.get("/api/deep/").status, 404);
    assert_eq!(c.get("/api/deep/x").status, 200);
    assert_eq!(c.get("/nope").status, 404);
    assert_eq!(c.get("/api/nope").status, 404);
}

#[test]
fn router_depth_is_checked_when_built() {
    fn nest(depth: usize) -> Route {
        if depth == 0 {
            Route::app(named("leaf"))
        } else {
            Route::map([("d", nest(depth - 1))])
        }
    }
    // The router itself is one level: MAX - 1 nested maps below it is the limit.
    assert!(Router::new([("d", nest(MAX_ROUTER_DEPTH - 1))]).is_ok());
    let err = Router::new([("d", nest(MAX_ROUTER_DEPTH))]).err().unwrap();
    assert!(err.to_string().contains("at most 10"), "{err}");
    let ok = Router::new([("d", nest(MAX_ROUTER_DEPTH - 1))]).unwrap();
    let h = serve(ok);
    let uri = format!("/{}", ["d"; MAX_ROUTER_DEPTH].join("/"));
    assert_eq!(Raw::new(&h).get(&uri).status, 200);
}

#[test]
fn allowed_methods_answer_405_otherwise() {
    let app = AllowedMethods::new([Method::Get, Method::Put]).wrap(named("m"));
    let h = serve(app);
    let mut c = Raw::new(&h);
    assert_eq!(c.get("/").status, 200);
    c.send("PUT / HTTP/1.1\r\ncontent-length: 2\r\n\r\nhi");
    assert_eq!(c.reply(false).status, 200);
    for m in ["POST", "DELETE", "HEAD"] {
        let body = if m == "POST" {
            "content-length: 0\r\n"
        } else {
            ""
        };
        c.send(&format!("{m} / HTTP/1.1\r\n{body}\r\n"));
        let r = c.reply(m == "HEAD");
        assert_eq!(
            (r.status, r.header("allow")),
            (405, Some("GET, PUT")),
            "{m}"
        );
    }
    assert_eq!(c.get("/").status, 200, "the connection stays usable");
}

fn write_site(dir: &Path) {
    std::fs::write(
        dir.join("index.html"),
        r#"<!doctype html>
<html><head><link rel="stylesheet" href="style.css"></head>
<body><h1>degu</h1><img id="img" src="pic.png" alt="pic"><p id="out">waiting</p>
<script src="app.js"></script></body></html>
"#,
    )
    .unwrap();
    std::fs::write(dir.join("style.css"), "h1 { color: rgb(1, 2, 3); }\n").unwrap();
    std::fs::write(
        dir.join("app.js"),
        r#"function check() {
  var img = document.getElementById('img');
  var color = getComputedStyle(document.querySelector('h1')).color;
  var ok = img.complete && img.naturalWidth === 1 && color === 'rgb(1, 2, 3)';
  document.getElementById('out').textContent =
    (ok ? 'DEGU-ALL-LOADED' : 'DEGU-MISSING') + ' img=' + img.naturalWidth + ' color=' + color;
}
if (document.readyState === 'complete') { check(); } else { window.addEventListener('load', check); }
"#,
    )
    .unwrap();
    std::fs::write(dir.join("pic.png"), PNG_1X1).unwrap();
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::write(dir.join("sub/index.html"), "sub index").unwrap();
    std::fs::write(dir.join("sub/data.json"), "{\"a\":1}").unwrap();
    std::fs::write(dir.join(".secret"), "dot file").unwrap();
}

/// A 1x1 transparent PNG.
const PNG_1X1: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x00, 0x01, 0x00, 0x00,
    0x05, 0x00, 0x01, 0x0d, 0x0a, 0x2d, 0xb4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae,
    0x42, 0x60, 0x82,
];

#[test]
fn files_app_serves_types_ranges_and_indexes() {
    let (_tmp, dir) = tempdir();
    write_site(&dir);
    let h = serve(FilesApp::new(&dir).unwrap());
    let mut c = Raw::new(&h);
    let r = c.get("/");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    assert!(String::from_utf8(r.body).unwrap().contains("<h1>degu</h1>"));
    assert_eq!(
        c.get("/style.css").header("content-type"),
        Some("text/css; charset=utf-8")
    );
    assert_eq!(
        c.get("/app.js").header("content-type"),
        Some("text/javascript; charset=utf-8")
    );
    let png = c.get("/pic.png");
    assert_eq!(
        (png.header("content-type"), png.body.as_slice()),
        (Some("image/png"), PNG_1X1)
    );
    assert_eq!(
        c.get("/sub/data.json").header("content-type"),
        Some("application/json")
    );
    assert_eq!(c.get("/sub/").body, b"sub index");
    let r = c.get("/sub");
    assert_eq!((r.status, r.header("location")), (301, Some("/sub/")));

    c.send("HEAD /style.css HTTP/1.1\r\n\r\n");
    let r = c.reply(true);
    assert_eq!((r.status, r.header("content-length")), (200, Some("28")));

    c.send("GET /style.css HTTP/1.1\r\nrange: bytes=5-9\r\n\r\n");
    let r = c.reply(false);
    assert_eq!(
        (r.status, r.header("content-range")),
        (206, Some("bytes 5-9/28"))
    );
    assert_eq!(r.body, b"color");
    c.send("GET /style.css HTTP/1.1\r\nrange: bytes=20-\r\n\r\n");
    let r = c.reply(false);
    assert_eq!(
        (r.status, r.header("content-range")),
        (206, Some("bytes 20-27/28"))
    );
    c.send("GET /style.css HTTP/1.1\r\nrange: bytes=28-40\r\n\r\n");
    let r = c.reply(false);
    assert_eq!(
        (r.status, r.header("content-range")),
        (416, Some("bytes */28"))
    );

    c.send("PUT /style.css HTTP/1.1\r\ncontent-length: 1\r\n\r\nx");
    let r = c.reply(false);
    assert_eq!((r.status, r.header("allow")), (405, Some("GET, HEAD")));
    assert_eq!(c.get("/missing.txt").status, 404);
    assert_eq!(c.get("/style.css").status, 200, "still the same connection");
}

#[test]
fn files_app_never_leaves_its_directory() {
    let (_tmp, base) = tempdir();
    let root = base.join("root");
    std::fs::create_dir_all(root.join("inner")).unwrap();
    std::fs::write(base.join("outside.txt"), "must not be served").unwrap();
    std::fs::write(root.join("inside.txt"), "inside").unwrap();
    std::os::unix::fs::symlink(base.join("outside.txt"), root.join("link-out")).unwrap();
    std::os::unix::fs::symlink(&base, root.join("dir-out")).unwrap();
    std::os::unix::fs::symlink(root.join("inside.txt"), root.join("link-in")).unwrap();
    std::fs::write(root.join(".hidden"), "dot").unwrap();
    let h = serve(FilesApp::new(&root).unwrap());
    let mut c = Raw::new(&h);
    assert_eq!(c.get("/inside.txt").body, b"inside");
    assert_eq!(
        c.get("/link-in").body,
        b"inside",
        "a symlink inside is fine"
    );
    for (uri, status) in [
        ("/.hidden", 404),
        ("/%2ehidden", 404),
        ("/link-out", 403),
        ("/dir-out/outside.txt", 403),
    ] {
        let r = c.get(uri);
        assert_eq!(r.status, status, "{uri}");
        assert!(
            !String::from_utf8_lossy(&r.body).contains("must not"),
            "{uri}"
        );
    }
    // What the parser refuses never reaches the app: the connection is
    // closed after a 400.
    for uri in [
        "/../outside.txt",
        "/inner/../../outside.txt",
        "/./inside.txt",
        "/%2e%2e/outside.txt",
        "/inner/%2E./outside.txt",
        "/..%2Foutside.txt",
        "/a\\..\\outside.txt",
        "//etc/passwd",
    ] {
        let mut c = Raw::new(&h);
        let r = c.get(uri);
        assert_eq!(r.status, 400, "{uri}");
    }
    let mut c = Raw::new(&h);
    c.r.get_mut()
        .write_all(b"GET /inside.txt\0 HTTP/1.1\r\n\r\n")
        .unwrap();
    assert_eq!(c.reply(false).status, 400);
}

#[test]
fn files_app_one_gib_file_with_ranges_at_both_ends() {
    const GIB: u64 = 1 << 30;
    let (_tmp, dir) = tempdir();
    let path = dir.join("big.bin");
    {
        // A sparse 1 GiB file with a marked first and last MiB.
        let f = std::fs::File::create(&path).unwrap();
        f.set_len(GIB).unwrap();
        use std::os::unix::fs::FileExt;
        let mark: Vec<u8> = (0..1u32 << 20).map(|i| (i % 251) as u8).collect();
        f.write_all_at(&mark, 0).unwrap();
        f.write_all_at(&mark, GIB - (1 << 20)).unwrap();
    }
    let h = serve(FilesApp::new(&dir).unwrap());
    let mut c = Raw::new(&h);
    c.send("GET /big.bin HTTP/1.1\r\nrange: bytes=0-99\r\n\r\n");
    let r = c.reply(false);
    assert_eq!(
        (r.status, r.header("content-range")),
        (206, Some("bytes 0-99/1073741824"))
    );
    assert_eq!(
        r.body,
        (0..100u32).map(|i| (i % 251) as u8).collect::<Vec<_>>()
    );
    let last = GIB - 100;
    c.send(&format!(
        "GET /big.bin HTTP/1.1\r\nrange: bytes={last}-\r\n\r\n"
    ));
    let r = c.reply(false);
    assert_eq!(r.status, 206);
    assert_eq!(
        r.header("content-range"),
        Some("bytes 1073741724-1073741823/1073741824")
    );
    let start = (1u32 << 20) - 100;
    assert_eq!(
        r.body,
        (start..1 << 20)
            .map(|i| (i % 251) as u8)
            .collect::<Vec<_>>()
    );
    c.send(&format!(
        "GET /big.bin HTTP/1.1\r\nrange: bytes={GIB}-\r\n\r\n"
    ));
    assert_eq!(c.reply(false).status, 416);

    // The whole GiB, counted (sendfile on the server side).
    c.send("GET /big.bin HTTP/1.1\r\n\r\n");
    let p = c.r.read_response().unwrap();
    assert_eq!(p.typed.framing, degu_core::Framing::Length(GIB));
    let mut buf = vec![0u8; 1 << 20];
    let mut got = 0u64;
    let mut first = Vec::new();
    while got < GIB {
        let want = ((GIB - got) as usize).min(buf.len());
        let n = c.r.read(&mut buf[..want]).unwrap();
        assert!(n > 0, "cut short at {got}");
        if first.len() < 4096 {
            first.extend_from_slice(&buf[..n.min(4096 - first.len())]);
        }
        got += n as u64;
    }
    assert_eq!(
        first,
        (0..4096u32).map(|i| (i % 251) as u8).collect::<Vec<_>>()
    );
    assert_eq!(
        c.get("/big.bin/").status,
        404,
        "the connection is still in step"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

fn chromium() -> Option<&'static str> {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|c| {
            Command::new(c)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
}

#[test]
fn headless_chromium_loads_a_page_from_the_files_example() {
    let Some(browser) = chromium() else {
        eprintln!("chromium not installed: skipped (.ci/run installs it)");
        return;
    };
    let (_tmp, dir) = tempdir();
    let site = dir.join("site");
    std::fs::create_dir_all(&site).unwrap();
    write_site(&site);
    let exe = std::env::current_exe().unwrap();
    let bin = exe
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples/files");
    if !bin.exists() {
        eprintln!(
            "{} not built: skipped (plain `cargo test` builds the examples)",
            bin.display()
        );
        return;
    }
    let mut server = Command::new(&bin)
        .arg(&site)
        .arg("127.0.0.1:0")
        .env("DEGU_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.display()));
    let mut line = Vec::new();
    let mut out = server.stdout.take().unwrap();
    let mut b = [0u8; 1];
    while out.read(&mut b).unwrap() == 1 && b[0] != b'\n' {
        line.push(b[0]);
    }
    let address = String::from_utf8(line).unwrap();
    let profile = dir.join("profile");
    let result = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-quic",
            "--virtual-time-budget=5000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--dump-dom")
        .arg(format!("http://{address}/"))
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .unwrap();
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(server.id().to_string())
        .status();
    let status = server.wait().unwrap();
    let mut log = String::new();
    server
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    let dom = String::from_utf8_lossy(&result.stdout);
    assert!(
        dom.contains("DEGU-ALL-LOADED"),
        "the page did not load everything:\n{dom}\nserver log:\n{log}"
    );
    assert!(status.success(), "files example exit: {status:?}");
    assert!(
        !log.contains("bad request"),
        "the browser sent a request Degu refused:\n{log}"
    );
}
