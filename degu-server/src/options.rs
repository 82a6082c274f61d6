//! Server options, with the original's defaults.

use std::time::Duration;

use degu_core::{Error, Result};

/// How a server runs: connection, worker and request limits, and
/// timeouts.
///
/// A server's connections cost a thread only while a request runs: one
/// event thread holds every connection that waits for its next request
/// or is still sending its preamble, and hands each complete preamble to
/// a worker thread (at most `max_workers` of them), so `max_connections`
/// (open connections) and `max_workers` (requests running at once) are
/// separate limits. (The original Python library ran one thread per
/// connection, 50 at most.)
///
/// ```
/// use std::time::Duration;
/// let opts = degu_server::ServerOptions::default()
///     .with_max_workers(8)
///     .with_timeout(Some(Duration::from_secs(5)));
/// assert_eq!(opts.max_workers(), 8);
/// assert_eq!(opts.max_connections(), 10_000);
/// assert_eq!(opts.max_requests(), 1000);
/// assert!(degu_server::ServerOptions::default().with_max_requests(0).validate().is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerOptions {
    max_connections: usize,
    max_workers: usize,
    max_requests: u64,
    timeout: Option<Duration>,
    header_timeout: Option<Duration>,
    worker_wait: Duration,
    worker_idle: Duration,
    shutdown_timeout: Duration,
    linger: Duration,
    max_headers: usize,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            max_connections: 10_000,
            max_workers: 256,
            max_requests: 1000,
            timeout: Some(Duration::from_secs(30)),
            header_timeout: Some(Duration::from_secs(10)),
            worker_wait: Duration::from_millis(2),
            worker_idle: Duration::from_secs(10),
            shutdown_timeout: Duration::from_secs(10),
            linger: Duration::from_secs(5),
            max_headers: degu_core::MAX_HEADERS,
        }
    }
}

impl ServerOptions {
    /// Most connections open at once (default 10 000); past it a new
    /// connection is closed without being served (a connection lingering
    /// after its last response gives way first). Lowered at
    /// [`bind`](crate::Server::bind) to what the process's descriptor
    /// limit (`RLIMIT_NOFILE`) allows, with a warning in the log.
    pub fn with_max_connections(mut self, n: usize) -> Self {
        self.max_connections = n;
        self
    }

    /// Most requests running at once, each on a worker thread (default
    /// 256, which suits apps that block on I/O). Workers start as
    /// requests come, at once up to four per CPU; beyond that, one more
    /// starts for each worker held up (in the app, a body or a write) for
    /// 5 ms while requests wait, so apps that do not block are served by
    /// a few busy threads and apps that block get more within
    /// milliseconds. Workers end after `worker_idle` without a request.
    /// When all are busy, connections with a whole request waiting queue
    /// up (in arrival order); they are not refused.
    pub fn with_max_workers(mut self, n: usize) -> Self {
        self.max_workers = n;
        self
    }

    /// How long a request's whole preamble (request line and headers)
    /// may take to arrive, from its first byte (default 10 s; over TLS
    /// the handshake counts too, from the connection's start). A peer
    /// that trickles its preamble is cut off at this deadline however
    /// slowly it sends. `None`: no deadline but `timeout` per read.
    pub fn with_header_timeout(mut self, t: Option<Duration>) -> Self {
        self.header_timeout = t;
        self
    }

    /// How long a worker waits for a connection's next request after a
    /// response before it gives the connection back to the event thread
    /// (default 2 ms, at most `timeout`). A client on the same host or
    /// network that sends its requests one after the other is served by
    /// the same worker with no hand-off; a quiet connection costs no
    /// thread after this. A worker does not wait when requests are queued
    /// with no worker coming for them, and while it waits it does not
    /// count as held up (no worker starts beside it), so a longer wait
    /// can keep queued requests waiting that long. A fresh connection
    /// whose handshake runs on the event thread (TLS) may go to an idle
    /// worker as soon as the server has answered the peer's hello; that
    /// worker waits this long, too, for the handshake's end and the first
    /// request.
    ///
    /// The wait is the socket's read timeout, which Linux keeps in timer
    /// ticks and ends on a tick: it lasts at least this long, and on a
    /// 250 Hz kernel any value up to 4 ms waits about 8 ms.
    pub fn with_worker_wait(mut self, t: Duration) -> Self {
        self.worker_wait = t;
        self
    }

    /// Most requests on one connection before it is closed (default 1000).
    pub fn with_max_requests(mut self, n: u64) -> Self {
        self.max_requests = n;
        self
    }

    /// How long a connection may wait for its next request, and a read of
    /// a request body or a write of a response may wait for the peer
    /// (default 30 s; `None`: wait forever, not recommended facing
    /// untrusted peers). An idle keep-alive connection or a stalled peer
    /// is cut off after it.
    pub fn with_timeout(mut self, t: Option<Duration>) -> Self {
        self.timeout = t;
        self
    }

