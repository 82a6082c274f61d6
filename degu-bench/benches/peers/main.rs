//! Degu side by side with hyper, tiny_http, ureq, astra and the raw-socket
//! floor (`cargo xtask bench` runs it, one section per invocation):
//!
//! ```text
//! cargo bench -p degu-bench --bench peers -- [--quick] --out DIR SECTION
//! ```
//!
//! SECTION is `roundtrip`, `concurrency`, `slowloris`, `idle`, `bulk`,
//! `files` or `tls` (mutual TLS 1.3: round trips, handshakes, a large body
//! and idle connections, Degu beside hyper over tokio-rustls and raw
//! rustls streams); with `--only "PAIR TRANSPORT[,PAIR TRANSPORT...]"` (say
//! `--only "degu -> degu unix"`), `roundtrip` and `tls` run the round
//! trips of those pairs alone (for `strace -c -f`), and `tls` the
//! handshakes named `PAIR full TRANSPORT` or `PAIR resumed TRANSPORT`
//! (say `--only "hyper -> degu full tcp"`); with `--only
//! KIND[,KIND...]` (say `--only degu`), `concurrency`, `slowloris` and
//! `idle` measure those servers alone. Each writes its table to
//! `DIR/<section>.tsv` (read by xtask, which prints it and writes the JSON
//! and SVG). Every figure is measured here, every
//! response checked (status 200 and the right length, or the right bytes
//! for small bodies). `serve KIND` is internal: a server in a child
//! process, for its RSS and threads (`slowloris` and `idle` measure every
//! server that way; `serve degu-tls DIR` and `serve hyper-tls DIR` serve
//! over TLS with the test PKI written in DIR).

#![allow(
    unreachable_pub,
    reason = "a test or bench binary: `pub` marks what its modules share"
)]

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock, mpsc};
use std::thread;
use std::time::{Duration, Instant};

mod crowd;
mod net;
mod peers;
mod tls;

use crowd::ServerChild;
use net::{BULK_BUF, BulkSource, RawClient, Transport, Where};
use peers::{AstraServer, HyperClient, HyperServer, TinyServer};

/// A cell of a result table (written tagged, for xtask).
enum Cell {
    Text(String),
    Int(u64),
    Num(f64, usize),
}

impl Cell {
    fn tsv(&self) -> String {
        match self {
            Cell::Text(s) => format!("t:{}", s.replace(['\t', '\n'], " ")),
            Cell::Int(n) => format!("i:{n}"),
            Cell::Num(x, d) => format!("n{d}:{x}"),
        }
    }
}

/// One result table.
struct Table {
    title: String,
    /// The column the SVG chart draws, and the columns naming each bar.
    chart: (&'static str, Vec<&'static str>),
    columns: Vec<&'static str>,
    rows: Vec<Vec<Cell>>,
}

impl Table {
    fn write(&self, path: &Path) -> io::Result<()> {
        let mut s = format!("title\t{}\n", self.title);
        s += &format!("chart\t{}\t{}\n", self.chart.0, self.chart.1.join(","));
        s += &format!("columns\t{}\n", self.columns.join("\t"));
        for r in &self.rows {
            let cells: Vec<String> = r.iter().map(Cell::tsv).collect();
            s += &format!("row\t{}\n", cells.join("\t"));
        }
        std::fs::write(path, s)
    }
}

/// Sizes and repetitions for one mode.
struct Mode {
    /// Round trips: run only the pairs named `PAIR TRANSPORT`; the other
    /// server sections: only the servers of these kinds (comma-separated).
    only: Option<String>,
    runs: usize,
    round_trips: u64,
    unpinned_round_trips: u64,
    /// Concurrency: the numbers of connections, and the time at each.
    conc_levels: Vec<usize>,
    conc_time: Duration,
    /// Slowloris: the numbers of slow connections, and how long the
    /// well-behaved client runs beside them.
    slow_levels: Vec<usize>,
    slow_time: Duration,
    /// Idle: the numbers of idle connections.
    idle_levels: Vec<usize>,
    /// Slowloris and idle: the time for opening a crowd, and for its
    /// answers.
    crowd_open: Duration,
    crowd_answer: Duration,
    bulk_bytes: u64,
    /// TLS: round trips pinned and unpinned, handshakes per run, idle
    /// connections.
    tls_round_trips: u64,
    tls_unpinned_round_trips: u64,
    tls_handshakes: u64,
    tls_idle: usize,
}

impl Mode {
    /// Whether a crowd section measures the server of this `serve` kind.
    fn runs_server(&self, kind: &str) -> bool {
        self.only
            .as_ref()
            .is_none_or(|o| o.split(',').any(|k| k.trim() == kind))
    }

