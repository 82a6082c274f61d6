//! `cargo xtask soak [--secs N] [--clients N] [--seed N]`: builds the demo
//! server (release), starts it on an AF_UNIX socket, and for N seconds
//! (default 30) runs client threads that open connection after connection
//! with a seeded random mix of valid requests (pipelined, bodies by length
//! and chunked, ranges), invalid ones (which must be refused with a bare
//! 4xx/5xx and a close), and abrupt disconnects at every stage (mid
//! preamble, mid body, mid chunk, before reading a large response). It
//! reports the requests served and rejected and the server's RSS and fd
//! count (from `/proc/PID/status` and `/proc/PID/fd`) along the way, then
//! stops the server with SIGTERM and checks that it exits with 0.
//!
//! Fails when a valid request is not answered correctly, an invalid one is
//! not refused, the server's descriptors do not come back to their idle
//! count once the clients are gone, or the server does not exit cleanly.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::{Error, cargo, exec, target_dir};

/// Counters shared by the client threads.
#[derive(Default)]
struct Stats {
    connections: AtomicU64,
    served: AtomicU64,
    rejected: AtomicU64,
    disconnects: AtomicU64,
    failures: AtomicU64,
}

/// xorshift64*: a small seeded generator, enough for a mix.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The server's resident set (kB) and open descriptors.
fn usage(pid: u32) -> (u64, usize) {
    let rss = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0);
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count());
    (rss, fds)
}

/// The server's descriptors and what they are, for a report.
fn fd_list(pid: u32) -> String {
    let mut fds: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| {
            d.flatten()
                .map(|e| {
                    let target = std::fs::read_link(e.path()).unwrap_or_default();
                    format!("{}->{}", e.file_name().to_string_lossy(), target.display())
                })
                .collect()
        })
        .unwrap_or_default();
    fds.sort();
    fds.join(" ")
}

/// `cargo xtask soak`.
pub fn run(args: &[String]) -> Result<(), Error> {
    let mut secs = 30u64;
    let mut clients = 16usize;
    let mut seed = 0x05ee_dd06_u64;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut num = |name: &str| -> Result<u64, Error> {
            let v = it.next().ok_or(format!("soak: {name} needs a number"))?;
            v.parse().map_err(|_| format!("soak: bad {name} {v:?}"))
        };
        match a.as_str() {
            "--secs" => secs = num("--secs")?,
            "--clients" => clients = num("--clients")?.clamp(1, 200) as usize,
            "--seed" => seed = num("--seed")?.max(1),
            other => return Err(format!("soak: unexpected argument {other:?}")),
        }
    }
    exec(&mut cargo(&[
        "build",
        "--release",
        "--quiet",
        "-p",
        "degu-server",
        "--example",
        "demo",
    ]))?;
    let demo = target_dir().join("release").join("examples").join("demo");
    let sock = std::env::temp_dir().join(format!("degu-soak-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&sock);
    let mut server = Command::new(&demo)
        .args(["--timeout", "2", "--max-connections", "64"])
        .arg(format!("unix:{}", sock.display()))
        .env("DEGU_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", demo.display()))?;
    let result = soak(&mut server, &sock, secs, clients, seed);
    if result.is_err() {
        let _ = server.kill();
        let _ = server.wait();
    }
    let _ = std::fs::remove_file(&sock);
    result
}

