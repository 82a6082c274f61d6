//! The fetch example (its documented output), run as a program against
//! degu-server's demo app.

use std::path::PathBuf;
use std::process::{Command, Output};

use degu_client::Incoming;
use degu_server::{AppResult, Request, Response, Server, ServerHandle, ServerOptions, Session};

use crate::util::{Listener, TIMEOUT, TempDir, pattern};

/// The fetch example's binary, built if `cargo test` did not build it
/// (a filtered run builds no examples); `None` if it cannot be had.
fn fetch_exe() -> Option<PathBuf> {
    static EXE: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
    EXE.get_or_init(|| {
        // target/<profile>/deps/client-<hash> → target/<profile>/examples/fetch
        let exe = std::env::current_exe().ok()?;
        let profile_dir = exe.parent()?.parent()?;
        let fetch = profile_dir.join("examples").join("fetch");
        if !fetch.is_file() {
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let mut cmd = Command::new(cargo);
            cmd.args(["build", "-q", "-p", "degu-client", "--example", "fetch"]);
            if profile_dir.file_name()? == "release" {
                cmd.arg("--release");
            }
            cmd.env("CARGO_TARGET_DIR", profile_dir.parent()?);
            if !cmd.status().ok()?.success() {
                return None;
            }
        }
        fetch.is_file().then_some(fetch)
    })
    .clone()
}

fn fetch(args: &[&str]) -> Option<Output> {
    let Some(exe) = fetch_exe() else {
        println!("skipped: the fetch example is not built");
        return None;
    };
    Some(Command::new(exe).args(args).output().unwrap())
}

fn demo() -> ServerHandle {
    let options = ServerOptions::default().with_timeout(Some(TIMEOUT));
    Server::bind(
        &"127.0.0.1:0".parse().unwrap(),
        degu_server::demo::app,
        options,
    )
    .unwrap()
    .spawn()
    .unwrap()
}

fn stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

