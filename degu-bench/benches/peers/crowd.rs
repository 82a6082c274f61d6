//! Crowds of connections against one server in a child process: the
//! `slowloris` and `idle` sections, the [`ServerChild`] they (and the RSS
//! table) measure, and the file-descriptor limit they need.
//!
//! Every socket operation here has a timeout and every loop a bound: a
//! server that cannot take a crowd (it stops accepting, or leaves
//! connections unanswered) shows up as counts in the table, never as a
//! hung bench.

use std::io::{self, BufRead, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags, Timespec};

use crate::net::{self, HELLO, REQUEST};
use crate::{Cell, Mode, Table, record};

/// The servers of both sections: the name shown, and the `serve` kind.
const SERVERS: &[(&str, &str)] = &[
    ("degu", "degu"),
    ("hyper (multi-thread)", "hyper"),
    ("tiny_http (4 workers)", "tiny_http"),
    ("astra (512 workers)", "astra"),
];

/// What a slow connection sends at once: half a request preamble.
const SLOW_HEAD: &[u8] = b"GET / HTTP/1.1\r\nhost: x\r\n";

/// What it then trickles, one byte per tick (then `a`s): a header line
/// that never ends.
const SLOW_TAIL: &[u8] = b"x-slow: ";

/// How often a slow connection sends its next byte.
const SLOW_TICK: Duration = Duration::from_secs(2);

/// The wait between opening a slowloris crowd and the first well-behaved
/// request.
const SLOW_SETTLE: Duration = Duration::from_millis(500);

/// How often the well-behaved client starts a request.
const GOOD_EVERY: Duration = Duration::from_millis(50);

/// The time a well-behaved request has, connect to last byte.
const GOOD_LIMIT: Duration = Duration::from_secs(2);

/// The time one connect of a crowd has: enough for a SYN retransmitted
/// once (after 1 s) when the server's listen backlog overflowed.
const CONNECT_LIMIT: Duration = Duration::from_millis(2500);

/// The wait between the last answer of an idle crowd and the RSS reading.
pub const IDLE_SETTLE: Duration = Duration::from_millis(500);

/// The wait between the child's start and its first RSS reading.
pub const START_SETTLE: Duration = Duration::from_millis(200);

/// The time the `serve` child has to print its address, and to exit once
/// its stdin closes.
const CHILD_LIMIT: Duration = Duration::from_secs(20);

/// The longest response a crowd's client reads (all are about 100 bytes).
const MAX_RESPONSE: usize = 4096;

/// Raises this process's soft `RLIMIT_NOFILE` to its hard limit: a crowd
/// of 10 000 connections needs 10 000 descriptors on each side.
pub fn raise_nofile() -> io::Result<()> {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let lim = getrlimit(Resource::Nofile);
    if lim.current == lim.maximum {
        return Ok(());
    }
    setrlimit(
        Resource::Nofile,
        Rlimit {
            current: lim.maximum,
            maximum: lim.maximum,
        },
    )?;
    Ok(())
}

// ------------------------------------------------------------ the child

/// What `/proc/PID/status` tells of a process.
#[derive(Clone, Copy, Debug)]
pub struct ProcStatus {
    /// VmRSS, in KiB.
    pub rss_kib: u64,
    /// Threads.
    pub threads: u64,
}

/// Reads VmRSS and Threads from `/proc/PID/status`.
pub fn proc_status(pid: u32) -> io::Result<ProcStatus> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| {
        s.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .ok_or_else(|| io::Error::other(format!("no {name} in /proc/{pid}/status")))
    };
    Ok(ProcStatus {
        rss_kib: field("VmRSS:")?,
        threads: field("Threads:")?,
    })
}

/// A server alone in a child process: this bench re-executed as `serve
/// KIND`, listening on TCP loopback. It stops when its stdin closes
/// ([`stop`](Self::stop)); dropped without that, it is killed.
pub struct ServerChild {
    child: Option<Child>,
    addr: SocketAddr,
}

impl ServerChild {
    /// Starts `serve KIND` and reads the address it prints.
    pub fn start(kind: &str) -> io::Result<ServerChild> {
        ServerChild::start_with(kind, &[])
    }