    fn new(quick: bool) -> Mode {
        if quick {
            Mode {
                only: None,
                runs: 1,
                round_trips: 5_000,
                unpinned_round_trips: 2_000,
                conc_levels: vec![1, 8, 50, 200],
                conc_time: Duration::from_millis(500),
                slow_levels: vec![200],
                slow_time: Duration::from_secs(2),
                idle_levels: vec![1_000],
                crowd_open: Duration::from_secs(5),
                crowd_answer: Duration::from_secs(2),
                bulk_bytes: 64 << 20,
                tls_round_trips: 5_000,
                tls_unpinned_round_trips: 2_000,
                tls_handshakes: 200,
                tls_idle: 200,
            }
        } else {
            Mode {
                only: None,
                runs: 3,
                round_trips: 200_000,
                unpinned_round_trips: 50_000,
                conc_levels: vec![1, 8, 50, 200, 2_000],
                conc_time: Duration::from_secs(5),
                slow_levels: vec![500, 5_000],
                slow_time: Duration::from_secs(10),
                idle_levels: vec![1_000, 10_000],
                crowd_open: Duration::from_secs(20),
                crowd_answer: Duration::from_secs(5),
                bulk_bytes: 1 << 30,
                tls_round_trips: 100_000,
                tls_unpinned_round_trips: 20_000,
                tls_handshakes: 2_000,
                tls_idle: 200,
            }
        }
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.retain(|x| x.is_finite());
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}

/// Records a failed measurement: it shows as NaN and the bench exits
/// non-zero at the end.
fn record(failures: &mut Vec<String>, what: &str, r: io::Result<f64>) -> f64 {
    match r {
        Ok(x) => x,
        Err(e) => {
            eprintln!("peers: {what}: {e}");
            failures.push(format!("{what}: {e}"));
            f64::NAN
        }
    }
}

// ------------------------------------------------------------ servers

/// The servers a scenario can start.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Srv {
    Floor,
    Degu,
    Hyper,
    HyperMulti,
    Tiny,
    /// TCP only, and only in a `serve` child: astra cannot be stopped.
    Astra,
}

enum Running {
    Floor(net::OneShot),
    Degu(degu_server::ServerHandle),
    Hyper(HyperServer),
    Tiny(TinyServer),
    /// Left running: the `serve` child's exit ends it.
    Astra(AstraServer),
}

impl Running {
    fn start(s: Srv, t: Transport) -> io::Result<(Where, Running)> {
        Ok(match s {
            Srv::Floor => {
                let (w, h) = net::floor_server(t)?;
                (w, Running::Floor(h))
            }
            Srv::Degu => {
                let (w, h) = peers::degu_server(t, degu_server::demo::app)?;
                (w, Running::Degu(h))
            }
            Srv::Hyper | Srv::HyperMulti => {
                let (w, h) = peers::hyper_server(t, s == Srv::HyperMulti)?;
                (w, Running::Hyper(h))
            }
            Srv::Tiny => {
                let (w, h) = TinyServer::start(t, 4)?;
                (w, Running::Tiny(h))
            }
            Srv::Astra => {
                if t != Transport::Tcp {
                    return Err(io::Error::other("astra: TCP only"));
                }
                let (w, h) = peers::astra_server()?;
                (w, Running::Astra(h))
            }
        })
    }

    /// Stops the server and joins its threads (its clients have closed).
    fn stop(self) -> io::Result<()> {
        match self {
            Running::Floor(h) => h.stop(),
            Running::Degu(h) => {
                h.shutdown();
                Ok(())
            }
            Running::Hyper(h) => h.stop(),
            Running::Tiny(h) => {
                h.stop();
                Ok(())
            }
            Running::Astra(h) => h.stop(),
        }
    }
}

// ------------------------------------------------------------ round trips

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Cli {
    Floor,
    Raw,
    Degu,
    /// Degu's client, each request from its pool.
    DeguPool,
    Hyper,
    Ureq,
}

const PAIRS: &[(&str, Cli, Srv)] = &[
    ("raw floor (fixed bytes)", Cli::Floor, Srv::Floor),
    ("degu -> degu", Cli::Degu, Srv::Degu),
    ("degu Client::request -> degu", Cli::DeguPool, Srv::Degu),
    ("ureq -> degu", Cli::Ureq, Srv::Degu),
    ("hyper -> hyper", Cli::Hyper, Srv::Hyper),
    ("ureq -> tiny_http", Cli::Ureq, Srv::Tiny),
    ("degu -> hyper", Cli::Degu, Srv::Hyper),
    ("hyper -> degu", Cli::Hyper, Srv::Degu),
    ("raw -> degu", Cli::Raw, Srv::Degu),
    ("raw -> hyper", Cli::Raw, Srv::Hyper),
    ("raw -> tiny_http", Cli::Raw, Srv::Tiny),
];