fn soak(
    server: &mut Child,
    sock: &Path,
    secs: u64,
    clients: usize,
    seed: u64,
) -> Result<(), Error> {
    let pid = server.id();
    // The first stdout line is the bound address: the server is listening.
    let mut line = String::new();
    let stdout = server.stdout.take().ok_or("no stdout")?;
    BufReader::new(stdout)
        .read_line(&mut line)
        .map_err(|e| format!("soak: reading the server's address: {e}"))?;
    if line.is_empty() {
        return Err("soak: the server exited before listening".into());
    }
    // One request first: the server has spawned its accept loop (which
    // holds a second handle on the listener) and served once.
    let warm = connect(sock).and_then(|s| {
        let mut w = s.try_clone()?;
        w.write_all(b"GET / HTTP/1.1\r\nconnection: close\r\n\r\n")?;
        read_response(&mut BufReader::new(s), false)
    });
    match warm {
        Ok(r) if r.status == 200 => {}
        Ok(r) => return Err(format!("soak: first request: status {}", r.status)),
        Err(e) => return Err(format!("soak: first request: {e}")),
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut idle = usage(pid);
    loop {
        std::thread::sleep(Duration::from_millis(20));
        let now = usage(pid);
        if now.1 == idle.1 || Instant::now() > deadline {
            break;
        }
        idle = now;
    }
    let (rss0, fds0) = idle;
    let fd_list0 = fd_list(pid);
    println!(
        "soak: demo server pid {pid} at {}, {secs} s, {clients} clients, seed {seed}",
        line.trim()
    );
    println!("soak: start  RSS {rss0} kB, {fds0} fds");

    let stats = Arc::new(Stats::default());
    let stop = Arc::new(AtomicBool::new(false));
    let threads: Vec<_> = (0..clients)
        .map(|i| {
            let (stats, stop, sock) = (stats.clone(), stop.clone(), sock.to_path_buf());
            let mut rng =
                Rng(seed.wrapping_add(0x9e37_79b9_7f4a_7c15u64.wrapping_mul(i as u64 + 1)));
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    one_connection(&sock, &mut rng, &stats);
                }
            })
        })
        .collect();
    let start = Instant::now();
    let total = Duration::from_secs(secs);
    let step = (total / 10).max(Duration::from_secs(1));
    let mut samples = vec![(0u64, rss0, fds0)];
    while start.elapsed() < total {
        std::thread::sleep(step.min(total.saturating_sub(start.elapsed())));
        let (rss, fds) = usage(pid);
        samples.push((start.elapsed().as_secs(), rss, fds));
        println!(
            "soak: {:>4} s  RSS {rss} kB, {fds} fds, served {}, rejected {}, disconnects {}",
            start.elapsed().as_secs(),
            stats.served.load(Ordering::Relaxed),
            stats.rejected.load(Ordering::Relaxed),
            stats.disconnects.load(Ordering::Relaxed),
        );
    }
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        let _ = t.join();
    }
    // The server closes its side of each abandoned connection once it sees
    // the peer gone (at worst after its 2 s timeout): wait for the idle fd
    // count, boundedly.
    let deadline = Instant::now() + Duration::from_secs(15);
    let (mut rss1, mut fds1) = usage(pid);
    while fds1 > fds0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
        (rss1, fds1) = usage(pid);
    }
    let fd_list1 = fd_list(pid);
    let peak_rss = samples.iter().map(|s| s.1).max().unwrap_or(0);
    let s = &stats;
    println!("soak: end    RSS {rss1} kB, {fds1} fds (peak RSS during the run {peak_rss} kB)");
    println!(
        "soak: {} connections; {} requests served, {} rejected, {} abrupt disconnects, {} failures",
        s.connections.load(Ordering::Relaxed),
        s.served.load(Ordering::Relaxed),
        s.rejected.load(Ordering::Relaxed),
        s.disconnects.load(Ordering::Relaxed),
        s.failures.load(Ordering::Relaxed),
    );

    let status = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .map_err(|e| format!("soak: cannot run kill: {e}"))?;
    if !status.success() {
        return Err("soak: kill -TERM failed".into());
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    let code = loop {
        match server.try_wait() {
            Ok(Some(st)) => break st,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            Ok(None) => return Err("soak: the server did not exit within 30 s of SIGTERM".into()),
            Err(e) => return Err(format!("soak: waiting for the server: {e}")),
        }
    };
    println!("soak: server exited: {code}");
    if fds1 > fds0 {
        println!("soak: fds at start: {fd_list0}");
    }
    let mut problems = Vec::new();
    if !code.success() {
        problems.push(format!("the server exited with {code}"));
    }
    if s.failures.load(Ordering::Relaxed) > 0 {
        problems.push(format!("{} failures", s.failures.load(Ordering::Relaxed)));
    }
    if s.served.load(Ordering::Relaxed) == 0 {
        problems.push("no request served".into());
    }
    if fds1 > fds0 {
        problems.push(format!("fds went from {fds0} to {fds1}: {fd_list1}"));
    }
    if problems.is_empty() {
        println!("soak: ok");
        Ok(())
    } else {
        Err(format!("soak: {}", problems.join("; ")))
    }
}

/// One response as read by the soak client.
struct Resp {
    status: u16,
    close: bool,
    body: Vec<u8>,
}

/// Reads one response (the demo's framing: content-length or chunked).
fn read_response(r: &mut BufReader<UnixStream>, head: bool) -> io::Result<Resp> {
    let bad = |m: String| io::Error::new(io::ErrorKind::InvalidData, m);
    let mut line = String::new();
    r.read_line(&mut line)?;
    let status: u16 = line
        .strip_prefix("HTTP/1.1 ")
        .and_then(|s| s.get(..3))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad(format!("bad status line {line:?}")))?;
    let (mut length, mut chunked, mut close) = (None, false, false);
    loop {
        line.clear();
        if r.read_line(&mut line)? == 0 {
            return Err(bad("preamble cut short".into()));
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        let (name, value) = l
            .split_once(": ")
            .ok_or_else(|| bad(format!("bad header {l:?}")))?;
        match name {
            "content-length" => length = value.parse::<usize>().ok(),
            "transfer-encoding" => chunked = value == "chunked",
            "connection" => close = value == "close",
            _ => {}
        }
    }
    let mut body = Vec::new();
    if head {
        return Ok(Resp {
            status,
            close,
            body,
        });
    }
    if chunked {
        loop {
            line.clear();
            r.read_line(&mut line)?;
            let size = line.trim_end().split(';').next().unwrap_or("");
            let n = usize::from_str_radix(size, 16).map_err(|_| bad(format!("chunk {line:?}")))?;
            let at = body.len();
            body.resize(at + n + 2, 0);
            r.read_exact(&mut body[at..])?;
            body.truncate(at + n);
            if n == 0 {
                break;
            }
        }
    } else {
        let n = length.ok_or_else(|| bad("no framing".into()))?;
        body.resize(n, 0);
        r.read_exact(&mut body)?;
    }
    Ok(Resp {
        status,
        close,
        body,
    })
}