    /// Starts `serve KIND ARGS...` and reads the address it prints.
    pub fn start_with(kind: &str, args: &[&str]) -> io::Result<ServerChild> {
        let exe = std::env::current_exe()?;
        let mut child = Command::new(exe)
            .args(["serve", kind])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let out = child.stdout.take();
        let mut me = ServerChild {
            child: Some(child),
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        };
        let out = out.ok_or_else(|| io::Error::other("serve child: no stdout"))?;
        // Read on a thread, so that a child that never prints is given up
        // on (and killed on drop, which ends the read).
        let (tx, rx) = mpsc::channel();
        thread::Builder::new()
            .name("serve-child-stdout".into())
            .spawn(move || {
                let mut line = String::new();
                let r = io::BufReader::new(out).read_line(&mut line).map(|_| line);
                let _ = tx.send(r);
            })?;
        let line = rx
            .recv_timeout(CHILD_LIMIT)
            .map_err(|_| io::Error::other(format!("serve {kind}: no address printed")))??;
        me.addr = line
            .trim()
            .parse()
            .map_err(|e| io::Error::other(format!("serve {kind}: address {line:?}: {e}")))?;
        Ok(me)
    }

    /// Where the server listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The child's VmRSS and thread count now.
    pub fn status(&self) -> io::Result<ProcStatus> {
        let child = self
            .child
            .as_ref()
            .ok_or_else(|| io::Error::other("serve child: gone"))?;
        proc_status(child.id())
    }

