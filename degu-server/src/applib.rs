//! Building blocks every embedding program reaches for first (the
//! original's `degu.applib`): [`Router`] and [`AllowedMethods`] /
//! [`MethodFilter`]. Each is an ordinary [`App`], composable with the
//! others.

use std::collections::BTreeMap;
use std::sync::Arc;

use degu_core::{Error, Method, Response, Result};

use crate::app::{App, AppResult, ConnectionInfo};
use crate::request::Request;
use crate::session::Session;

/// Deepest nesting of routers (the original's limit).
pub const MAX_ROUTER_DEPTH: usize = 10;

/// Where a path component leads: an app, or a nested map.
pub enum Route {
    /// An app, called with the component shifted onto `mount`.
    App(Arc<dyn App>),
    /// A nested map, routing the next component.
    Map(BTreeMap<String, Route>),
}

impl Route {
    /// A route to `app`.
    pub fn app(app: impl App) -> Route {
        Route::App(Arc::new(app))
    }

    /// A nested map built from `(component, route)` pairs.
    pub fn map<K: Into<String>>(routes: impl IntoIterator<Item = (K, Route)>) -> Route {
        Route::Map(routes.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    fn depth(&self) -> usize {
        match self {
            Route::App(_) => 0,
            Route::Map(m) => 1 + m.values().map(Route::depth).max().unwrap_or(0),
        }
    }
}

/// Routes on the next path component (via [`Request::shift_path`]) to an
/// app or a nested map, at most 10 maps deep (checked when built). An
/// unknown component is a `404`; a path that runs out at a map is a `404`
/// unless the map has an app for the empty component `""`.
///
/// ```
/// use degu_server::applib::{Route, Router};
/// use degu_server::{AppResult, Request, Response, Session, App};
/// use degu_core::Method;
///
/// fn hello(_: &mut Session, r: &mut Request) -> AppResult {
///     Ok(Response::new(200, "OK").body(format!("mount={:?} path={:?}", r.mount, r.path)))
/// }
/// let router = Router::new([
///     ("", Route::app(hello)),
///     ("api", Route::map([("users", Route::app(hello))])),
/// ])
/// .unwrap();
/// let call = |uri| router.call(&mut Session::new(degu_core::IPV4_LOOPBACK, None, 10), &mut Request::new(Method::Get, uri).unwrap()).unwrap().status;
/// assert_eq!(call("/"), 200);
/// assert_eq!(call("/api/users/42"), 200);
/// assert_eq!(call("/api"), 404); // ran out at a map without ""
/// assert_eq!(call("/nope"), 404);
/// ```
pub struct Router {
    root: BTreeMap<String, Route>,
}

impl Router {
    /// A router over `routes`; an error when maps nest deeper than
    /// [`MAX_ROUTER_DEPTH`] (counting this one).
    pub fn new<K: Into<String>>(routes: impl IntoIterator<Item = (K, Route)>) -> Result<Router> {
        let root: BTreeMap<String, Route> =
            routes.into_iter().map(|(k, v)| (k.into(), v)).collect();
        let depth = 1 + root.values().map(Route::depth).max().unwrap_or(0);
        if depth > MAX_ROUTER_DEPTH {
            return Err(Error::Invalid(format!(
                "routers nested {depth} deep; at most {MAX_ROUTER_DEPTH}"
            )));
        }
        Ok(Router { root })
    }
}

impl App for Router {
    fn call(&self, session: &mut Session, request: &mut Request) -> AppResult {
        let mut map = &self.root;
        loop {
            let component = request.shift_path().unwrap_or_default();
            match map.get(component) {
                Some(Route::App(app)) => return app.call(session, request),
                Some(Route::Map(next)) => map = next,
                None => return Ok(Response::new(404, "Not Found")),
            }
        }
    }
}

/// The methods an app takes; [`wrap`](Self::wrap) makes a
/// [`MethodFilter`] that answers the others with `405` (and an `allow`
/// header).
///
/// ```
/// use degu_server::applib::AllowedMethods;
/// use degu_server::{App, AppResult, Request, Response, Session};
/// use degu_core::Method;
/// let app = AllowedMethods::new([Method::Get, Method::Head])
///     .wrap(|_: &mut Session, _: &mut Request| -> AppResult { Ok(Response::new(200, "OK")) });
/// let mut s = Session::new(degu_core::IPV4_LOOPBACK, None, 10);
/// assert_eq!(app.call(&mut s, &mut Request::new(Method::Get, "/").unwrap()).unwrap().status, 200);
/// let r = app.call(&mut s, &mut Request::new(Method::Delete, "/").unwrap()).unwrap();
/// assert_eq!((r.status, r.headers.get("allow")), (405, Some("GET, HEAD")));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AllowedMethods {
    methods: Vec<Method>,
}

impl AllowedMethods {
    /// The set of allowed methods.
    pub fn new(methods: impl IntoIterator<Item = Method>) -> AllowedMethods {
        let mut ms: Vec<Method> = Vec::new();
        for m in methods {
            if !ms.contains(&m) {
                ms.push(m);
            }
        }
        AllowedMethods { methods: ms }
    }

    /// True when `m` is allowed.
    pub fn allows(&self, m: Method) -> bool {
        self.methods.contains(&m)
    }

    /// Wraps `app`: other methods get `405 Method Not Allowed`.
    pub fn wrap<A: App>(&self, app: A) -> MethodFilter<A> {
        MethodFilter {
            allowed: self.clone(),
            app,
        }
    }
}

/// An app behind an [`AllowedMethods`] filter.
pub struct MethodFilter<A> {
    allowed: AllowedMethods,
    app: A,
}

impl<A: App> App for MethodFilter<A> {
    fn call(&self, session: &mut Session, request: &mut Request) -> AppResult {
        if self.allowed.allows(request.method) {
            return self.app.call(session, request);
        }
        let allow: Vec<&str> = self.allowed.methods.iter().map(|m| m.as_str()).collect();
        let mut r = Response::new(405, "Method Not Allowed");
        if !allow.is_empty() {
            r = r.header("allow", allow.join(", "))?;
        }
        Ok(r)
    }

    fn on_connect(&self, session: &mut Session, info: &ConnectionInfo) -> bool {
        self.app.on_connect(session, info)
    }
}
