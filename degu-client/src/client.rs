//! [`Client`]: where a server is and how to connect to it.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use degu_core::{Address, Error, Headers, Result, Transport, Wrapper, check_header};

use crate::connect::connect_plain;
use crate::connection::Connection;

/// The default socket timeout: 65 seconds (the original's).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(65);

/// A callback run on each new connection before any request; returning
/// `false` refuses the connection (see [`Client::with_on_connect`]).
pub type OnConnect = dyn Fn(&mut dyn Transport, &Address) -> bool + Send + Sync;

#[derive(Clone)]
struct Inner {
    address: Address,
    wrapper: Option<Arc<dyn Wrapper>>,
    timeout: Option<Duration>,
    on_connect: Option<Arc<OnConnect>>,
    base_headers: Headers,
}

/// Where a server is ([`Address`]) and how to connect to it (options): no
/// socket, no state. `Send + Sync`; cloning is cheap (an `Arc`), and a
/// `with_` method on a clone changes that clone only.
///
/// [`connect`](Client::connect) opens a [`Connection`].
///
/// | option | default |
/// |---|---|
/// | [`host`](Client::with_host) | `host:port` for TCP (`127.0.0.1:5984`, `[fe80::1]:5984`), `localhost` for AF_UNIX |
/// | [`authorization`](Client::with_authorization) | none |
/// | [`timeout`](Client::with_timeout) | 65 s |
/// | [`on_connect`](Client::with_on_connect) | none |
///
/// ```
/// use degu_client::{Address, Client};
/// use std::time::Duration;
///
/// let client = Client::new("[fe80::1%2]:5984".parse().unwrap());
/// assert_eq!(client.host(), Some("[fe80::1]:5984"));
/// let client = client
///     .with_timeout(Some(Duration::from_secs(5)))
///     .with_authorization(Some("Bearer abc"))
///     .unwrap()
///     .with_base_header("x-app", Some("demo"))
///     .unwrap();
/// let names: Vec<_> = client.base_headers().iter().map(|(n, _)| n).collect();
/// assert_eq!(names, ["host", "authorization", "x-app"]);
///
/// // HTTP/1.1 requires a host header: over AF_UNIX it says `localhost`,
/// // as curl's --unix-socket does.
/// let unix = Client::new("unix:/run/app.sock".parse().unwrap());
/// assert_eq!(unix.host(), Some("localhost"));
/// let unix = unix.with_host(None).unwrap(); // a server that wants none
/// assert_eq!(unix.host(), None);
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl Client {
    /// A client for `address` with the default options (see the table
    /// above: every request carries a `host` header, `localhost` over
    /// AF_UNIX, unless [`with_host`](Self::with_host) says otherwise) and
    /// plain sockets (no [`Wrapper`]).
    pub fn new(address: Address) -> Client {
        Client::build(address, None)
    }

    /// A client for `address` whose sockets go through `wrapper` (degu-tls
    /// uses this to add TLS).
    pub fn with_wrapper(address: Address, wrapper: Arc<dyn Wrapper>) -> Client {
        Client::build(address, Some(wrapper))
    }

    fn build(address: Address, wrapper: Option<Arc<dyn Wrapper>>) -> Client {
        let mut base_headers = Headers::new();
        // RFC 9112 §3.2: a client sends `host` on every request. An AF_UNIX
        // address names no host: `localhost`, as curl says. A host from a
        // validated address always passes; one that does not is simply
        // left out (set it with `with_host`).
        let host = address
            .default_host()
            .unwrap_or_else(|| "localhost".to_owned());
        let _ = base_headers.insert("host", host);
        Client {
            inner: Arc::new(Inner {
                address,
                wrapper,
                timeout: Some(DEFAULT_TIMEOUT),
                on_connect: None,
                base_headers,
            }),
        }
    }

    fn inner_mut(&mut self) -> &mut Inner {
        Arc::make_mut(&mut self.inner)
    }

    /// Where this client connects.
    pub fn address(&self) -> &Address {
        &self.inner.address
    }

    /// The headers added to every request: `host` and `authorization` when
    /// set, then any set with [`with_base_header`](Self::with_base_header). A
    /// request header of the same name overrides a base header.
    pub fn base_headers(&self) -> &Headers {
        &self.inner.base_headers
    }

    /// Sets (`Some`) or removes (`None`) a header added to every request.
    /// Names must be lowercase; `content-length` and `transfer-encoding`
    /// are refused (each request's body decides its framing).
    pub fn with_base_header(mut self, name: &str, value: Option<&str>) -> Result<Client> {
        if matches!(name, "content-length" | "transfer-encoding") {
            return Err(Error::Invalid(format!(
                "{name} cannot be a base header: each request's body sets it"
            )));
        }
        match value {
            Some(v) => {
                check_header(name, v)?;
                self.inner_mut()
                    .base_headers
                    .set(name.to_owned(), v.to_owned())?;
            }
            None => {
                self.inner_mut().base_headers.remove(name);
            }
        }
        Ok(self)
    }

    /// The `host` header sent with every request.
    pub fn host(&self) -> Option<&str> {
        self.inner.base_headers.get("host")
    }

    /// Sets or removes the `host` header. Default: `host:port` derived from
    /// a TCP address (`127.0.0.1:5984`, `[fe80::1]:5984` without the scope
    /// id, `example.com:80`), `localhost` for AF_UNIX.
    pub fn with_host(self, host: Option<&str>) -> Result<Client> {
        self.with_base_header("host", host)
    }

    /// The `authorization` header sent with every request.
    pub fn authorization(&self) -> Option<&str> {
        self.inner.base_headers.get("authorization")
    }

    /// Sets or removes the `authorization` header. Default: none.
    pub fn with_authorization(self, authorization: Option<&str>) -> Result<Client> {
        self.with_base_header("authorization", authorization)
    }

    /// The socket timeout.
    pub fn timeout(&self) -> Option<Duration> {
        self.inner.timeout
    }

    /// Sets the timeout for connecting and for each read and write on the
    /// socket (`None`: wait forever; zero is refused when connecting).
    /// Default: 65 seconds. A timeout is an error that closes the
    /// connection; [`Error::is_timeout`] tells it apart.
    pub fn with_timeout(mut self, timeout: Option<Duration>) -> Client {
        self.inner_mut().timeout = timeout;
        self
    }

    /// Sets a callback run on each new connection (after the wrapper, so
    /// over TLS after the handshake) before any request. Returning `false`
    /// refuses the connection: [`connect`](Self::connect) then fails with a
    /// clear error and the socket is closed. Default: none.
    pub fn with_on_connect<F>(mut self, on_connect: F) -> Client
    where
        F: Fn(&mut dyn Transport, &Address) -> bool + Send + Sync + 'static,
    {
        self.inner_mut().on_connect = Some(Arc::new(on_connect));
        self
    }

    /// Removes the [`on_connect`](Self::with_on_connect) callback.
    pub fn without_on_connect(mut self) -> Client {
        self.inner_mut().on_connect = None;
        self
    }

    /// True when an `on_connect` callback is set.
    pub fn has_on_connect(&self) -> bool {
        self.inner.on_connect.is_some()
    }

    /// Opens a new connection: connects the socket (see
    /// [`connect_plain`]), passes it through the wrapper, if any, then runs the
    /// `on_connect` callback.
    pub fn connect(&self) -> Result<Connection> {
        let inner = &self.inner;
        let stream = connect_plain(&inner.address, inner.timeout)?;
        let mut transport: Box<dyn Transport> = match &inner.wrapper {
            Some(w) => w.wrap(stream, &inner.address)?,
            None => Box::new(stream),
        };
        if let Some(on_connect) = &inner.on_connect
            && !on_connect(&mut *transport, &inner.address)
        {
            return Err(Error::Invalid(format!(
                "connection to {} refused by the on_connect callback",
                inner.address
            )));
        }
        log::debug!("connected to {}", inner.address);
        Ok(Connection::new(self.clone(), transport))
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("address", &self.inner.address)
            .field("timeout", &self.inner.timeout)
            .field("base_headers", &self.inner.base_headers)
            .field("on_connect", &self.inner.on_connect.is_some())
            .finish_non_exhaustive()
    }
}