/// Seconds per round trip: `n` sequential `GET /` on one connection,
/// after a warm-up of `n / 20`.
fn round_trips(c: Cli, s: Srv, t: Transport, n: u64) -> io::Result<f64> {
    let (w, server) = Running::start(s, t)?;
    let warm = (n / 20).max(100);
    let secs = (|| -> io::Result<f64> {
        match c {
            Cli::Floor => {
                let mut st = w.connect()?;
                net::floor_client(&mut st, warm)?;
                let t0 = Instant::now();
                net::floor_client(&mut st, n)?;
                Ok(t0.elapsed().as_secs_f64())
            }
            Cli::Raw => {
                let mut cl = RawClient::connect(&w, 4096)?;
                for _ in 0..warm {
                    cl.hello()?;
                }
                let t0 = Instant::now();
                for _ in 0..n {
                    cl.hello()?;
                }
                Ok(t0.elapsed().as_secs_f64())
            }
            Cli::Degu => {
                let client = degu_client::Client::new(w.degu());
                let mut conn = client.connect().map_err(io::Error::other)?;
                for _ in 0..warm {
                    peers::degu_hello(&mut conn)?;
                }
                let t0 = Instant::now();
                for _ in 0..n {
                    peers::degu_hello(&mut conn)?;
                }
                Ok(t0.elapsed().as_secs_f64())
            }
            Cli::DeguPool => {
                let client = degu_client::Client::new(w.degu());
                for _ in 0..warm {
                    peers::degu_pool_hello(&client)?;
                }
                let t0 = Instant::now();
                for _ in 0..n {
                    peers::degu_pool_hello(&client)?;
                }
                let secs = t0.elapsed().as_secs_f64();
                if client.connections_opened() != 1 {
                    return Err(io::Error::other(format!(
                        "degu Client::request: {} connections, not 1",
                        client.connections_opened()
                    )));
                }
                Ok(secs)
            }
            Cli::Hyper => peers::client_runtime()?.block_on(async {
                let mut cl = HyperClient::connect(&w).await?;
                for _ in 0..warm {
                    cl.hello().await?;
                }
                let t0 = Instant::now();
                for _ in 0..n {
                    cl.hello().await?;
                }
                Ok(t0.elapsed().as_secs_f64())
            }),
            Cli::Ureq => {
                let Where::Tcp(a) = &w else {
                    return Err(io::Error::other("ureq: TCP only"));
                };
                let url = format!("http://{a}/");
                let agent = peers::ureq_agent();
                for _ in 0..warm {
                    peers::ureq_hello(&agent, &url)?;
                }
                let t0 = Instant::now();
                for _ in 0..n {
                    peers::ureq_hello(&agent, &url)?;
                }
                Ok(t0.elapsed().as_secs_f64())
            }
        }
    })();
    let stopped = server.stop();
    let secs = secs?;
    stopped?;
    Ok(secs / n as f64)
}

fn supports(c: Cli, t: Transport) -> bool {
    !(c == Cli::Ureq && t == Transport::Unix)
}

/// Pins this thread, and so every thread it starts afterwards, to the
/// first CPU it may run on.
fn pin() -> io::Result<()> {
    let core = core_affinity::get_core_ids()
        .and_then(|c| c.into_iter().next())
        .ok_or_else(|| io::Error::other("no CPU to pin to"))?;
    if core_affinity::set_for_current(core) {
        Ok(())
    } else {
        Err(io::Error::other("sched_setaffinity failed"))
    }
}

/// The cases of a round-trip table (a pair, by its index, on a
/// transport; those `--only` names when given) and each one's seconds
/// per round trip, unpinned then pinned: the loop the plain and the TLS
/// round trips share.
struct RoundTrips {
    cases: Vec<(usize, Transport)>,
    /// Medians of `runs`, one per case: unpinned, and pinned.
    unpinned: Vec<f64>,
    pinned: Vec<f64>,
}

