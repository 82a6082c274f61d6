//! The server: bind, accept, one thread per connection, graceful shutdown.

use std::collections::HashMap;
use std::io;
use std::net::Shutdown;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use degu_core::{Address, Error, PlainStream, Result, Transport, Wrapper};
use log::{info, warn};
use socket2::Socket;

use crate::app::App;
use crate::conn::{ConnCtx, serve, state};
use crate::options::ServerOptions;
use crate::session::Session;
use crate::socket::{from_sock_addr, listen};

struct Slot {
    sock: PlainStream,
    /// One of `conn::state`'s values.
    state: Arc<AtomicU8>,
}

#[derive(Default)]
struct Conns {
    next_id: u64,
    slots: HashMap<u64, Slot>,
    threads: Vec<JoinHandle<()>>,
}

struct Inner {
    stop: AtomicBool,
    conns: Mutex<Conns>,
    changed: Condvar,
}

impl Inner {
    fn lock(&self) -> std::sync::MutexGuard<'_, Conns> {
        // A connection thread never panics while holding the lock (app
        // panics are caught), so a poisoned lock still holds valid data.
        self.conns.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A bound server: its listening socket, its address, its app and options.
///
/// ```
/// use degu_server::{Server, ServerOptions, Session, Request, AppResult, Response};
/// use std::io::{Read, Write};
///
/// let app = |_: &mut Session, _: &mut Request| -> AppResult { Ok(Response::new(200, "OK").body("hello")) };
/// let server = Server::bind(&degu_core::IPV4_LOOPBACK, app, ServerOptions::default()).unwrap();
/// let handle = server.spawn().unwrap();
/// let degu_core::Address::Tcp4 { port, .. } = *handle.address() else { unreachable!() };
/// let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
/// s.write_all(b"GET / HTTP/1.1\r\nconnection: close\r\n\r\n").unwrap();
/// let mut reply = String::new();
/// s.read_to_string(&mut reply).unwrap();
/// assert!(reply.starts_with("HTTP/1.1 200 OK\r\n") && reply.ends_with("\r\n\r\nhello"));
/// handle.shutdown();
/// ```
pub struct Server {
    sock: Socket,
    address: Address,
    app: Arc<dyn App>,
    options: ServerOptions,
    wrapper: Option<Arc<dyn Wrapper>>,
}

impl Server {
    /// Binds `address` (any family; port 0 and `unix:@` ask the kernel) and
    /// listens. Options are validated first.
    pub fn bind(address: &Address, app: impl App, options: ServerOptions) -> Result<Server> {
        options.validate()?;
        let sock = listen(address, 1024)?;
        let address = from_sock_addr(&sock.local_addr()?);
        Ok(Server {
            sock,
            address,
            app: Arc::new(app),
            options,
            wrapper: None,
        })
    }

    /// Sets a [`Wrapper`] run on every accepted connection (TLS).
    pub fn with_wrapper(mut self, wrapper: Arc<dyn Wrapper>) -> Server {
        self.wrapper = Some(wrapper);
        self
    }

    /// The listening socket.
    pub fn sock(&self) -> &Socket {
        &self.sock
    }

    /// The bound address, as getsockname reports it (real port, real
    /// abstract name).
    pub fn address(&self) -> &Address {
        &self.address
    }

    /// The app.
    pub fn app(&self) -> &Arc<dyn App> {
        &self.app
    }

    /// The options.
    pub fn options(&self) -> &ServerOptions {
        &self.options
    }

    /// Serves on this thread until the process ends (as the original's
    /// `serve_forever()`); returns only on a fatal accept error.
    pub fn serve_forever(self) -> Result<()> {
        let inner = Arc::new(Inner {
            stop: AtomicBool::new(false),
            conns: Mutex::new(Conns::default()),
            changed: Condvar::new(),
        });
        self.accept_loop(&inner)
    }

    /// Serves on a background thread; the handle gives the address and
    /// shuts the server down. This is the original's TempServer and
    /// EmbeddedServer.
    pub fn spawn(self) -> Result<ServerHandle> {
        let inner = Arc::new(Inner {
            stop: AtomicBool::new(false),
            conns: Mutex::new(Conns::default()),
            changed: Condvar::new(),
        });
        let listener = self.sock.try_clone()?;
        let address = self.address.clone();
        let shutdown_timeout = self.options.shutdown_timeout();
        let inner2 = Arc::clone(&inner);
        let thread = thread::Builder::new()
            .name("degu-accept".into())
            .spawn(move || self.accept_loop(&inner2))?;
        Ok(ServerHandle {
            address,
            inner,
            listener,
            thread: Some(thread),
            shutdown_timeout,
        })
    }