    /// Closes the child's stdin (it stops its server and exits) and waits
    /// for it, at most [`CHILD_LIMIT`]; an exit other than success, or no
    /// exit in time (it is killed then), is an error.
    pub fn stop(mut self) -> io::Result<()> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        drop(child.stdin.take());
        let end = Instant::now() + CHILD_LIMIT;
        loop {
            if let Some(status) = child.try_wait()? {
                return if status.success() {
                    Ok(())
                } else {
                    Err(io::Error::other(format!("serve child: {status}")))
                };
            }
            if Instant::now() >= end {
                let _ = child.kill();
                let _ = child.wait();
                return Err(io::Error::other("serve child: did not exit, killed"));
            }
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for ServerChild {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

// ------------------------------------------------------------ clients

/// Checks a response read so far: `None` while it is incomplete, then
/// whether it is `200` with a content-length and the hello body.
fn hello_response(buf: &[u8]) -> Option<io::Result<()>> {
    let head_end = net::find(buf, b"\r\n\r\n")? + 4;
    let head = &buf[..head_end];
    if !head.starts_with(b"HTTP/1.1 200 ") {
        return Some(Err(io::Error::other(format!(
            "not a 200: {:?}",
            String::from_utf8_lossy(head)
        ))));
    }
    let Some(len) = net::content_length(head) else {
        return Some(Err(io::Error::other("no content-length")));
    };
    let body = &buf[head_end..];
    if (body.len() as u64) < len {
        return None;
    }
    Some(if body == HELLO {
        Ok(())
    } else {
        Err(io::Error::other("wrong body"))
    })
}

/// One `GET /` on a fresh TCP connection, all of it (connect to the last
/// byte) within `limit`: the time it took.
fn timed_hello(addr: SocketAddr, limit: Duration) -> io::Result<Duration> {
    let t0 = Instant::now();
    let deadline = t0 + limit;
    let left = || {
        deadline
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
            .ok_or_else(|| io::Error::from(io::ErrorKind::TimedOut))
    };
    let mut s = TcpStream::connect_timeout(&addr, left()?)?;
    s.set_nodelay(true)?;
    s.set_write_timeout(Some(left()?))?;
    s.write_all(REQUEST)?;
    let mut buf = [0u8; MAX_RESPONSE];
    let mut have = 0;
    while have < buf.len() {
        s.set_read_timeout(Some(left()?))?;
        // A read timeout comes back as WouldBlock: say what it is.
        let n = s.read(&mut buf[have..]).map_err(|e| match e.kind() {
            io::ErrorKind::WouldBlock => io::Error::new(io::ErrorKind::TimedOut, "read timed out"),
            _ => e,
        })?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        have += n;
        if let Some(r) = hello_response(&buf[..have]) {
            r?;
            let took = t0.elapsed();
            return if took <= limit {
                Ok(took)
            } else {
                Err(io::ErrorKind::TimedOut.into())
            };
        }
    }
    Err(io::Error::other("response too long"))
}

/// Opens up to `n` TCP connections to `addr`, one after the other, each
/// given [`CONNECT_LIMIT`] and sent `first`, then made non-blocking; stops
/// opening once `budget` has passed. One after the other, the crowd comes
/// no faster than the kernel completes handshakes, and a server that
/// falls behind by a whole listen backlog slows it down (its dropped SYN
/// is retransmitted after 1 s) rather than losing connections. A
/// connection that fails is left out: `n` less the length of the result
/// is how many were not made.
fn open_crowd(addr: SocketAddr, n: usize, first: &[u8], budget: Duration) -> Vec<TcpStream> {
    let end = Instant::now() + budget;
    let one = || -> io::Result<TcpStream> {
        let mut s = TcpStream::connect_timeout(&addr, CONNECT_LIMIT)?;
        s.set_nodelay(true)?;
        s.set_write_timeout(Some(CONNECT_LIMIT))?;
        s.write_all(first)?;
        s.set_nonblocking(true)?;
        Ok(s)
    };
    let mut socks = Vec::with_capacity(n);
    let (mut failed, mut example) = (0usize, None);
    for _ in 0..n {
        if Instant::now() >= end {
            break;
        }
        match one() {
            Ok(s) => socks.push(s),
            Err(e) => {
                failed += 1;
                example.get_or_insert(e);
            }
        }
    }
    if socks.len() < n {
        let first = example.map_or_else(String::new, |e| format!(", the first error: {e}"));
        eprintln!(
            "peers: {} of {n} connections to {addr} not made: {failed} failed, {} not tried \
             within {} s{first}",
            n - socks.len(),
            n - socks.len() - failed,
            budget.as_secs_f64(),
        );
    }
    socks
}

/// Whether the server still holds a non-blocking connection open: it
/// has neither closed it nor answered on it.
fn still_open(mut s: &TcpStream) -> bool {
    let mut b = [0u8; 64];
    matches!(s.read(&mut b), Err(e) if e.kind() == io::ErrorKind::WouldBlock)
}

/// A thread writing the next byte of [`SLOW_TAIL`] (then `a`s) to every
/// connection of a slowloris crowd once per [`SLOW_TICK`], the crowd
/// spread over the tick in [`TRICKLE_STEPS`] groups, as independent slow
/// peers would be (all at once, the bench would measure its own burst of
/// writes fighting the server for the CPU). Dropped, it stops within
/// 50 ms and closes them.
struct Trickle {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Vec<TcpStream>>>,
}

/// The groups a slowloris crowd is trickled in, one after another over
/// each [`SLOW_TICK`].
const TRICKLE_STEPS: usize = 100;

impl Trickle {
    /// Starts trickling on `socks` (non-blocking) for at most `ticks`
    /// ticks.
    fn start(socks: Vec<TcpStream>, ticks: usize) -> io::Result<Trickle> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let step = SLOW_TICK / TRICKLE_STEPS as u32;
        let group = socks.len().div_ceil(TRICKLE_STEPS).max(1);
        let thread = thread::Builder::new()
            .name("trickle".into())
            .spawn(move || {
                let start = Instant::now();
                for k in 0..ticks * TRICKLE_STEPS {
                    let next = start + step * (k as u32 + 1);
                    loop {
                        if flag.load(Ordering::Relaxed) {
                            return socks;
                        }
                        match next.checked_duration_since(Instant::now()) {
                            Some(d) if !d.is_zero() => {
                                thread::sleep(d.min(Duration::from_millis(50)));
                            }
                            _ => break,
                        }
                    }
                    let (tick, g) = (k / TRICKLE_STEPS, k % TRICKLE_STEPS);
                    let byte = SLOW_TAIL.get(tick).copied().unwrap_or(b'a');
                    for mut s in socks.iter().skip(g * group).take(group) {
                        // Non-blocking: one that the server closed fails,
                        // and is seen as closed at the end.
                        let _ = s.write(&[byte]);
                    }
                }
                socks
            })?;
        Ok(Trickle {
            stop,
            thread: Some(thread),
        })
    }

    /// Stops trickling; the connections, still open.
    fn stop(mut self) -> io::Result<Vec<TcpStream>> {
        self.stop.store(true, Ordering::Relaxed);
        match self.thread.take() {
            Some(h) => h
                .join()
                .map_err(|_| io::Error::other("trickle thread panicked")),
            None => Ok(Vec::new()),
        }
    }
}

impl Drop for Trickle {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.thread.take() {
            let _ = h.join();
        }
    }
}

/// Reads the responses of an idle crowd (each sent [`REQUEST`]) as they
/// come, with `poll(2)`, until every connection has answered or failed or
/// `budget` has passed: how many answered `200` with the hello body.
fn await_answers(socks: &[TcpStream], budget: Duration) -> io::Result<usize> {
    let end = Instant::now() + budget;
    let mut bufs: Vec<Vec<u8>> = vec![Vec::new(); socks.len()];
    let mut pending: Vec<usize> = (0..socks.len()).collect();
    let mut answered = 0;
    let (mut failed, mut example) = (0usize, None);
    // Each round either times out or finishes or advances a connection;
    // a response takes a few reads at most.
    let mut rounds = 16 * socks.len() + 16;
    let mut tmp = [0u8; MAX_RESPONSE];
    while !pending.is_empty() && rounds > 0 {
        rounds -= 1;
        let Some(left) = end.checked_duration_since(Instant::now()) else {
            break;
        };
        let timeout = Timespec::try_from(left).map_err(io::Error::other)?;
        let ready: Vec<usize> = {
            let mut fds: Vec<PollFd<'_>> = pending
                .iter()
                .map(|&i| PollFd::new(&socks[i], PollFlags::IN))
                .collect();
            match rustix::event::poll(&mut fds, Some(&timeout)) {
                Ok(0) => break,
                Ok(_) => {}
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => return Err(e.into()),
            }
            fds.iter()
                .zip(&pending)
                .filter(|(f, _)| !f.revents().is_empty())
                .map(|(_, &i)| i)
                .collect()
        };
        let mut done = vec![false; socks.len()];
        for i in ready {
            let mut s = &socks[i];
            let mut closed = false;
            // At most MAX_RESPONSE bytes are kept: a bounded loop.
            while bufs[i].len() <= MAX_RESPONSE {
                match s.read(&mut tmp) {
                    Ok(0) => {
                        closed = true;
                        break;
                    }
                    Ok(n) => bufs[i].extend_from_slice(&tmp[..n]),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => {
                        closed = true;
                        break;
                    }
                }
            }
            match hello_response(&bufs[i]) {
                Some(Ok(())) => {
                    answered += 1;
                    done[i] = true;
                }
                Some(Err(e)) => {
                    failed += 1;
                    example.get_or_insert(e);
                    done[i] = true;
                }
                None if closed || bufs[i].len() > MAX_RESPONSE => {
                    failed += 1;
                    example.get_or_insert_with(|| {
                        io::Error::other(format!(
                            "closed after {:?}",
                            String::from_utf8_lossy(&bufs[i])
                        ))
                    });
                    done[i] = true;
                }
                None => {}
            }
        }
        pending.retain(|&i| !done[i]);
    }
    if let Some(e) = example {
        eprintln!(
            "peers: {failed} of {} connections answered wrongly or closed, the first: {e}",
            socks.len()
        );
    }
    Ok(answered)
}

/// Index `p` (0 to 1) of sorted figures; NaN when there are none.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted
        .get(((sorted.len() as f64 * p) as usize).min(sorted.len().saturating_sub(1)))
        .copied()
        .unwrap_or(f64::NAN)
}

