//! The preamble parser: pure functions over a caller's buffer.
//!
//! A preamble is the request or status line plus the header lines, without
//! the final `\r\n\r\n` (the [`Reader`](crate::Reader) finds that). Parsing
//! never performs I/O and never allocates on success: every returned string
//! borrows the buffer, and header names are lowercased in place.

use std::fmt;

use crate::error::{Error, Result, show};
use crate::range::{ContentRange, Range};
use crate::tables::{self, all_in};

/// Largest preamble, including its `\r\n\r\n` terminator.
pub const MAX_PREAMBLE: usize = 32 * 1024;
/// Most headers in one preamble.
pub const MAX_HEADERS: usize = 20;
/// Longest chunk-size line, including its `\r\n`.
pub const MAX_CHUNK_LINE: usize = 4096;
/// Largest chunk (16 MiB, the original's `MAX_IO_SIZE`).
pub const MAX_CHUNK_SIZE: u64 = 16 * 1024 * 1024;

/// The five methods Degu speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Method {
    /// `GET` (no request body).
    Get,
    /// `HEAD` (no request body, no response body).
    Head,
    /// `PUT`.
    Put,
    /// `POST`.
    Post,
    /// `DELETE` (no request body).
    Delete,
}

impl Method {
    /// The method's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Put => "PUT",
            Method::Post => "POST",
            Method::Delete => "DELETE",
        }
    }

    /// True for GET, HEAD and DELETE, whose requests carry no body.
    pub fn forbids_body(self) -> bool {
        matches!(self, Method::Get | Method::Head | Method::Delete)
    }

    /// Parses an exact, uppercase method name.
    pub fn parse(name: &[u8]) -> Result<Method> {
        Ok(match name {
            b"GET" => Method::Get,
            b"HEAD" => Method::Head,
            b"PUT" => Method::Put,
            b"POST" => Method::Post,
            b"DELETE" => Method::Delete,
            _ => return Err(Error::BadMethod(show(name))),
        })
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Method {
    type Err = Error;
    fn from_str(s: &str) -> Result<Method> {
        Method::parse(s.as_bytes())
    }
}

/// How a message's body is delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Framing {
    /// No body at all (which is not an empty body).
    None,
    /// `content-length: N`.
    Length(u64),
    /// `transfer-encoding: chunked`.
    Chunked,
}

/// Up to [`MAX_HEADERS`] `(name, value)` pairs borrowed from a preamble,
/// names lowercase, in their order on the wire.
#[derive(Clone, Copy)]
pub struct RawHeaders<'a> {
    items: [(&'a str, &'a str); MAX_HEADERS],
    len: usize,
}

impl<'a> RawHeaders<'a> {
    /// The pairs as a slice.
    pub fn as_slice(&self) -> &[(&'a str, &'a str)] {
        &self.items[..self.len]
    }

    /// The value of header `name` (lowercase).
    pub fn get(&self, name: &str) -> Option<&'a str> {
        self.as_slice()
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| *v)
    }

    /// Number of headers.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when there are no headers.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The pairs in wire order.
    pub fn iter(&self) -> impl Iterator<Item = (&'a str, &'a str)> + '_ {
        self.as_slice().iter().copied()
    }
}

impl fmt::Debug for RawHeaders<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// What the headers said about the body and ranges, already validated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Typed {
    /// The body framing.
    pub framing: Framing,
    /// A `range` header.
    pub range: Option<Range>,
    /// A `content-range` header.
    pub content_range: Option<ContentRange>,
}

/// A parsed request preamble.
#[derive(Clone, Copy, Debug)]
pub struct RequestPreamble<'a> {
    /// The method.
    pub method: Method,
    /// The whole URI as sent.
    pub uri: &'a str,
    /// The path part of the URI (starts with `/`).
    pub path: &'a str,
    /// The query: `None` without `?`, `Some("")` for a trailing `?`.
    pub query: Option<&'a str>,
    /// The headers.
    pub headers: RawHeaders<'a>,
    /// Typed header values.
    pub typed: Typed,
}

impl<'a> RequestPreamble<'a> {
    /// The path's components: `/` gives none, `/foo/` gives `foo` and `""`.
    pub fn path_components(&self) -> impl Iterator<Item = &'a str> + use<'a> {
        split_path(self.path)
    }
}

