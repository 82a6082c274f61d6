//! The request an app receives.

use std::borrow::Cow;

use degu_core::{Headers, Incoming, Method, Range, RequestPreamble, Response, Version};

/// Most path strings a connection keeps from one request for the next.
const SPARE: usize = 16;

/// A request: method, URI, headers (lowercase names), body, and the path
/// split into `mount` (components already routed) and `path` (still to
/// route), each component with its `%XX` escapes decoded (the raw form is
/// in `uri`).
///
/// ```
/// # use degu_server::Request;
/// # use degu_core::Method;
/// let mut req = Request::new(Method::Get, "/api/my%20files/?sort=name").unwrap();
/// assert_eq!(req.path, ["api", "my files", ""]);
/// assert_eq!(req.shift_path(), Some("api"));
/// assert_eq!((req.mount.as_slice(), req.path.as_slice()), (&["api".to_string()][..], &["my files".to_string(), String::new()][..]));
/// assert_eq!(req.build_proxy_uri(), "/my%20files/?sort=name");
/// ```
#[derive(Debug)]
pub struct Request {
    /// The method.
    pub method: Method,
    /// The URI as sent.
    pub uri: String,
    /// The protocol version (a response is always `HTTP/1.1`; to an
    /// `HTTP/1.0` request it is never chunked).
    pub version: Version,
    /// The headers; `content-length`, `transfer-encoding`, `range` and
    /// `content-range` were validated (see [`Headers::content_length`],
    /// [`Headers::range`]).
    pub headers: Headers,
    /// The body: none, a content-length [`Body`](degu_core::Body) or a
    /// [`ChunkedBody`](degu_core::ChunkedBody) reading from the connection.
    pub body: Option<Incoming<'static>>,
    /// Path components already routed (moved here by [`shift_path`](Self::shift_path)),
    /// decoded.
    pub mount: Vec<String>,
    /// Path components still to route, decoded: `/` is `[]`, `/foo/` is
    /// `["foo", ""]`, `/a%20b` is `["a b"]`.
    pub path: Vec<String>,
    /// The query: `None` without `?`, `Some("")` for a trailing `?`.
    pub query: Option<String>,
    /// Strings kept from earlier requests' paths, to be refilled.
    spare: Vec<String>,
    /// A string kept from an earlier request's query.
    spare_query: String,
    /// The previous response's header list, emptied, for
    /// [`response`](Self::response).
    recycled: Headers,
}

impl Request {
    /// A body-less request for `uri` (checked), for tests and for apps
    /// that build requests.
    pub fn new(method: Method, uri: &str) -> degu_core::Result<Request> {
        let (path, query) = degu_core::parse_uri(uri.as_bytes())?;
        Ok(Request {
            method,
            uri: uri.to_owned(),
            version: Version::Http11,
            headers: Headers::new(),
            body: None,
            mount: Vec::new(),
            path: degu_core::split_path(path)
                .map(|c| {
                    let mut s = String::new();
                    degu_core::decode_component(c, &mut s);
                    s
                })
                .collect(),
            query: query.map(str::to_owned),
            spare: Vec::new(),
            spare_query: String::new(),
            recycled: Headers::new(),
        })
    }

    /// An empty request, to be refilled by the connection.
    pub(crate) fn blank() -> Request {
        Request {
            method: Method::Get,
            uri: String::new(),
            version: Version::Http11,
            headers: Headers::new(),
            body: None,
            mount: Vec::new(),
            path: Vec::new(),
            query: None,
            spare: Vec::new(),
            spare_query: String::new(),
            recycled: Headers::new(),
        }
    }

    /// Makes this the request `p`, reusing the strings and lists the
    /// previous request on the connection left here: a steady stream of
    /// requests allocates nothing for them.
    pub(crate) fn refill(&mut self, p: &RequestPreamble<'_>, body: Option<Incoming<'static>>) {
        self.method = p.method;
        self.version = p.version;
        self.uri.clear();
        self.uri.push_str(p.uri);
        self.headers.refill_from_raw(&p.headers);
        self.body = body;
        self.spare.append(&mut self.mount);
        self.spare.append(&mut self.path);
        for part in p.path_components() {
            let mut s = self.spare.pop().unwrap_or_default();
            degu_core::decode_component(part, &mut s);
            self.path.push(s);
        }
        // Keep a few for the next request, not every component a long
        // path once had.
        self.spare.truncate(SPARE);
        match p.query {
            Some(new) => {
                let mut q = self
                    .query
                    .take()
                    .unwrap_or_else(|| std::mem::take(&mut self.spare_query));
                q.clear();
                q.push_str(new);
                self.query = Some(q);
            }
            None => {
                if let Some(q) = self.query.take() {
                    self.spare_query = q;
                }
            }
        }
    }

    /// A response without headers or body, like [`Response::new`], whose
    /// header list reuses the storage of the previous response on this
    /// connection (the server hands it back after writing it): an app
    /// that starts its responses here allocates nothing for their headers.
    ///
    /// ```
    /// # use degu_server::Request;
    /// # use degu_core::Method;
    /// let mut req = Request::new(Method::Get, "/").unwrap();
    /// let r = req.response(200, "OK").header("content-type", "text/plain").unwrap();
    /// assert_eq!((r.status, r.headers.len()), (200, 1));
    /// ```
    pub fn response(
        &mut self,
        status: u16,
        reason: impl Into<Cow<'static, str>>,
    ) -> Response<'static> {
        let mut r = Response::new(status, reason);
        r.headers = std::mem::take(&mut self.recycled);
        r
    }

    /// Keeps `headers` (emptied) for the next [`response`](Self::response),
    /// unless the list kept already has more room.
    pub(crate) fn recycle(&mut self, mut headers: Headers) {
        if headers.capacity() > self.recycled.capacity() {
            headers.clear();
            self.recycled = headers;
        }
    }

    /// Moves the next path component onto `mount` and returns it; `None`
    /// when the path is empty.
    pub fn shift_path(&mut self) -> Option<&str> {
        if self.path.is_empty() {
            return None;
        }
        let next = self.path.remove(0);
        self.mount.push(next);
        self.mount.last().map(String::as_str)
    }

    /// The remaining path and the query as a URI, for forwarding upstream:
    /// each component escaped again where it must be (`%XX` for any byte
    /// a path component cannot hold as it is), the query as it came.
    pub fn build_proxy_uri(&self) -> String {
        let mut uri = String::with_capacity(self.uri.len());
        uri.push('/');
        for (i, c) in self.path.iter().enumerate() {
            if i > 0 {
                uri.push('/');
            }
            degu_core::encode_component(c, &mut uri);
        }
        if let Some(q) = &self.query {
            uri.push('?');
            uri.push_str(q);
        }
        uri
    }

    /// The `range` header, already validated.
    pub fn range(&self) -> Option<Range> {
        self.headers.range()
    }
}