// ------------------------------------------------------------ slowloris

/// The outcome of one slowloris run.
struct Slow {
    /// Slow connections made.
    open: usize,
    /// Slow connections the server still held at the end.
    held: usize,
    /// Well-behaved requests started.
    attempted: usize,
    /// Milliseconds each served one took, sorted.
    served_ms: Vec<f64>,
}

/// `n` slowloris connections against `kind` while a well-behaved client
/// starts a fresh-connection `GET /` every [`GOOD_EVERY`] for `m.slow_time`.
fn slowloris(kind: &str, n: usize, m: &Mode) -> io::Result<Slow> {
    let child = ServerChild::start(kind)?;
    let addr = child.addr();
    let socks = open_crowd(addr, n, SLOW_HEAD, m.crowd_open);
    let open = socks.len();
    let ticks = (m.slow_time.as_millis() / SLOW_TICK.as_millis()) as usize + 4;
    let trickle = Trickle::start(socks, ticks)?;
    // The server takes the crowd in (accepts it, starts its threads or
    // tasks) before the well-behaved client starts.
    thread::sleep(SLOW_SETTLE);
    // Each request on its own thread, started on a fixed schedule (a
    // slow answer does not delay the next request).
    let count = (m.slow_time.as_millis() / GOOD_EVERY.as_millis()) as usize;
    let t0 = Instant::now();
    let mut attempts = Vec::with_capacity(count);
    let mut spawn_error = None;
    for k in 0..count {
        if let Some(d) = (t0 + GOOD_EVERY * k as u32).checked_duration_since(Instant::now()) {
            thread::sleep(d);
        }
        match thread::Builder::new()
            .stack_size(64 << 10)
            .spawn(move || timed_hello(addr, GOOD_LIMIT))
        {
            Ok(h) => attempts.push(h),
            Err(e) => {
                spawn_error = Some(e);
                break;
            }
        }
    }
    let attempted = attempts.len();
    let mut served_ms = Vec::with_capacity(attempted);
    let mut failed = 0usize;
    let mut example = None;
    for h in attempts {
        match h.join() {
            Ok(Ok(d)) => served_ms.push(d.as_secs_f64() * 1e3),
            Ok(Err(e)) => {
                failed += 1;
                example.get_or_insert(e);
            }
            Err(_) => return Err(io::Error::other("client thread panicked")),
        }
    }
    if let Some(e) = example {
        eprintln!(
            "peers: slowloris {kind} {n}: {failed} of {attempted} requests not served, the first: {e}"
        );
    }
    let socks = trickle.stop()?;
    let held = socks.iter().filter(|s| still_open(s)).count();
    drop(socks);
    child.stop()?;
    if let Some(e) = spawn_error {
        return Err(e);
    }
    served_ms.sort_by(f64::total_cmp);
    Ok(Slow {
        open,
        held,
        attempted,
        served_ms,
    })
}