/// Splits a validated path into its components (see
/// [`RequestPreamble::path_components`]).
pub fn split_path(path: &str) -> impl Iterator<Item = &str> {
    let rest = &path[1.min(path.len())..];
    rest.split('/').take(if rest.is_empty() { 0 } else { usize::MAX })
}

/// A parsed response preamble.
#[derive(Clone, Copy, Debug)]
pub struct ResponsePreamble<'a> {
    /// The status code, 100..=599.
    pub status: u16,
    /// The reason phrase.
    pub reason: &'a str,
    /// The headers.
    pub headers: RawHeaders<'a>,
    /// Typed header values.
    pub typed: Typed,
}

#[inline]
fn ascii(b: &[u8]) -> &str {
    // Every region was checked against an ASCII-only table first, so this
    // conversion cannot fail.
    std::str::from_utf8(b).unwrap_or_default()
}

/// Parses 1 to 16 decimal digits without a leading zero (other than `0`).
#[inline]
pub fn parse_decimal(b: &[u8]) -> Option<u64> {
    if b.is_empty() || b.len() > 16 || (b.len() > 1 && b[0] == b'0') {
        return None;
    }
    let mut n = 0u64;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        n = n * 10 + u64::from(c - b'0');
    }
    Some(n)
}

/// Parses a content-length value.
pub fn parse_content_length(value: &[u8]) -> Result<u64> {
    parse_decimal(value).ok_or_else(|| Error::BadContentLength(show(value)))
}

/// Finds the next `\r\n`-terminated line in `buf[pos..]`; returns the end
/// of the line (index of its `\r`) and the start of the next one.
#[inline]
fn next_line(buf: &[u8], pos: usize) -> Result<(usize, usize)> {
    match memchr::memchr(b'\r', &buf[pos..]) {
        None => Ok((buf.len(), buf.len())),
        Some(i) => {
            let cr = pos + i;
            if buf.get(cr + 1) == Some(&b'\n') {
                Ok((cr, cr + 2))
            } else {
                Err(Error::BadHeaderLine(show(&buf[pos..])))
            }
        }
    }
}

/// Parses the header lines of `buf[pos..]`, lowercasing names in place.
fn parse_headers<'a>(buf: &'a mut [u8], mut pos: usize) -> Result<(RawHeaders<'a>, Typed)> {
    let mut spans = [(0u32, 0u32, 0u32); MAX_HEADERS];
    let mut count = 0;
    let mut typed = Typed {
        framing: Framing::None,
        range: None,
        content_range: None,
    };
    let mut length = None;
    let mut chunked = false;
    while pos < buf.len() {
        let (end, next) = next_line(buf, pos)?;
        if count == MAX_HEADERS {
            return Err(Error::TooManyHeaders);
        }
        let line = &mut buf[pos..end];
        let colon = match memchr::memchr(b':', line) {
            Some(c) if line.get(c + 1) == Some(&b' ') => c,
            _ => return Err(Error::BadHeaderLine(show(line))),
        };
        let (name, value) = line.split_at_mut(colon);
        let value = &value[2..];
        if name.is_empty() || !all_in(name, tables::NAME) {
            return Err(Error::BadHeaderName(show(name)));
        }
        name.make_ascii_lowercase();
        if value.is_empty() || !all_in(value, tables::VALUE) {
            return Err(Error::BadHeaderValue {
                name: ascii(name).to_owned(),
                value: show(value),
            });
        }
        match &*name {
            b"content-length" => length = Some(parse_content_length(value)?),
            b"transfer-encoding" => {
                if value != b"chunked" {
                    return Err(Error::BadTransferEncoding(show(value)));
                }
                chunked = true;
            }
            b"range" => typed.range = Some(Range::parse(value)?),
            b"content-range" => typed.content_range = Some(ContentRange::parse(value)?),
            _ => {}
        }
        let name_start = pos;
        let name_end = pos + colon;
        for &(s, e, _) in &spans[..count] {
            if buf[s as usize..e as usize] == buf[name_start..name_end] {
                return Err(Error::DuplicateHeader(show(&buf[name_start..name_end])));
            }
        }
        spans[count] = (name_start as u32, name_end as u32, end as u32);
        count += 1;
        pos = next;
    }
    typed.framing = match (length, chunked) {
        (Some(_), true) => return Err(Error::ContentLengthAndChunked),
        (Some(n), false) => Framing::Length(n),
        (None, true) => Framing::Chunked,
        (None, false) => Framing::None,
    };
    let buf: &'a [u8] = buf;
    let mut items = [("", ""); MAX_HEADERS];
    for (item, &(s, e, end)) in items.iter_mut().zip(&spans[..count]) {
        let (s, e, end) = (s as usize, e as usize, end as usize);
        *item = (ascii(&buf[s..e]), ascii(&buf[e + 2..end]));
    }
    Ok((RawHeaders { items, len: count }, typed))
}

