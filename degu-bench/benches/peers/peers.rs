//! The contenders: Degu, hyper (tokio), tiny_http, ureq and astra (a
//! server only), each started and stopped per measurement so that
//! nothing outlives it (astra, which cannot be stopped, runs only in a
//! `serve` child process).

use std::convert::Infallible;
use std::io::{self, Read};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use bytes::Bytes;
use degu_tls::rustls::pki_types::ServerName;
use http_body::{Body as HttpBody, Frame, SizeHint};
use http_body_util::{BodyExt, Empty};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;

use crate::net::{BULK_BUF, HELLO, Transport, Where, unix_path};

fn other(e: impl std::fmt::Display) -> io::Error {
    io::Error::other(e.to_string())
}

// ---------------------------------------------------------------- Degu

/// The options of every Degu server in the benches: the defaults (the
/// per-read `timeout` among them), with `max_requests` and
/// `max_connections` raised so that no run is cut short and a crowd of
/// 10 000 connections is let in. The one place to change them.
pub fn degu_bench_options() -> degu_server::ServerOptions {
    degu_server::ServerOptions::default()
        .with_max_requests(u64::MAX)
        .with_max_connections(20_000)
}

/// A Degu server with the given app and [`degu_bench_options`].
pub fn degu_server(
    t: Transport,
    app: impl degu_server::App,
) -> io::Result<(Where, degu_server::ServerHandle)> {
    degu_server_bound(t, |a, options| degu_server::Server::bind(a, app, options))
}

/// As [`degu_server`], the server bound by `bind` (given the address and
/// the bench's options): degu-tls's `SslServer::bind`, say.
pub fn degu_server_bound<E: std::fmt::Display>(
    t: Transport,
    bind: impl FnOnce(&degu_core::Address, degu_server::ServerOptions) -> Result<degu_server::Server, E>,
) -> io::Result<(Where, degu_server::ServerHandle)> {
    let w = match t {
        Transport::Tcp => Where::Tcp("127.0.0.1:0".parse().map_err(other)?),
        Transport::Unix => Where::Unix(unix_path()),
    };
    let h = bind(&w.degu(), degu_bench_options())
        .map_err(other)?
        .spawn()
        .map_err(other)?;
    let w = match t {
        Transport::Tcp => Where::Tcp(h.address().to_string().parse().map_err(other)?),
        Transport::Unix => w,
    };
    Ok((w, h))
}

/// The demo app's `GET /` through a Degu connection, checked.
pub fn degu_hello(conn: &mut degu_client::Connection) -> io::Result<()> {
    check_hello(conn.get("/", &degu_client::Headers::new()).map_err(other)?)
}

/// As [`degu_hello`], from the client's pool ([`degu_client::Client::request`]).
pub fn degu_pool_hello(client: &degu_client::Client) -> io::Result<()> {
    check_hello(
        client
            .get("/", &degu_client::Headers::new())
            .map_err(other)?,
    )
}

/// Checks a `GET /` response and reads its body to the end.
fn check_hello(mut r: degu_client::Response) -> io::Result<()> {
    if r.status != 200 {
        return Err(other(format!("degu client: status {}", r.status)));
    }
    if r.read_all().map_err(other)? != HELLO {
        return Err(other("degu client: wrong body"));
    }
    Ok(())
}

/// The bytes every bulk server sends: zeros, from one static buffer.
static ZEROS: [u8; BULK_BUF] = [0; BULK_BUF];

