//! HTTP as real peers speak it: HTTP/1.0 (nginx's default `proxy_pass`,
//! HAProxy's health check and `ab` send it), PATCH and OPTIONS,
//! percent-escaped paths, browsers' query strings, RFC 9110 header values,
//! more than twenty headers. First the server in process over raw sockets,
//! then the demo binary against ab, nginx (a default `proxy_pass` over TCP
//! and over AF_UNIX), curl, and Python's requests and h11. A test whose
//! program is missing says it skipped (`.ci/run` installs them all).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use degu_server::{Address, ServerOptions, demo};

use crate::interop::{Demo, demo_binary};
use crate::util::{Client, Ending, IO_TIMEOUT, TempDir, on_path, pattern, req, serve, serve_demo};

#[test]
fn http_1_0_requests_get_an_http_1_1_answer_then_the_close() {
    let server = serve_demo();
    let mut c = Client::connect(server.address());
    c.send("GET / HTTP/1.0\r\n\r\nGET / HTTP/1.0\r\n\r\n");
    let r = c.response(false);
    assert_eq!(r.text(), "hello, world");
    assert_eq!(r.header("connection"), Some("close"));
    c.expect_closed();
    // A body with a content-length, and HEAD.
    let mut c = Client::connect(server.address());
    c.send("PUT /echo HTTP/1.0\r\ncontent-length: 5\r\n\r\nhello");
    let r = c.response(false);
    assert_eq!(
        (r.text(), r.header("connection")),
        ("hello".into(), Some("close"))
    );
    c.expect_closed();
    let mut c = Client::connect(server.address());
    c.send("HEAD /bytes/7 HTTP/1.0\r\n\r\n");
    let r = c.response(true);
    assert_eq!(r.header("content-length"), Some("7"));
    c.expect_closed();
}

#[test]
fn http_1_0_keep_alive_keeps_the_connection() {
    let server = serve_demo();
    let mut c = Client::connect(server.address());
    for i in 0..3 {
        c.send(
            req(
                "GET",
                &format!("/info?{i}"),
                &[("connection", "Keep-Alive")],
            )
            .replace_version(),
        );
        let r = c.response(false);
        assert_eq!(r.header("connection"), Some("keep-alive"), "{i}");
        assert_eq!(r.json().get("session").get("requests").int(), i);
    }
    // Without it, the next one is the last.
    c.send("GET / HTTP/1.0\r\n\r\n");
    assert_eq!(c.response(false).header("connection"), Some("close"));
    c.expect_closed();
}

/// `req(..)` as HTTP/1.0.
trait ReplaceVersion {
    fn replace_version(self) -> Vec<u8>;
}

impl ReplaceVersion for Vec<u8> {
    fn replace_version(self) -> Vec<u8> {
        String::from_utf8(self)
            .unwrap()
            .replacen(" HTTP/1.1\r\n", " HTTP/1.0\r\n", 1)
            .into_bytes()
    }
}

#[test]
fn http_1_0_gets_a_chunked_body_unframed_then_the_close() {
    let server = serve_demo();
    // Even with keep-alive asked: a body of unknown length can only end
    // with the connection.
    for keep in [false, true] {
        let mut c = Client::connect(server.address());
        let headers: &[(&str, &str)] = if keep {
            &[("connection", "keep-alive")]
        } else {
            &[]
        };
        c.send(req("GET", "/chunks/3/5", headers).replace_version());
        let head = c.head();
        assert_eq!(head.status, 200);
        assert_eq!(head.header("transfer-encoding"), None);
        assert_eq!(head.header("content-length"), None);
        assert_eq!(head.header("connection"), Some("close"));
        let (body, ending) = c.finish();
        assert_eq!(body, [0, 1, 2, 3, 4].repeat(3));
        assert_eq!(ending, Ending::Eof);
    }
    // A chunked echo of a content-length body too.
    let app =
        |_: &mut degu_server::Session, _: &mut degu_server::Request| -> degu_server::AppResult {
            Ok(degu_server::Response::new(200, "OK")
                .header("transfer-encoding", "chunked")?
                .header("connection", "keep-alive")?
                .body(degu_server::ChunkedBodyIter::new([
                    degu_server::Chunk::with_ext("a", "1", "ab"),
                    degu_server::Chunk::new("cd"),
                    degu_server::Chunk::new(""),
                ])))
        };
    let server = serve(app, ServerOptions::default());
    let mut c = Client::connect(server.address());
    c.send("GET / HTTP/1.0\r\nconnection: keep-alive\r\n\r\n");
    let head = c.head();
    assert_eq!(
        (head.header("transfer-encoding"), head.header("connection")),
        (None, Some("close"))
    );
    assert_eq!(c.finish(), (b"abcd".to_vec(), Ending::Eof));
}

