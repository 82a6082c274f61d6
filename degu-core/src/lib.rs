//! # degu-core
//!
//! The socket-free heart of [Degu](https://example.invalid/degu), an
//! embedded HTTP/1.1 server and client: a strict, table-driven, zero-copy
//! preamble parser; headers; `Range` and `ContentRange`; chunk framing;
//! the body types; addresses. degu-server and degu-client build blocking
//! transports on it; nothing here opens a socket.
//!
//! ```
//! use degu_core::{parse_request, Framing, Method};
//!
//! // The caller owns the buffer; header names are lowercased in place and
//! // every string returned borrows it.
//! let mut buf = *b"GET /users/42?full HTTP/1.1\r\nHost: example.com\r\nRange: bytes=0-99";
//! let req = parse_request(&mut buf).unwrap();
//! assert_eq!(req.method, Method::Get);
//! assert_eq!(req.path_components().collect::<Vec<_>>(), ["users", "42"]);
//! assert_eq!(req.query, Some("full"));
//! assert_eq!(req.headers.get("host"), Some("example.com"));
//! assert_eq!(req.typed.range.unwrap().stop(), Some(100));
//! assert_eq!(req.typed.framing, Framing::None);
//!
//! // Strict: one byte outside its table is an error with a clear message.
//! let mut bad = *b"GET /a\tb HTTP/1.1";
//! assert_eq!(parse_request(&mut bad).unwrap_err().to_string(), r#"bad uri: "/a\tb""#);
//! ```
//!
//! ## What "just enough HTTP" means here
//!
//! Strict where strictness protects (framing, smuggling, limits), RFC
//! 9110/9112 where that costs nothing:
//!
//! - Methods GET, HEAD, PUT, POST, DELETE, PATCH, OPTIONS; `HTTP/1.1` and
//!   `HTTP/1.0`.
//! - A preamble is at most 32 KiB including its `\r\n\r\n`; at most 64
//!   request headers by default ([`parse_request_with`] takes another
//!   limit) and 100 response headers; every byte of every region is
//!   checked against its table (see [`tables`]); header lines are
//!   `name:value` with the whitespace around the value stripped.
//! - Path components may hold `%XX` escapes ([`decode_component`]); a `.`
//!   or `..` component, or an escape that decodes to `/`, NUL, a control
//!   byte or invalid UTF-8, is refused. The query keeps its raw bytes,
//!   including what browsers send raw (`[]{}|^`).
//! - `content-length`: 1 to 16 digits, no sign, no leading zero.
//!   `transfer-encoding`: exactly `chunked`, and not in an HTTP/1.0
//!   request. Both at once, or a repeated header in a request (a repeated
//!   framing header in a response), is an error. GET and HEAD requests
//!   carry no body. A `range` Degu cannot serve (several ranges, say) is
//!   ignored, not refused.
//! - Chunk-size lines: hex without leading zero, at most 16 MiB per chunk,
//!   at most 4 KiB per line, one optional `key=value` extension. Trailers
//!   after the final chunk are refused in a request body and taken after a
//!   response's when asked for ([`ChunkedBody::allow_trailers`]: at most
//!   100 lines, 32 KiB).
//!
//! ## Bodies and the connection
//!
//! See [`body`] for the body kinds, and [`conn`] for the connection
//! protocol both a server and a client run: one [`Conn`] per connection,
//! whose input bodies share its transport (plain or TLS) through a cell
//! locked for one read or one write at a time, so a connection and its
//! bodies are `Send`.

#![cfg_attr(docsrs, feature(doc_cfg))]

/// The README's examples, compiled (and run where they can be) with the
/// doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

pub mod address;
mod blocks;
pub mod body;
pub mod conn;
mod error;
pub mod headers;
#[cfg(feature = "http")]
pub mod interop;
mod message;
pub mod parse;
pub mod range;
mod reader;
mod shared;
mod stream;
pub mod tables;
mod write;

pub use address::{Address, IPV4_ANY, IPV4_LOOPBACK, IPV6_ANY, IPV6_LOOPBACK, ScopeId};
pub use body::{
    Body, BodyIter, Chunk, ChunkHead, ChunkedBody, ChunkedBodyIter, CloseBody, Extension, Incoming,
    MAX_TRAILER_SECTION, MAX_TRAILERS, Outgoing, Plain, Source, write_chunk,
};
pub use conn::{
    Available, BodyState, Conn, ConnBuffers, RequestHead, ResponseParts, UnreadBody, bodiless,
};
pub use error::{Error, Result, Stall};
pub use headers::{Headers, StaticHeader, check_header};
#[cfg(feature = "http")]
pub use interop::status_code;
pub use message::{Response, Transport, standard_reason};
pub use parse::{
    ChunkLine, Framing, MAX_CHUNK_LINE, MAX_CHUNK_SIZE, MAX_HEADERS, MAX_PREAMBLE,
    MAX_RESPONSE_HEADERS, Method, RawHeaders, RequestPreamble, ResponsePreamble, Typed, Version,
    decode_component, encode_component, parse_chunk_line, parse_content_length, parse_request,
    parse_request_with, parse_response, parse_uri, split_path,
};
pub use range::{ContentRange, MAX_LENGTH, Range};
pub use reader::{BUFFER_SIZE, Reader, SMALL_BUFFER_SIZE};
pub use stream::{ConnectionInfo, Credentials, PlainStream, Wrapper};
pub use write::{
    write_framing, write_request_head, write_request_preamble, write_response_head,
    write_response_preamble,
};