impl RoundTrips {
    /// Measures every supported case, `m.runs` times each, `counts.0`
    /// round trips unpinned and then (this process pinned from there on)
    /// `counts.1` pinned; `label` starts each progress line and failure.
    fn measure(
        m: &Mode,
        label: &str,
        names: &[&str],
        supported: impl Fn(usize, Transport) -> bool,
        counts: (u64, u64),
        failures: &mut Vec<String>,
        mut measure: impl FnMut(usize, Transport, u64) -> io::Result<f64>,
    ) -> io::Result<RoundTrips> {
        let cases: Vec<(usize, Transport)> = [Transport::Unix, Transport::Tcp]
            .iter()
            .flat_map(|&t| (0..names.len()).map(move |i| (i, t)))
            .filter(|&(i, t)| supported(i, t))
            .filter(|&(i, t)| {
                m.only.as_ref().is_none_or(|o| {
                    o.split(',')
                        .any(|o| o == format!("{} {}", names[i], t.name()))
                })
            })
            .collect();
        // Unpinned first: once pinned, every later thread inherits the pin.
        let mut phases = Vec::new();
        for pinned in [false, true] {
            if pinned {
                pin()?;
            }
            let n = if pinned { counts.1 } else { counts.0 };
            let mut samples = vec![Vec::new(); cases.len()];
            for _ in 0..m.runs {
                for (k, &(i, t)) in cases.iter().enumerate() {
                    let what = format!("{label} {} {} pinned={pinned}", names[i], t.name());
                    eprintln!("peers: {what}");
                    samples[k].push(record(failures, &what, measure(i, t, n)));
                }
            }
            phases.push(samples.into_iter().map(median).collect::<Vec<f64>>());
        }
        let pinned = phases.pop().unwrap_or_default();
        let unpinned = phases.pop().unwrap_or_default();
        Ok(RoundTrips {
            cases,
            unpinned,
            pinned,
        })
    }

    /// The pinned seconds per round trip of pair `i` over `t` (NaN when
    /// it did not run).
    fn pinned_of(&self, i: usize, t: Transport) -> f64 {
        self.cases
            .iter()
            .position(|&c| c == (i, t))
            .map_or(f64::NAN, |k| self.pinned[k])
    }
}

fn section_roundtrip(m: &Mode, failures: &mut Vec<String>) -> io::Result<Vec<Table>> {
    let names: Vec<&str> = PAIRS.iter().map(|p| p.0).collect();
    let rt = RoundTrips::measure(
        m,
        "round trips",
        &names,
        |i, t| supports(PAIRS[i].1, t),
        (m.unpinned_round_trips, m.round_trips),
        failures,
        |i, t, n| round_trips(PAIRS[i].1, PAIRS[i].2, t, n),
    )?;
    let (cases, unpinned, pinned) = (&rt.cases, &rt.unpinned, &rt.pinned);
    let find = |i: usize, t: Transport| rt.pinned_of(i, t);
    let mut rows = Vec::new();
    for (k, &(i, t)) in cases.iter().enumerate() {
        let floor = find(0, t);
        let degu = find(1, t);
        rows.push(vec![
            Cell::Text(PAIRS[i].0.into()),
            Cell::Text(t.name().into()),
            Cell::Num(1.0 / pinned[k], 0),
            Cell::Num(pinned[k] * 1e6, 2),
            Cell::Num(degu / pinned[k], 2),
            Cell::Num(floor / pinned[k], 2),
            Cell::Num(1.0 / unpinned[k], 0),
            Cell::Num(unpinned[k] * 1e6, 2),
        ]);
    }
    Ok(vec![Table {
        title: format!(
            "round trips: sequential GET / -> 200, 12-byte body, one kept-alive connection; \
             client -> server; median of {} runs; pinned: both peers on one CPU, {} round trips; \
             unpinned: {} round trips (vs_degu, vs_floor: pinned rt/s over degu -> degu's and \
             the floor's; ureq has no AF_UNIX transport)",
            m.runs, m.round_trips, m.unpinned_round_trips
        ),
        chart: ("pinned_rt_s", vec!["pair", "transport"]),
        columns: vec![
            "pair",
            "transport",
            "pinned_rt_s",
            "pinned_us",
            "vs_degu",
            "vs_floor",
            "unpinned_rt_s",
            "unpinned_us",
        ],
        rows,
    }])
}

// ------------------------------------------------------------ concurrency

struct Load {
    rps: f64,
    p50_us: f64,
    p99_us: f64,
}

/// The time a load client's connect, and each of its reads and writes,
/// has before the measurement fails.
const LOAD_IO_LIMIT: Duration = Duration::from_secs(10);

