//! Real clients (curl, Python's http.client) against the demo server
//! binary, which is stopped with SIGTERM and must exit 0.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use degu_server::Address;

use crate::util::{IO_TIMEOUT, Json, TempDir, on_path, pattern};

/// The demo example, built by `cargo test` next to the test binaries.
pub(crate) fn demo_binary() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let path = exe.parent()?.parent()?.join("examples/demo");
    if path.is_file() {
        Some(path)
    } else {
        println!(
            "note: skipping interop, {} is missing (`cargo test` builds it; \
             `cargo test --test server` alone does not)",
            path.display()
        );
        None
    }
}

/// A running demo server process.
pub(crate) struct Demo {
    child: Child,
    pub(crate) address: Address,
    log: PathBuf,
}

impl Demo {
    pub(crate) fn start(binary: &Path, address: &str, dir: &Path) -> Demo {
        Demo::start_with(binary, &[], address, dir)
    }

    /// Starts the demo with `options` before the address.
    pub(crate) fn start_with(binary: &Path, options: &[&str], address: &str, dir: &Path) -> Demo {
        let log = dir.join(format!(
            "demo-{}.log",
            address.replace(['/', ':', '@'], "_")
        ));
        let mut child = Command::new(binary)
            .args(options)
            .arg(address)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        // The first stdout line is the bound address.
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(IO_TIMEOUT).unwrap_or_default();
        match line.trim_end().parse::<Address>() {
            Ok(address) => Demo {
                child,
                address,
                log,
            },
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                let text = std::fs::read_to_string(&log).unwrap_or_default();
                panic!("demo printed {line:?} ({e}); log: {text}")
            }
        }
    }

    pub(crate) fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGTERM, then wait (at most 10 s) for exit code 0.
    pub(crate) fn stop(mut self) {
        let pid = self.child.id().to_string();
        let status = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(status.success(), "kill -TERM {pid} failed");
        let deadline = Instant::now() + Duration::from_secs(10);
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "the demo did not exit within 10 s of SIGTERM; log: {}",
                self.log_text()
            );
            thread::sleep(Duration::from_millis(10));
        };
        assert_eq!(
            status.code(),
            Some(0),
            "demo exit; log: {}",
            self.log_text()
        );
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// How many curl runs, and their total time (reported, not asserted).
#[derive(Default)]
struct Runs {
    count: u32,
    total: Duration,
}

