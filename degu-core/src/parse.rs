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
///
/// The pairs are kept as offsets into the preamble (six bytes a header,
/// not two fat pointers), and handed out as `&str` by [`get`](Self::get)
/// and [`iter`](Self::iter). Every byte was validated against an
/// ASCII-only table by the parser; the (infallible) conversion of a name or
/// value to `&str` is done when it is handed out, so a header that is
/// never read costs nothing more.
#[derive(Clone, Copy)]
pub struct RawHeaders<'a> {
    text: &'a [u8],
    spans: [Span; MAX_HEADERS],
    len: u8,
}

impl<'a> RawHeaders<'a> {
    #[inline]
    fn name_bytes(&self, s: &Span) -> &'a [u8] {
        self.text
            .get(s.start as usize..s.colon as usize)
            .unwrap_or_default()
    }

    #[inline]
    fn value(&self, s: &Span) -> &'a str {
        ascii(
            self.text
                .get(s.colon as usize + 2..s.end as usize)
                .unwrap_or_default(),
        )
    }

    #[inline]
    fn spans(&self) -> &[Span] {
        &self.spans[..self.len as usize]
    }

    /// The value of header `name` (lowercase).
    pub fn get(&self, name: &str) -> Option<&'a str> {
        self.spans()
            .iter()
            .find(|s| self.name_bytes(s) == name.as_bytes())
            .map(|s| self.value(s))
    }

    /// Number of headers.
    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// True when there are no headers.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The pairs in wire order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&'a str, &'a str)> + '_ {
        // One conversion of the whole header region, then slices of it
        // (cheaper than one conversion per name and value). Every byte is
        // ASCII, so any offset is a character boundary.
        let spans = self.spans();
        let base = spans.first().map_or(0, |s| s.start as usize);
        let end = spans.last().map_or(0, |s| s.end as usize);
        let text = ascii(self.text.get(base..end).unwrap_or_default());
        spans.iter().map(move |s| {
            let (start, colon, end) = (s.start as usize, s.colon as usize, s.end as usize);
            let name = text.get(start - base..colon - base).unwrap_or_default();
            let value = text.get(colon + 2 - base..end - base).unwrap_or_default();
            (name, value)
        })
    }
}

impl PartialEq for RawHeaders<'_> {
    /// The same pairs in the same order.
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for RawHeaders<'_> {}

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
    rest.split('/')
        .take(if rest.is_empty() { 0 } else { usize::MAX })
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

/// The index of the first byte at or after `i` that is not in `class`
/// (`buf.len()` when there is none): the one table scan every region goes
/// through. Eight bytes at a time while they all belong, then one by one.
#[inline(always)]
fn scan(buf: &[u8], mut i: usize, class: u16) -> usize {
    while let Some(block) = buf.get(i..i + 8) {
        if block
            .iter()
            .fold(class, |acc, &b| acc & tables::TABLE[b as usize])
            == 0
        {
            break;
        }
        i += 8;
    }
    while let Some(&b) = buf.get(i) {
        if !tables::is_in(b, class) {
            break;
        }
        i += 1;
    }
    i
}

/// Scans like [`scan`], one byte at a time: for regions that are usually
/// shorter than a block (path components).
#[inline(always)]
fn scan_short(buf: &[u8], mut i: usize, class: u16) -> usize {
    while let Some(&b) = buf.get(i) {
        if !tables::is_in(b, class) {
            break;
        }
        i += 1;
    }
    i
}