/// `conns` kept-alive connections, each a thread of sequential `GET /`
/// for `dur`, against a fresh server.
fn load(s: Srv, conns: usize, dur: Duration) -> io::Result<Load> {
    let (w, server) = Running::start(s, Transport::Tcp)?;
    let result = (|| -> io::Result<Load> {
        // Every client connects, says so, then waits at the gate (a read
        // lock, held shut by this thread's write lock) so that all start
        // together. If a client thread cannot be started (or never says
        // it is ready), the gate opens with `abort` set: those started
        // stop at once, and the measurement fails.
        let gate = Arc::new(RwLock::new(()));
        let abort = Arc::new(AtomicBool::new(false));
        let (ready_tx, ready) = mpsc::channel::<()>();
        let shut = gate
            .write()
            .map_err(|_| io::Error::other("gate poisoned"))?;
        let mut threads = Vec::new();
        let mut spawn_error = None;
        for _ in 0..conns {
            let (w, gate, abort, ready_tx) =
                (w.clone(), gate.clone(), abort.clone(), ready_tx.clone());
            let spawned = thread::Builder::new().stack_size(256 << 10).spawn(
                move || -> io::Result<Vec<u32>> {
                    let cl = RawClient::connect_within(&w, 4096, LOAD_IO_LIMIT);
                    let _ = ready_tx.send(());
                    drop(gate.read());
                    let mut cl = cl?;
                    if abort.load(Ordering::Relaxed) {
                        return Ok(Vec::new());
                    }
                    let end = Instant::now() + dur;
                    let mut lat = Vec::with_capacity(1 << 12);
                    loop {
                        let t0 = Instant::now();
                        if t0 >= end {
                            break;
                        }
                        cl.hello()?;
                        lat.push(t0.elapsed().as_nanos().min(u32::MAX as u128) as u32);
                    }
                    Ok(lat)
                },
            );
            match spawned {
                Ok(h) => threads.push(h),
                Err(e) => {
                    spawn_error = Some(e);
                    break;
                }
            }
        }
        drop(ready_tx);
        // Each client reports once connected or failed, within its
        // connect limit.
        for _ in 0..threads.len() {
            if ready.recv_timeout(LOAD_IO_LIMIT * 2).is_err() {
                spawn_error.get_or_insert(io::Error::other("a client never got ready"));
                break;
            }
        }
        if spawn_error.is_some() {
            abort.store(true, Ordering::Relaxed);
        }
        drop(shut);
        let t0 = Instant::now();
        let mut all = Vec::new();
        let mut err = None;
        for h in threads {
            match h.join() {
                Ok(Ok(l)) => all.extend(l),
                Ok(Err(e)) => err = Some(e),
                Err(_) => err = Some(io::Error::other("client thread panicked")),
            }
        }
        let secs = t0.elapsed().as_secs_f64();
        if let Some(e) = spawn_error.or(err) {
            return Err(e);
        }
        all.sort_unstable();
        let pct = |p: f64| {
            all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
                .map_or(f64::NAN, |&ns| ns as f64 / 1e3)
        };
        Ok(Load {
            rps: all.len() as f64 / secs,
            p50_us: pct(0.50),
            p99_us: pct(0.99),
        })
    })();
    server.stop()?;
    result
}

const CONC_SERVERS: &[(&str, Srv)] = &[
    ("degu", Srv::Degu),
    ("hyper (multi-thread)", Srv::HyperMulti),
    ("tiny_http (4 workers)", Srv::Tiny),
];

fn srv_kind(name: &str) -> Option<Srv> {
    match name {
        "degu" => Some(Srv::Degu),
        "hyper" => Some(Srv::HyperMulti),
        "tiny_http" => Some(Srv::Tiny),
        "astra" => Some(Srv::Astra),
        _ => None,
    }
}

