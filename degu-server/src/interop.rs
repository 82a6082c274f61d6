//! Apps written with the [`http`] crate's types (feature `http`):
//! [`HttpApp`], and a [`Request`] to and from an [`http::Request`]
//! ([`Request::to_http`], [`Request::from_http`]).

use degu_core::{Error, Headers, Incoming, Method, Outgoing, Response, Result, Version};

use crate::app::{App, AppResult};
use crate::request::Request;
use crate::session::Session;

/// An app that takes an [`http::Request`] and returns an
/// [`http::Response`], so handlers, middleware and tests written for the
/// `http` types run on a Degu server.
///
/// The request it is given carries Degu's method, URI (as sent: the path
/// and query), version and headers, and the request body as its body:
/// `None`, or an [`Incoming`] reading from the connection (stream it,
/// or return it as the response body to echo). The response it returns
/// is taken by Degu's rules (see [`degu_core::interop`]): the status, the
/// headers checked as Degu checks its own, and the body, anything that
/// converts into an [`Outgoing`]. A header Degu would not send is the
/// app's error, naming the header (the server logs it and closes the
/// connection, as for any app error); so is a URI Degu accepts that the
/// `http` crate does not parse.
///
/// ```
/// use degu_server::interop::HttpApp;
/// use degu_server::{Server, ServerOptions};
///
/// let app = HttpApp::new(|request: http::Request<Option<degu_core::Incoming<'static>>>| {
///     let answer = format!("{} {}", request.method(), request.uri());
///     Ok(http::Response::builder().header("content-type", "text/plain").body(answer)?)
/// });
/// let server = Server::bind(&"127.0.0.1:0".parse()?, app, ServerOptions::default())?.spawn()?;
/// # server.shutdown();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct HttpApp<F> {
    f: F,
}

impl<F> HttpApp<F> {
    /// The app that calls `f`.
    pub fn new(f: F) -> HttpApp<F> {
        HttpApp { f }
    }
}

impl<F, B> App for HttpApp<F>
where
    F: Fn(
            http::Request<Option<Incoming<'static>>>,
        ) -> std::result::Result<http::Response<B>, crate::AppError>
        + Send
        + Sync
        + 'static,
    B: Into<Outgoing<'static>>,
{
    fn call(&self, _: &mut Session, request: &mut Request) -> AppResult {
        let response = (self.f)(request.to_http()?)?;
        Ok(Response::try_from(response)?)
    }
}

impl Request {
    /// The request as an [`http::Request`]: its method, URI (as sent),
    /// version and headers, and its body, taken (this request keeps none).
    /// A URI Degu accepts that the `http` crate does not parse is an
    /// [`Error::BadUri`].
    pub fn to_http(&mut self) -> Result<http::Request<Option<Incoming<'static>>>> {
        let uri: http::Uri = self
            .uri
            .parse()
            .map_err(|e| Error::BadUri(format!("{:?} as an http::Uri: {e}", self.uri)))?;
        let headers = http::HeaderMap::try_from(&self.headers)?;
        let mut request = http::Request::new(self.body.take());
        *request.method_mut() = self.method.into();
        *request.uri_mut() = uri;
        *request.version_mut() = self.version.into();
        *request.headers_mut() = headers;
        Ok(request)
    }

    /// A request from an [`http::Request`], for tests and for apps that
    /// build requests: its method (one Degu serves), its URI's path and
    /// query (checked as Degu checks a request's), its version (HTTP/1.0
    /// or 1.1), its headers (checked; a refusal names the header) and its
    /// body.
    ///
    /// ```
    /// use degu_server::Request;
    /// let http = http::Request::get("/a/b%20c?x=1").header("x-id", "7").body(None).unwrap();
    /// let request = Request::from_http(http).unwrap();
    /// assert_eq!(request.path, ["a", "b c"]);
    /// assert_eq!(request.query.as_deref(), Some("x=1"));
    /// assert_eq!(request.headers.get("x-id"), Some("7"));
    /// ```
    pub fn from_http(request: http::Request<Option<Incoming<'static>>>) -> Result<Request> {
        let (parts, body) = request.into_parts();
        let target = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
        let mut out = Request::new(Method::try_from(&parts.method)?, target)?;
        out.version = Version::try_from(parts.version)?;
        out.headers = Headers::try_from(&parts.headers)?;
        out.body = body;
        Ok(out)
    }
}