/// Scans like [`scan`], 32 then 16 bytes at a time through `ok`, a
/// branch-free predicate that the compiler turns into vector compares and
/// that must agree exactly with `class` (unit tests check all 256 bytes);
/// the last sixteen bytes of the buffer finish a shorter tail.
#[inline(always)]
fn scan_fast(buf: &[u8], mut i: usize, class: u16, ok: impl Fn(u8) -> bool + Copy) -> usize {
    // Thirty-two bytes a block while the buffer has them: half as many
    // loop exits to predict as with sixteen.
    while let Some(block) = buf.get(i..i + 32) {
        let mut bad = [0u8; 32];
        for (flag, &b) in bad.iter_mut().zip(block) {
            *flag = u8::from(!ok(b)) * 0xFF;
        }
        if let Some(at) = first_flag(&bad) {
            return i + at;
        }
        i += 32;
    }
    if let Some(block) = buf.get(i..i + 16) {
        let mut bad = [0u8; 16];
        for (flag, &b) in bad.iter_mut().zip(block) {
            *flag = u8::from(!ok(b)) * 0xFF;
        }
        if let Some(at) = first_flag(&bad) {
            return i + at;
        }
        i += 16;
    }
    // Fewer than sixteen bytes left: the buffer's last sixteen, with the
    // flags of the bytes before `i` cleared.
    let len = buf.len();
    if i < len
        && let Some(block) = buf.get(len.wrapping_sub(16)..)
    {
        const INDEX: [u8; 16] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];
        let skip = (16 - (len - i)) as u8;
        let mut bad = [0u8; 16];
        for ((flag, &b), &j) in bad.iter_mut().zip(block).zip(&INDEX) {
            *flag = u8::from(!ok(b) & (j >= skip)) * 0xFF;
        }
        return match first_flag(&bad) {
            Some(at) => len - 16 + at,
            None => len,
        };
    }
    scan(buf, i, class)
}

/// The index in `block` (sixteen bytes) of the first byte that fails `ok`.
/// The flags are read as one `u128`: a sixteen-byte array read as two
/// `u64`s makes the compiler split the compares in two halves.
#[inline(always)]
fn first_bad16(block: &[u8], ok: impl Fn(u8) -> bool) -> Option<usize> {
    let mut bad = [0u8; 16];
    for (flag, &b) in bad.iter_mut().zip(block) {
        *flag = u8::from(!ok(b)) * 0xFF;
    }
    let w = u128::from_le_bytes(bad);
    (w != 0).then(|| (w.trailing_zeros() / 8) as usize)
}

/// Scans like [`scan_fast`], one sixteen-byte block first: for regions
/// that are mostly shorter than that (header names).
#[inline(always)]
fn scan_fast16(buf: &[u8], i: usize, class: u16, ok: impl Fn(u8) -> bool + Copy) -> usize {
    match buf.get(i..i + 16) {
        Some(block) => match first_bad16(block, ok) {
            Some(at) => i + at,
            None => scan_fast(buf, i + 16, class, ok),
        },
        None => scan_fast(buf, i, class, ok),
    }
}

/// Lowercases the header name `buf[pos..colon]` (bytes of
/// [`tables::NAME`], for which lowercase is `| 0x20`): a name shorter than
/// sixteen bytes as one `u128`, with the bytes after it left as they are.
#[inline(always)]
fn lowercase_name(buf: &mut [u8], pos: usize, colon: usize) {
    let n = colon - pos;
    if n < 16
        && let Some(block) = buf.get_mut(pos..pos + 16)
        && let Ok(bytes) = <&mut [u8; 16]>::try_from(block)
    {
        let lower = (1u128 << (8 * n)).wrapping_sub(1) & u128::from_le_bytes([0x20; 16]);
        *bytes = (u128::from_le_bytes(*bytes) | lower).to_le_bytes();
        return;
    }
    for b in &mut buf[pos..colon] {
        *b |= 0x20;
    }
}

/// The index of the first non-zero byte of `flags` (each `0` or `0xFF`),
/// read eight at a time: the flags stay in vector registers (a `u128`
/// goes through the stack).
#[inline(always)]
fn first_flag<const N: usize>(flags: &[u8; N]) -> Option<usize> {
    let mut any = 0;
    for w in flags.chunks_exact(8) {
        any |= u64::from_le_bytes(w.try_into().unwrap_or_default());
    }
    if any == 0 {
        return None;
    }
    flags.chunks_exact(8).enumerate().find_map(|(k, w)| {
        let w = u64::from_le_bytes(w.try_into().unwrap_or_default());
        (w != 0).then(|| k * 8 + (w.trailing_zeros() / 8) as usize)
    })
}

