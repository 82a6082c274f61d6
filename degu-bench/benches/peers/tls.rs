//! The `tls` section: mutual TLS 1.3 with one test PKI and one pair of
//! rustls configurations (so one cipher suite and one key exchange) for
//! every contender: Degu's client and server (degu-tls), hyper over
//! tokio-rustls, and a floor of raw rustls streams on both sides that
//! exchange the same fixed bytes with no HTTP.
//!
//! Four tables: round trips on one connection, handshakes per second
//! (each a fresh connection and one request; full, or resumed from a
//! session ticket), one large body, and RSS per idle TLS connection.

use std::io::{self, Read, Write};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::Instant;

use degu_tls::rustls::client::Resumption;
use degu_tls::rustls::pki_types::ServerName;
use degu_tls::rustls::server::{ServerSessionMemoryCache, StoresServerSessions};
use degu_tls::rustls::{
    ClientConfig, ClientConnection, ServerConfig, ServerConnection, StreamOwned,
};
use degu_tls::{SslClient, SslServer, TestPki};

use crate::crowd::{IDLE_SETTLE, START_SETTLE, ServerChild};
use crate::net::{self, BULK_BUF, HELLO, Listener, OneShot, REQUEST, RESPONSE, Transport, Where};
use crate::peers::{self, HyperClient};
use crate::{Cell, Mode, RoundTrips, Running, Table, median, record};

fn other(e: impl std::fmt::Display) -> io::Error {
    io::Error::other(e.to_string())
}

// ------------------------------------------------------------ the PKI

/// A server session cache that counts the sessions it gave back: each
/// one is a resumed handshake (TLS 1.3 tickets are looked up here).
#[derive(Debug)]
struct CountingCache {
    inner: Arc<ServerSessionMemoryCache>,
    hits: AtomicU64,
}

impl StoresServerSessions for CountingCache {
    fn put(&self, key: Vec<u8>, value: Vec<u8>) -> bool {
        self.inner.put(key, value)
    }

    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        let v = self.inner.get(key);
        self.hits
            .fetch_add(u64::from(v.is_some()), Ordering::Relaxed);
        v
    }

    fn take(&self, key: &[u8]) -> Option<Vec<u8>> {
        let v = self.inner.take(key);
        self.hits
            .fetch_add(u64::from(v.is_some()), Ordering::Relaxed);
        v
    }

    fn can_cache(&self) -> bool {
        self.inner.can_cache()
    }
}

/// The certificates and configurations every contender uses.
pub struct Tls {
    pki: TestPki,
    /// The server's configuration (client certificates required), its
    /// session cache counted.
    server: Arc<ServerConfig>,
    cache: Arc<CountingCache>,
}

impl Tls {
    pub fn new() -> Tls {
        let pki = TestPki::new("degu-bench");
        let cache = Arc::new(CountingCache {
            inner: ServerSessionMemoryCache::new(1024),
            hits: AtomicU64::new(0),
        });
        let mut server = (*pki.server_config()).clone();
        server.session_storage = cache.clone();
        Tls {
            pki,
            server: Arc::new(server),
            cache,
        }
    }

    /// A client configuration (the client certificate presented) with a
    /// session cache of its own (`resume`), or none.
    fn client(&self, resume: bool) -> Arc<ClientConfig> {
        let mut c = (*self.pki.client_config()).clone();
        c.resumption = if resume {
            Resumption::in_memory_sessions(256)
        } else {
            Resumption::disabled()
        };
        Arc::new(c)
    }

    /// Resumed handshakes the servers have made so far.
    fn resumed(&self) -> u64 {
        self.cache.hits.load(Ordering::Relaxed)
    }