#[test]
fn fetch_prints_status_headers_and_body() {
    let server = demo();
    let a = server.address().to_string();
    let Some(out) = fetch(&[&a, "/"]) else { return };
    assert_eq!(
        stdout(&out),
        "200 OK\ncontent-type: text/plain\ncontent-length: 12\n\nhello, world"
    );
    let out = fetch(&["-X", "HEAD", &a, "/"]).unwrap();
    assert_eq!(
        stdout(&out),
        "200 OK\ncontent-type: text/plain\ncontent-length: 12\n\n"
    );
    // Any HTTP status exits 0.
    let out = fetch(&[&a, "/nope"]).unwrap();
    assert_eq!(stdout(&out), "404 Not Found\ncontent-length: 0\n\n");
    let out = fetch(&["-X", "DELETE", &a, "/"]).unwrap();
    assert!(stdout(&out).starts_with("405 Method Not Allowed\n"));
    // Headers, lowercased.
    let out = fetch(&["-H", "X-Foo: bar", "-H", "x-n: 1", &a, "/info?q"]).unwrap();
    let text = stdout(&out);
    assert!(text.contains(r#""x-foo":"bar","x-n":"1""#), "{text}");
    assert!(text.contains(r#""query":"q""#), "{text}");
    server.shutdown();
}

#[test]
fn fetch_bodies_range_and_repeat() {
    let server = demo();
    let a = server.address().to_string();
    let Some(out) = fetch(&["--data", "some text", &a, "/echo"]) else {
        return;
    };
    assert_eq!(stdout(&out), "200 OK\ncontent-length: 9\n\nsome text");

    let dir = TempDir::new("fetch");
    let file = dir.path().join("f.bin");
    std::fs::write(&file, pattern(150_000)).unwrap();
    let at_file = format!("@{}", file.display());
    let out = fetch(&["-X", "PUT", "--data", &at_file, &a, "/echo"]).unwrap();
    assert_eq!(
        out.stdout,
        [
            &b"200 OK\ncontent-length: 150000\n\n"[..],
            &pattern(150_000)
        ]
        .concat()
    );
    let out = fetch(&["--chunked", &at_file, &a, "/echo"]).unwrap();
    assert_eq!(
        out.stdout,
        [
            &b"200 OK\ntransfer-encoding: chunked\n\n"[..],
            &pattern(150_000)
        ]
        .concat()
    );

    let out = fetch(&["--range", "10-20", &a, "/bytes/100"]).unwrap();
    assert_eq!(
        out.stdout,
        [
            &b"206 Partial Content\ncontent-type: application/octet-stream\n\
               content-range: bytes 10-19/100\ncontent-length: 10\n\n"[..],
            &pattern(100)[10..20]
        ]
        .concat()
    );

    let out = fetch(&["--repeat", "100", &a, "/info"]).unwrap();
    let text = stdout(&out);
    assert!(text.contains(r#""requests":99"#), "{text}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("100 requests in"));
    server.shutdown();
}

#[test]
fn fetch_chunked_file_sends_64_kib_chunks() {
    // Answers with the sizes of the chunks it received.
    let app = |_: &mut Session, r: &mut Request| -> AppResult {
        let Some(Incoming::Chunked(body)) = r.body.take() else {
            return Ok(Response::new(400, "Bad Request"));
        };
        let sizes: Vec<String> = body
            .map(|c| c.map(|c| c.data.len().to_string()))
            .collect::<Result<_, _>>()?;
        Ok(Response::new(200, "OK").body(sizes.join(",")))
    };
    let server = Server::bind(&"unix:@".parse().unwrap(), app, ServerOptions::default())
        .unwrap()
        .spawn()
        .unwrap();
    let a = server.address().to_string();
    let dir = TempDir::new("chunks");
    let file = dir.path().join("f.bin");
    std::fs::write(&file, pattern(150_000)).unwrap();
    let Some(out) = fetch(&["--chunked", &format!("@{}", file.display()), &a, "/"]) else {
        return;
    };
    assert!(stdout(&out).ends_with("\n\n65536,65536,18928,0"));
    std::fs::write(&file, "").unwrap();
    let out = fetch(&["--chunked", &format!("@{}", file.display()), &a, "/"]).unwrap();
    assert!(stdout(&out).ends_with("\n\n0"));
    server.shutdown();
}

#[test]
fn fetch_errors() {
    let Some(out) = fetch(&["127.0.0.1:1", "/"]) else {
        return;
    };
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("fetch: "), "{err}");
    assert!(err.contains("cannot connect to 127.0.0.1:1"), "{err}");
    assert!(out.stdout.is_empty());

    let server = demo();
    let a = server.address().to_string();
    let out = fetch(&["--data", "@/nonexistent/file", &a, "/echo"]).unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/file"));
    let out = fetch(&["-X", "GET", "--data", "x", &a, "/"]).unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "fetch: GET request with a body\n"
    );
    server.shutdown();

    for bad in [
        &["/"][..],
        &["--bogus", "127.0.0.1:1", "/"],
        &["-X", "TRACE", "127.0.0.1:1", "/"],
        &["--range", "5", "127.0.0.1:1", "/"],
        &["--repeat", "0", "127.0.0.1:1", "/"],
        &["not-an-address", "/"],
    ] {
        let out = fetch(bad).unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
        assert!(String::from_utf8_lossy(&out.stderr).starts_with("fetch: "));
    }
    let out = fetch(&["--help"]).unwrap();
    assert!(stdout(&out).contains("64 KiB"));
}

/// A server on a loopback port that answers each of `wires.len()`
/// connections' first request with the next canned response, then closes
/// that connection.
fn canned_responses(wires: Vec<Vec<u8>>) -> (String, std::thread::JoinHandle<()>) {
    let (listener, address) = Listener::tcp4();
    let thread = std::thread::spawn(move || {
        for wire in wires {
            let mut peer = listener.accept();
            peer.read_request().unwrap();
            peer.write(wire);
        }
    });
    (address.to_string(), thread)
}

#[test]
fn fetch_prints_a_close_delimited_body_whole() {
    let head = b"HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\n\r\n";
    let wire = [&head[..], &pattern(300_000)].concat();
    let (a, server) = canned_responses(vec![wire]);
    let Some(out) = fetch(&[&a, "/"]) else { return };
    assert!(out.status.success(), "{out:?}");
    // Repeated headers each on a line; the body whole, nothing after it.
    let expected = [
        &b"200 OK\nset-cookie: a=1\nset-cookie: b=2\n\n"[..],
        &pattern(300_000),
    ]
    .concat();
    assert!(out.stdout == expected, "{} bytes", out.stdout.len());
    assert!(out.stderr.is_empty());
    server.join().unwrap();
}

#[test]
fn fetch_http10_empty_reason_and_trailers() {
    let wires = vec![
        b"HTTP/1.0 422 \r\nServer: old\r\n\r\nunprocessable".to_vec(),
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n\
          5\r\nhello\r\n0\r\nx-checksum: abc\r\n\r\n"
            .to_vec(),
    ];
    let (a, server) = canned_responses(wires);
    let Some(out) = fetch(&[&a, "/"]) else { return };
    // Any status exits 0; an empty reason prints no trailing space.
    assert_eq!(stdout(&out), "422\nserver: old\n\nunprocessable");
    // Trailers are not printed: stdout ends with the body's bytes.
    let out = fetch(&[&a, "/"]).unwrap();
    assert_eq!(stdout(&out), "200 OK\ntransfer-encoding: chunked\n\nhello");
    server.join().unwrap();
}

#[test]
fn fetch_repeat_reconnects_after_a_connection_ends() {
    let wires = (0..3)
        .map(|i| format!("HTTP/1.0 200 OK\r\ncontent-length: 1\r\n\r\n{i}").into_bytes())
        .collect();
    let (a, server) = canned_responses(wires);
    let Some(out) = fetch(&["--repeat", "3", &a, "/"]) else {
        return;
    };
    assert_eq!(stdout(&out), "200 OK\ncontent-length: 1\n\n2");
    server.join().unwrap();
}

#[test]
fn fetch_repeat_goes_on_across_max_requests() {
    let server = Server::bind(
        &"127.0.0.1:0".parse().unwrap(),
        degu_server::demo::app,
        ServerOptions::default()
            .with_timeout(Some(TIMEOUT))
            .with_max_requests(100),
    )
    .unwrap()
    .spawn()
    .unwrap();
    let a = server.address().to_string();
    let Some(out) = fetch(&["--repeat", "2000", &a, "/"]) else {
        return;
    };
    // The 2000th request was its connection's 100th: the last.
    assert_eq!(
        stdout(&out),
        "200 OK\ncontent-type: text/plain\ncontent-length: 12\nconnection: close\n\nhello, world"
    );
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.starts_with("2000 requests in "), "{err}");
    assert!(err.ends_with(", on 20 connections\n"), "{err}");
    server.shutdown();
}

/// A 1 GiB file, sparse but for 4 KiB of pattern every 128 MiB (each at
/// a different offset in its stretch), so a digest of what comes back
/// catches bytes lost, repeated or moved, without 1 GiB of disk.
fn gib_file(dir: &std::path::Path) -> PathBuf {
    use std::os::unix::fs::FileExt;
    let path = dir.join("1GiB.bin");
    let file = std::fs::File::create(&path).unwrap();
    file.set_len(1 << 30).unwrap();
    for k in 0..8u64 {
        let data = pattern(4096 + k as usize);
        file.write_all_at(&data, k * (128 << 20) + k * 4099)
            .unwrap();
    }
    path
}

/// The MD5 digest of what `r` yields, by `md5sum` (coreutils).
fn md5(r: &mut dyn std::io::Read) -> String {
    let mut child = Command::new("md5sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("md5sum (coreutils)");
    std::io::copy(r, child.stdin.as_mut().unwrap()).unwrap();
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    let digest = String::from_utf8(out.stdout).unwrap();
    digest.split_whitespace().next().unwrap().to_owned()
}

/// `fetch --data @1GiB` and `fetch --chunked @1GiB` to the demo's
/// `/echo` at `address` print the same bytes back: the demo streams the
/// echo while the body still arrives, so a client that sent the whole
/// body before reading would block on full socket buffers forever.
fn fetch_echoes_1_gib(address: &str) {
    use std::io::BufRead;
    let Some(exe) = fetch_exe() else {
        println!("skipped: the fetch example is not built");
        return;
    };
    let dir = TempDir::new("gib");
    let file = gib_file(dir.path());
    let expected = md5(&mut std::fs::File::open(&file).unwrap());
    for mode in ["--data", "--chunked"] {
        let mut child = Command::new(&exe)
            .args([mode, &format!("@{}", file.display()), address, "/echo"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut head = String::new();
        loop {
            let mut line = String::new();
            if out.read_line(&mut line).unwrap() == 0 || line == "\n" {
                break;
            }
            head.push_str(&line);
        }
        let got = md5(&mut out);
        let status = child.wait().unwrap();
        let mut err = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
        assert!(status.success(), "{mode}: {status:?}: {err}");
        assert!(head.starts_with("200 OK\n"), "{mode}: {head}");
        assert_eq!(got, expected, "{mode}: the echo differs");
    }
}

#[test]
fn fetch_echoes_1_gib_over_tcp() {
    let server = demo();
    fetch_echoes_1_gib(&server.address().to_string());
    server.shutdown();
}

#[test]
fn fetch_echoes_1_gib_over_unix() {
    let options = ServerOptions::default().with_timeout(Some(TIMEOUT));
    let server = Server::bind(&"unix:@".parse().unwrap(), degu_server::demo::app, options)
        .unwrap()
        .spawn()
        .unwrap();
    fetch_echoes_1_gib(&server.address().to_string());
    server.shutdown();
}
