//! [`Client`]: where a server is and how to connect to it.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use degu_core::{
    Address, BodyState, Error, Headers, Method, Outgoing, Result, Transport, Wrapper, check_header,
};

use crate::connect::connect_plain;
use crate::connection::{Connection, Failure, with_range};
use crate::pool::Pool;
use crate::response::Response;

/// The default socket timeout: 65 seconds (the original's).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(65);

/// The default bound on idle pooled connections per client: 16.
pub const DEFAULT_MAX_IDLE: usize = 16;

/// The default time a pooled connection may wait idle: 4 seconds, under
/// the shortest keep-alive timeout common servers use (Node and Apache
/// close an idle connection after 5 s; nginx after 75 s, Degu after
/// 30 s), so a pooled connection is seldom one the server is closing just
/// as a request goes out on it.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(4);

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
    max_idle: usize,
    idle_timeout: Duration,
    /// Shared by the clones of this client until one changes an option.
    pool: Arc<Pool>,
}

/// Where a server is ([`Address`]), how to connect to it (options), and
/// the idle connections its requests left for the next ones. `Send +
/// Sync`; cloning is cheap (an `Arc`) and a clone shares the pool; a
/// `with_` method on a clone changes that clone only, and gives it a
/// pool of its own.
///
/// [`request`](Client::request) (and [`get`](Client::get),
/// [`put`](Client::put), ...) sends a request on a pooled connection;
/// [`connect`](Client::connect) opens a [`Connection`] of one's own.
///
/// | option | default |
/// |---|---|
/// | [`host`](Client::with_host) | `host:port` for TCP (`127.0.0.1:5984`, `[fe80::1]:5984`), `localhost` for AF_UNIX |
/// | [`authorization`](Client::with_authorization) | none |
/// | [`timeout`](Client::with_timeout) | 65 s |
/// | [`on_connect`](Client::with_on_connect) | none |
/// | [`max_idle`](Client::with_max_idle) | 16 idle connections kept |
/// | [`idle_timeout`](Client::with_idle_timeout) | 4 s |
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
                max_idle: DEFAULT_MAX_IDLE,
                idle_timeout: DEFAULT_IDLE_TIMEOUT,
                pool: Arc::default(),
            }),
        }
    }

    /// This client's options to change: its own copy, with a pool of its
    /// own (a connection made under other options is not reused under
    /// these).
    fn inner_mut(&mut self) -> &mut Inner {
        let inner = Arc::make_mut(&mut self.inner);
        inner.pool = Arc::default();
        inner
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
        inner.pool.opened_one();
        Ok(Connection::new(self.clone(), transport))
    }

    /// The most idle connections kept for reuse.
    pub fn max_idle(&self) -> usize {
        self.inner.max_idle
    }

    /// Sets the most idle connections kept for reuse (0: none, every
    /// request on a new connection). Default: 16
    /// ([`DEFAULT_MAX_IDLE`]). More connections than this may be in use
    /// at once; the ones beyond it close when their exchange is over.
    pub fn with_max_idle(mut self, n: usize) -> Client {
        self.inner_mut().max_idle = n;
        self
    }

    /// How long a connection may wait idle for reuse.
    pub fn idle_timeout(&self) -> Duration {
        self.inner.idle_timeout
    }

    /// Sets how long a connection may wait idle for reuse before it is
    /// closed (when a request next looks). Default: 4 s
    /// ([`DEFAULT_IDLE_TIMEOUT`]); keep it under the server's keep-alive
    /// timeout.
    pub fn with_idle_timeout(mut self, t: Duration) -> Client {
        self.inner_mut().idle_timeout = t;
        self
    }

    /// Connections this client (and its clones sharing its pool) opened
    /// so far, by [`connect`](Self::connect) and for requests.
    pub fn connections_opened(&self) -> u64 {
        self.inner.pool.opened()
    }

    /// Connections waiting idle for reuse now.
    pub fn idle_connections(&self) -> usize {
        self.inner.pool.len()
    }

    /// Sends a request on a pooled connection (a new one when none is
    /// idle) and reads its response, as [`Connection::request`] does
    /// (the same validation, bodies and errors).
    ///
    /// The connection goes back to the pool once its exchange is over
    /// and it can carry another: at once for a response without a body,
    /// else when the body has been read to its very end. A response that
    /// ends the connection (`connection: close`, HTTP/1.0, a body
    /// delimited by the close), an error, or a body dropped before its
    /// end closes it instead. An idle connection the server has closed
    /// is noticed before use (a look without blocking, for one that
    /// waited 100 ms or more: servers close idle connections after
    /// seconds, and the look costs a system call) and dropped.
    ///
    /// When a request fails on a reused connection before any byte of a
    /// response arrived (the server closed it as the request went out),
    /// it is sent once more on a new connection if that is safe
    /// (RFC 9110 §9.2.2): its method is idempotent (GET, HEAD, PUT,
    /// DELETE, OPTIONS) and its body can be sent twice (none, or bytes).
    /// Otherwise the error is [`Error::NotResent`]. Nothing else is
    /// retried.
    ///
    /// ```
    /// # use degu_server::{Server, ServerOptions};
    /// # let server = Server::bind(&"127.0.0.1:0".parse()?, degu_server::demo::app, ServerOptions::default())?
    /// #     .spawn()?; // degu-server's demo app
    /// # let address = server.address().clone();
    /// use degu_client::{Client, Headers};
    ///
    /// let client = Client::new(address); // 127.0.0.1:40505, say
    /// for _ in 0..3 {
    ///     let mut response = client.get("/", &Headers::new())?;
    ///     assert_eq!(response.read_all()?, b"hello, world"); // read to its end: reused
    /// }
    /// assert_eq!(client.connections_opened(), 1);
    /// # server.shutdown();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn request<'b>(
        &self,
        method: Method,
        uri: &str,
        headers: &Headers,
        body: impl Into<Outgoing<'b>>,
    ) -> Result<Response<'b>> {
        let mut body = body.into();
        let inner = &self.inner;
        let (mut conn, reused) = match inner.pool.take(inner.idle_timeout) {
            Some(idle) => (
                Connection::from_parts(self.clone(), idle.conn, idle.requests),
                true,
            ),
            None => (self.connect()?, false),
        };
        let (error, heard) = match conn.exchange(method, uri, headers, &mut body) {
            Ok(response) => return Ok(self.lease(conn, response)),
            Err(Failure::Refused(e)) => {
                // Nothing was sent: the connection is as good as before.
                self.give_back(conn);
                return Err(e);
            }
            Err(Failure::Failed { error, heard }) => (error, heard),
        };
        if !reused || heard || error.is_timeout() || !transient(&error) {
            return Err(error);
        }
        if !method.is_idempotent() || !matches!(body, Outgoing::None | Outgoing::Bytes(_)) {
            return Err(Error::NotResent {
                method,
                error: Box::new(error),
            });
        }
        log::debug!(
            "{method} {uri} to {}: {error}; sending it again on a new connection",
            inner.address
        );
        let mut conn = self.connect()?;
        match conn.exchange(method, uri, headers, &mut body) {
            Ok(response) => Ok(self.lease(conn, response)),
            Err(f) => Err(f.into_error()),
        }
    }

    /// Puts `conn` back in the pool if it can take another request.
    fn give_back(&self, conn: Connection) {
        if let Some((c, requests)) = conn.into_parts() {
            self.inner.pool.put(c, requests, self.inner.max_idle);
        }
    }

    /// Ties `conn`'s return to the pool to the end of `response`'s body.
    fn lease<'b>(&self, conn: Connection, mut response: Response<'b>) -> Response<'b> {
        let Some(body) = &mut response.body else {
            self.give_back(conn);
            return response;
        };
        if let Some((c, requests)) = conn.into_parts() {
            let pool = Arc::downgrade(&self.inner.pool);
            let max_idle = self.inner.max_idle;
            // Every response body reads from its connection, so the hook
            // is always set; were it not, the connection would just close.
            body.on_release(move |state| {
                if state == BodyState::Complete
                    && let Some(pool) = pool.upgrade()
                {
                    pool.put(c, requests, max_idle);
                }
            });
        }
        response
    }

    /// `GET uri` (no body), on a pooled connection (see
    /// [`request`](Self::request)).
    pub fn get(&self, uri: &str, headers: &Headers) -> Result<Response<'static>> {
        self.request(Method::Get, uri, headers, ())
    }

    /// `HEAD uri` (no body; the response has none either).
    pub fn head(&self, uri: &str, headers: &Headers) -> Result<Response<'static>> {
        self.request(Method::Head, uri, headers, ())
    }

    /// `DELETE uri` (no body).
    pub fn delete(&self, uri: &str, headers: &Headers) -> Result<Response<'static>> {
        self.request(Method::Delete, uri, headers, ())
    }

    /// `PUT uri` with `body` (see [`request`](Self::request)).
    pub fn put<'b>(
        &self,
        uri: &str,
        headers: &Headers,
        body: impl Into<Outgoing<'b>>,
    ) -> Result<Response<'b>> {
        self.request(Method::Put, uri, headers, body)
    }

    /// `POST uri` with `body` (see [`request`](Self::request)); never
    /// sent twice.
    pub fn post<'b>(
        &self,
        uri: &str,
        headers: &Headers,
        body: impl Into<Outgoing<'b>>,
    ) -> Result<Response<'b>> {
        self.request(Method::Post, uri, headers, body)
    }

    /// `GET uri` for bytes `start..stop` (stop exclusive), as
    /// [`Connection::get_range`] does.
    pub fn get_range(
        &self,
        uri: &str,
        headers: &Headers,
        start: u64,
        stop: u64,
    ) -> Result<Response<'static>> {
        self.request(Method::Get, uri, &with_range(headers, start, stop)?, ())
    }
}

/// An error a request meets when the server closed the connection under
/// it (a reset, a broken pipe, the end of the stream), as opposed to one
/// the server or the request caused.
fn transient(e: &Error) -> bool {
    matches!(e, Error::Io(_) | Error::UnexpectedEof(_))
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("address", &self.inner.address)
            .field("timeout", &self.inner.timeout)
            .field("base_headers", &self.inner.base_headers)
            .field("on_connect", &self.inner.on_connect.is_some())
            .field("max_idle", &self.inner.max_idle)
            .field("idle_timeout", &self.inner.idle_timeout)
            .finish_non_exhaustive()
    }
}