fn check_path(path: &[u8]) -> bool {
    if path.first() != Some(&b'/') {
        return false;
    }
    if path.len() == 1 {
        return true;
    }
    let mut comps = path[1..].split(|&b| b == b'/').peekable();
    while let Some(c) = comps.next() {
        let last = comps.peek().is_none();
        if (c.is_empty() && !last) || !all_in(c, tables::PATH) {
            return false;
        }
    }
    true
}

/// Splits and validates a URI: path components and query against their
/// tables, no empty component but a trailing one.
pub fn parse_uri(uri: &[u8]) -> Result<(&str, Option<&str>)> {
    let (path, query) = match memchr::memchr(b'?', uri) {
        Some(q) => (&uri[..q], Some(&uri[q + 1..])),
        None => (uri, None),
    };
    if !check_path(path) || !query.is_none_or(|q| all_in(q, tables::QUERY)) {
        return Err(Error::BadUri(show(uri)));
    }
    Ok((ascii(path), query.map(ascii)))
}

/// Parses a request preamble (without its final `\r\n\r\n`).
///
/// ```
/// use degu_core::{parse_request, Framing, Method};
/// let mut buf = *b"PUT /foo/bar?x=1 HTTP/1.1\r\nContent-Length: 5\r\nHost: a";
/// let p = parse_request(&mut buf).unwrap();
/// assert_eq!(p.method, Method::Put);
/// assert_eq!(p.path_components().collect::<Vec<_>>(), ["foo", "bar"]);
/// assert_eq!(p.query, Some("x=1"));
/// assert_eq!(p.headers.get("host"), Some("a"));
/// assert_eq!(p.typed.framing, Framing::Length(5));
/// ```
pub fn parse_request(buf: &mut [u8]) -> Result<RequestPreamble<'_>> {
    let (line_end, next) = next_line(buf, 0)?;
    let (method, uri_start) = match &buf[..line_end] {
        [b'G', b'E', b'T', b' ', ..] => (Method::Get, 4),
        [b'P', b'U', b'T', b' ', ..] => (Method::Put, 4),
        [b'P', b'O', b'S', b'T', b' ', ..] => (Method::Post, 5),
        [b'H', b'E', b'A', b'D', b' ', ..] => (Method::Head, 5),
        [b'D', b'E', b'L', b'E', b'T', b'E', b' ', ..] => (Method::Delete, 7),
        line => {
            return Err(match memchr::memchr(b' ', line) {
                Some(sp) => Error::BadMethod(show(&line[..sp])),
                None => Error::BadRequestLine(show(line)),
            });
        }
    };
    let sp = memchr::memchr(b' ', &buf[uri_start..line_end])
        .map(|i| uri_start + i)
        .ok_or_else(|| Error::BadRequestLine(show(&buf[..line_end])))?;
    if &buf[sp + 1..line_end] != b"HTTP/1.1" {
        return Err(Error::BadProtocol(show(&buf[sp + 1..line_end])));
    }
    let (head, rest) = buf.split_at_mut(next.min(line_end + 2).min(buf.len()));
    let uri_bytes: &[u8] = &head[uri_start..sp];
    let (path, query) = parse_uri(uri_bytes)?;
    let uri = ascii(uri_bytes);
    let (headers, typed) = parse_headers(rest, 0)?;
    if method.forbids_body() && typed.framing != Framing::None {
        return Err(Error::BodyNotAllowed(method));
    }
    Ok(RequestPreamble {
        method,
        uri,
        path,
        query,
        headers,
        typed,
    })
}