/// `slowloris`: each server in a child process, with `n` connections that
/// never finish their preamble, and a well-behaved client beside them.
pub fn section_slowloris(m: &Mode, failures: &mut Vec<String>) -> io::Result<Vec<Table>> {
    let mut rows = Vec::new();
    for &(name, kind) in SERVERS.iter().filter(|(_, k)| m.runs_server(k)) {
        for &n in &m.slow_levels {
            let what = format!("slowloris {kind} {n}");
            eprintln!("peers: {what}");
            let s = match slowloris(kind, n, m) {
                Ok(s) => s,
                Err(e) => {
                    record(failures, &what, Err(e));
                    continue;
                }
            };
            let served = s.served_ms.len();
            rows.push(vec![
                Cell::Text(name.into()),
                Cell::Int(n as u64),
                Cell::Int(s.open as u64),
                Cell::Int(s.held as u64),
                Cell::Int(s.attempted as u64),
                Cell::Int(served as u64),
                Cell::Num(100.0 * served as f64 / s.attempted.max(1) as f64, 1),
                Cell::Num(percentile(&s.served_ms, 0.50), 2),
                Cell::Num(percentile(&s.served_ms, 0.99), 2),
            ]);
        }
    }
    Ok(vec![Table {
        title: format!(
            "slowloris: each server alone in a child process; N TCP connections each send half \
             a preamble ({:?}), then one more byte every {} s (the crowd spread evenly over \
             those seconds); {} ms after they are open, a \
             well-behaved client starts a GET / on a fresh connection every {} ms for {:.0} s, \
             each given {} s in all (connect to last byte); one run. slow_open: slow connections \
             made (opened one after the other, each connect given {:.1} s, all of them {} s); \
             slow_held: still open at the end; share_pct: served over attempted; p50_ms, p99_ms: \
             of the served ones",
            String::from_utf8_lossy(SLOW_HEAD),
            SLOW_TICK.as_secs(),
            SLOW_SETTLE.as_millis(),
            GOOD_EVERY.as_millis(),
            m.slow_time.as_secs_f64(),
            GOOD_LIMIT.as_secs(),
            CONNECT_LIMIT.as_secs_f64(),
            m.crowd_open.as_secs(),
        ),
        chart: ("share_pct", vec!["server", "slow_conns"]),
        columns: vec![
            "server",
            "slow_conns",
            "slow_open",
            "slow_held",
            "attempted",
            "served",
            "share_pct",
            "p50_ms",
            "p99_ms",
        ],
        rows,
    }])
}

