//! # degu-client
//!
//! The blocking HTTP/1.1 client of [Degu](https://example.invalid/degu): a
//! [`Client`] says *where* a server is and *how* to connect; a
//! [`Connection`] sends requests one at a time and reads each
//! [`Response`], whose body streams from the socket.
//!
//! ```
//! # use std::io::{BufRead, BufReader, Read, Write};
//! # let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
//! # let port = listener.local_addr().unwrap().port();
//! # std::thread::spawn(move || { // a canned server
//! #     let (sock, _) = listener.accept().unwrap();
//! #     let (mut r, mut w) = (BufReader::new(sock.try_clone().unwrap()), sock);
//! #     loop {
//! #         let (mut len, mut line) = (0, String::new());
//! #         loop {
//! #             line.clear();
//! #             if r.read_line(&mut line).unwrap() == 0 { return; }
//! #             if line == "\r\n" { break; }
//! #             if let Some(v) = line.strip_prefix("content-length: ") { len = v.trim().parse().unwrap(); }
//! #         }
//! #         r.read_exact(&mut vec![0; len]).unwrap();
//! #         w.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 12\r\n\r\nhello, world").unwrap();
//! #     }
//! # });
//! use degu_client::{Address, Client, Headers};
//!
//! let address: Address = format!("127.0.0.1:{port}").parse()?;
//! let client = Client::new(address); // Send + Sync, cheap to clone
//! let mut conn = client.connect()?; // one socket, used from one thread
//!
//! let mut response = conn.get("/", &Headers::new())?;
//! assert_eq!((response.status, response.reason.as_str()), (200, "OK"));
//! assert_eq!(response.headers.content_length(), Some(12));
//! assert_eq!(response.read_all()?, b"hello, world");
//!
//! // Bodies: bytes, or a Body, ChunkedBody, BodyIter or ChunkedBodyIter.
//! let mut response = conn.put("/echo", &Headers::new(), "hi there")?;
//! assert_eq!(response.status, 200);
//! response.read_all()?; // read to its end before the next request
//! # Ok::<(), degu_client::Error>(())
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
//!   none for AF_UNIX), `authorization`, `timeout` (65 s), `on_connect`
//!   (may refuse a connection), and any base header sent with every request.
//! - **Strict requests**: validated before a byte is sent (URI, lowercase
//!   header names, body allowed by the method, body agreeing with its
//!   framing headers), the preamble and a small body in one write.
//! - **Every body kind**, both ways: content-length ([`Body`], bytes,
//!   [`BodyIter`]) and chunked ([`ChunkedBody`], [`ChunkedBodyIter`]), chunk
//!   extensions included. A response body streams from the socket and
//!   never reads past its end.
//! - **Safe reuse**: the next request on a connection whose response body
//!   was not read to its end is refused; any error closes the connection,
//!   and using it afterwards is [`Error::Closed`].
//! - **Reverse proxy**: a server app returns a client [`Response`] as its
//!   own (`degu_core::Response::from(response)`); the upstream body streams
//!   through, chunk boundaries and extensions intact.
//! - **TLS** through a [`Connector`] (degu-tls provides one).
//!
//! ## Responses without framing
//!
//! Degu's rule is that a message with neither `content-length` nor
//! `transfer-encoding` has no body, and Degu's own server always sends one
//! of them. Such a response (other than to HEAD, or a 204 or 304) comes back
//! with `body: None`, and the connection ends after it: another server may
//! have meant "the body runs until the connection closes", and those bytes
//! must never be read as the next response. A response with
//! `connection: close` ends the connection after it too.
//!
//! ## Errors
//!
//! One error type, degu-core's [`Error`], for connecting, requests,
//! responses and bodies alike. Connect errors name the address;
//! [`Error::is_timeout`] tells a socket timeout apart.

mod client;
mod connect;
mod connection;
mod guard;
mod response;

pub use client::{Client, DEFAULT_TIMEOUT, OnConnect};
pub use connect::{Connector, PlainConnector, PlainStream, connect_plain};
pub use connection::Connection;
pub use response::Response;

pub use degu_core;
pub use degu_core::{
    Address, Body, BodyIter, Chunk, ChunkedBody, ChunkedBodyIter, Error, Extension, Headers,
    Incoming, Method, Outgoing, Range, Result, Transport,
};