    fn accept_loop(&self, inner: &Arc<Inner>) -> Result<()> {
        let unix = self.address.is_unix();
        let mut backoff = Duration::from_millis(1);
        loop {
            let accepted = self.sock.accept();
            if inner.stop.load(Ordering::SeqCst) {
                return Ok(());
            }
            let (sock, peer) = match accepted {
                Ok(pair) => {
                    backoff = Duration::from_millis(1);
                    pair
                }
                Err(e) => {
                    match e.raw_os_error() {
                        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM) => {
                            warn!("accept: {e}; retrying in {backoff:?}");
                            thread::sleep(backoff);
                            backoff = (backoff * 2).min(Duration::from_millis(100));
                        }
                        Some(libc::EINVAL | libc::EBADF) => {
                            return Err(Error::Io(e));
                        }
                        _ => warn!("accept: {e}"),
                    }
                    continue;
                }
            };
            let peer = if unix {
                from_sock_addr(&peer)
            } else {
                Address::from(
                    peer.as_socket()
                        .unwrap_or_else(|| std::net::SocketAddr::from(([0, 0, 0, 0], 0))),
                )
            };
            let stream = if unix {
                PlainStream::Unix(sock.into())
            } else {
                PlainStream::Tcp(sock.into())
            };
            self.start_connection(inner, stream, peer);
        }
    }

    fn start_connection(&self, inner: &Arc<Inner>, stream: PlainStream, peer: Address) {
        let mut conns = inner.lock();
        conns.threads.retain(|t| !t.is_finished());
        if conns.slots.len() >= self.options.max_connections() && !evict_lingering(&mut conns) {
            warn!("{peer} refused: already {} connections", conns.slots.len());
            let _ = stream.shutdown(Shutdown::Both);
            return;
        }
        let clone = match stream.try_clone() {
            Ok(c) => c,
            Err(e) => {
                warn!("{peer} refused: {e}");
                return;
            }
        };
        if let PlainStream::Tcp(s) = &stream {
            let _ = s.set_nodelay(true);
        }
        if let Err(e) = stream.set_timeout(self.options.timeout()) {
            warn!("{peer} refused: {e}");
            return;
        }
        let id = conns.next_id;
        conns.next_id += 1;
        let conn_state = Arc::new(AtomicU8::new(state::BUSY));
        conns.slots.insert(
            id,
            Slot {
                sock: clone,
                state: Arc::clone(&conn_state),
            },
        );
        let app = Arc::clone(&self.app);
        let wrapper = self.wrapper.clone();
        let options = self.options.clone();
        let inner2 = Arc::clone(inner);
        let spawned = thread::Builder::new()
            .name("degu-conn".into())
            .spawn(move || {
                run_connection(
                    stream,
                    peer,
                    &*app,
                    wrapper.as_deref(),
                    &options,
                    &inner2,
                    &conn_state,
                );
                // Free the slot before the peer can see the close, so a
                // peer that reconnects at once is never refused for a
                // connection that is over.
                let slot = inner2.lock().slots.remove(&id);
                inner2.changed.notify_all();
                if let Some(slot) = slot {
                    let _ = slot.sock.shutdown(Shutdown::Both);
                }
            });
        match spawned {
            Ok(t) => conns.threads.push(t),
            Err(e) => {
                warn!("cannot start a connection thread: {e}");
                conns.slots.remove(&id);
            }
        }
    }
}

/// Makes room for a new connection by ending a lingering one (which has
/// said all it had to say); false when none is lingering.
fn evict_lingering(conns: &mut Conns) -> bool {
    let lingering = conns
        .slots
        .iter()
        .find(|(_, slot)| slot.state.load(Ordering::SeqCst) == state::LINGERING)
        .map(|(id, _)| *id);
    match lingering.and_then(|id| conns.slots.remove(&id)) {
        Some(slot) => {
            let _ = slot.sock.shutdown(Shutdown::Both);
            true
        }
        None => false,
    }
}

