//! [`ProxyApp`]: a reverse proxy to a [`degu_client::Client`] (plain or
//! TLS), behind the `proxy` feature so the plain server does not depend on
//! the client.

use std::borrow::Cow;

use degu_client::{Client, Connection};
use degu_core::{Error, Outgoing, Response};
use log::warn;

use crate::app::{App, AppResult};
use crate::request::Request;
use crate::session::Session;

/// Forwards each request to an upstream server and returns its response as
/// it is: the body streams through unbuffered, a chunked body chunk by
/// chunk with its extensions.
///
/// One upstream connection per downstream connection, kept in the
/// session's store; if the upstream closed it between requests, the proxy
/// reconnects once and resends the request when its body can be sent
/// again (no body or a bytes body). A request whose upstream cannot be
/// reached gets `502 Bad Gateway`; an upstream that fails mid-exchange
/// closes the downstream connection (never a half-forwarded response).
///
/// The request goes upstream with `build_proxy_uri()` (the path left after
/// routing, and the query), its method, headers (less hop-by-hop ones,
/// see [`Headers::remove_hop_by_hop`](degu_core::Headers::remove_hop_by_hop),
/// and `expect`)
/// and body.
///
/// A composed app: a router with static files, a proxied API and a
/// method-filtered index.
///
/// ```
/// use degu_client::Client;
/// use degu_core::Method;
/// use degu_server::applib::{AllowedMethods, Route, Router};
/// use degu_server::{files::FilesApp, proxy::ProxyApp, AppResult, Request, Response, Server, ServerOptions, Session};
///
/// # let dir = std::env::temp_dir();
/// # let api = Server::bind(&"unix:@".parse().unwrap(), degu_server::demo::app, ServerOptions::default()).unwrap().spawn().unwrap();
/// # let api_address = api.address().clone();
/// let index = |_: &mut Session, _: &mut Request| -> AppResult { Ok(Response::new(200, "OK").body("index")) };
/// let app = Router::new([
///     ("", Route::app(AllowedMethods::new([Method::Get, Method::Head]).wrap(index))),
///     ("static", Route::app(FilesApp::new(&dir)?)),
///     ("api", Route::app(ProxyApp::new(Client::new(api_address)))),
/// ])?;
/// let server = Server::bind(&"127.0.0.1:0".parse()?, app, ServerOptions::default())?.spawn()?;
///
/// let mut conn = Client::new(server.address().clone()).connect()?;
/// assert_eq!(conn.get("/", &Default::default())?.read_all()?, b"index");
/// assert_eq!(conn.get("/api/", &Default::default())?.read_all()?, b"hello, world");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ProxyApp {
    client: Client,
    key: String,
}

impl ProxyApp {
    /// A proxy to `client`'s server.
    pub fn new(client: Client) -> ProxyApp {
        let key = format!("degu.proxy.{}", client.address());
        ProxyApp { client, key }
    }

    /// The upstream client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    fn connection<'s>(
        &self,
        session: &'s mut Session,
        fresh: bool,
    ) -> degu_core::Result<&'s mut Connection> {
        let stale = session
            .store
            .get::<Connection>(&self.key)
            .is_none_or(|c| c.is_closed());
        if fresh || stale {
            let conn = self.client.connect()?;
            session.store.insert(self.key.clone(), conn);
        }
        session
            .store
            .get_mut::<Connection>(&self.key)
            .ok_or(Error::Closed)
    }
}

fn gone_before_response(e: &Error) -> bool {
    match e {
        Error::UnexpectedEof(_) | Error::Closed => true,
        Error::Io(io) => matches!(
            io.kind(),
            std::io::ErrorKind::ConnectionReset
                | std::io::ErrorKind::BrokenPipe
                | std::io::ErrorKind::ConnectionAborted
                | std::io::ErrorKind::UnexpectedEof
        ),
        _ => false,
    }
}

impl App for ProxyApp {
    fn call(&self, session: &mut Session, request: &mut Request) -> AppResult {
        let uri = request.build_proxy_uri();
        let mut headers = std::mem::take(&mut request.headers);
        headers.remove_hop_by_hop();
        // The server answered any `expect: 100-continue` already.
        headers.remove("expect");
        let method = request.method;
        let body: Outgoing<'static> = request.body.take().into();
        let replay: Option<Vec<u8>> = match &body {
            Outgoing::None => Some(Vec::new()),
            Outgoing::Bytes(b) => Some(b.to_vec()),
            _ => None,
        };
        let had_body = !body.is_none();
        let reused = session
            .store
            .get::<Connection>(&self.key)
            .is_some_and(|c| !c.is_closed() && c.requests() > 0);
        let conn = match self.connection(session, false) {
            Ok(c) => c,
            Err(e) => {
                warn!("proxy: cannot reach {}: {e}", self.client.address());
                return Ok(Response::new(502, "Bad Gateway"));
            }
        };
        let first = conn.request(method, &uri, &headers, body);
        let response = match first {
            Ok(r) => r,
            Err(e) if reused && gone_before_response(&e) && replay.is_some() => {
                let again: Outgoing<'static> = match replay {
                    Some(b) if had_body => Outgoing::Bytes(Cow::Owned(b)),
                    _ => Outgoing::None,
                };
                let conn = match self.connection(session, true) {
                    Ok(c) => c,
                    Err(e) => {
                        warn!("proxy: cannot reach {}: {e}", self.client.address());
                        return Ok(Response::new(502, "Bad Gateway"));
                    }
                };
                conn.request(method, &uri, &headers, again)?
            }
            Err(e) => return Err(e.into()),
        };
        Ok(response.into())
    }
}