    /// How long [`shutdown`](crate::ServerHandle::shutdown) lets in-flight
    /// requests run before it closes their connections (default 10 s).
    pub fn with_shutdown_timeout(mut self, t: Duration) -> Self {
        self.shutdown_timeout = t;
        self
    }

    /// The longest a connection lingers after the server ended it
    /// (default 5 s; zero: close at once).
    ///
    /// When the server ends a connection itself (after `connection:
    /// close`, the `max_requests`-th request, a refused request, an app
    /// error, at shutdown), the peer may still be sending (pipelined
    /// requests, the rest of a body) and may not have read the last
    /// response yet. Closing a socket with unread input makes the kernel
    /// reset the connection, which destroys response bytes still in
    /// flight. So the server shuts down its writing side, then reads and
    /// discards what the peer still sends until the peer closes, stays
    /// quiet for a second, or this much time has passed in all. A
    /// lingering connection holds its slot, but gives it up at once when
    /// a new connection needs it.
    pub fn with_linger(mut self, t: Duration) -> Self {
        self.linger = t;
        self
    }

    /// Most headers a request may have (default 64, at most 100); a
    /// request with more is answered `431 Request Header Fields Too Large`.
    pub fn with_max_headers(mut self, n: usize) -> Self {
        self.max_headers = n;
        self
    }

    /// How long a worker thread waits for work before it ends (default
    /// 10 s): the pool grows with the load and shrinks after it.
    pub fn with_worker_idle(mut self, t: Duration) -> Self {
        self.worker_idle = t;
        self
    }

    /// The max_connections setting.
    pub fn max_connections(&self) -> usize {
        self.max_connections
    }

    /// The max_workers setting.
    pub fn max_workers(&self) -> usize {
        self.max_workers
    }

    /// The header_timeout setting.
    pub fn header_timeout(&self) -> Option<Duration> {
        self.header_timeout
    }

    /// The worker_wait setting.
    pub fn worker_wait(&self) -> Duration {
        self.worker_wait
    }

    /// The worker_idle setting.
    pub fn worker_idle(&self) -> Duration {
        self.worker_idle
    }

    /// The max_requests setting.
    pub fn max_requests(&self) -> u64 {
        self.max_requests
    }

    /// The timeout setting.
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// The shutdown_timeout setting.
    pub fn shutdown_timeout(&self) -> Duration {
        self.shutdown_timeout
    }

    /// The max_headers setting.
    pub fn max_headers(&self) -> usize {
        self.max_headers
    }

    /// The linger setting.
    pub fn linger(&self) -> Duration {
        self.linger
    }

    /// The longest any time option may be: 365 days (a deadline is an
    /// instant, and a longer one could pass what the clock holds).
    pub const MAX_DURATION: Duration = Duration::from_secs(365 * 24 * 60 * 60);

    /// Checks every option: zero limits, more than 100 headers, a zero
    /// timeout and a zero `worker_wait` are errors, and so is any time
    /// longer than [`MAX_DURATION`](Self::MAX_DURATION).
    pub fn validate(&self) -> Result<()> {
        for (name, t) in [
            ("timeout", self.timeout),
            ("header_timeout", self.header_timeout),
            ("worker_wait", Some(self.worker_wait)),
            ("worker_idle", Some(self.worker_idle)),
            ("shutdown_timeout", Some(self.shutdown_timeout)),
            ("linger", Some(self.linger)),
        ] {
            if t.is_some_and(|t| t > Self::MAX_DURATION) {
                return Err(Error::Invalid(format!("{name} must be at most 365 days")));
            }
        }
        if self.max_connections == 0 {
            return Err(Error::Invalid("max_connections must be at least 1".into()));
        }
        if self.max_workers == 0 {
            return Err(Error::Invalid("max_workers must be at least 1".into()));
        }
        if self.header_timeout == Some(Duration::ZERO) {
            return Err(Error::Invalid(
                "header_timeout must be more than zero".into(),
            ));
        }
        if self.worker_wait.is_zero() {
            return Err(Error::Invalid("worker_wait must be more than zero".into()));
        }
        if self.max_requests == 0 {
            return Err(Error::Invalid("max_requests must be at least 1".into()));
        }
        if !(1..=degu_core::MAX_RESPONSE_HEADERS).contains(&self.max_headers) {
            return Err(Error::Invalid(format!(
                "max_headers must be from 1 to {}",
                degu_core::MAX_RESPONSE_HEADERS
            )));
        }
        if self.timeout == Some(Duration::ZERO) {
            return Err(Error::Invalid("timeout must be more than zero".into()));
        }
        Ok(())
    }
}