/// The Degu server's bulk app, sending from one static buffer with no
/// copy in user space, as the floor and hyper send theirs: `GET /bytes/N`
/// answers N bytes (the pieces of a `BodyIter`), `GET /chunks/N` N bytes
/// in 1 MiB chunks (a `ChunkedBodyIter` of pieces); anything else, 404.
pub fn degu_bulk_app(
    _: &mut degu_server::Session,
    request: &mut degu_server::Request,
) -> degu_server::AppResult {
    let (kind, n) = match request.path.as_slice() {
        [kind, n] => match n.parse::<u64>() {
            Ok(n) => (kind.as_str(), n),
            Err(_) => return Ok(request.response(404, "Not Found")),
        },
        _ => return Ok(request.response(404, "Not Found")),
    };
    let full = (n / BULK_BUF as u64) as usize;
    let rest = (n % BULK_BUF as u64) as usize;
    let pieces = std::iter::repeat_n(&ZEROS[..], full).chain((rest > 0).then_some(&ZEROS[..rest]));
    Ok(match kind {
        "bytes" => request
            .response(200, "OK")
            .body(degu_core::BodyIter::new(pieces, n)),
        "chunks" => {
            let chunks = pieces.chain([&ZEROS[..0]]).map(|data| (None, data));
            request
                .response(200, "OK")
                .body(degu_core::ChunkedBodyIter::from_pieces(chunks))
        }
        _ => request.response(404, "Not Found"),
    })
}

/// Downloads `uri` through Degu, reading the body into a buffer; returns
/// its length (checked against `want`).
pub fn degu_download(w: &Where, uri: &str, want: u64, chunked: bool) -> io::Result<()> {
    degu_download_with(&degu_client::Client::new(w.degu()), uri, want, chunked)
}

/// As [`degu_download`], on a fresh connection of `client` (say, a TLS
/// one).
pub fn degu_download_with(
    client: &degu_client::Client,
    uri: &str,
    want: u64,
    chunked: bool,
) -> io::Result<()> {
    let mut conn = client.connect().map_err(other)?;
    let r = conn.get(uri, &degu_client::Headers::new()).map_err(other)?;
    if r.status != 200 {
        return Err(other(format!("degu download: status {}", r.status)));
    }
    let mut body = r.body.ok_or_else(|| other("degu download: no body"))?;
    if matches!(body, degu_core::Incoming::Chunked(_)) != chunked {
        return Err(other("degu download: unexpected framing"));
    }
    let mut buf = vec![0u8; BULK_BUF];
    let mut total = 0u64;
    loop {
        let n = body.read(&mut buf)?;
        if n == 0 {
            break;
        }
        total += n as u64;
    }
    if total != want {
        return Err(other(format!("degu download: {total} bytes, not {want}")));
    }
    Ok(())
}

// ---------------------------------------------------------------- hyper

/// A response body of `left` bytes sent as clones of one `chunk`; with
/// `exact`, its size is known (hyper sends a content-length), else hyper
/// sends it chunked.
pub struct Payload {
    left: u64,
    chunk: Bytes,
    exact: bool,
}

impl HttpBody for Payload {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if self.left == 0 {
            return Poll::Ready(None);
        }
        let k = self.left.min(self.chunk.len() as u64) as usize;
        self.left -= k as u64;
        Poll::Ready(Some(Ok(Frame::data(self.chunk.slice(..k)))))
    }

    fn is_end_stream(&self) -> bool {
        self.left == 0
    }

    fn size_hint(&self) -> SizeHint {
        if self.exact {
            SizeHint::with_exact(self.left)
        } else {
            SizeHint::default()
        }
    }
}

/// hyper's answer: `/` → hello; `/bytes/N` → N bytes with a
/// content-length; `/chunks/N` → N bytes chunked (1 MiB frames).
async fn hyper_app(
    req: hyper::Request<hyper::body::Incoming>,
) -> Result<hyper::Response<Payload>, Infallible> {
    let path = req.uri().path();
    let (body, ctype) = if path == "/" {
        (
            Payload {
                left: HELLO.len() as u64,
                chunk: Bytes::from_static(HELLO),
                exact: true,
            },
            "text/plain",
        )
    } else {
        let (n, exact) = match (path.strip_prefix("/bytes/"), path.strip_prefix("/chunks/")) {
            (Some(n), _) => (n.parse().unwrap_or(0), true),
            (_, Some(n)) => (n.parse().unwrap_or(0), false),
            _ => (0, true),
        };
        (
            Payload {
                left: n,
                chunk: Bytes::from(vec![7u8; BULK_BUF]),
                exact,
            },
            "application/octet-stream",
        )
    };
    let mut r = hyper::Response::new(body);
    r.headers_mut()
        .insert("content-type", http::HeaderValue::from_static(ctype));
    Ok(r)
}