// The predicates below use `&` and `|`, never `&&`, `||` or `matches!`:
// branch-free, so that sixteen of them become a few vector instructions.

/// [`tables::VALUE`] as arithmetic, for [`scan_fast`].
#[inline(always)]
fn is_value(c: u8) -> bool {
    // Printable up to `z`, and `~`; less `$` and three pairs of bytes
    // that differ in one bit: `!` `#` (0x21, 0x23), backslash and `^`
    // (0x5c, 0x5e), `@` and backquote (0x40, 0x60).
    let printable = c.wrapping_sub(b' ') <= b'z' - b' ';
    let excluded =
        ((c & 0xfd) == b'!') | (c == b'$') | ((c & 0xfd) == b'\\') | ((c & 0xdf) == b'@');
    (printable & !excluded) | (c == b'~')
}

/// [`tables::NAME`] as arithmetic, for [`scan_fast`].
#[inline(always)]
fn is_name(c: u8) -> bool {
    ((c | 0x20).wrapping_sub(b'a') < 26) | (c.wrapping_sub(b'0') < 10) | (c == b'-')
}

/// True when `name` (bytes of [`tables::NAME`]) lowercased equals `lower`
/// (a lowercase literal of the same length).
#[inline(always)]
fn lower_eq(name: &[u8], lower: &[u8]) -> bool {
    name.len() == lower.len()
        && name
            .iter()
            .zip(lower)
            .fold(true, |eq, (&a, &b)| eq & (a | 0x20 == b))
}

/// Where a URI's parts end, found by [`scan_uri`].
struct UriMarks {
    /// End of the path (the `?` or the end of the URI).
    path_end: usize,
    /// End of the URI (the first byte after it).
    end: usize,
}