fn section_concurrency(m: &Mode, failures: &mut Vec<String>) -> io::Result<Vec<Table>> {
    let levels = &m.conc_levels;
    let mut rows = Vec::new();
    let mut degu_rps = vec![f64::NAN; levels.len()];
    for (si, &(name, s)) in CONC_SERVERS.iter().enumerate() {
        let kind = name.split(' ').next().unwrap_or(name);
        if !m.runs_server(kind) {
            continue;
        }
        for (li, &c) in levels.iter().enumerate() {
            let (mut r, mut p50, mut p99) = (Vec::new(), Vec::new(), Vec::new());
            for _ in 0..m.runs {
                let what = format!("concurrency {name} {c}");
                eprintln!("peers: {what}");
                match load(s, c, m.conc_time) {
                    Ok(l) => {
                        r.push(l.rps);
                        p50.push(l.p50_us);
                        p99.push(l.p99_us);
                    }
                    Err(e) => {
                        record(failures, &what, Err(e));
                    }
                }
            }
            let rps = median(r);
            if si == 0 {
                degu_rps[li] = rps;
            }
            rows.push(vec![
                Cell::Text(name.into()),
                Cell::Int(c as u64),
                Cell::Num(rps, 0),
                Cell::Num(rps / degu_rps[li], 2),
                Cell::Num(median(p50), 1),
                Cell::Num(median(p99), 1),
            ]);
        }
    }
    let conc = Table {
        title: format!(
            "concurrency: N kept-alive TCP connections, one client thread each (a raw client: \
             fixed request, response checked), sequential GET / for {:.1} s; unpinned; median \
             of {} runs (vs_degu: req/s over degu's at the same N)",
            m.conc_time.as_secs_f64(),
            m.runs
        ),
        chart: ("req_s", vec!["server", "conns"]),
        columns: vec!["server", "conns", "req_s", "vs_degu", "p50_us", "p99_us"],
        rows,
    };
    let mut rows = Vec::new();
    for &(name, _) in CONC_SERVERS {
        let kind = name.split(' ').next().unwrap_or(name);
        let what = format!("rss {kind}");
        eprintln!("peers: {what}");
        match rss(kind, 200) {
            Ok((idle, loaded)) => rows.push(vec![
                Cell::Text(name.into()),
                Cell::Int(idle),
                Cell::Int(loaded),
                Cell::Num((loaded as f64 - idle as f64) / 200.0, 1),
            ]),
            Err(e) => {
                record(failures, &what, Err(e));
            }
        }
    }
    let rss = Table {
        title: "server RSS: the server alone in a child process (VmRSS), listening with no \
                connection, then with 200 idle kept-alive TCP connections that have each made \
                one request"
            .into(),
        chart: ("rss_200_kib", vec!["server"]),
        columns: vec!["server", "rss_0_kib", "rss_200_kib", "kib_per_conn"],
        rows,
    };
    Ok(vec![conc, rss])
}

/// Starts `serve KIND` as a child process; VmRSS before and with `conns`
/// idle connections.
fn rss(kind: &str, conns: usize) -> io::Result<(u64, u64)> {
    let child = ServerChild::start(kind)?;
    let w = Where::Tcp(child.addr());
    thread::sleep(Duration::from_millis(200));
    let idle = child.status()?.rss_kib;
    let mut clients = Vec::new();
    for _ in 0..conns {
        let mut c = RawClient::connect_within(&w, 4096, LOAD_IO_LIMIT)?;
        c.hello()?;
        clients.push(c);
    }
    thread::sleep(Duration::from_millis(500));
    let loaded = child.status()?.rss_kib;
    drop(clients);
    child.stop()?;
    Ok((idle, loaded))
}

/// `serve KIND`: a server on TCP loopback; prints its address, runs until
/// stdin closes.
fn serve(kind: &str, arg: &str) -> io::Result<()> {
    let (w, stop): tls::Served = match tls::serve_tls(kind, arg)? {
        Some(served) => served,
        None => {
            let s =
                srv_kind(kind).ok_or_else(|| io::Error::other(format!("unknown server {kind}")))?;
            let (w, server) = Running::start(s, Transport::Tcp)?;
            (w, Box::new(move || server.stop()))
        }
    };
    let Where::Tcp(a) = w else {
        return Err(io::Error::other("not tcp"));
    };
    println!("{a}");
    io::stdout().flush()?;
    let mut sink = Vec::new();
    io::stdin().read_to_end(&mut sink)?;
    stop()
}

// ------------------------------------------------------------ bulk, files

fn mb_s(bytes: u64, secs: f64) -> f64 {
    bytes as f64 / 1e6 / secs
}