fn connect(sock: &Path) -> io::Result<UnixStream> {
    let s = UnixStream::connect(sock)?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    s.set_write_timeout(Some(Duration::from_secs(10)))?;
    Ok(s)
}

/// The demo's bytes: byte i of `/bytes/N` is `i % 251`.
fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i % 251) as u8).collect()
}

/// One connection of a random kind.
fn one_connection(sock: &Path, rng: &mut Rng, stats: &Stats) {
    let Ok(stream) = connect(sock) else {
        // Past max_connections the server refuses; not a failure.
        std::thread::yield_now();
        return;
    };
    stats.connections.fetch_add(1, Ordering::Relaxed);
    let kind = rng.below(100);
    let result = match kind {
        0..60 => valid(stream, rng, stats),
        60..75 => invalid(stream, rng, stats),
        _ => disconnect(stream, rng, stats),
    };
    if let Err(e) = result {
        stats.failures.fetch_add(1, Ordering::Relaxed);
        eprintln!("soak: kind {kind}: {e}");
    }
}

/// A keep-alive connection of 1..=20 valid requests, some pipelined.
fn valid(stream: UnixStream, rng: &mut Rng, stats: &Stats) -> io::Result<()> {
    let mut w = stream.try_clone()?;
    let mut r = BufReader::new(stream);
    let n = 1 + rng.below(20);
    let mut i = 0;
    while i < n {
        let depth = 1 + rng.below(4).min(n - i);
        let mut out = Vec::new();
        let mut expect = Vec::new();
        for _ in 0..depth {
            let (req, want, head) = valid_request(rng);
            out.extend_from_slice(&req);
            expect.push((want, head));
        }
        w.write_all(&out)?;
        for (want, head) in expect {
            let resp = read_response(&mut r, head)?;
            if resp.status / 100 != 2 || (!head && resp.body != want) {
                return Err(io::Error::other(format!(
                    "unexpected answer {} ({} bytes)",
                    resp.status,
                    resp.body.len()
                )));
            }
            stats.served.fetch_add(1, Ordering::Relaxed);
        }
        i += depth;
    }
    Ok(())
}

/// A valid request, the body its response must carry, and whether it is HEAD.
fn valid_request(rng: &mut Rng) -> (Vec<u8>, Vec<u8>, bool) {
    match rng.below(8) {
        6 => {
            let n = rng.below(5000) as usize;
            let body: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
            let mut req =
                format!("PATCH /echo HTTP/1.1\r\ncontent-length: {n}\r\n\r\n").into_bytes();
            req.extend_from_slice(&body);
            (req, body, false)
        }
        7 => (
            b"GET /?filter[name]={x}|y HTTP/1.1\r\nx-tab:\ta\tb \r\n\r\n".to_vec(),
            b"hello, world".to_vec(),
            false,
        ),
        0 => (
            b"GET / HTTP/1.1\r\n\r\n".to_vec(),
            b"hello, world".to_vec(),
            false,
        ),
        1 => (b"HEAD / HTTP/1.1\r\n\r\n".to_vec(), Vec::new(), true),
        2 => {
            let n = rng.below(200_000) as usize;
            (
                format!("GET /bytes/{n} HTTP/1.1\r\n\r\n").into_bytes(),
                pattern(n),
                false,
            )
        }
        3 => {
            let n = rng.below(70_000) as usize;
            let body: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
            let mut req = format!("PUT /echo HTTP/1.1\r\ncontent-length: {n}\r\n\r\n").into_bytes();
            req.extend_from_slice(&body);
            (req, body, false)
        }
        4 => {
            let mut req = b"POST /echo HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n".to_vec();
            let mut body = Vec::new();
            for k in 0..rng.below(6) {
                let n = 1 + rng.below(5000) as usize;
                let data: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
                req.extend_from_slice(format!("{n:x};k={k}\r\n").as_bytes());
                req.extend_from_slice(&data);
                req.extend_from_slice(b"\r\n");
                body.extend_from_slice(&data);
            }
            req.extend_from_slice(b"0\r\n\r\n");
            (req, body, false)
        }
        _ => {
            let n = 1000 + rng.below(1000) as usize;
            let a = rng.below(500) as usize;
            let req = format!(
                "GET /bytes/{n} HTTP/1.1\r\nrange: bytes={a}-{}\r\n\r\n",
                a + 99
            );
            (req.into_bytes(), pattern(n)[a..a + 100].to_vec(), false)
        }
    }
}