/// A running hyper server; [`stop`](Self::stop) ends its runtime and joins
/// its thread (dropping the runtime ends every connection task).
pub struct HyperServer {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<io::Result<()>>>,
}

impl HyperServer {
    /// Stops the server and joins its thread.
    pub fn stop(mut self) -> io::Result<()> {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        match self.thread.take() {
            Some(h) => h
                .join()
                .map_err(|_| other("hyper server thread panicked"))?,
            None => Ok(()),
        }
    }
}

/// Starts a hyper server on its own thread: a current-thread runtime, or
/// a multi-thread one (`multi`, one worker per CPU).
pub fn hyper_server(t: Transport, multi: bool) -> io::Result<(Where, HyperServer)> {
    hyper_server_with(t, multi, None)
}

/// As [`hyper_server`], over TLS through tokio-rustls when `tls` is given
/// (each connection's handshake runs in its own task).
pub fn hyper_server_with(
    t: Transport,
    multi: bool,
    tls: Option<tokio_rustls::TlsAcceptor>,
) -> io::Result<(Where, HyperServer)> {
    enum L {
        Tcp(tokio::net::TcpListener),
        /// The listener and its path, removed when the server stops.
        Unix(std::os::unix::net::UnixListener, std::path::PathBuf),
    }
    let (tx, mut rx) = tokio::sync::oneshot::channel::<()>();
    let rt = if multi {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    };
    let (l, w) = match t {
        Transport::Tcp => {
            // A listen backlog of 1024, as Degu's (std's and tokio's bind
            // use 128, which a burst of connections overflows: each SYN
            // dropped then costs its client a 1 s retransmit).
            let _rt = rt.enter();
            let sock = tokio::net::TcpSocket::new_v4()?;
            sock.set_reuseaddr(true)?;
            sock.bind("127.0.0.1:0".parse().map_err(other)?)?;
            let l = sock.listen(1024)?;
            let w = Where::Tcp(l.local_addr()?);
            (L::Tcp(l), w)
        }
        Transport::Unix => {
            let p = unix_path();
            (
                L::Unix(std::os::unix::net::UnixListener::bind(&p)?, p.clone()),
                Where::Unix(p),
            )
        }
    };
    let thread = thread::spawn(move || -> io::Result<()> {
        rt.block_on(async move {
            match l {
                L::Tcp(l) => loop {
                    tokio::select! {
                        _ = &mut rx => break,
                        r = l.accept() => {
                            let (s, _) = r?;
                            s.set_nodelay(true)?;
                            spawn_hyper(s, tls.clone());
                        }
                    }
                },
                L::Unix(l, path) => {
                    l.set_nonblocking(true)?;
                    let l = tokio::net::UnixListener::from_std(l)?;
                    let served = loop {
                        tokio::select! {
                            _ = &mut rx => break Ok(()),
                            r = l.accept() => match r {
                                Ok((s, _)) => spawn_hyper(s, tls.clone()),
                                Err(e) => break Err(e),
                            }
                        }
                    };
                    let _ = std::fs::remove_file(&path);
                    served?;
                }
            }
            Ok::<(), io::Error>(())
        })?;
        rt.shutdown_timeout(Duration::from_secs(1));
        Ok(())
    });
    Ok((
        w,
        HyperServer {
            stop: Some(tx),
            thread: Some(thread),
        },
    ))
}

