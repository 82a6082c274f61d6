//! Apps written with the [`http`] crate's types (feature `http`):
//! [`HttpApp`].

use degu_core::{Incoming, Outgoing, Response};

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
    F: Fn(http::Request<Option<Incoming<'static>>>) -> Result<http::Response<B>, crate::AppError>
        + Send
        + Sync
        + 'static,
    B: Into<Outgoing<'static>>,
{
    fn call(&self, _: &mut Session, request: &mut Request) -> AppResult {
        let uri: http::Uri = request
            .uri
            .parse()
            .map_err(|e| format!("the URI {:?} as an http::Uri: {e}", request.uri))?;
        let mut req = http::Request::new(request.body.take());
        *req.method_mut() = request.method.into();
        *req.uri_mut() = uri;
        *req.version_mut() = request.version.into();
        *req.headers_mut() = http::HeaderMap::try_from(&request.headers)?;
        let response = (self.f)(req)?;
        Ok(Response::try_from(response)?)
    }
}