/// A request the server must refuse with a bare 4xx/5xx and a close.
fn invalid(stream: UnixStream, rng: &mut Rng, stats: &Stats) -> io::Result<()> {
    const BAD: &[(&[u8], u16)] = &[
        (b"TRACE / HTTP/1.1\r\n\r\n", 501),
        (b"GET / HTTP/2.0\r\n\r\n", 505),
        (b"GET /a/../b HTTP/1.1\r\n\r\n", 400),
        (b"GET /a%2Fb HTTP/1.1\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nbad header: x\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\na: 1\r\na: 2\r\n\r\n", 400),
        (b"GET /\x00 HTTP/1.1\r\n\r\n", 400),
        (
            b"PUT /echo HTTP/1.1\r\ncontent-length: 1\r\ntransfer-encoding: chunked\r\n\r\n",
            400,
        ),
        (b"PUT /echo HTTP/1.1\r\ncontent-length: -1\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\ncontent-length: 1\r\n\r\nx", 400),
    ];
    let (req, want) = BAD[rng.below(BAD.len() as u64) as usize];
    let mut w = stream.try_clone()?;
    let mut r = BufReader::new(stream);
    // Sometimes after a valid request on the same connection.
    let before = rng.below(2) == 0;
    if before {
        w.write_all(b"GET / HTTP/1.1\r\n\r\n")?;
    }
    w.write_all(req)?;
    if before {
        let resp = read_response(&mut r, false)?;
        if resp.status != 200 {
            return Err(io::Error::other(format!(
                "got {} before the bad one",
                resp.status
            )));
        }
        stats.served.fetch_add(1, Ordering::Relaxed);
    }
    let resp = read_response(&mut r, false).map_err(|e| {
        io::Error::other(format!(
            "{:?} (after a valid one: {before}): {e}",
            String::from_utf8_lossy(req)
        ))
    })?;
    if resp.status != want || !resp.close {
        return Err(io::Error::other(format!(
            "{:?}: got {} (close {}), want {want} and a close",
            String::from_utf8_lossy(req),
            resp.status,
            resp.close
        )));
    }
    // Then nothing more: the connection ends.
    let mut rest = Vec::new();
    match r.read_to_end(&mut rest) {
        Ok(_) if rest.is_empty() => {}
        Ok(_) => return Err(io::Error::other("bytes after a refusal")),
        Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {}
        Err(e) => return Err(e),
    }
    stats.rejected.fetch_add(1, Ordering::Relaxed);
    Ok(())
}

/// A peer that leaves abruptly at some stage.
fn disconnect(mut stream: UnixStream, rng: &mut Rng, stats: &Stats) -> io::Result<()> {
    stats.disconnects.fetch_add(1, Ordering::Relaxed);
    let r = match rng.below(6) {
        // Connect and leave.
        0 => Ok(()),
        // Mid preamble.
        1 => stream.write_all(b"GET /info HTTP/1.1\r\nhost: exa"),
        // Mid body.
        2 => stream.write_all(b"PUT /echo HTTP/1.1\r\ncontent-length: 100000\r\n\r\nabc"),
        // Mid chunk.
        3 => stream
            .write_all(b"POST /echo HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n100;a=b\r\nxyz"),
        // Mid response: ask for a large body, read a little, leave.
        4 => stream
            .write_all(b"GET /bytes/5000000 HTTP/1.1\r\n\r\n")
            .and_then(|()| stream.read(&mut [0u8; 4096]).map(drop)),
        // Half-close after a request: the response still comes.
        _ => stream
            .write_all(b"GET / HTTP/1.1\r\n\r\n")
            .and_then(|()| stream.shutdown(std::net::Shutdown::Write))
            .and_then(|()| {
                let mut r = BufReader::new(stream.try_clone()?);
                let resp = read_response(&mut r, false)?;
                if resp.status == 200 {
                    stats.served.fetch_add(1, Ordering::Relaxed);
                    Ok(())
                } else {
                    Err(io::Error::other(format!("half-close: got {}", resp.status)))
                }
            })
            .map_err(|e| io::Error::other(format!("half-close: {e}"))),
    };
    // Only the half-close must succeed: the others leave on purpose, and a
    // write may fail when the server already gave up on them.
    match r {
        Err(e) if e.to_string().starts_with("half-close") => Err(e),
        _ => Ok(()),
    }
}