/// Serves one accepted connection in a task of its own, after a TLS
/// handshake when `tls` is given.
fn spawn_hyper<S>(s: S, tls: Option<tokio_rustls::TlsAcceptor>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    tokio::spawn(async move {
        match tls {
            Some(acceptor) => {
                if let Ok(s) = acceptor.accept(s).await {
                    serve_hyper(s).await;
                }
            }
            None => serve_hyper(s).await,
        }
    });
}

async fn serve_hyper<S>(s: S)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(s), service_fn(hyper_app))
        .await;
}

/// A hyper client connection (the connection task runs on the same
/// current-thread runtime).
pub struct HyperClient {
    sender: hyper::client::conn::http1::SendRequest<Empty<Bytes>>,
}

/// A current-thread runtime for hyper clients.
pub fn client_runtime() -> io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

impl HyperClient {
    /// Connects (inside a runtime).
    pub async fn connect(w: &Where) -> io::Result<HyperClient> {
        Ok(match w {
            Where::Tcp(a) => {
                let s = tokio::net::TcpStream::connect(a).await?;
                s.set_nodelay(true)?;
                Self::handshake(s).await?
            }
            Where::Unix(p) => Self::handshake(tokio::net::UnixStream::connect(p).await?).await?,
        })
    }

    /// Connects over TLS through tokio-rustls, checking the server's
    /// certificate for `name` (inside a runtime).
    pub async fn connect_tls(
        w: &Where,
        tls: &tokio_rustls::TlsConnector,
        name: &ServerName<'static>,
    ) -> io::Result<HyperClient> {
        Ok(match w {
            Where::Tcp(a) => {
                let s = tokio::net::TcpStream::connect(a).await?;
                s.set_nodelay(true)?;
                Self::handshake(tls.connect(name.clone(), s).await?).await?
            }
            Where::Unix(p) => {
                let s = tokio::net::UnixStream::connect(p).await?;
                Self::handshake(tls.connect(name.clone(), s).await?).await?
            }
        })
    }

    async fn handshake<S>(s: S) -> io::Result<HyperClient>
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(s))
            .await
            .map_err(other)?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(HyperClient { sender })
    }

    async fn get(&mut self, uri: &str) -> io::Result<hyper::Response<hyper::body::Incoming>> {
        let req = hyper::Request::get(uri)
            .header("host", "127.0.0.1")
            .body(Empty::<Bytes>::new())
            .map_err(other)?;
        let r = self.sender.send_request(req).await.map_err(other)?;
        if r.status() != 200 {
            return Err(other(format!("hyper client: status {}", r.status())));
        }
        Ok(r)
    }

    /// `GET /`, body checked.
    pub async fn hello(&mut self) -> io::Result<()> {
        let r = self.get("/").await?;
        let body = r.into_body().collect().await.map_err(other)?.to_bytes();
        if body != HELLO {
            return Err(other("hyper client: wrong body"));
        }
        Ok(())
    }

    /// Downloads `uri`, counting the data frames; checks the length.
    pub async fn download(&mut self, uri: &str, want: u64) -> io::Result<()> {
        let mut body = self.get(uri).await?.into_body();
        let mut total = 0u64;
        while let Some(f) = body.frame().await {
            if let Ok(d) = f.map_err(other)?.into_data() {
                total += d.len() as u64;
            }
        }
        if total != want {
            return Err(other(format!("hyper download: {total} bytes, not {want}")));
        }
        Ok(())
    }
}

// ---------------------------------------------------------------- tiny_http

/// A tiny_http server answering `GET /` with hello, with `workers`
/// threads taking requests from its queue.
pub struct TinyServer {
    server: Arc<tiny_http::Server>,
    stop: Arc<AtomicBool>,
    workers: Vec<JoinHandle<()>>,
}

