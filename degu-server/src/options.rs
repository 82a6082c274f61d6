//! Server options, with the original's defaults.

use std::time::Duration;

use degu_core::{Error, Result};

/// How a server runs: connection and request limits and timeouts.
///
/// ```
/// use std::time::Duration;
/// let opts = degu_server::ServerOptions::default()
///     .with_max_connections(10)
///     .with_timeout(Some(Duration::from_secs(5)));
/// assert_eq!(opts.max_connections(), 10);
/// assert_eq!(opts.max_requests(), 1000);
/// assert!(degu_server::ServerOptions::default().with_max_requests(0).validate().is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerOptions {
    max_connections: usize,
    max_requests: u64,
    timeout: Option<Duration>,
    shutdown_timeout: Duration,
    linger: Duration,
    max_headers: usize,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            max_connections: 50,
            max_requests: 1000,
            timeout: Some(Duration::from_secs(30)),
            shutdown_timeout: Duration::from_secs(10),
            linger: Duration::from_secs(5),
            max_headers: degu_core::MAX_HEADERS,
        }
    }
}

impl ServerOptions {
    /// Most connections served at once (default 50); past it a new
    /// connection is closed without being served.
    pub fn with_max_connections(mut self, n: usize) -> Self {
        self.max_connections = n;
        self
    }

    /// Most requests on one connection before it is closed (default 1000).
    pub fn with_max_requests(mut self, n: u64) -> Self {
        self.max_requests = n;
        self
    }

    /// Socket read and write timeout (default 30 s; `None`: wait forever,
    /// not recommended facing untrusted peers). An idle keep-alive
    /// connection or a slow peer is cut off after it.
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

    /// The max_connections setting.
    pub fn max_connections(&self) -> usize {
        self.max_connections
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

    /// Checks every option: zero limits, more than 100 headers and a zero
    /// timeout are errors.
    pub fn validate(&self) -> Result<()> {
        if self.max_connections == 0 {
            return Err(Error::Invalid("max_connections must be at least 1".into()));
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
