//! Requests and responses as the [`http`] crate's types (feature `http`):
//! [`Client::send`].

use degu_core::interop::status_code;
use degu_core::{Headers, Incoming, Method, Outgoing, Result};

use crate::client::Client;
use crate::response::Response;

impl Client {
    /// Sends an [`http::Request`] (on a pooled connection, as
    /// [`request`](Self::request) does) and returns the response as an
    /// [`http::Response`] whose body is the response body (`None` for a
    /// response without one), reading from the connection.
    ///
    /// The request goes by Degu's rules (see [`degu_core::interop`]): its
    /// method must be one Degu sends, its headers pass Degu's checks (a
    /// refusal names the header), and its body is anything that converts
    /// into an [`Outgoing`]. The request target is the URI's path and
    /// query (`/` when it has none); an absolute URI's authority becomes
    /// the `host` header unless the request has one. The request's
    /// version is not used: Degu speaks HTTP/1.1. The response's reason
    /// phrase is dropped (`http` has none).
    ///
    /// ```
    /// # use degu_server::{Server, ServerOptions};
    /// # let server = Server::bind(&"127.0.0.1:0".parse()?, degu_server::demo::app, ServerOptions::default())?.spawn()?;
    /// # let address = server.address().clone();
    /// let client = degu_client::Client::new(address);
    /// let request = http::Request::put("/echo").header("x-id", "7").body("hello")?;
    /// let mut response = client.send(request)?;
    /// assert_eq!(response.status(), http::StatusCode::OK);
    /// assert_eq!(response.body_mut().as_mut().unwrap().read_all()?, b"hello");
    /// # server.shutdown();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn send<'b, B: Into<Outgoing<'b>>>(
        &self,
        request: http::Request<B>,
    ) -> Result<http::Response<Option<Incoming<'b>>>> {
        let (parts, body) = request.into_parts();
        let method = Method::try_from(&parts.method)?;
        let mut headers = Headers::try_from(&parts.headers)?;
        if let Some(authority) = parts.uri.authority()
            && !headers.contains("host")
        {
            headers.insert("host", authority.as_str().to_owned())?;
        }
        let target = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
        let Response {
            version,
            status,
            headers,
            body,
            ..
        } = self.request(method, target, &headers, body)?;
        let mut response = http::Response::new(body);
        *response.status_mut() = status_code(status)?;
        *response.version_mut() = version.into();
        *response.headers_mut() = http::HeaderMap::try_from(&headers)?;
        Ok(response)
    }
}
