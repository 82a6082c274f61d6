//! RGI, the application interface: an app is a function of the
//! connection's session and the request that returns the whole response.

use degu_core::Response;

pub use degu_core::ConnectionInfo;

use crate::request::Request;
use crate::session::Session;

/// What an app may fail with: any error. The server then closes the
/// connection (it never sends the error to the peer) and logs it.
pub type AppError = Box<dyn std::error::Error + Send + Sync>;

/// What an app returns.
pub type AppResult = Result<Response<'static>, AppError>;

/// An application: called once per request with the connection's
/// [`Session`] and the [`Request`], it returns the whole response.
///
/// The request is lent, not given: the connection refills the same
/// `Request` for each of its requests, reusing its strings, so serving a
/// request allocates nothing for it. An app takes what it wants to keep
/// (`request.body.take()`, `std::mem::take(&mut request.headers)`).
///
/// Any `Fn(&mut Session, &mut Request) -> AppResult + Send + Sync + 'static`
/// is an app:
///
/// ```
/// use degu_server::{App, AppResult, Request, Response, Session};
/// fn hello(_: &mut Session, _: &mut Request) -> AppResult {
///     Ok(Response::new(200, "OK").body("hello"))
/// }
/// fn takes_app(_: impl App) {}
/// takes_app(hello);
/// takes_app(|_: &mut Session, req: &mut Request| -> AppResult {
///     Ok(Response::new(200, "OK").body(req.body.take())) // echo, streamed
/// });
/// ```
pub trait App: Send + Sync + 'static {
    /// Handles one request.
    fn call(&self, session: &mut Session, request: &mut Request) -> AppResult;

    /// Called once per accepted connection before any request; returning
    /// false closes the connection unserved (for example to authenticate a
    /// peer by its TLS client certificate). The default accepts.
    fn on_connect(&self, session: &mut Session, info: &ConnectionInfo) -> bool {
        let _ = (session, info);
        true
    }
}

impl<F> App for F
where
    F: Fn(&mut Session, &mut Request) -> AppResult + Send + Sync + 'static,
{
    fn call(&self, session: &mut Session, request: &mut Request) -> AppResult {
        self(session, request)
    }
}

impl<A: App + ?Sized> App for std::sync::Arc<A> {
    fn call(&self, session: &mut Session, request: &mut Request) -> AppResult {
        (**self).call(session, request)
    }
    fn on_connect(&self, session: &mut Session, info: &ConnectionInfo) -> bool {
        (**self).on_connect(session, info)
    }
}
