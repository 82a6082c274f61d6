//! # degu-client
//!
//! The blocking HTTP/1.1 client of [Degu](https://example.invalid/degu): a
//! [`Client`] says *where* a server is and *how* to connect, and sends
//! requests over a pool of connections its clones share; a
//! [`Connection`] is one connection of your own, requests one at a time.
//! Each [`Response`]'s body streams from the socket.
//!
//! ```
//! # use degu_server::{Server, ServerOptions};
//! # let server = Server::bind(&"127.0.0.1:0".parse()?, degu_server::demo::app, ServerOptions::default())?
//! #     .spawn()?; // degu-server's demo app
//! # let address = server.address().to_string();
//! use degu_client::{Chunk, ChunkedBodyIter, Client, Headers, Incoming};
//!
//! let client = Client::new(address.parse()?); // "127.0.0.1:40505"; Send + Sync, cheap to clone
//!
//! // From the client: a pooled connection, back in the pool once the
//! // body has been read to its end.
//! let mut response = client.get("/", &Headers::new())?;
//! assert_eq!((response.status, &*response.reason), (200, "OK"));
//! assert_eq!(response.headers.get("content-type"), Some("text/plain"));
//! assert_eq!(response.read_all()?, b"hello, world");
//!
//! // A connection of one's own: requests one at a time, each response
//! // read before the next request.
//! let mut conn = client.connect()?;
//!
//! // A chunked body up, echoed back chunk by chunk, extensions included.
//! let chunks = vec![Chunk::with_ext("i", "0", "hello"), Chunk::new(", world"), Chunk::new("")];
//! let response = conn.put("/echo", &Headers::new(), ChunkedBodyIter::new(chunks.clone()))?;
//! let Some(Incoming::Chunked(body)) = response.body else { panic!("not chunked") };
//! assert_eq!(body.collect::<Result<Vec<Chunk>, _>>()?, chunks);
//!
//! // Bytes 10..15 of a resource.
//! let mut response = conn.get_range("/bytes/1000", &Headers::new(), 10, 15)?;
//! assert_eq!((response.status, response.headers.get("content-range")), (206, Some("bytes 10-14/1000")));
//! assert_eq!(response.read_all()?, [10, 11, 12, 13, 14]);
//! # server.shutdown();
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## What it does
//!
//! - **Any address** ([`Address`], parsed from text such as
//!   `127.0.0.1:5984`, `[fe80::1%eth0]:5984`, `unix:/run/app.sock`,
//!   `unix:@name`, `example.com:80`): a DNS name is resolved at connect time
//!   and each of its addresses tried; IPv6 connects with its flowinfo and
//!   scope id; AF_UNIX paths and Linux abstract names work alike.
//! - **Options** on the [`Client`]: `host` (derived from the address,
//!   `localhost` for AF_UNIX: HTTP/1.1 requires one), `authorization`,
//!   `timeout` (65 s), `on_connect` (may refuse a connection), and any
//!   base header sent with every request.
//! - **Strict requests**: validated before a byte is sent (URI, lowercase
//!   header names, body allowed by the method, body agreeing with its
//!   framing headers); the preamble and a bytes body go out in one
//!   `writev`, other bodies stream.
//! - **Full duplex**: while a request body is being sent the response is
//!   read as it comes, so a server that answers early (an echo streaming
//!   back, a 413 before the upload ends) never deadlocks the exchange;
//!   such a [`Response`] sends the rest of the request body as its own
//!   body is read (hence its lifetime: the request body's). A server that
//!   neither reads nor answers for the timeout is a write timeout.
//! - **Every body kind**, both ways: content-length ([`Body`], bytes,
//!   [`BodyIter`]) and chunked ([`ChunkedBody`], [`ChunkedBodyIter`]), chunk
//!   extensions included; a response's trailer fields after its final
//!   chunk ([`Response::trailers`]); and a response body delimited by the
//!   end of the connection ([`CloseBody`]). A response body streams from
//!   the socket and never reads past its end.
//! - **Tolerant of real servers' responses**: `HTTP/1.0` status lines, any
//!   reason phrase (an empty one too), up to 100 headers, repeated
//!   headers (every `set-cookie` kept, [`Headers::get_all`]). Framing
//!   stays strict: a repeated `content-length` or `transfer-encoding`,
//!   or both at once, is an error.
//! - **Pooled connections** ([`Client::request`] and its shortcuts): a
//!   connection goes back to the pool when its response had no body or
//!   its body was read to the end, and the connection goes on; at most
//!   [`max_idle`](Client::with_max_idle) wait (16), each at most
//!   [`idle_timeout`](Client::with_idle_timeout) (4 s); one the server
//!   closed while it waited is noticed before use. A request lost to a server's close on
//!   a reused connection is sent again on a new one when RFC 9110 allows
//!   (idempotent method, body of bytes or none), never otherwise.
//! - **Safe reuse**: the next request on a connection whose response body
//!   was not read to its end is refused; any error closes the connection,
//!   and using it afterwards is [`Error::Closed`]; so does a response that
//!   ends it (see below).
//! - **Reverse proxy**: a server app returns a client [`Response`] as its
//!   own (`degu_core::Response::from(response)`); the upstream body streams
//!   through, chunk boundaries and extensions intact.
//! - **TLS** through a [`Wrapper`] (degu-tls provides one).
//!
//! ## A reverse proxy in a few lines
//!
//! A degu-server app returns a `degu_core::Response`; a client
//! [`Response`] converts into one, its body still reading from upstream.
//! Each downstream connection keeps its upstream [`Connection`] in its
//! session store:
//!
//! ```
//! use degu_client::{Chunk, Client, Connection, Headers, Incoming};
//! use degu_server::{AppResult, Request, Server, ServerOptions, Session};
//!
//! # let upstream = Server::bind(&"127.0.0.1:0".parse()?, degu_server::demo::app, ServerOptions::default())?
//! #     .spawn()?;
//! let upstream_client = Client::new(upstream.address().clone());
//! let proxy = move |session: &mut Session, request: &mut Request| -> AppResult {
//!     if session.store.get("upstream").is_none_or(Connection::is_closed) {
//!         session.store.insert("upstream", upstream_client.connect()?);
//!     }
//!     let conn = session.store.get_mut::<Connection>("upstream").unwrap();
//!     request.headers.remove("host"); // the client sets the upstream's
//!     let uri = request.build_proxy_uri();
//!     Ok(conn.request(request.method, &uri, &request.headers, request.body.take())?.into())
//! };
//! let proxy = Server::bind(&"unix:@".parse()?, proxy, ServerOptions::default())?.spawn()?;
//!
//! let mut conn = Client::new(proxy.address().clone()).connect()?;
//! let response = conn.get("/chunks/2/3", &Headers::new())?; // through the proxy
//! let Some(Incoming::Chunked(body)) = response.body else { panic!("not chunked") };
//! let chunks = body.collect::<Result<Vec<Chunk>, _>>()?;
//! assert_eq!(chunks[1], Chunk::with_ext("i", "1", [0, 1, 2]));
//! # drop(conn);
//! # proxy.shutdown();
//! # upstream.shutdown();
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Responses without framing, HTTP/1.0, and when a connection ends
//!
//! Degu's own server always frames a body. Other servers may not: a
//! response with neither `content-length` nor `transfer-encoding` (other
//! than to HEAD, or a 204 or 304) has a body that runs until the server
//! closes the connection (RFC 9112 §6.3: an HTTP/1.0 server, nginx with
//! `chunked_transfer_encoding off`). It comes back as an
//! [`Incoming::Close`], read to the end of the connection; the
//! connection is never reused after it (the next request is
//! [`Error::Closed`]), so no byte of it is ever taken for a next response.
//!
//! The connection also ends after a response that says
//! `connection: close`, and after an `HTTP/1.0` response ([`Response::version`])
//! unless it says `connection: keep-alive` and has a `content-length` (or
//! no body). [`Connection::is_closed`] tells; each ending response's body
//! can still be read whole.
//!
//! ## Trailers
//!
//! A chunked response may end with trailer fields (nginx's `add_trailer`,
//! Node, Go): they are read with the final chunk, each checked like a
//! header line (at most 100, in at most 32 KiB), and given by
//! [`Response::trailers`] once the body has been read. A malformed trailer
//! is an error that closes the connection. A reverse proxy does not pass
//! trailers on: the body it forwards ends with an empty final chunk.
//!
//! ## The pool
//!
//! Each [`Client`] keeps the idle connections of its requests; its
//! clones share them (a clone that changes an option with a `with_`
//! method gets a pool of its own: a connection made under other options
//! is not reused). [`Client::request`] takes the newest idle connection
//! (dropping those idle past `idle_timeout`, and any the server has
//! closed: a look without blocking, for one idle 100 ms or more), or
//! opens one. The connection comes
//! back:
//!
//! - at once, for a response without a body (HEAD, 204, 304);
//! - when its body has been read to the very end, wherever that happens
//!   (the body may move out of its response, or to another thread);
//! - never, when the response ended the connection (`connection: close`,
//!   HTTP/1.0, a close-delimited body), when the request or the body
//!   failed, or when the body is dropped before its end (reading on to
//!   find the next response could take any time: the connection closes).
//!
//! A server may close an idle connection just as a request goes out on
//! it. When a request fails on a reused connection before any byte of a
//! response came back, and the method is idempotent (GET, HEAD, PUT,
//! DELETE, OPTIONS) and the body can be sent twice (none, or bytes), it
//! is sent once more on a new connection (RFC 9110 §9.2.2); a POST,
//! PATCH or streamed body is not, and the error says so
//! ([`Error::NotResent`]). A timeout is never retried.
//! [`Client::connections_opened`] counts the connections made.
//!
//! ## Threads
//!
//! A [`Client`] is `Send + Sync`: share it, or clone it, across threads.
//! A [`Connection`] and its [`Response`]s are `Send`: a response body
//! shares the socket with its connection through an `Arc` and a lock held
//! for one read or one write (never waited for: one exchange uses a
//! connection at a time), so a connection, or a body still being read,
//! can move to another thread. A body can stream into another
//! connection's request, as in a proxy.
//!
//! ## Errors
//!
//! One error type, degu-core's [`Error`], for connecting, requests,
//! responses and bodies alike. Connect errors name the address;
//! [`Error::is_timeout`] tells a socket timeout apart.

#![cfg_attr(docsrs, feature(doc_cfg))]

/// The README's examples, compiled (and run where they can be) with the
/// doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

mod client;
mod connect;
mod connection;
pub mod fetch;
#[cfg(feature = "http")]
mod interop;
mod pool;
mod response;

pub use client::{Client, DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_IDLE, DEFAULT_TIMEOUT, OnConnect};
pub use connect::connect_plain;
pub use connection::Connection;
pub use degu_core::{PlainStream, Wrapper};
pub use response::Response;

pub use degu_core;
pub use degu_core::{
    Address, Body, BodyIter, BodyState, Chunk, ChunkedBody, ChunkedBodyIter, CloseBody, Error,
    Extension, Headers, Incoming, Method, Outgoing, Range, Result, Transport, Version,
};