    /// The cipher suite and key exchange a handshake between the two
    /// configurations agrees on (over a socket pair, no server needed).
    fn negotiated(&self) -> io::Result<String> {
        let (a, b) = std::os::unix::net::UnixStream::pair()?;
        let server = ServerConnection::new(self.server.clone()).map_err(other)?;
        let h = thread::spawn(move || -> io::Result<()> {
            let mut s = StreamOwned::new(server, a);
            let mut buf = [0u8; 1];
            s.read_exact(&mut buf)?;
            s.write_all(&buf)
        });
        let client =
            ClientConnection::new(self.client(false), name(Transport::Unix)).map_err(other)?;
        let mut c = StreamOwned::new(client, b);
        c.write_all(b"x")?;
        let mut buf = [0u8; 1];
        c.read_exact(&mut buf)?;
        h.join()
            .map_err(|_| other("negotiated: thread panicked"))??;
        let suite = c.conn.negotiated_cipher_suite().map(|s| s.suite());
        let kx = c.conn.negotiated_key_exchange_group().map(|g| g.name());
        let version = c.conn.protocol_version();
        let text = format!("{version:?} {suite:?} {kx:?}")
            .replace("Some(", "")
            .replace(')', "");
        Ok(format!("{text}, rustls with {}", degu_tls::provider_name()))
    }
}

/// The name the client checks the server's certificate for: its IP
/// over TCP, `localhost` over AF_UNIX (both are in the test PKI's server
/// certificate).
fn name(t: Transport) -> ServerName<'static> {
    match t {
        Transport::Tcp => ServerName::try_from("127.0.0.1"),
        Transport::Unix => ServerName::try_from("localhost"),
    }
    .expect("a valid server name")
}

fn transport(w: &Where) -> Transport {
    match w {
        Where::Tcp(_) => Transport::Tcp,
        Where::Unix(_) => Transport::Unix,
    }
}

/// A Degu client over TLS for `w`.
fn degu_client(w: &Where, config: Arc<ClientConfig>) -> degu_client::Client {
    let host = matches!(w, Where::Unix(_)).then(|| "localhost".to_owned());
    SslClient::with_ssl_host(config, w.degu(), host)
}

// ------------------------------------------------------------ servers

/// The servers of this section.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum TSrv {
    /// Raw rustls, one connection, fixed bytes.
    Floor,
    /// The Degu demo app (or the bulk app) over degu-tls.
    Degu,
    /// hyper over tokio-rustls, a current-thread runtime.
    Hyper,
}

/// Starts a TLS server of kind `s` (the bulk app with `bulk`); stopped by
/// [`Running::stop`], as the plain ones are.
fn start(s: TSrv, t: Transport, tls: &Tls, bulk: bool) -> io::Result<(Where, Running)> {
    Ok(match s {
        TSrv::Floor if bulk => return Err(other("the bulk floor is its own server")),
        TSrv::Floor => {
            let (w, h) = floor_server(t, tls.server.clone())?;
            (w, Running::Floor(h))
        }
        TSrv::Degu => {
            let config = tls.server.clone();
            let (w, h) = if bulk {
                peers::degu_server_bound(t, |a, o| {
                    SslServer::bind(config, a, peers::degu_bulk_app, o)
                })?
            } else {
                peers::degu_server_bound(t, |a, o| {
                    SslServer::bind(config, a, degu_server::demo::app, o)
                })?
            };
            (w, Running::Degu(h))
        }
        TSrv::Hyper => {
            let acceptor = tokio_rustls::TlsAcceptor::from(tls.server.clone());
            let (w, h) = peers::hyper_server_with(t, false, Some(acceptor))?;
            (w, Running::Hyper(h))
        }
    })
}