/// Parses a response preamble (without its final `\r\n\r\n`).
///
/// ```
/// use degu_core::{parse_response, Framing};
/// let mut buf = *b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked";
/// let p = parse_response(&mut buf).unwrap();
/// assert_eq!((p.status, p.reason), (200, "OK"));
/// assert_eq!(p.typed.framing, Framing::Chunked);
/// ```
pub fn parse_response(buf: &mut [u8]) -> Result<ResponsePreamble<'_>> {
    let (line_end, next) = next_line(buf, 0)?;
    let line = &buf[..line_end];
    if line.len() < 13 || !line.starts_with(b"HTTP/1.1 ") {
        return Err(match memchr::memchr(b' ', line) {
            Some(sp) if &line[..sp] != b"HTTP/1.1" => Error::BadProtocol(show(&line[..sp])),
            _ => Error::BadStatusLine(show(line)),
        });
    }
    let code = &line[9..12];
    let status = match code {
        [a @ b'1'..=b'5', b @ b'0'..=b'9', c @ b'0'..=b'9'] => {
            u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0')
        }
        _ => return Err(Error::BadStatus(show(code))),
    };
    if line[12] != b' ' {
        return Err(Error::BadStatusLine(show(line)));
    }
    let reason = &line[13..];
    if reason.is_empty() || !all_in(reason, tables::REASON) {
        return Err(Error::BadReason(show(reason)));
    }
    let (head, rest) = buf.split_at_mut(next.min(buf.len()));
    let reason = ascii(&head[13..line_end]);
    let (headers, typed) = parse_headers(rest, 0)?;
    Ok(ResponsePreamble {
        status,
        reason,
        headers,
        typed,
    })
}

/// A parsed chunk-size line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChunkLine<'a> {
    /// The chunk's data length.
    pub size: u64,
    /// The optional `key=value` extension.
    pub ext: Option<(&'a str, &'a str)>,
}

/// Parses a chunk-size line without its `\r\n`: `HEX[;key=value]`.
///
/// ```
/// use degu_core::parse_chunk_line;
/// let c = parse_chunk_line(b"1a;i=0").unwrap();
/// assert_eq!((c.size, c.ext), (26, Some(("i", "0"))));
/// assert!(parse_chunk_line(b"01").is_err()); // leading zero
/// ```
pub fn parse_chunk_line(line: &[u8]) -> Result<ChunkLine<'_>> {
    if line.len() + 2 > MAX_CHUNK_LINE {
        return Err(Error::ChunkLineTooLong);
    }
    let (size_part, ext_part) = match memchr::memchr(b';', line) {
        Some(i) => (&line[..i], Some(&line[i + 1..])),
        None => (line, None),
    };
    let size = parse_hex(size_part).ok_or_else(|| Error::BadChunkSize(show(size_part)))?;
    if size > MAX_CHUNK_SIZE {
        return Err(Error::ChunkTooLarge(size));
    }
    let ext = match ext_part {
        None => None,
        Some(ext) => Some(parse_extension(ext)?),
    };
    Ok(ChunkLine { size, ext })
}

/// Validates a chunk extension `key=value` (both non-empty, each against
/// its table).
pub fn parse_extension(ext: &[u8]) -> Result<(&str, &str)> {
    let err = || Error::BadChunkExtension(show(ext));
    let eq = memchr::memchr(b'=', ext).ok_or_else(err)?;
    let (key, value) = (&ext[..eq], &ext[eq + 1..]);
    if key.is_empty()
        || value.is_empty()
        || !all_in(key, tables::EXT_KEY)
        || !all_in(value, tables::EXT_VALUE)
    {
        return Err(err());
    }
    Ok((ascii(key), ascii(value)))
}

fn parse_hex(b: &[u8]) -> Option<u64> {
    if b.is_empty() || b.len() > 16 || (b.len() > 1 && b[0] == b'0') {
        return None;
    }
    let mut n = 0u64;
    for &c in b {
        let d = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            _ => return None,
        };
        n = (n << 4) | u64::from(d);
    }
    Some(n)
}