#[test]
fn http_1_0_gets_no_100_continue() {
    let server = serve_demo();
    let mut c = Client::connect(server.address());
    c.send("PUT /echo HTTP/1.0\r\nexpect: 100-continue\r\ncontent-length: 2\r\n\r\nhi");
    let r = c.response(false);
    assert_eq!((r.status(), r.text()), (200, "hi".to_owned()));
    c.expect_closed();
}

#[test]
fn max_headers_is_a_server_option() {
    let headers: String = (0..10).map(|i| format!("x-h{i}: {i}\r\n")).collect();
    let wire = format!("GET / HTTP/1.1\r\n{headers}\r\n");
    let server = serve(demo::app, ServerOptions::default().with_max_headers(10));
    let mut c = Client::connect(server.address());
    c.send(&wire);
    assert_eq!(c.response(false).status(), 200);
    let server = serve(demo::app, ServerOptions::default().with_max_headers(9));
    let mut c = Client::connect(server.address());
    c.send(&wire);
    let r = c.response(false);
    assert_eq!(r.status(), 431);
    assert_eq!(r.text(), "more than 9 headers\n");
    for bad in [0, 101] {
        assert!(
            degu_server::Server::bind(
                &degu_core::IPV4_LOOPBACK,
                demo::app,
                ServerOptions::default().with_max_headers(bad)
            )
            .is_err()
        );
    }
}

#[test]
fn escaped_paths_reach_the_app_decoded() {
    let server = serve_demo();
    let mut c = Client::connect(server.address());
    let r = c.get("/app/info?a=[1]|x");
    let j = r.json();
    assert_eq!(j.get("mount").strs(), ["app"]);
    assert_eq!(j.get("query").str(), "a=[1]|x");
    // The demo answers 404 for an unknown path, with the path decoded:
    // here the app sees one component, `my file.txt`.
    let app =
        |_: &mut degu_server::Session, r: &mut degu_server::Request| -> degu_server::AppResult {
            Ok(degu_server::Response::new(200, "OK").body(format!(
                "{:?} {}",
                r.path,
                r.build_proxy_uri()
            )))
        };
    let server = serve(app, ServerOptions::default());
    let mut c = Client::connect(server.address());
    assert_eq!(
        c.get("/my%20file.txt/caf%C3%A9/%25?q").text(),
        r#"["my file.txt", "café", "%"] /my%20file.txt/caf%C3%A9/%25?q"#
    );
}

/// Runs a program, returning its stdout; panics with its output when it
/// fails.
fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(program).args(args).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{program} {args:?}: {}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The figure on `ab`'s output line that starts with `label`.
fn ab_figure(output: &str, label: &str) -> Option<u64> {
    output
        .lines()
        .find_map(|l| l.strip_prefix(label))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

#[test]
fn ab_benchmarks_the_demo() {
    if !on_path("ab") {
        println!("note: skipping, ab is not on PATH (.ci/run installs apache2-utils)");
        return;
    }
    let Some(binary) = demo_binary() else { return };
    let dir = TempDir::new();
    // With the default 1 000 requests a connection, a keep-alive run's
    // busiest connection may be told to close: raise it, so every
    // response of that run can be a keep-alive one.
    let demo = Demo::start_with(
        &binary,
        &["--max-requests", "100000"],
        "127.0.0.1:0",
        dir.path(),
    );
    let url = format!("http://{}/", demo.address);
    // ab speaks HTTP/1.0: a connection per request, and with -k the
    // HTTP/1.0 keep-alive.
    for args in [
        &["-n", "20000", "-c", "20"][..],
        &["-k", "-n", "5000", "-c", "10"],
    ] {
        let start = Instant::now();
        let mut all = args.to_vec();
        all.extend(["-s", "20", url.as_str()]);
        let out = run("ab", &all);
        println!("ab {args:?}: {:?}", start.elapsed());
        let n: u64 = args[args.len() - 3].parse().unwrap();
        assert_eq!(ab_figure(&out, "Complete requests:"), Some(n), "{out}");
        assert_eq!(ab_figure(&out, "Failed requests:"), Some(0), "{out}");
        assert_eq!(ab_figure(&out, "Non-2xx responses:"), None, "{out}");
        if args[0] == "-k" {
            assert_eq!(ab_figure(&out, "Keep-Alive requests:"), Some(n), "{out}");
        }
    }
    demo.stop();
}

/// nginx and its log file, stopped when dropped.
struct Nginx(Option<Child>, std::path::PathBuf);

impl Nginx {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.1).unwrap_or_default()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let _ = child.wait();
        }
    }
}