/// Scans a URI starting at `buf[start]`: `/`, path components (no empty one
/// but the last) and an optional `?query`, each against its table. Stops at
/// the first byte that belongs to neither; `None` for a malformed path.
#[inline(always)]
fn scan_uri(buf: &[u8], start: usize) -> Option<UriMarks> {
    if buf.get(start) != Some(&b'/') {
        return None;
    }
    let mut i = start;
    loop {
        let comp = i + 1;
        i = scan_short(buf, comp, tables::PATH);
        if buf.get(i) != Some(&b'/') {
            break;
        }
        if i == comp {
            return None; // an empty component that is not the last
        }
    }
    let path_end = i;
    if buf.get(i) == Some(&b'?') {
        i = scan(buf, i + 1, tables::QUERY);
    }
    Some(UriMarks { path_end, end: i })
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

/// One header's place in the buffer: `start..colon` is the name,
/// `colon + 2..end` the value.
#[derive(Clone, Copy, Default)]
struct Span {
    start: u16,
    colon: u16,
    end: u16,
}

/// A 6-bit hash of a (non-empty) header name, from its length and its
/// first and last bytes.
#[inline(always)]
fn name_hash(name: &[u8]) -> u32 {
    let first = u32::from(name.first().copied().unwrap_or(0));
    let last = u32::from(name.last().copied().unwrap_or(0));
    let key = (name.len() as u32) << 16 | first << 8 | last;
    key.wrapping_mul(0x9E37_79B1) >> 26
}

/// What the validating pass over the header lines found.
struct Scanned {
    count: usize,
    typed: Typed,
}

/// The validating pass over the header lines in `buf[pos..]`: checks every
/// byte against its table, lowercases names in place, parses the typed
/// values and refuses duplicates, recording only positions. Errors come in
/// the order of the lines.
#[inline(always)]
fn scan_headers(
    buf: &mut [u8],
    mut pos: usize,
    spans: &mut [Span; MAX_HEADERS],
) -> Result<Scanned> {
    let mut count = 0;
    let mut typed = Typed {
        framing: Framing::None,
        range: None,
        content_range: None,
    };
    let mut length = None;
    let mut chunked = false;
    let mut seen = 0u64;
    let len = buf.len();
    while pos < len {
        let colon = scan_fast16(buf, pos, tables::NAME, is_name);
        // The end of the line, scanned from its start: name bytes, `:` and
        // ` ` are all VALUE bytes, so for a well-formed line this is the end
        // of the value, and this scan need not wait for the name's (the two
        // run side by side instead of one after the other).
        let end = scan_fast(buf, pos, tables::VALUE, is_value);
        if count == MAX_HEADERS
            || colon == pos
            || buf.get(colon) != Some(&b':')
            || buf.get(colon + 1) != Some(&b' ')
        {
            return Err(header_error(buf, pos, count));
        }
        let start = colon + 2;
        let next = if end == len {
            end
        } else if buf[end] == b'\r' && buf.get(end + 1) == Some(&b'\n') {
            end + 2
        } else {
            return Err(header_error(buf, pos, count));
        };
        if end <= start {
            return Err(header_error(buf, pos, count));
        }
        let name = &buf[pos..colon];
        let value = &buf[start..end];
        // The typed headers are recognised on the name as sent, before it is
        // lowercased in place (reading bytes just written one by one is slow).
        match name.len() {
            14 if lower_eq(name, b"content-length") => {
                length = Some(parse_content_length(value)?);
            }
            17 if lower_eq(name, b"transfer-encoding") => {
                if value != b"chunked" {
                    return Err(Error::BadTransferEncoding(show(value)));
                }
                chunked = true;
            }
            5 if lower_eq(name, b"range") => typed.range = Some(Range::parse(value)?),
            13 if lower_eq(name, b"content-range") => {
                typed.content_range = ContentRange::parse_header(value)?;
            }
            _ => {}
        }
        lowercase_name(buf, pos, colon);
        let name = &buf[pos..colon];
        // Duplicates: a 64-bit filter of the names seen so far; the names
        // are compared only when this one's bit is already set.
        let bit = 1u64 << name_hash(name);
        if seen & bit != 0 {
            for s in &spans[..count] {
                if buf[s.start as usize..s.colon as usize] == *name {
                    return Err(Error::DuplicateHeader(show(name)));
                }
            }
        }
        seen |= bit;
        spans[count] = Span {
            start: pos as u16,
            colon: colon as u16,
            end: end as u16,
        };
        count += 1;
        pos = next;
    }
    typed.framing = match (length, chunked) {
        (Some(_), true) => return Err(Error::ContentLengthAndChunked),
        (Some(n), false) => Framing::Length(n),
        (None, true) => Framing::Chunked,
        (None, false) => Framing::None,
    };
    Ok(Scanned { count, typed })
}

/// Refuses a buffer that cannot be a preamble (its `\r\n\r\n` included,
/// at most [`MAX_PREAMBLE`] bytes); also keeps every offset within `u16`.
#[inline(always)]
fn check_len(buf: &[u8]) -> Result<()> {
    if buf.len() + 4 > MAX_PREAMBLE {
        return Err(Error::PreambleTooLarge);
    }
    Ok(())
}

/// The exact error for a header line the fast pass refused: the checks
/// one by one, in the order the rules are documented.
#[cold]
#[inline(never)]
fn header_error(buf: &mut [u8], pos: usize, count: usize) -> Error {
    let end = match next_line(buf, pos) {
        Ok((end, _)) => end,
        Err(e) => return e,
    };
    if count == MAX_HEADERS {
        return Error::TooManyHeaders;
    }
    let line = &mut buf[pos..end];
    let colon = match memchr::memchr(b':', line) {
        Some(c) if line.get(c + 1) == Some(&b' ') => c,
        _ => return Error::BadHeaderLine(show(line)),
    };
    let (name, value) = line.split_at_mut(colon);
    let value = &value[2..];
    if name.is_empty() || !all_in(name, tables::NAME) {
        return Error::BadHeaderName(show(name));
    }
    name.make_ascii_lowercase();
    if value.is_empty() || !all_in(value, tables::VALUE) {
        return Error::BadHeaderValue {
            name: ascii(name).to_owned(),
            value: show(value),
        };
    }
    Error::BadHeaderLine(show(line))
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
    match scan_uri(uri, 0) {
        Some(m) if m.end == uri.len() => {
            let text = ascii(uri);
            let path = text.get(..m.path_end).unwrap_or_default();
            let query = text.get(m.path_end + 1..);
            Ok((path, query))
        }
        _ => Err(Error::BadUri(show(uri))),
    }
}

/// The exact error for a request line the fast pass refused.
#[cold]
#[inline(never)]
fn request_line_error(buf: &[u8]) -> Error {
    let line_end = match next_line(buf, 0) {
        Ok((end, _)) => end,
        Err(e) => return e,
    };
    let line = &buf[..line_end];
    let uri_start = match line {
        [b'G', b'E', b'T', b' ', ..] | [b'P', b'U', b'T', b' ', ..] => 4,
        [b'P', b'O', b'S', b'T', b' ', ..] | [b'H', b'E', b'A', b'D', b' ', ..] => 5,
        [b'D', b'E', b'L', b'E', b'T', b'E', b' ', ..] => 7,
        _ => {
            return match memchr::memchr(b' ', line) {
                Some(sp) => Error::BadMethod(show(&line[..sp])),
                None => Error::BadRequestLine(show(line)),
            };
        }
    };
    let Some(sp) = memchr::memchr(b' ', &line[uri_start..]).map(|i| uri_start + i) else {
        return Error::BadRequestLine(show(line));
    };
    if &line[sp + 1..] != b"HTTP/1.1" {
        return Error::BadProtocol(show(&line[sp + 1..]));
    }
    let uri = &line[uri_start..sp];
    let (path, query) = match memchr::memchr(b'?', uri) {
        Some(q) => (&uri[..q], Some(&uri[q + 1..])),
        None => (uri, None),
    };
    if !check_path(path) || !query.is_none_or(|q| all_in(q, tables::QUERY)) {
        return Error::BadUri(show(uri));
    }
    Error::BadRequestLine(show(line))
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
    check_len(buf)?;
    let (method, uri_start) = match &*buf {
        [b'G', b'E', b'T', b' ', ..] => (Method::Get, 4),
        [b'P', b'U', b'T', b' ', ..] => (Method::Put, 4),
        [b'P', b'O', b'S', b'T', b' ', ..] => (Method::Post, 5),
        [b'H', b'E', b'A', b'D', b' ', ..] => (Method::Head, 5),
        [b'D', b'E', b'L', b'E', b'T', b'E', b' ', ..] => (Method::Delete, 7),
        _ => return Err(request_line_error(buf)),
    };
    let Some(uri) = scan_uri(buf, uri_start) else {
        return Err(request_line_error(buf));
    };
    let after = uri.end + b" HTTP/1.1".len();
    let next = match buf.get(uri.end..) {
        Some([b' ', b'H', b'T', b'T', b'P', b'/', b'1', b'.', b'1']) => after,
        Some(
            [
                b' ',
                b'H',
                b'T',
                b'T',
                b'P',
                b'/',
                b'1',
                b'.',
                b'1',
                b'\r',
                b'\n',
                ..,
            ],
        ) => after + 2,
        _ => return Err(request_line_error(buf)),
    };
    let mut spans = [Span::default(); MAX_HEADERS];
    let scanned = scan_headers(buf, next, &mut spans)?;
    if method.forbids_body() && scanned.typed.framing != Framing::None {
        return Err(Error::BodyNotAllowed(method));
    }
    let buf = &*buf;
    // Every byte was checked against an ASCII-only table: the conversions
    // to `&str` cannot fail (the URI's here, the headers' when read).
    let uri_text = ascii(buf.get(uri_start..uri.end).unwrap_or_default());
    let path_len = uri.path_end - uri_start;
    Ok(RequestPreamble {
        method,
        uri: uri_text,
        path: uri_text.get(..path_len).unwrap_or_default(),
        query: uri_text.get(path_len + 1..),
        headers: RawHeaders {
            text: buf,
            spans,
            len: scanned.count as u8,
        },
        typed: scanned.typed,
    })
}

/// The exact error for a status line the fast pass refused.
#[cold]
#[inline(never)]
fn status_line_error(buf: &[u8]) -> Error {
    let line_end = match next_line(buf, 0) {
        Ok((end, _)) => end,
        Err(e) => return e,
    };
    let line = &buf[..line_end];
    if line.len() < 13 || !line.starts_with(b"HTTP/1.1 ") {
        return match memchr::memchr(b' ', line) {
            Some(sp) if &line[..sp] != b"HTTP/1.1" => Error::BadProtocol(show(&line[..sp])),
            _ => Error::BadStatusLine(show(line)),
        };
    }
    let code = &line[9..12];
    if !matches!(code, [b'1'..=b'5', b'0'..=b'9', b'0'..=b'9']) {
        return Error::BadStatus(show(code));
    }
    if line[12] != b' ' {
        return Error::BadStatusLine(show(line));
    }
    Error::BadReason(show(&line[13..]))
}

/// A validated reason phrase as `&str`: the usual `OK` without the call
/// to the UTF-8 validation (it costs more than the rest of a minimal status
/// line), any other through [`ascii`].
#[inline(always)]
fn reason_str(reason: &[u8]) -> &str {
    if reason == b"OK" { "OK" } else { ascii(reason) }
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
    check_len(buf)?;
    let status = match &*buf {
        [
            b'H',
            b'T',
            b'T',
            b'P',
            b'/',
            b'1',
            b'.',
            b'1',
            b' ',
            a @ b'1'..=b'5',
            b @ b'0'..=b'9',
            c @ b'0'..=b'9',
            b' ',
            ..,
        ] => u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0'),
        _ => return Err(status_line_error(buf)),
    };
    let reason_end = scan(buf, 13, tables::REASON);
    let next = match buf.get(reason_end..) {
        _ if reason_end == 13 => return Err(status_line_error(buf)),
        Some([]) => reason_end,
        Some([b'\r', b'\n', ..]) => reason_end + 2,
        _ => return Err(status_line_error(buf)),
    };
    let mut spans = [Span::default(); MAX_HEADERS];
    let scanned = scan_headers(buf, next, &mut spans)?;
    let buf = &*buf;
    Ok(ResponsePreamble {
        status,
        reason: reason_str(buf.get(13..reason_end).unwrap_or_default()),
        headers: RawHeaders {
            text: buf,
            spans,
            len: scanned.count as u8,
        },
        typed: scanned.typed,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_predicates_agree_with_the_table() {
        for b in 0..=255u8 {
            assert_eq!(is_value(b), tables::is_in(b, tables::VALUE), "{b}");
            assert_eq!(is_name(b), tables::is_in(b, tables::NAME), "{b}");
        }
    }

    #[test]
    fn lowercase_name_touches_only_the_name() {
        for tail in [0, 1, 2, 15, 16, 40] {
            for n in 1..=40 {
                let mut buf: Vec<u8> = (0..n).map(|k| b'A' + (k % 26) as u8).collect();
                buf.extend(std::iter::repeat_n(b'X', tail));
                let mut expected = buf.clone();
                expected[..n].make_ascii_lowercase();
                lowercase_name(&mut buf, 0, n);
                assert_eq!(buf, expected, "name {n} tail {tail}");
            }
        }
    }

    #[test]
    fn scans_agree_with_the_table_at_every_offset() {
        for class in [tables::VALUE, tables::NAME] {
            for b in 0..=255u8 {
                for len in [1, 15, 16, 17, 31, 32, 33, 40, 49] {
                    for at in 0..len {
                        let mut buf = vec![b'a'; len];
                        buf[at] = b;
                        let expected = if tables::is_in(b, class) { len } else { at };
                        let fast = if class == tables::VALUE {
                            scan_fast(&buf, 0, class, is_value)
                        } else {
                            scan_fast(&buf, 0, class, is_name)
                        };
                        assert_eq!(fast, expected, "class {class} byte {b} at {at} of {len}");
                        let fast16 = if class == tables::VALUE {
                            scan_fast16(&buf, 0, class, is_value)
                        } else {
                            scan_fast16(&buf, 0, class, is_name)
                        };
                        assert_eq!(fast16, expected, "class {class} byte {b} at {at} of {len}");
                        assert_eq!(scan(&buf, 0, class), expected);
                    }
                }
            }
        }
    }
}