// ------------------------------------------------------------ idle

/// The outcome of one idle run.
struct Idle {
    /// Connections made.
    open: usize,
    /// Connections answered.
    answered: usize,
    /// The child before any connection.
    before: ProcStatus,
    /// The child with the crowd connected.
    after: ProcStatus,
}

/// `n` kept-alive connections to `kind`, each having made one `GET /`.
fn idle(kind: &str, n: usize, m: &Mode) -> io::Result<Idle> {
    let child = ServerChild::start(kind)?;
    thread::sleep(START_SETTLE);
    let before = child.status()?;
    let t0 = Instant::now();
    let socks = open_crowd(child.addr(), n, REQUEST, m.crowd_open);
    let opened = t0.elapsed();
    let answered = await_answers(&socks, m.crowd_answer)?;
    eprintln!(
        "peers: idle {kind} {n}: {} open in {:.2} s, {answered} answered {:.2} s later",
        socks.len(),
        opened.as_secs_f64(),
        (t0.elapsed() - opened).as_secs_f64()
    );
    thread::sleep(IDLE_SETTLE);
    let after = child.status()?;
    let open = socks.len();
    drop(socks);
    child.stop()?;
    Ok(Idle {
        open,
        answered,
        before,
        after,
    })
}

/// `idle`: each server in a child process, its RSS and threads with `n`
/// idle kept-alive connections.
pub fn section_idle(m: &Mode, failures: &mut Vec<String>) -> io::Result<Vec<Table>> {
    let mut rows = Vec::new();
    for &(name, kind) in SERVERS.iter().filter(|(_, k)| m.runs_server(k)) {
        for &n in &m.idle_levels {
            let what = format!("idle {kind} {n}");
            eprintln!("peers: {what}");
            let r = match idle(kind, n, m) {
                Ok(r) => r,
                Err(e) => {
                    record(failures, &what, Err(e));
                    continue;
                }
            };
            rows.push(vec![
                Cell::Text(name.into()),
                Cell::Int(n as u64),
                Cell::Int(r.open as u64),
                Cell::Int(r.answered as u64),
                Cell::Int(r.before.rss_kib),
                Cell::Int(r.after.rss_kib),
                Cell::Num(
                    (r.after.rss_kib as f64 - r.before.rss_kib as f64) / n as f64,
                    2,
                ),
                Cell::Int(r.after.threads),
            ]);
        }
    }
    Ok(vec![Table {
        title: format!(
            "idle: each server alone in a child process; M kept-alive TCP connections (opened one \
             after the other, each connect given {:.1} s, all of them {} s) each send GET / as soon \
             as connected, then the answers are read as they come (for at most {} s once all are \
             open) and the connections stay open; {} ms later, the child's VmRSS and threads. \
             open: connections made; answered: 200 with the body; kib_per_conn: (rss_kib - \
             rss_0_kib) / M",
            CONNECT_LIMIT.as_secs_f64(),
            m.crowd_open.as_secs(),
            m.crowd_answer.as_secs(),
            IDLE_SETTLE.as_millis(),
        ),
        chart: ("kib_per_conn", vec!["server", "conns"]),
        columns: vec![
            "server",
            "conns",
            "open",
            "answered",
            "rss_0_kib",
            "rss_kib",
            "kib_per_conn",
            "threads",
        ],
        rows,
    }])
}