fn find_nginx() -> Option<String> {
    ["/usr/sbin/nginx", "/usr/bin/nginx", "/sbin/nginx"]
        .into_iter()
        .find(|p| std::path::Path::new(p).is_file())
        .map(str::to_owned)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts nginx with `servers` (the `server` blocks) in `dir`. Its worker
/// runs as the same user (`user root` is ignored, with a warning, unless
/// the tests run as root), so it may connect to the tests' AF_UNIX socket.
fn start_nginx(nginx: &str, dir: &std::path::Path, servers: &str) -> Nginx {
    let d = dir.display();
    let conf = format!(
        "daemon off;
user root;
worker_processes 1;
pid {d}/nginx.pid;
error_log stderr notice;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
{servers}
}}
"
    );
    let path = dir.join("nginx.conf");
    std::fs::write(&path, conf).unwrap();
    let log = dir.join("nginx.log");
    let child = Command::new(nginx)
        .arg("-p")
        .arg(dir)
        .arg("-c")
        .arg(&path)
        .args(["-e", "stderr"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let nginx = Nginx(Some(child), log);
    // nginx logs "start worker processes" once its sockets listen.
    let deadline = Instant::now() + IO_TIMEOUT;
    while !nginx.log().contains("start worker processes") {
        assert!(
            Instant::now() < deadline,
            "nginx did not start:\n{}",
            nginx.log()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    nginx
}

/// curl (`-sS --max-time 20`) with `args`: stdout.
fn curl(args: &[&str]) -> Vec<u8> {
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "20"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "curl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[test]
fn behind_nginx_default_proxy_pass_over_tcp_and_unix() {
    let Some(nginx) = find_nginx() else {
        println!("note: skipping, nginx is not installed (.ci/run installs it)");
        return;
    };
    if !on_path("curl") {
        println!("note: skipping, curl is not on PATH (.ci/run installs it)");
        return;
    }
    let Some(binary) = demo_binary() else { return };
    let dir = TempDir::new();
    let tcp = Demo::start(&binary, "127.0.0.1:0", dir.path());
    let sock = dir.path().join("demo.sock");
    let unix = Demo::start(&binary, &format!("unix:{}", sock.display()), dir.path());
    let (p1, p2) = (free_port(), free_port());
    // nginx's defaults: HTTP/1.0 to the upstream, `connection: close`.
    let servers = format!(
        "    server {{ listen 127.0.0.1:{p1}; location / {{ proxy_pass http://{}; }} }}
    server {{ listen 127.0.0.1:{p2}; location / {{ proxy_pass http://unix:{}:; }} }}",
        tcp.address,
        sock.display()
    );
    let proxy = start_nginx(&nginx, dir.path(), &servers);
    // nginx sends the whole request body before it reads the response,
    // and the demo echo answers as it reads: a body larger than the socket
    // buffers would stall both (the echo's documented full-duplex rule), so
    // the uploads stay well under them.
    let data: Vec<u8> = (0..=255u8).cycle().take(64_000).collect();
    let file = dir.path().join("data.bin");
    std::fs::write(&file, &data).unwrap();
    let at_file = format!("@{}", file.display());
    for port in [p1, p2] {
        let url = |path: &str| format!("http://127.0.0.1:{port}{path}");
        let hello = curl(&[&url("/")]);
        assert_eq!(hello, b"hello, world", "{}", proxy.log());
        assert!(curl(&["-X", "PUT", "--data-binary", &at_file, &url("/echo")]) == data);
        assert!(curl(&["-X", "PATCH", "--data-binary", &at_file, &url("/echo")]) == data);
        assert!(
            curl(&[
                "-H",
                "transfer-encoding: chunked",
                "--data-binary",
                &at_file,
                &url("/echo")
            ]) == data
        );
        // A chunked body goes to nginx unframed, to the end of the
        // connection, and on from nginx chunked.
        assert_eq!(curl(&[&url("/chunks/3/5")]), [0, 1, 2, 3, 4].repeat(3));
        assert!(curl(&[&url("/chunks/40/10000")]) == pattern(0, 10_000).repeat(40));
        assert!(curl(&[&url("/bytes/1000000")]) == pattern(0, 1_000_000));
        assert_eq!(curl(&["-r", "-3", &url("/bytes/10")]), [7, 8, 9]);
        let info = curl(&["-g", &url("/app/info?filter[name]=x|y")]);
        let j = crate::util::Json::parse(std::str::from_utf8(&info).unwrap());
        assert_eq!(j.get("query").str(), "filter[name]=x|y");
        assert_eq!(j.get("headers").get("connection").str(), "close");
        let code = curl(&["-o", "/dev/null", "-w", "%{http_code}", &url("/app/a%20b")]);
        assert_eq!(code, b"404");
        let code = curl(&[
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "-X",
            "OPTIONS",
            &url("/"),
        ]);
        assert_eq!(code, b"405");
    }
    drop(proxy);
    for demo in [tcp, unix] {
        let log = demo.log_text();
        assert!(!log.contains("bad request"), "{log}");
        demo.stop();
    }
}

#[test]
fn curl_speaks_1_0_patch_and_options_to_the_demo() {
    if !on_path("curl") {
        println!("note: skipping, curl is not on PATH (.ci/run installs it)");
        return;
    }
    let server = serve_demo();
    let base = format!("http://{}", server.address());
    let url = |path: &str| format!("{base}{path}");
    assert_eq!(curl(&["--http1.0", &url("/")]), b"hello, world");
    assert_eq!(
        curl(&["--http1.0", &url("/chunks/2/3")]),
        [0, 1, 2, 0, 1, 2]
    );
    assert_eq!(
        curl(&["-X", "PATCH", "--data-binary", "x=1", &url("/echo")]),
        b"x=1"
    );
    let head = String::from_utf8(curl(&["-i", "-X", "OPTIONS", &url("/echo")])).unwrap();
    assert!(
        head.starts_with("HTTP/1.1 405 Method Not Allowed\r\n"),
        "{head}"
    );
    assert!(head.contains("\r\nallow: PUT, POST, PATCH\r\n"), "{head}");
    let info = curl(&[
        "-H",
        "From: me@example.com",
        "-H",
        "X-Json: {\"a\":\t[1]}",
        &url("/info"),
    ]);
    let j = crate::util::Json::parse(std::str::from_utf8(&info).unwrap());
    assert_eq!(j.get("headers").get("from").str(), "me@example.com");
    assert_eq!(j.get("headers").get("x-json").str(), "{\"a\":\t[1]}");
    // A refusal says why, in its body.
    let out = Command::new("curl")
        .args([
            "-sS",
            "--max-time",
            "20",
            "-w",
            " %{http_code}",
            &url("/a%2Fb"),
        ])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "bad uri: \"/a%2Fb\"\n 400"
    );
}

/// Runs a Python script with the server's base URL; skips when python3
/// or `module` is missing; the script prints `ok`.
fn python(module: &str, script: &str) {
    if !on_path("python3") {
        println!("note: skipping, python3 is not on PATH");
        return;
    }
    let have = Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !have {
        println!("note: skipping, Python's {module} is not installed (.ci/run installs it)");
        return;
    }
    let server = serve_demo();
    let Address::Tcp4 { ip, port } = *server.address() else {
        unreachable!()
    };
    let start = Instant::now();
    let out = Command::new("python3")
        .args(["-c", script, &ip.to_string(), &port.to_string()])
        .output()
        .unwrap();
    println!("python {module}: took {:?}", start.elapsed());
    assert!(
        out.status.success() && out.stdout == b"ok\n",
        "python {module}: {}: {}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(server.shutdown(), 0);
}

const REQUESTS: &str = r#"
import requests, sys
base = "http://%s:%s" % (sys.argv[1], sys.argv[2])
s = requests.Session()
r = s.get(base + "/", timeout=20)
assert (r.status_code, r.text) == (200, "hello, world"), r
r = s.patch(base + "/echo", data=b"patched", timeout=20)
assert r.content == b"patched", r
r = s.options(base + "/", timeout=20)
assert r.status_code == 405 and r.headers["allow"] == "GET, HEAD", r.headers
r = s.delete(base + "/echo", json={"a": 1}, timeout=20)
assert r.status_code == 405 and r.headers["allow"] == "PUT, POST, PATCH", r
r = s.put(base + "/echo", data=iter([b"chunk", b"ed"]), timeout=20)
assert r.content == b"chunked", r
r = s.get(base + "/info", params={"filter[name]": "x y"}, headers={"From": "me@example.com"}, timeout=20)
j = r.json()
assert j["query"] == "filter%5Bname%5D=x+y", j["query"]
assert j["headers"]["from"] == "me@example.com", j["headers"]
r = s.get(base + "/info?a=[1]", headers={"x-h%d" % i: str(i) for i in range(40)}, timeout=20)
assert r.status_code == 200 and len(r.json()["headers"]) >= 40, r.json()
r = s.get(base + "/bytes/100", headers={"Range": "bytes=-10"}, timeout=20)
assert r.status_code == 206 and r.content == bytes(range(90, 100)), r
r = s.get(base + "/bytes/100", headers={"Range": "bytes=0-1,5-6"}, timeout=20)
assert r.status_code == 200 and len(r.content) == 100, r
r = s.get(base + "/app/my%20file.txt", timeout=20)
assert r.status_code == 404, r
r = requests.get(base + "/a%2Fb", timeout=20)
assert r.status_code == 400 and r.text == 'bad uri: "/a%2Fb"\n', (r.status_code, r.text)
print("ok")
"#;

#[test]
fn python_requests_against_the_demo() {
    python("requests", REQUESTS);
}

const H11: &str = r#"
import h11, socket, sys
addr = (sys.argv[1], int(sys.argv[2]))

def exchange(version, method, target, headers=(), body=None):
    # One request on a new connection; h11 checks every byte of the
    # response's framing. Returns (response, body). h11 only writes
    # HTTP/1.1: an HTTP/1.0 request goes out as raw bytes, h11 reading the
    # answer as it would any (a response without framing ends with the
    # connection).
    sock = socket.create_connection(addr, timeout=20)
    c = h11.Connection(h11.CLIENT)
    hs = [("host", "x")] + list(headers)
    if body is not None:
        hs.append(("content-length", str(len(body))))
    wire = c.send(h11.Request(method=method, target=target, headers=hs))
    if body is not None:
        wire += c.send(h11.Data(data=body))
    wire += c.send(h11.EndOfMessage())
    if version == "1.0":
        wire = wire.replace(b" HTTP/1.1\r\n", b" HTTP/1.0\r\n", 1)
    sock.sendall(wire)
    response, data = None, b""
    while True:
        event = c.next_event()
        if event is h11.NEED_DATA:
            c.receive_data(sock.recv(65536))
        elif isinstance(event, h11.Response):
            response = event
        elif isinstance(event, h11.Data):
            data += event.data
        elif isinstance(event, h11.EndOfMessage):
            break
    sock.close()
    return response, data

r, body = exchange("1.1", "GET", "/")
assert (r.status_code, body) == (200, b"hello, world"), (r, body)
r, body = exchange("1.0", "GET", "/chunks/4/3")
assert r.status_code == 200 and body == bytes([0, 1, 2]) * 4, (r, body)
assert dict(r.headers).get(b"transfer-encoding") is None, r.headers
r, body = exchange("1.0", "GET", "/bytes/5")
assert body == bytes(range(5)), body
r, body = exchange("1.1", "PATCH", "/echo", body=b"xyz")
assert body == b"xyz", body
r, body = exchange("1.1", "OPTIONS", "/")
assert r.status_code == 405 and (b"allow", b"GET, HEAD") in r.headers, r.headers
r, body = exchange("1.1", "GET", "/info?q={1}|2", headers=[("x-tab", "a\tb")])
assert b'"q={1}|2"' in body and b'"a\\u0009b"' in body, body
r, body = exchange("1.1", "GET", "/a%00")
assert r.status_code == 400 and body.startswith(b"bad uri"), (r, body)
print("ok")
"#;

#[test]
fn python_h11_against_the_demo() {
    python("h11", H11);
}
