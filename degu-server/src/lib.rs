//! # degu-server
//!
//! A small, strict, blocking HTTP/1.1 server to embed in a program: one
//! thread per connection (at most `max_connections`), any address family
//! (IPv4, IPv6 with scope ids, AF_UNIX paths and abstract names), and
//! RGI apps that return the whole response in one value.
//!
//! ```
//! use degu_server::{Server, ServerOptions, Session, Request, AppResult, Response};
//!
//! fn app(session: &mut Session, request: &mut Request) -> AppResult {
//!     match request.shift_path() {
//!         Some("echo") => Ok(Response::new(200, "OK").body(request.body.take())),
//!         _ => Ok(Response::new(200, "OK").body(format!("request {}", session.requests()))),
//!     }
//! }
//!
//! let handle = Server::bind(&"unix:@".parse().unwrap(), app, ServerOptions::default())
//!     .unwrap()
//!     .spawn()
//!     .unwrap();
//! println!("serving on {}", handle.address()); // unix:@<kernel-chosen name>
//! handle.shutdown();
//! ```
//!
//! ## Behaviour
//!
//! - Keep-alive and pipelining; at most `max_requests` per connection; the
//!   socket `timeout` cuts off idle and slow peers.
//! - Every response is self-delimiting: a body-less response without a
//!   framing header gets `content-length: 0` (unless its status is 204 or
//!   304), to HEAD as to GET: a HEAD response carries the headers the same
//!   response to GET would.
//! - A response is validated before anything is written (framing headers
//!   agree with the body, no body on HEAD, 204 or 304).
//! - Errors close the connection. A preamble that was read whole but is
//!   refused gets a bare `400`/`431`/`501`/`505` with `connection: close`
//!   first; an app error or panic, a bad response, or a body framing
//!   error gets nothing (the connection is closed and the error logged).
//!   An unread request body is drained if at most 1 MiB of it is left
//!   (content-length only), otherwise the connection closes (and the
//!   response says `connection: close`): its bytes are never parsed as a
//!   request.
//! - When the server ends a connection itself (a refusal, an error, the
//!   last response), it closes gracefully so that nothing it sent is lost
//!   to a TCP reset: it ends its output (TLS `close_notify`, then
//!   `shutdown(SHUT_WR)`) and reads and discards what the peer still sends
//!   until the peer closes, for at most [`ServerOptions::linger`].
//! - `expect: 100-continue` on a request with a body is answered with an
//!   interim `100 Continue`.
//! - Logging through the `log` facade, per connection:
//!   `+ ADDR New connection`, `- ADDR Handled N requests: REASON`.

#![cfg_attr(docsrs, feature(doc_cfg))]

/// The README's examples, compiled (and run where they can be) with the
/// doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

mod app;
pub mod applib;
mod conn;
pub mod demo;
mod event;
pub mod files;
#[cfg(feature = "http")]
pub mod interop;
mod options;
mod patient;
#[cfg(feature = "proxy")]
pub mod proxy;
mod request;
mod server;
mod session;
pub mod socket;
mod worker;

pub use app::{App, AppError, AppResult, ConnectionInfo};
pub use conn::{CloseReason, DRAIN_LIMIT, serve_transport};
pub use degu_core::{
    self, Address, Body, BodyIter, Chunk, ChunkedBody, ChunkedBodyIter, ContentRange, Error,
    Headers, Incoming, Method, Outgoing, Range, Response, Result, StaticHeader,
};
pub use degu_core::{Credentials, PlainStream, Wrapper};
pub use options::ServerOptions;
pub use request::Request;
pub use server::{Server, ServerHandle};
pub use session::{Session, Store};

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
mod readme {}