/// Reads exactly `buf.len()` bytes; `Ok(false)` at a clean end before the
/// first (a close_notify, or a peer that closed without one).
fn read_all_or_end(s: &mut impl Read, buf: &mut [u8]) -> io::Result<bool> {
    let mut got = 0;
    while got < buf.len() {
        match s.read(&mut buf[got..]) {
            Ok(0) if got == 0 => return Ok(false),
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof && got == 0 => return Ok(false),
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

/// The TLS round-trip floor server: raw rustls on one connection, reads
/// exactly `REQUEST.len()` bytes and writes [`RESPONSE`], until the end.
fn floor_server(t: Transport, config: Arc<ServerConfig>) -> io::Result<(Where, OneShot)> {
    let l = Listener::bind(t)?;
    let w = l.addr()?;
    let h = OneShot::spawn(move || {
        let conn = ServerConnection::new(config).map_err(other)?;
        let mut s = StreamOwned::new(conn, l.accept()?);
        let mut buf = [0u8; REQUEST.len()];
        while read_all_or_end(&mut s, &mut buf)? {
            s.write_all(RESPONSE)?;
        }
        Ok(())
    });
    Ok((w, h))
}

/// A raw rustls client stream to `w`.
fn rustls_client(
    w: &Where,
    config: Arc<ClientConfig>,
) -> io::Result<StreamOwned<ClientConnection, net::Stream>> {
    let conn = ClientConnection::new(config, name(transport(w))).map_err(other)?;
    Ok(StreamOwned::new(conn, w.connect()?))
}

/// The TLS round-trip floor client: `n` times, [`REQUEST`] out and
/// `RESPONSE.len()` bytes in, checked at the end.
fn floor_client(s: &mut StreamOwned<ClientConnection, net::Stream>, n: u64) -> io::Result<()> {
    let mut buf = [0u8; RESPONSE.len()];
    for _ in 0..n {
        s.write_all(REQUEST)?;
        s.read_exact(&mut buf)?;
    }
    if buf != RESPONSE {
        return Err(other("tls floor: wrong response"));
    }
    Ok(())
}

/// Ends a raw rustls client stream with a close_notify.
fn close(mut s: StreamOwned<ClientConnection, net::Stream>) -> io::Result<()> {
    s.conn.send_close_notify();
    s.flush()
}

// ------------------------------------------------------------ round trips

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum TCli {
    Floor,
    Degu,
    Hyper,
}

const PAIRS: &[(&str, TCli, TSrv)] = &[
    ("rustls floor (fixed bytes)", TCli::Floor, TSrv::Floor),
    ("degu -> degu", TCli::Degu, TSrv::Degu),
    ("hyper -> hyper", TCli::Hyper, TSrv::Hyper),
    ("degu -> hyper", TCli::Degu, TSrv::Hyper),
    ("hyper -> degu", TCli::Hyper, TSrv::Degu),
];

/// Seconds per round trip: `n` sequential `GET /` on one TLS connection
/// (handshake and a warm-up of `n / 20` first).
fn round_trips(c: TCli, s: TSrv, t: Transport, tls: &Tls, n: u64) -> io::Result<f64> {
    let (w, server) = start(s, t, tls, false)?;
    let warm = (n / 20).max(100);
    let config = tls.client(false);
    let secs = (|| -> io::Result<f64> {
        match c {
            TCli::Floor => {
                let mut st = rustls_client(&w, config)?;
                floor_client(&mut st, warm)?;
                let t0 = Instant::now();
                floor_client(&mut st, n)?;
                let secs = t0.elapsed().as_secs_f64();
                close(st)?;
                Ok(secs)
            }
            TCli::Degu => {
                let client = degu_client(&w, config);
                let mut conn = client.connect().map_err(other)?;
                for _ in 0..warm {
                    peers::degu_hello(&mut conn)?;
                }
                let t0 = Instant::now();
                for _ in 0..n {
                    peers::degu_hello(&mut conn)?;
                }
                Ok(t0.elapsed().as_secs_f64())
            }
            TCli::Hyper => peers::client_runtime()?.block_on(async {
                let connector = tokio_rustls::TlsConnector::from(config);
                let mut cl = HyperClient::connect_tls(&w, &connector, &name(t)).await?;
                for _ in 0..warm {
                    cl.hello().await?;
                }
                let t0 = Instant::now();
                for _ in 0..n {
                    cl.hello().await?;
                }
                Ok(t0.elapsed().as_secs_f64())
            }),
        }
    })();
    let stopped = server.stop();
    let secs = secs?;
    stopped?;
    Ok(secs / n as f64)
}

fn table_round_trips(m: &Mode, tls: &Tls, failures: &mut Vec<String>) -> io::Result<Table> {
    let names: Vec<&str> = PAIRS.iter().map(|p| p.0).collect();
    let rt = RoundTrips::measure(
        m,
        "tls round trips",
        &names,
        |_, _| true,
        (m.tls_unpinned_round_trips, m.tls_round_trips),
        failures,
        |i, t, n| round_trips(PAIRS[i].1, PAIRS[i].2, t, tls, n),
    )?;
    let (cases, unpinned, pinned) = (&rt.cases, &rt.unpinned, &rt.pinned);
    let find = |i: usize, t: Transport| rt.pinned_of(i, t);
    let mut rows = Vec::new();
    for (k, &(i, t)) in cases.iter().enumerate() {
        rows.push(vec![
            Cell::Text(PAIRS[i].0.into()),
            Cell::Text(t.name().into()),
            Cell::Num(1.0 / pinned[k], 0),
            Cell::Num(pinned[k] * 1e6, 2),
            Cell::Num(find(1, t) / pinned[k], 2),
            Cell::Num(find(2, t) / pinned[k], 2),
            Cell::Num(find(0, t) / pinned[k], 2),
            Cell::Num(1.0 / unpinned[k], 0),
            Cell::Num(unpinned[k] * 1e6, 2),
        ]);
    }
    Ok(Table {
        title: format!(
            "tls round trips: mutual TLS 1.3 ({}), the same certificates and configurations for \
             every contender; sequential GET / -> 200, 12-byte body, one kept-alive connection \
             (the handshake not timed); client -> server; median of {} runs; pinned: both peers \
             on one CPU, {} round trips; unpinned: {} round trips; hyper: tokio-rustls on \
             current-thread runtimes; floor: raw rustls streams exchanging the same bytes with \
             no HTTP (vs_degu, vs_hyper, vs_floor: pinned rt/s over degu -> degu's, hyper -> \
             hyper's and the floor's)",
            tls.negotiated()?,
            m.runs,
            m.tls_round_trips,
            m.tls_unpinned_round_trips
        ),
        chart: ("pinned_rt_s", vec!["pair", "transport"]),
        columns: vec![
            "pair",
            "transport",
            "pinned_rt_s",
            "pinned_us",
            "vs_degu",
            "vs_hyper",
            "vs_floor",
            "unpinned_rt_s",
            "unpinned_us",
        ],
        rows,
    })
}

// ------------------------------------------------------------ handshakes

const HANDSHAKERS: &[(&str, TCli, TSrv)] = &[
    ("degu -> degu", TCli::Degu, TSrv::Degu),
    ("hyper -> hyper", TCli::Hyper, TSrv::Hyper),
    ("degu -> hyper", TCli::Degu, TSrv::Hyper),
    ("hyper -> degu", TCli::Hyper, TSrv::Degu),
];

/// Handshakes per second: `n` fresh connections (after `n / 10` to warm
/// up), each a full handshake (`resume` false) or one resumed from the
/// previous connection's ticket, one `GET /` and a close. A resumed run
/// fails unless the server resumed at least 95 % of them, a full one
/// unless it resumed none.
fn handshakes(c: TCli, s: TSrv, t: Transport, tls: &Tls, resume: bool, n: u64) -> io::Result<f64> {
    let (w, server) = start(s, t, tls, false)?;
    let config = tls.client(resume);
    let warm = (n / 10).max(10);
    let r = (|| -> io::Result<(f64, u64)> {
        match c {
            TCli::Degu => {
                let client = degu_client(&w, config);
                let once = || -> io::Result<()> {
                    let mut conn = client.connect().map_err(other)?;
                    peers::degu_hello(&mut conn)
                };
                for _ in 0..warm {
                    once()?;
                }
                let before = tls.resumed();
                let t0 = Instant::now();
                for _ in 0..n {
                    once()?;
                }
                Ok((t0.elapsed().as_secs_f64(), tls.resumed() - before))
            }
            TCli::Hyper => peers::client_runtime()?.block_on(async {
                let connector = tokio_rustls::TlsConnector::from(config);
                let server_name = name(t);
                let once = || async {
                    let mut cl = HyperClient::connect_tls(&w, &connector, &server_name).await?;
                    cl.hello().await
                };
                for _ in 0..warm {
                    once().await?;
                }
                let before = tls.resumed();
                let t0 = Instant::now();
                for _ in 0..n {
                    once().await?;
                }
                Ok((t0.elapsed().as_secs_f64(), tls.resumed() - before))
            }),
            TCli::Floor => Err(other("no handshake floor")),
        }
    })();
    let stopped = server.stop();
    let (secs, resumed) = r?;
    stopped?;
    let want_ok = if resume {
        resumed * 100 >= n * 95
    } else {
        resumed == 0
    };
    if !want_ok {
        return Err(other(format!(
            "{resumed} of {n} handshakes resumed (resumption {})",
            if resume { "on" } else { "off" }
        )));
    }
    Ok(n as f64 / secs)
}

fn table_handshakes(m: &Mode, tls: &Tls, failures: &mut Vec<String>) -> Table {
    let mut rows = Vec::new();
    for t in [Transport::Unix, Transport::Tcp] {
        for resume in [false, true] {
            let kind = if resume { "resumed" } else { "full" };
            let mut med = Vec::new();
            for &(pair, c, s) in HANDSHAKERS {
                let mut samples = Vec::new();
                let this = format!("{pair} {kind} {}", t.name());
                if !m
                    .only
                    .as_ref()
                    .is_none_or(|o| o.split(',').any(|o| o == this))
                {
                    med.push(None);
                    continue;
                }
                for _ in 0..m.runs {
                    let what = format!("tls handshakes {kind} {pair} {}", t.name());
                    eprintln!("peers: {what}");
                    samples.push(record(
                        failures,
                        &what,
                        handshakes(c, s, t, tls, resume, m.tls_handshakes),
                    ));
                }
                med.push(Some(median(samples)));
            }
            for (k, &(pair, ..)) in HANDSHAKERS.iter().enumerate() {
                let Some(per_s) = med[k] else { continue };
                rows.push(vec![
                    Cell::Text(pair.into()),
                    Cell::Text(kind.into()),
                    Cell::Text(t.name().into()),
                    Cell::Num(per_s, 0),
                    Cell::Num(per_s / med[1].unwrap_or(f64::NAN), 2),
                ]);
            }
        }
    }
    Table {
        title: format!(
            "tls handshakes: {} fresh connections one after the other, each a mutual TLS 1.3 \
             handshake (full: the client keeps no session; resumed: from the ticket of the \
             connection before, checked on the server's session cache), one GET / and a close; \
             handshakes/s, median of {} runs, unpinned (vs_hyper: over hyper -> hyper's)",
            m.tls_handshakes, m.runs
        ),
        chart: ("per_s", vec!["pair", "handshake", "transport"]),
        columns: vec!["pair", "handshake", "transport", "per_s", "vs_hyper"],
        rows,
    }
}

// ------------------------------------------------------------ bulk

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum TBulk {
    Floor,
    Degu,
    Hyper,
}

const BULKS: &[(&str, TBulk)] = &[
    ("rustls floor", TBulk::Floor),
    ("degu content-length", TBulk::Degu),
    ("hyper content-length", TBulk::Hyper),
];

/// The TLS bulk floor server: raw rustls, reads one request preamble
/// (unparsed), writes a content-length head and `n` bytes from one 1 MiB
/// buffer, then waits for the end.
fn bulk_floor_server(
    t: Transport,
    config: Arc<ServerConfig>,
    n: u64,
) -> io::Result<(Where, OneShot)> {
    let l = Listener::bind(t)?;
    let w = l.addr()?;
    let h = OneShot::spawn(move || {
        let conn = ServerConnection::new(config).map_err(other)?;
        let mut s = StreamOwned::new(conn, l.accept()?);
        let mut req = Vec::new();
        let mut b = [0u8; 1024];
        while net::find(&req, b"\r\n\r\n").is_none() {
            let k = s.read(&mut b)?;
            if k == 0 || req.len() > 32 * 1024 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            req.extend_from_slice(&b[..k]);
        }
        write!(s, "HTTP/1.1 200 OK\r\ncontent-length: {n}\r\n\r\n")?;
        let buf = vec![0u8; BULK_BUF];
        let mut left = n;
        while left > 0 {
            let k = left.min(buf.len() as u64) as usize;
            s.write_all(&buf[..k])?;
            left -= k as u64;
        }
        while read_all_or_end(&mut s, &mut b[..1])? {}
        Ok(())
    });
    Ok((w, h))
}

/// The TLS bulk floor client: one request, then reads the head and `n`
/// body bytes into a 1 MiB buffer.
fn bulk_floor_client(w: &Where, config: Arc<ClientConfig>, n: u64) -> io::Result<()> {
    let mut s = rustls_client(w, config)?;
    s.write_all(format!("GET /bytes/{n} HTTP/1.1\r\nhost: x\r\n\r\n").as_bytes())?;
    let mut buf = vec![0u8; BULK_BUF];
    let mut have = 0;
    let head = loop {
        let k = s.read(&mut buf[have..])?;
        if k == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        have += k;
        if let Some(i) = net::find(&buf[..have], b"\r\n\r\n") {
            break i + 4;
        }
    };
    if net::content_length(&buf[..head]) != Some(n) {
        return Err(other("tls bulk floor: wrong content-length"));
    }
    let mut total = (have - head) as u64;
    while total < n {
        let k = s.read(&mut buf)?;
        if k == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        total += k as u64;
    }
    if total != n {
        return Err(other(format!("tls bulk floor: {total} bytes, not {n}")));
    }
    close(s)
}

/// MB/s of one download of `n` bytes over TLS (timed from connect, the
/// handshake included, to the last byte).
fn bulk(b: TBulk, t: Transport, tls: &Tls, n: u64) -> io::Result<f64> {
    let config = tls.client(false);
    let uri = format!("/bytes/{n}");
    let (secs, stopped) = match b {
        TBulk::Floor => {
            let (w, h) = bulk_floor_server(t, tls.server.clone(), n)?;
            let t0 = Instant::now();
            let r = bulk_floor_client(&w, config, n);
            let secs = t0.elapsed().as_secs_f64();
            (r.map(|()| secs), h.stop())
        }
        TBulk::Degu => {
            let (w, server) = start(TSrv::Degu, t, tls, true)?;
            let client = degu_client(&w, config);
            let t0 = Instant::now();
            let r = peers::degu_download_with(&client, &uri, n, false);
            let secs = t0.elapsed().as_secs_f64();
            (r.map(|()| secs), server.stop())
        }
        TBulk::Hyper => {
            let (w, server) = start(TSrv::Hyper, t, tls, true)?;
            let r = peers::client_runtime()?.block_on(async {
                let connector = tokio_rustls::TlsConnector::from(config);
                let t0 = Instant::now();
                let mut cl = HyperClient::connect_tls(&w, &connector, &name(t)).await?;
                cl.download(&uri, n).await?;
                Ok::<f64, io::Error>(t0.elapsed().as_secs_f64())
            });
            (r, server.stop())
        }
    };
    let secs = secs?;
    stopped?;
    Ok(n as f64 / 1e6 / secs)
}

/// The bulk rows of one phase (unpinned, or every thread on one CPU).
fn bulk_rows(m: &Mode, tls: &Tls, failures: &mut Vec<String>, pinned: bool) -> Vec<Vec<Cell>> {
    let n = m.bulk_bytes;
    let cpus = if pinned { "one" } else { "any" };
    let mut rows = Vec::new();
    for t in [Transport::Unix, Transport::Tcp] {
        let mut med = Vec::new();
        for &(name, b) in BULKS {
            let mut samples = Vec::new();
            for _ in 0..m.runs {
                let what = format!("tls bulk {name} {} cpus={cpus}", t.name());
                eprintln!("peers: {what}");
                samples.push(record(failures, &what, bulk(b, t, tls, n)));
            }
            med.push(median(samples));
        }
        for (k, &(name, _)) in BULKS.iter().enumerate() {
            rows.push(vec![
                Cell::Text(name.into()),
                Cell::Text(t.name().into()),
                Cell::Text(cpus.into()),
                Cell::Num(med[k], 0),
                Cell::Num(med[k] / med[1], 2),
                Cell::Num(med[k] / med[0], 2),
            ]);
        }
    }
    rows
}

fn table_bulk(m: &Mode, rows: Vec<Vec<Cell>>) -> Table {
    Table {
        title: format!(
            "tls bulk: one {} MiB response body over mutual TLS 1.3 on a fresh connection \
             (handshake included), client and server in one process; cpus any: unpinned (the \
             two sides encrypt and decrypt in parallel; on a small shared VM these swing from \
             run to run), one: every thread pinned to one CPU (the cost per byte of both sides \
             together, steadier); MB/s (10^6 bytes), median of {} runs; floor: raw rustls \
             streams, 1 MiB writes from one buffer, 1 MiB reads; degu: a BodyIter of 1 MiB \
             pieces of one static buffer, read into a 1 MiB buffer; hyper: tokio-rustls, \
             current-thread runtimes, 1 MiB frames (vs_degu, vs_floor: over degu's and the \
             floor's)",
            m.bulk_bytes >> 20,
            m.runs
        ),
        chart: ("MB_s", vec!["contender", "transport", "cpus"]),
        columns: vec![
            "contender",
            "transport",
            "cpus",
            "MB_s",
            "vs_degu",
            "vs_floor",
        ],
        rows,
    }
}

// ------------------------------------------------------------ idle

/// The servers measured idle, each in a `serve KIND DIR` child.
const IDLE_SERVERS: &[(&str, &str)] =
    &[("degu", "degu-tls"), ("hyper (multi-thread)", "hyper-tls")];

/// `n` TLS connections to `kind` (a child process), each having made one
/// `GET /` and kept open: the child's RSS before and after.
fn idle(kind: &str, dir: &Path, tls: &Tls, n: usize) -> io::Result<(u64, u64, u64)> {
    let child = ServerChild::start_with(kind, &[&dir.display().to_string()])?;
    thread::sleep(START_SETTLE);
    let before = child.status()?;
    let w = Where::Tcp(child.addr());
    let config = tls.client(false);
    let mut conns = Vec::with_capacity(n);
    for _ in 0..n {
        let mut s = rustls_client(&w, config.clone())?;
        s.write_all(REQUEST)?;
        let mut buf = Vec::new();
        let mut b = [0u8; 512];
        loop {
            let k = s.read(&mut b)?;
            if k == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            buf.extend_from_slice(&b[..k]);
            if let Some(i) = net::find(&buf, b"\r\n\r\n")
                && buf.len() >= i + 4 + HELLO.len()
            {
                if !buf.ends_with(HELLO) || !buf.starts_with(b"HTTP/1.1 200 ") {
                    return Err(other("tls idle: not the hello response"));
                }
                break;
            }
        }
        conns.push(s);
    }
    thread::sleep(IDLE_SETTLE);
    let after = child.status()?;
    drop(conns);
    child.stop()?;
    Ok((before.rss_kib, after.rss_kib, after.threads))
}

fn table_idle(m: &Mode, tls: &Tls, failures: &mut Vec<String>) -> io::Result<Table> {
    let dir = std::env::temp_dir().join(format!("degu-bench-pki-{}", std::process::id()));
    tls.pki.write_files(&dir)?;
    let n = m.tls_idle;
    let mut rows = Vec::new();
    for &(name, kind) in IDLE_SERVERS {
        let what = format!("tls idle {kind} {n}");
        eprintln!("peers: {what}");
        let Ok((before, after, threads)) = idle(kind, &dir, tls, n).map_err(|e| {
            record(failures, &what, Err(e));
        }) else {
            continue;
        };
        rows.push(vec![
            Cell::Text(name.into()),
            Cell::Int(n as u64),
            Cell::Int(before),
            Cell::Int(after),
            Cell::Num((after as f64 - before as f64) / n as f64, 2),
            Cell::Int(threads),
        ]);
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(Table {
        title: format!(
            "tls idle: each server alone in a child process; {n} kept-alive mutual TLS 1.3 \
             connections over TCP, opened one after the other, each answered one GET /, then \
             left open; {} ms later the child's VmRSS and threads (kib_per_conn: (rss_kib - \
             rss_0_kib) / connections)",
            IDLE_SETTLE.as_millis()
        ),
        chart: ("kib_per_conn", vec!["server"]),
        columns: vec![
            "server",
            "conns",
            "rss_0_kib",
            "rss_kib",
            "kib_per_conn",
            "threads",
        ],
        rows,
    })
}

/// A server started in a `serve` child, and how to stop it.
pub type Served = (Where, Box<dyn FnOnce() -> io::Result<()>>);

/// `serve degu-tls DIR` and `serve hyper-tls DIR`: a TLS server on TCP
/// loopback with the PKI written in `DIR`, for [`table_idle`].
pub fn serve_tls(kind: &str, dir: &str) -> io::Result<Option<Served>> {
    let dir = Path::new(dir);
    let config = || -> io::Result<Arc<ServerConfig>> {
        let certs = degu_tls::load_certs(&dir.join("server.pem")).map_err(other)?;
        let key = degu_tls::load_key(&dir.join("server.key")).map_err(other)?;
        let roots = degu_tls::load_roots(Some(&dir.join("ca.pem")), None).map_err(other)?;
        degu_tls::server_config(certs, key, Some(roots)).map_err(other)
    };
    Ok(match kind {
        "degu-tls" => {
            let h = SslServer::bind(
                config()?,
                &"127.0.0.1:0".parse().map_err(other)?,
                degu_server::demo::app,
                peers::degu_bench_options(),
            )
            .map_err(other)?
            .spawn()
            .map_err(other)?;
            let w = Where::Tcp(h.address().to_string().parse().map_err(other)?);
            Some((
                w,
                Box::new(move || {
                    h.shutdown();
                    Ok(())
                }),
            ))
        }
        "hyper-tls" => {
            let acceptor = tokio_rustls::TlsAcceptor::from(config()?);
            let (w, h) = peers::hyper_server_with(Transport::Tcp, true, Some(acceptor))?;
            Some((w, Box::new(move || h.stop())))
        }
        _ => None,
    })
}

/// `tls`: the four tables; with `--only "PAIR TRANSPORT,..."` the round
/// trips of those pairs alone, with `--only "PAIR full TRANSPORT"` (or
/// `resumed`) the handshakes of that pair alone (for `strace -c -f`).
pub fn section_tls(m: &Mode, failures: &mut Vec<String>) -> io::Result<Vec<Table>> {
    let tls = Tls::new();
    if m.only.is_some() {
        // Handshakes first: they run unpinned, and the round trips pin
        // this process.
        let tables = [
            table_handshakes(m, &tls, failures),
            table_round_trips(m, &tls, failures)?,
        ];
        return Ok(tables.into_iter().filter(|t| !t.rows.is_empty()).collect());
    }
    // Idle first: its clients run unpinned, as the servers in their
    // children do; the round trips pin this process at their end.
    let idle = table_idle(m, &tls, failures)?;
    let handshakes = table_handshakes(m, &tls, failures);
    let mut bulk = bulk_rows(m, &tls, failures, false);
    let round_trips = table_round_trips(m, &tls, failures)?;
    // Pinned by the round trips now.
    bulk.extend(bulk_rows(m, &tls, failures, true));
    Ok(vec![round_trips, handshakes, table_bulk(m, bulk), idle])
}
