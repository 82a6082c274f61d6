//! The server: bind, an event thread that accepts and holds waiting
//! connections, a pool of workers that run requests, graceful shutdown.

use std::io;
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use degu_core::{Address, Result, Wrapper};
use log::warn;
use socket2::Socket;

use crate::app::App;
use crate::event::EventLoop;
use crate::options::ServerOptions;
use crate::socket::{from_sock_addr, listen};
use crate::worker::{Back, Pool};

/// What the event thread, the workers and the handle share.
pub(crate) struct Inner {
    pub app: Arc<dyn App>,
    pub wrapper: Option<Arc<dyn Wrapper>>,
    pub options: ServerOptions,
    /// How long a worker waits for a connection's next request (the
    /// `worker_wait` option, at most `timeout`): the read timeout of
    /// every connection's socket.
    pub wait: Duration,
    pub stop: AtomicBool,
    pub pool: Pool,
    /// Connections open (kept by the event thread).
    pub open: AtomicUsize,
    /// Connections workers give back, for the event thread.
    pub back: Mutex<Vec<Back>>,
    /// An eventfd that wakes the event thread.
    pub waker: OwnedFd,
    /// The event thread's epoll instance. A worker takes a connection it
    /// serves request after request out of it (see
    /// [`Inner::unlist`]); the event thread does the rest.
    pub epoll: OwnedFd,
}

impl Inner {
    /// Gives a connection back to the event thread.
    pub(crate) fn send_back(&self, back: Back) {
        let first = {
            let mut q = self.back.lock().unwrap_or_else(|p| p.into_inner());
            q.push(back);
            q.len() == 1
        };
        if first {
            self.wake();
        }
    }

    /// Takes `sock`, a connection a worker holds, out of the event
    /// thread's epoll set, for as long as the worker keeps it. Registered
    /// (even disarmed), a socket makes the kernel call into epoll at each
    /// arrival, on the way to the worker's read: a cost (about 1-3 % of a
    /// round trip on loopback) that a connection sending request after
    /// request should not pay. The event thread adds it again when it
    /// arms it next (its `EPOLL_CTL_MOD` finds it gone).
    pub(crate) fn unlist(&self, sock: &degu_core::PlainStream) {
        let _ = rustix::event::epoll::delete(&self.epoll, sock);
    }

    /// Wakes the event thread.
    pub(crate) fn wake(&self) {
        let _ = rustix::io::write(&self.waker, &1u64.to_ne_bytes());
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
    /// listens. Options are validated first; `max_connections` is lowered
    /// to what the descriptor limit allows.
    pub fn bind(address: &Address, app: impl App, options: ServerOptions) -> Result<Server> {
        options.validate()?;
        let options = fit_descriptor_limit(options);
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

    /// The options (`max_connections` as lowered to the descriptor
    /// limit).
    pub fn options(&self) -> &ServerOptions {
        &self.options
    }

    /// Runs the event thread's loop on this thread until the process ends
    /// (as the original's `serve_forever()`); returns only when it cannot
    /// run.
    pub fn serve_forever(self) -> Result<()> {
        let (event_loop, _inner) = self.start()?;
        event_loop.run();
        Ok(())
    }

    /// Serves on a background thread; the handle gives the address and
    /// shuts the server down. This is the original's TempServer and
    /// EmbeddedServer.
    pub fn spawn(self) -> Result<ServerHandle> {
        let address = self.address.clone();
        let (event_loop, inner) = self.start()?;
        let thread = thread::Builder::new()
            .name("degu-event".into())
            .spawn(move || event_loop.run())?;
        Ok(ServerHandle {
            address,
            inner,
            thread: Some(thread),
        })
    }

    fn start(self) -> Result<(EventLoop, Arc<Inner>)> {
        let waker = rustix::event::eventfd(
            0,
            rustix::event::EventfdFlags::CLOEXEC | rustix::event::EventfdFlags::NONBLOCK,
        )
        .map_err(io::Error::from)?;
        let wait = match self.options.timeout() {
            Some(t) => self.options.worker_wait().min(t),
            None => self.options.worker_wait(),
        };
        let epoll = rustix::event::epoll::create(rustix::event::epoll::CreateFlags::CLOEXEC)
            .map_err(io::Error::from)?;
        let inner = Arc::new(Inner {
            app: self.app,
            wrapper: self.wrapper,
            pool: Pool::new(self.options.max_workers()),
            options: self.options,
            wait,
            stop: AtomicBool::new(false),
            open: AtomicUsize::new(0),
            back: Mutex::new(Vec::new()),
            waker,
            epoll,
        });
        let unix = self.address.is_unix();
        let event_loop = EventLoop::new(Arc::clone(&inner), self.sock, unix)?;
        Ok((event_loop, inner))
    }
}

/// Lowers `max_connections` to what `RLIMIT_NOFILE` leaves room for
/// (a descriptor per connection, and some to spare for the app), saying
/// so in the log.
fn fit_descriptor_limit(options: ServerOptions) -> ServerOptions {
    const SPARE: u64 = 64;
    let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile).current;
    let Some(limit) = limit else { return options };
    let room = usize::try_from(limit.saturating_sub(SPARE).max(1)).unwrap_or(usize::MAX);
    if options.max_connections() <= room {
        return options;
    }
    warn!(
        "max_connections {} lowered to {room}: the descriptor limit (RLIMIT_NOFILE) is {limit}",
        options.max_connections()
    );
    options.with_max_connections(room)
}

/// A server running on a background thread.
pub struct ServerHandle {
    address: Address,
    inner: Arc<Inner>,
    thread: Option<JoinHandle<usize>>,
}

impl ServerHandle {
    /// The bound address.
    pub fn address(&self) -> &Address {
        &self.address
    }

    /// Connections open right now (waiting, running a request, or
    /// lingering after their last response).
    pub fn connections(&self) -> usize {
        self.inner.open.load(Ordering::Relaxed)
    }

    /// Worker threads running right now (busy or idle; at most
    /// `max_workers`).
    pub fn workers(&self) -> usize {
        self.inner.pool.workers()
    }

    /// Stops accepting (connections already in the listen backlog are
    /// taken in first), closes connections that wait with nothing of a
    /// request at once, answers every request whose preamble has arrived
    /// (with `connection: close`), lets in-flight requests finish (for at
    /// most the `shutdown_timeout` option, after which their sockets are
    /// shut down too), joins the threads, and removes an AF_UNIX socket
    /// file. Returns how many connections were still running and left
    /// behind (0 unless an app ignores its closed socket for another
    /// `shutdown_timeout`).
    pub fn shutdown(mut self) -> usize {
        self.stop()
    }

    fn stop(&mut self) -> usize {
        let Some(thread) = self.thread.take() else {
            return 0;
        };
        self.inner.stop.store(true, Ordering::SeqCst);
        self.inner.wake();
        let left = thread.join().unwrap_or(0);
        let mut abandoned = 0;
        for t in self.inner.pool.stop() {
            if left == 0 || t.is_finished() {
                let _ = t.join();
            } else {
                abandoned += 1;
            }
        }
        if let Address::Unix(path) = &self.address {
            remove_socket_file(path);
        }
        abandoned.min(left)
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