/// Runs curl (`--max-time 20`, silent but showing errors); asserts it
/// exits 0 and returns its stdout.
fn curl(args: &[&str], runs: &mut Runs) -> Vec<u8> {
    let start = Instant::now();
    let out: Output = Command::new("curl")
        .args(["-sS", "--max-time", "20"])
        .args(args)
        .output()
        .unwrap();
    runs.count += 1;
    runs.total += start.elapsed();
    assert!(
        out.status.success(),
        "curl {args:?}: {}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[test]
fn curl_against_the_demo_server() {
    if !on_path("curl") {
        println!("note: skipping, curl is not on PATH (.ci/run installs it)");
        return;
    }
    let Some(binary) = demo_binary() else { return };
    let dir = TempDir::new();
    let data: Vec<u8> = (0..=255u8).cycle().take(300_000).collect();
    let file = dir.path().join("data.bin");
    std::fs::write(&file, &data).unwrap();
    let at_file = format!("@{}", file.display());
    let mut runs = Runs::default();

    let demo = Demo::start(&binary, "127.0.0.1:0", dir.path());
    let base = format!("http://{}", demo.address);
    let url = |path: &str| format!("{base}{path}");

    assert_eq!(curl(&[&url("/")], &mut runs), b"hello, world");
    let head = curl(&["-I", &url("/")], &mut runs);
    assert_eq!(
        String::from_utf8(head).unwrap(),
        "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 12\r\n\r\n"
    );
    let echoed = curl(
        &["-X", "PUT", "--data-binary", &at_file, &url("/echo")],
        &mut runs,
    );
    assert!(echoed == data, "PUT echo differs");
    let echoed = curl(
        &[
            "-H",
            "Transfer-Encoding: chunked",
            "--data-binary",
            &at_file,
            &url("/echo"),
        ],
        &mut runs,
    );
    assert!(echoed == data, "chunked upload echo differs");
    let ranged = dir.path().join("ranged.bin");
    let code = curl(
        &[
            "-r",
            "100-199",
            "-o",
            ranged.to_str().unwrap(),
            "-w",
            "%{http_code} %{size_download}",
            &url("/bytes/1000"),
        ],
        &mut runs,
    );
    assert_eq!(String::from_utf8(code).unwrap(), "206 100");
    assert_eq!(std::fs::read(&ranged).unwrap(), pattern(100, 100));
    assert_eq!(
        curl(&[&url("/chunks/3/5")], &mut runs),
        [0, 1, 2, 3, 4].repeat(3)
    );
    assert_eq!(
        curl(&[&url("/bytes/100000")], &mut runs),
        pattern(0, 100_000)
    );
    let code = curl(
        &["-o", "/dev/null", "-w", "%{http_code}", &url("/nope")],
        &mut runs,
    );
    assert_eq!(code, b"404");
    // Two URLs in one run share the connection (keep-alive).
    let two = curl(&[&url("/info?1"), &url("/info?2")], &mut runs);
    let text = String::from_utf8(two).unwrap();
    let second = &text[text.find("}}{").expect("two JSON objects") + 2..];
    assert_eq!(Json::parse(second).get("session").get("requests").int(), 1);
    demo.stop();

    // --unix-socket with a socket file.
    let sock = dir.path().join("demo.sock");
    let demo = Demo::start(&binary, &format!("unix:{}", sock.display()), dir.path());
    let sock_arg = sock.to_str().unwrap();
    let out = curl(&["--unix-socket", sock_arg, "http://localhost/"], &mut runs);
    assert_eq!(out, b"hello, world");
    let out = curl(
        &[
            "--unix-socket",
            sock_arg,
            "--data-binary",
            &at_file,
            "http://localhost/echo",
        ],
        &mut runs,
    );
    assert!(out == data, "echo over --unix-socket differs");
    let info = curl(
        &["--unix-socket", sock_arg, "http://localhost/info"],
        &mut runs,
    );
    let j = Json::parse(std::str::from_utf8(&info).unwrap());
    assert!(matches!(j.get("session").get("credentials"), Json::Arr(v) if v.len() == 3));
    demo.stop();
    assert!(!sock.exists(), "socket file left behind");

    // --abstract-unix-socket with a kernel-chosen name.
    let demo = Demo::start(&binary, "unix:@", dir.path());
    let Address::Abstract(name) = &demo.address else {
        panic!("{:?}", demo.address)
    };
    let name = String::from_utf8(name.clone()).unwrap();
    let out = curl(
        &["--abstract-unix-socket", &name, "http://localhost/"],
        &mut runs,
    );
    assert_eq!(out, b"hello, world");
    let out = curl(
        &[
            "--abstract-unix-socket",
            &name,
            "-r",
            "0-9",
            "http://localhost/bytes/50",
        ],
        &mut runs,
    );
    assert_eq!(out, pattern(0, 10));
    demo.stop();
    println!("curl: {} runs took {:?} in all", runs.count, runs.total);
}

const PYTHON: &str = r#"
import http.client, json, sys
host, port = sys.argv[1], int(sys.argv[2])
c = http.client.HTTPConnection(host, port, timeout=20)
c.request("GET", "/")
r = c.getresponse()
assert (r.status, r.read()) == (200, b"hello, world"), r.status
c.request("HEAD", "/")
r = c.getresponse()
assert r.status == 200 and r.getheader("content-length") == "12", r.headers
assert r.read() == b""
body = bytes(i % 251 for i in range(200000))
c.request("PUT", "/echo", body=body)
r = c.getresponse()
assert r.status == 200 and r.read() == body
c.request("POST", "/echo", body=iter([b"abc", b"defg"]), encode_chunked=True)
r = c.getresponse()
assert r.read() == b"abcdefg"
c.request("GET", "/bytes/10", headers={"Range": "bytes=2-4"})
r = c.getresponse()
assert r.status == 206 and r.read() == bytes([2, 3, 4])
for i in range(20):
    c.request("GET", "/info?i=%d" % i)
    r = c.getresponse()
    j = json.loads(r.read())
    assert j["query"] == "i=%d" % i
    assert j["session"]["requests"] == 5 + i, j
c.close()
print("ok")
"#;

#[test]
fn python_http_client_against_the_demo_server() {
    if !on_path("python3") {
        println!("note: skipping, python3 is not on PATH (.ci/run installs it)");
        return;
    }
    let Some(binary) = demo_binary() else { return };
    let dir = TempDir::new();
    let demo = Demo::start(&binary, "127.0.0.1:0", dir.path());
    let Address::Tcp4 { ip, port } = demo.address else {
        panic!("{:?}", demo.address)
    };
    let start = Instant::now();
    let out = Command::new("python3")
        .args(["-c", PYTHON, &ip.to_string(), &port.to_string()])
        .output()
        .unwrap();
    println!("python: took {:?}", start.elapsed());
    assert!(
        out.status.success() && out.stdout == b"ok\n",
        "python: {}: {}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    demo.stop();
}
