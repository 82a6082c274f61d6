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
//! assert_eq!(req.typed.range.unwrap().stop(), 100);
//! assert_eq!(req.typed.framing, Framing::None);
//!
//! // Strict: one byte outside its table is an error with a clear message.
//! let mut bad = *b"GET /a\tb HTTP/1.1";
//! assert_eq!(parse_request(&mut bad).unwrap_err().to_string(), r#"bad uri: "/a\tb""#);
//! ```
//!
//! ## What "just enough HTTP" means here
//!
//! - Methods GET, HEAD, PUT, POST, DELETE; protocol `HTTP/1.1` only.
//! - A preamble is at most 32 KiB including its `\r\n\r\n`; at most 20
//!   headers; every byte of every region is checked against its table (see
//!   [`tables`]); header lines are exactly `name: value`.
//! - `content-length`: 1 to 16 digits, no sign, no leading zero.
//!   `transfer-encoding`: exactly `chunked`. Both at once, or a duplicate
//!   header: an error. GET, HEAD and DELETE requests carry no body.
//! - Chunk-size lines: hex without leading zero, at most 16 MiB per chunk,
//!   at most 4 KiB per line, one optional `key=value` extension; no trailers.
//!
//! ## Bodies and the shared connection
//!
//! See [`body`] for the body kinds and [`shared`] for how an input body and
//! the response writer share one connection (plain or TLS) on one thread.

pub mod address;
pub mod body;
mod error;
pub mod headers;
mod message;
pub mod parse;
pub mod range;
mod reader;
pub mod shared;
pub mod tables;
mod write;

pub use address::{Address, IPV4_ANY, IPV4_LOOPBACK, IPV6_ANY, IPV6_LOOPBACK, ScopeId};
pub use body::{
    Body, BodyIter, Chunk, ChunkHead, ChunkedBody, ChunkedBodyIter, ConnSource, Extension,
    FileSource, Incoming, Outgoing, Plain, Source, write_chunk,
};
pub use error::{Error, Result, Stall};
pub use headers::{Headers, StaticHeader, check_header};
pub use message::{Response, Transport, standard_reason};
pub use parse::{
    ChunkLine, Framing, MAX_CHUNK_LINE, MAX_CHUNK_SIZE, MAX_HEADERS, MAX_PREAMBLE, Method,
    RawHeaders, RequestPreamble, ResponsePreamble, Typed, parse_chunk_line, parse_content_length,
    parse_request, parse_response, parse_uri, split_path,
};
pub use range::{ContentRange, MAX_LENGTH, Range};
pub use reader::{BUFFER_SIZE, Reader};
pub use write::{
    write_framing, write_request_preamble, write_response_head, write_response_preamble,
};