impl TinyServer {
    /// Starts it.
    pub fn start(t: Transport, workers: usize) -> io::Result<(Where, TinyServer)> {
        let (server, w) = match t {
            Transport::Tcp => {
                let s = tiny_http::Server::http("127.0.0.1:0").map_err(other)?;
                let a = s
                    .server_addr()
                    .to_ip()
                    .ok_or_else(|| other("tiny_http: no ip address"))?;
                (s, Where::Tcp(a))
            }
            Transport::Unix => {
                let p = unix_path();
                (
                    tiny_http::Server::http_unix(&p).map_err(other)?,
                    Where::Unix(p),
                )
            }
        };
        let server = Arc::new(server);
        let stop = Arc::new(AtomicBool::new(false));
        let workers = (0..workers)
            .map(|_| {
                let (server, stop) = (server.clone(), stop.clone());
                thread::spawn(move || {
                    let header =
                        tiny_http::Header::from_bytes("content-type", "text/plain").expect("valid");
                    while !stop.load(Ordering::Relaxed) {
                        if let Ok(Some(rq)) = server.recv_timeout(Duration::from_millis(50)) {
                            let r =
                                tiny_http::Response::from_data(HELLO).with_header(header.clone());
                            let _ = rq.respond(r);
                        }
                    }
                })
            })
            .collect();
        Ok((
            w,
            TinyServer {
                server,
                stop,
                workers,
            },
        ))
    }

    /// Stops the workers and joins them; the server's own threads end
    /// when it is dropped.
    pub fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        for _ in 0..self.workers.len() {
            self.server.unblock();
        }
        for w in self.workers {
            let _ = w.join();
        }
    }
}

// ---------------------------------------------------------------- astra

/// Most worker threads of the astra server: a connection, idle or not,
/// holds one for its whole life.
pub const ASTRA_WORKERS: usize = 512;

/// A running astra server. astra has no shutdown: its threads end with
/// the process, so it runs only in a `serve` child process.
pub struct AstraServer {
    _thread: JoinHandle<io::Result<()>>,
}

impl AstraServer {
    /// Does nothing: the server runs on until the process exits.
    pub fn stop(self) -> io::Result<()> {
        Ok(())
    }
}

/// Starts an astra server on TCP loopback (HTTP/1.1 only,
/// [`ASTRA_WORKERS`] workers) answering every request with hello.
pub fn astra_server() -> io::Result<(Where, AstraServer)> {
    // `Server::bind` panics when it cannot bind.
    let server = std::panic::catch_unwind(|| astra::Server::bind("127.0.0.1:0"))
        .map_err(|_| other("astra: cannot bind 127.0.0.1:0"))?
        .max_workers(ASTRA_WORKERS)
        .http1_only();
    let w = Where::Tcp(server.local_addr()?);
    let thread = thread::Builder::new()
        .name("astra".into())
        .spawn(move || server.serve(astra_hello))?;
    Ok((w, AstraServer { _thread: thread }))
}

/// astra's answer to anything: hello, with a content-length (without
/// one, astra sends even a body of known length chunked).
fn astra_hello(_: astra::Request, _: astra::ConnectionInfo) -> astra::Response {
    astra::ResponseBuilder::new()
        .header("content-type", "text/plain")
        .header("content-length", HELLO.len())
        .body(astra::Body::new(HELLO))
        // Not reached (the header is valid); an empty body fails the
        // client's check.
        .unwrap_or_else(|_| astra::Response::new(astra::Body::empty()))
}

/// A ureq agent (one kept-alive connection, reused).
pub fn ureq_agent() -> ureq::Agent {
    ureq::Agent::new_with_defaults()
}

/// `GET /` through ureq, checked.
pub fn ureq_hello(agent: &ureq::Agent, url: &str) -> io::Result<()> {
    let mut r = agent.get(url).call().map_err(other)?;
    if r.status() != 200 {
        return Err(other(format!("ureq: status {}", r.status())));
    }
    if r.body_mut().read_to_vec().map_err(other)? != HELLO {
        return Err(other("ureq: wrong body"));
    }
    Ok(())
}