fn run_connection(
    stream: PlainStream,
    peer: Address,
    app: &dyn App,
    wrapper: Option<&dyn Wrapper>,
    options: &ServerOptions,
    inner: &Inner,
    conn_state: &AtomicU8,
) {
    info!("+ {peer} New connection");
    let sock = match stream.try_clone() {
        Ok(s) => s,
        Err(e) => {
            info!("- {peer} Handled 0 requests: {e}");
            return;
        }
    };
    let credentials = stream.credentials();
    let transport = match wrapper {
        None => Ok(Box::new(stream) as Box<dyn Transport>),
        Some(w) => w.wrap(stream, &peer),
    };
    let transport = match transport {
        Ok(t) => t,
        Err(e) => {
            info!("- {peer} Handled 0 requests: {e}");
            return;
        }
    };
    let info = transport.info();
    let max_requests = options.max_requests();
    let mut session = Session::new(peer, credentials, max_requests);
    let ctx = ConnCtx {
        app,
        max_requests,
        stop: &inner.stop,
        state: conn_state,
        sock: Some(&sock),
        linger: options.linger(),
        max_headers: options.max_headers(),
    };
    let reason = serve(transport, &info, &mut session, &ctx);
    info!(
        "- {} Handled {} requests: {reason}",
        session.address(),
        session.requests()
    );
    drop(session);
}

/// A server running on a background thread.
pub struct ServerHandle {
    address: Address,
    inner: Arc<Inner>,
    listener: Socket,
    thread: Option<JoinHandle<Result<()>>>,
    shutdown_timeout: Duration,
}

impl ServerHandle {
    /// The bound address.
    pub fn address(&self) -> &Address {
        &self.address
    }

    /// Connections being served right now.
    pub fn connections(&self) -> usize {
        self.inner.lock().slots.len()
    }

    /// Stops accepting, closes idle keep-alive connections at once, lets
    /// in-flight requests finish (for at most the `shutdown_timeout`
    /// option, after which their sockets are shut down too), joins the
    /// threads, and removes an AF_UNIX socket file. Returns how many
    /// connection threads were still running and left behind (0 unless
    /// an app ignores its closed socket for another `shutdown_timeout`).
    pub fn shutdown(mut self) -> usize {
        self.stop()
    }

    fn stop(&mut self) -> usize {
        let Some(thread) = self.thread.take() else {
            return 0;
        };
        self.inner.stop.store(true, Ordering::SeqCst);
        wake(&self.listener, &self.address);
        let _ = thread.join();
        {
            let conns = self.inner.lock();
            // Lingering connections are left to finish: their time is
            // bounded by the linger option.
            for slot in conns.slots.values() {
                if slot.state.load(Ordering::SeqCst) == state::IDLE {
                    let _ = slot.sock.shutdown(Shutdown::Both);
                }
            }
        }
        let mut left = self.wait(self.shutdown_timeout);
        if left > 0 {
            warn!("shutdown: closing {left} connections still busy");
            for slot in self.inner.lock().slots.values() {
                let _ = slot.sock.shutdown(Shutdown::Both);
            }
            left = self.wait(self.shutdown_timeout);
        }
        let threads: Vec<_> = std::mem::take(&mut self.inner.lock().threads);
        let mut abandoned = 0;
        for t in threads {
            if t.is_finished() || left == 0 {
                let _ = t.join();
            } else {
                abandoned += 1;
            }
        }
        if let Address::Unix(path) = &self.address {
            remove_socket_file(path);
        }
        abandoned
    }

    fn wait(&self, timeout: Duration) -> usize {
        let deadline = Instant::now() + timeout;
        let mut conns = self.inner.lock();
        while !conns.slots.is_empty() {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            conns = self
                .inner
                .changed
                .wait_timeout(conns, deadline - now)
                .map(|(g, _)| g)
                .unwrap_or_else(|p| p.into_inner().0);
        }
        conns.slots.len()
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.stop();
    }
}

fn remove_socket_file(path: &PathBuf) {
    if let Err(e) = std::fs::remove_file(path)
        && e.kind() != io::ErrorKind::NotFound
    {
        warn!("cannot remove {}: {e}", path.display());
    }
}

/// Wakes a thread blocked in accept(): shutting a listening socket down
/// makes Linux's accept() fail at once; a connection to ourselves is the
/// fallback.
fn wake(listener: &Socket, address: &Address) {
    let _ = listener.shutdown(Shutdown::Both);
    let target = match address {
        Address::Tcp4 { ip, port } if ip.is_unspecified() => Address::Tcp4 {
            ip: std::net::Ipv4Addr::LOCALHOST,
            port: *port,
        },
        Address::Tcp6 { ip, port, .. } if ip.is_unspecified() => Address::Tcp6 {
            ip: std::net::Ipv6Addr::LOCALHOST,
            port: *port,
            flowinfo: 0,
            scope_id: degu_core::ScopeId::Index(0),
        },
        other => other.clone(),
    };
    if let Ok((domain, sa)) = crate::socket::sock_addr(&target)
        && let Ok(s) = Socket::new(domain, socket2::Type::STREAM, None)
    {
        let _ = s.connect_timeout(&sa, Duration::from_millis(100));
    }
}