/// The raw client downloading `request`'s response; checks the length.
fn raw_download(w: &Where, request: &[u8], want: u64) -> io::Result<()> {
    let mut c = RawClient::connect(w, BULK_BUF)?;
    let n = c.exchange(request, |_| {})?;
    if n != want {
        return Err(io::Error::other(format!(
            "raw download: {n} bytes, not {want}"
        )));
    }
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Bulk {
    Floor,
    DeguLength,
    DeguChunked,
    HyperLength,
    HyperChunked,
}

const BULKS: &[(&str, Bulk)] = &[
    ("raw copy floor", Bulk::Floor),
    ("degu content-length", Bulk::DeguLength),
    ("degu chunked", Bulk::DeguChunked),
    ("hyper content-length", Bulk::HyperLength),
    ("hyper chunked", Bulk::HyperChunked),
];

/// MB/s of one download of `n` bytes (timed from connect to the last byte).
fn bulk(b: Bulk, t: Transport, n: u64) -> io::Result<f64> {
    let req = format!("GET /bytes/{n} HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n");
    match b {
        Bulk::Floor => {
            let (w, h) = net::bulk_server(t, BulkSource::Memory(n))?;
            let t0 = Instant::now();
            let r = raw_download(&w, req.as_bytes(), n);
            let secs = t0.elapsed().as_secs_f64();
            h.stop()?;
            r.map(|()| mb_s(n, secs))
        }
        Bulk::DeguLength | Bulk::DeguChunked => {
            let (w, h) = peers::degu_server(t, peers::degu_bulk_app)?;
            let chunked = b == Bulk::DeguChunked;
            let uri = if chunked {
                format!("/chunks/{n}")
            } else {
                format!("/bytes/{n}")
            };
            let t0 = Instant::now();
            let r = peers::degu_download(&w, &uri, n, chunked);
            let secs = t0.elapsed().as_secs_f64();
            h.shutdown();
            r.map(|()| mb_s(n, secs))
        }
        Bulk::HyperLength | Bulk::HyperChunked => {
            let (w, h) = peers::hyper_server(t, false)?;
            let uri = if b == Bulk::HyperChunked {
                format!("/chunks/{n}")
            } else {
                format!("/bytes/{n}")
            };
            let r = peers::client_runtime()?.block_on(async {
                let t0 = Instant::now();
                let mut c = HyperClient::connect(&w).await?;
                c.download(&uri, n).await?;
                Ok::<f64, io::Error>(t0.elapsed().as_secs_f64())
            });
            h.stop()?;
            r.map(|secs| mb_s(n, secs))
        }
    }
}

/// Rows of a throughput table: for each transport, each contender's MB/s
/// (the median of `m.runs`, contenders back to back within a run), over
/// the second contender's (Degu's) and the first's (the floor's).
fn throughput_rows<C: Copy>(
    m: &Mode,
    failures: &mut Vec<String>,
    section: &str,
    contenders: &[(&str, C)],
    measure: impl Fn(C, Transport) -> io::Result<f64>,
) -> Vec<Vec<Cell>> {
    let mut rows = Vec::new();
    for t in [Transport::Unix, Transport::Tcp] {
        let mut samples = vec![Vec::new(); contenders.len()];
        for _ in 0..m.runs {
            for (k, &(name, c)) in contenders.iter().enumerate() {
                let what = format!("{section} {name} {}", t.name());
                eprintln!("peers: {what}");
                samples[k].push(record(failures, &what, measure(c, t)));
            }
        }
        let med: Vec<f64> = samples.into_iter().map(median).collect();
        for (k, &(name, _)) in contenders.iter().enumerate() {
            rows.push(vec![
                Cell::Text(name.into()),
                Cell::Text(t.name().into()),
                Cell::Num(med[k], 0),
                Cell::Num(med[k] / med[1], 2),
                Cell::Num(med[k] / med[0], 2),
            ]);
        }
    }
    rows
}

fn section_bulk(m: &Mode, failures: &mut Vec<String>) -> io::Result<Vec<Table>> {
    let n = m.bulk_bytes;
    let rows = throughput_rows(m, failures, "bulk", BULKS, |b, t| bulk(b, t, n));
    Ok(vec![Table {
        title: format!(
            "bulk: one {} MiB response body downloaded on a fresh connection, client and server \
             in one process, unpinned; MB/s (10^6 bytes), median of {} runs; floor: 1 MiB \
             writes from one buffer, 1 MiB reads; degu: a BodyIter or ChunkedBodyIter of 1 MiB \
             pieces of one static buffer (1 MiB chunks), read with degu-client into a 1 MiB \
             buffer; hyper: client and server on current-thread runtimes, 1 MiB frames of one \
             buffer (vs_degu: over degu content-length's)",
            n >> 20,
            m.runs
        ),
        chart: ("MB_s", vec!["contender", "transport"]),
        columns: vec!["contender", "transport", "MB_s", "vs_degu", "vs_floor"],
        rows,
    }])
}

/// A file of `n` bytes under `dir` (made once, reused while its size
/// matches).
fn bulk_file(dir: &Path, n: u64) -> io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(format!("blob-{n}.bin"));
    if std::fs::metadata(&path).map(|m| m.len()).ok() != Some(n) {
        let mut f = io::BufWriter::new(std::fs::File::create(&path)?);
        let buf: Vec<u8> = (0..BULK_BUF).map(|i| (i % 251) as u8).collect();
        let mut left = n;
        while left > 0 {
            let k = left.min(buf.len() as u64) as usize;
            f.write_all(&buf[..k])?;
            left -= k as u64;
        }
        f.flush()?;
    }
    Ok(path)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum FileServer {
    Floor,
    FilesApp,
    Loop,
    Sendfile,
}

const FILE_SERVERS: &[(&str, FileServer)] = &[
    ("raw copy floor (memory)", FileServer::Floor),
    ("degu FilesApp (sendfile)", FileServer::FilesApp),
    ("plain read/write loop", FileServer::Loop),
    ("plain sendfile", FileServer::Sendfile),
];

fn files(f: FileServer, t: Transport, path: &Path, n: u64) -> io::Result<f64> {
    let name = path
        .file_name()
        .and_then(|s| s.to_str())
        .ok_or_else(|| io::Error::other("bad file name"))?;
    let req = format!("GET /{name} HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n");
    let time = |w: &Where| -> io::Result<f64> {
        let t0 = Instant::now();
        raw_download(w, req.as_bytes(), n)?;
        Ok(mb_s(n, t0.elapsed().as_secs_f64()))
    };
    match f {
        FileServer::Floor | FileServer::Loop | FileServer::Sendfile => {
            let src = match f {
                FileServer::Floor => BulkSource::Memory(n),
                FileServer::Loop => BulkSource::File(path.to_path_buf()),
                _ => BulkSource::Sendfile(path.to_path_buf()),
            };
            let (w, h) = net::bulk_server(t, src)?;
            let r = time(&w);
            h.stop()?;
            r
        }
        FileServer::FilesApp => {
            let dir = path.parent().ok_or_else(|| io::Error::other("no dir"))?;
            let app = degu_server::files::FilesApp::new(dir)?;
            let (w, h) = peers::degu_server(t, app)?;
            let r = time(&w);
            h.shutdown();
            r
        }
    }
}

fn section_files(m: &Mode, out: &Path, failures: &mut Vec<String>) -> io::Result<Vec<Table>> {
    let n = m.bulk_bytes;
    let path = bulk_file(&out.join("files"), n)?;
    let rows = throughput_rows(m, failures, "files", FILE_SERVERS, |f, t| {
        files(f, t, &path, n)
    });
    Ok(vec![Table {
        title: format!(
            "files: one {} MiB file (in the page cache) served on a fresh connection and read by \
             a raw client (1 MiB reads, length checked), unpinned; MB/s (10^6 bytes), median of \
             {} runs; the read/write loop copies through a 1 MiB buffer, plain sendfile is \
             one sendfile(2) call with no HTTP library around it (vs_degu: over FilesApp's)",
            n >> 20,
            m.runs
        ),
        chart: ("MB_s", vec!["server", "transport"]),
        columns: vec!["server", "transport", "MB_s", "vs_degu", "vs_floor"],
        rows,
    }])
}

// ------------------------------------------------------------ main

fn run() -> Result<(), String> {
    let mut quick = false;
    let mut only = None;
    let mut out = None;
    let mut rest = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--quick" => quick = true,
            "--bench" => {} // passed by `cargo bench`
            "--out" => out = args.next().map(PathBuf::from),
            "--only" => only = args.next(),
            _ => rest.push(a),
        }
    }
    let mut m = Mode::new(quick);
    m.only = only;
    let err = |e: io::Error| e.to_string();
    // Here and in a `serve` child: the crowds need thousands of sockets.
    crowd::raise_nofile().map_err(|e| format!("raising RLIMIT_NOFILE: {e}"))?;
    let section = rest.first().map(String::as_str);
    if section == Some("serve") {
        let arg = |i: usize| rest.get(i).map_or("", String::as_str);
        return serve(arg(1), arg(2)).map_err(err);
    }
    let out = out.ok_or("--out DIR is required")?;
    std::fs::create_dir_all(&out).map_err(err)?;
    let mut failures = Vec::new();
    let (name, tables) = match section {
        Some("roundtrip") => ("roundtrip", section_roundtrip(&m, &mut failures)),
        Some("concurrency") => ("concurrency", section_concurrency(&m, &mut failures)),
        Some("slowloris") => ("slowloris", crowd::section_slowloris(&m, &mut failures)),
        Some("idle") => ("idle", crowd::section_idle(&m, &mut failures)),
        Some("bulk") => ("bulk", section_bulk(&m, &mut failures)),
        Some("files") => ("files", section_files(&m, &out, &mut failures)),
        Some("tls") => ("tls", tls::section_tls(&m, &mut failures)),
        other => return Err(format!("unknown section {other:?}")),
    };
    let tables = tables.map_err(err)?;
    for (i, t) in tables.iter().enumerate() {
        let file = match (name, i) {
            (_, 0) => format!("{name}.tsv"),
            ("concurrency", 1) => "rss.tsv".to_owned(),
            ("tls", 1) => "tls-handshakes.tsv".to_owned(),
            ("tls", 2) => "tls-bulk.tsv".to_owned(),
            ("tls", 3) => "tls-idle.tsv".to_owned(),
            _ => format!("{name}-{i}.tsv"),
        };
        t.write(&out.join(file)).map_err(err)?;
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} measurement(s) failed: {}",
            failures.len(),
            failures.join("; ")
        ))
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("peers: {e}");
            ExitCode::FAILURE
        }
    }
}
