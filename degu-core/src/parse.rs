//! The preamble parser: pure functions over a caller's buffer.
//!
//! A preamble is the request or status line plus the header lines, without
//! the final `\r\n\r\n` (the [`Reader`](crate::Reader) finds that). Parsing
//! never performs I/O and never allocates on success: every returned string
//! borrows the buffer, and header names are lowercased in place.

use std::fmt;

use crate::blocks::{self, Flags, bad_name, bad_value, first, skip};
use crate::error::{Error, Result, show};
use crate::range::{ContentRange, Range};
use crate::tables::{self, all_in};

/// Largest preamble, including its `\r\n\r\n` terminator.
pub const MAX_PREAMBLE: usize = 32 * 1024;
/// Most headers in a request, by default (a server's `max_headers` option
/// can change it); also the most a client sends.
pub const MAX_HEADERS: usize = 64;
/// Most headers in a response: what a client accepts, and the most a
/// server sends.
pub const MAX_RESPONSE_HEADERS: usize = 100;
/// Longest chunk-size line, including its `\r\n`.
pub const MAX_CHUNK_LINE: usize = 4096;
/// Largest chunk (16 MiB, the original's `MAX_IO_SIZE`).
pub const MAX_CHUNK_SIZE: u64 = 16 * 1024 * 1024;

/// Headers whose places a parse keeps in [`RawHeaders`] itself; any after
/// these are found again in the preamble when asked for (messages with
/// more are rare, and a larger array costs every parse its setting up).
const INLINE: usize = 20;

/// The methods Degu speaks (CONNECT, TRACE and others are refused: `501`).
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
    /// `DELETE`.
    Delete,
    /// `PATCH`.
    Patch,
    /// `OPTIONS` (a browser's CORS preflight, a health check).
    Options,
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
            Method::Patch => "PATCH",
            Method::Options => "OPTIONS",
        }
    }

    /// True for GET and HEAD, whose requests carry no body.
    pub fn forbids_body(self) -> bool {
        matches!(self, Method::Get | Method::Head)
    }

    /// True for the methods RFC 9110 §9.2.2 calls idempotent: GET, HEAD,
    /// PUT, DELETE and OPTIONS (the same request sent twice has the
    /// effect of sending it once), not POST or PATCH. A client may send
    /// such a request again when its connection failed before any
    /// response arrived.
    pub fn is_idempotent(self) -> bool {
        !matches!(self, Method::Post | Method::Patch)
    }

    /// Parses an exact, uppercase method name.
    pub fn parse(name: &[u8]) -> Result<Method> {
        Ok(match name {
            b"GET" => Method::Get,
            b"HEAD" => Method::Head,
            b"PUT" => Method::Put,
            b"POST" => Method::Post,
            b"DELETE" => Method::Delete,
            b"PATCH" => Method::Patch,
            b"OPTIONS" => Method::Options,
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

/// The protocol version of a message.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Version {
    /// `HTTP/1.0`: no chunked framing; the connection closes after each
    /// exchange unless `connection: keep-alive` says otherwise.
    Http10,
    /// `HTTP/1.1`.
    #[default]
    Http11,
}

impl Version {
    /// `HTTP/1.0` or `HTTP/1.1`.
    pub fn as_str(self) -> &'static str {
        match self {
            Version::Http10 => "HTTP/1.0",
            Version::Http11 => "HTTP/1.1",
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
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

/// The `(name, value)` pairs of a parsed preamble, borrowed from it, names
/// lowercase, in their order on the wire.
///
/// The places of the first twenty are kept as offsets into the preamble
/// (six bytes a header, not two fat pointers); any after those are found
/// again in the (already validated) preamble when asked for. Names and
/// values are handed out as `&str` by [`get`](Self::get) and
/// [`iter`](Self::iter): every byte was validated against an ASCII-only
/// table by the parser, and the (infallible) conversion is done when a
/// header is handed out, so a header that is never read costs nothing
/// more. A value is handed out without the optional whitespace around it.
#[derive(Clone, Copy)]
pub struct RawHeaders<'a> {
    text: &'a [u8],
    /// The first [`INLINE`] headers' places, and one more slot that a
    /// parse writes the later ones to (so that storing a place never
    /// depends on the count).
    spans: [Span; INLINE + 1],
    len: u16,
    /// Where the header lines past the first [`INLINE`] start (when
    /// there are more).
    rest: u16,
    /// Bit [`name_hash`] of every name present (a request's; all bits for
    /// a response, whose parse does not keep them): a name whose bit is
    /// clear is absent, found so without a look at the lines.
    seen: u64,
}

/// Where a header's name or value is in [`RawHeaders::places`]'s bytes:
/// `start..end`.
pub(crate) type Place = (usize, usize);

/// Strips the optional whitespace (spaces and tabs) that may start a
/// header value.
#[inline(always)]
fn trim_start_ows(v: &[u8]) -> &[u8] {
    match v {
        [b' ' | b'\t', rest @ ..] => trim_start_ows(rest),
        _ => v,
    }
}

/// One validated header line `name:[OWS]value[OWS]` (no CRLF) as its name
/// and trimmed value.
fn split_line(line: &[u8]) -> (&[u8], &[u8]) {
    let colon = memchr::memchr(b':', line).unwrap_or(line.len());
    let value = trim_start_ows(line.get(colon + 1..).unwrap_or_default());
    let mut end = value.len();
    while end > 0 && matches!(value[end - 1], b' ' | b'\t') {
        end -= 1;
    }
    (&line[..colon], &value[..end])
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
        ascii(trim_start_ows(
            self.text
                .get(s.colon as usize + 1..s.end as usize)
                .unwrap_or_default(),
        ))
    }

    #[inline]
    fn spans(&self) -> &[Span] {
        &self.spans[..(self.len as usize).min(INLINE)]
    }

    /// The header lines past the first [`INLINE`], as (name, value).
    fn rest(&self) -> impl Iterator<Item = (&'a [u8], &'a [u8])> + use<'a> {
        let text: &'a [u8] = if self.len as usize > INLINE {
            self.text.get(self.rest as usize..).unwrap_or_default()
        } else {
            &[]
        };
        text.split(|&b| b == b'\n')
            .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
            .filter(|line| !line.is_empty())
            .map(split_line)
    }

    /// The bytes of every header line (from the first name to the end of
    /// the preamble), after `f` is given each header's name and value as
    /// places in them: owned headers copy the lines whole and keep the
    /// places.
    pub(crate) fn places(&self, mut f: impl FnMut(Place, Place)) -> &'a [u8] {
        let spans = self.spans();
        let base = spans.first().map_or(self.text.len(), |s| s.start as usize);
        let region = self.text.get(base..).unwrap_or_default();
        for s in spans {
            let (start, colon, end) = (s.start as usize, s.colon as usize, s.end as usize);
            let value = trim_start_ows(self.text.get(colon + 1..end).unwrap_or_default());
            f(
                (start - base, colon - base),
                (end - value.len() - base, end - base),
            );
        }
        if self.len as usize > INLINE {
            // Past the first INLINE, the places are found again (a rare
            // case): by address, each line being a slice of `region`.
            let (at, len) = (region.as_ptr() as usize, region.len());
            let place = |b: &[u8]| {
                let start = (b.as_ptr() as usize).wrapping_sub(at);
                if start <= len && b.len() <= len - start {
                    (start, start + b.len())
                } else {
                    (0, 0)
                }
            };
            for (n, v) in self.rest() {
                f(place(n), place(v));
            }
        }
        region
    }

    /// The value of header `name` (lowercase); the first one when it is
    /// repeated (see [`get_all`](Self::get_all)).
    #[inline]
    pub fn get(&self, name: &str) -> Option<&'a str> {
        // A name absent from the hash filter is absent (the usual answer
        // for `connection` or `expect`); then the lengths, which differ
        // for most names and need no bytes compared.
        if self.seen & 1u64 << name_hash(name.as_bytes()) == 0 {
            return None;
        }
        let inline = self
            .spans()
            .iter()
            .find(|s| {
                usize::from(s.colon - s.start) == name.len()
                    && self.name_bytes(s) == name.as_bytes()
            })
            .map(|s| self.value(s));
        if inline.is_some() || self.len as usize <= INLINE {
            return inline;
        }
        self.rest()
            .find(|(n, _)| *n == name.as_bytes())
            .map(|(_, v)| ascii(v))
    }

    /// Every value of header `name` (lowercase), in wire order: a response
    /// may repeat a header such as `set-cookie`.
    pub fn get_all<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'a str> + 's {
        self.iter().filter(move |(n, _)| *n == name).map(|(_, v)| v)
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
    pub fn iter(&self) -> impl Iterator<Item = (&'a str, &'a str)> + '_ {
        // One conversion of the whole header region, then slices of it
        // (cheaper than one conversion per name and value). Every byte is
        // ASCII, so any offset is a character boundary.
        let spans = self.spans();
        let base = spans.first().map_or(0, |s| s.start as usize);
        let end = spans.last().map_or(0, |s| s.end as usize);
        let text = ascii(self.text.get(base..end).unwrap_or_default());
        let inline = spans.iter().map(move |s| {
            let (start, colon, end) = (s.start as usize, s.colon as usize, s.end as usize);
            let name = text.get(start - base..colon - base).unwrap_or_default();
            let value = text
                .get(colon + 1 - base..end - base)
                .unwrap_or_default()
                .trim_start_matches([' ', '\t']);
            (name, value)
        });
        inline.chain(self.rest().map(|(n, v)| (ascii(n), ascii(v))))
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
    /// The path part of the URI (starts with `/`), as sent: its
    /// components may hold `%XX` escapes (see [`decode_component`]).
    pub path: &'a str,
    /// The query: `None` without `?`, `Some("")` for a trailing `?`.
    pub query: Option<&'a str>,
    /// The protocol version.
    pub version: Version,
    /// The headers.
    pub headers: RawHeaders<'a>,
    /// Typed header values.
    pub typed: Typed,
}

impl<'a> RequestPreamble<'a> {
    /// The path's components as sent (escapes not decoded): `/` gives
    /// none, `/foo/` gives `foo` and `""`.
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
    /// The protocol version.
    pub version: Version,
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

/// Scans like [`scan`], 32 then 16 bytes at a time through `bad`, a
/// [`blocks`] classifier that must agree exactly with `class` (unit tests
/// check all 256 bytes at every position); the last sixteen bytes of the
/// buffer finish a shorter tail.
#[inline(always)]
fn scan_fast(
    buf: &[u8],
    mut i: usize,
    class: u16,
    bad: impl Fn(&[u8; 16]) -> Flags + Copy,
) -> usize {
    // Thirty-two bytes a block while the buffer has them: half as many
    // loop exits to predict as with sixteen.
    while let Some((a, b)) = buf.get(i..).and_then(pair) {
        let (a, b) = (bad(a), bad(b));
        if a | b != 0 {
            return i + if a != 0 { first(a) } else { 16 + first(b) };
        }
        i += 32;
    }
    if let Some(block) = buf.get(i..).and_then(|b| b.first_chunk()) {
        let a = bad(block);
        if a != 0 {
            return i + first(a);
        }
        i += 16;
    }
    // Fewer than sixteen bytes left: the buffer's last sixteen, with the
    // flags of the bytes before `i` dropped.
    let len = buf.len();
    if i < len
        && let Some(block) = buf.last_chunk()
    {
        let a = skip(bad(block), 16 - (len - i));
        return if a != 0 { len - 16 + first(a) } else { len };
    }
    scan(buf, i, class)
}

/// The first two sixteen-byte blocks of `buf`, when it has them.
#[inline(always)]
fn pair(buf: &[u8]) -> Option<(&[u8; 16], &[u8; 16])> {
    let (a, rest) = buf.split_first_chunk()?;
    Some((a, rest.first_chunk()?))
}

/// Scans like [`scan_fast`], one sixteen-byte block first: for regions
/// that are mostly shorter than that (header names).
#[inline(always)]
fn scan_fast16(buf: &[u8], i: usize, class: u16, bad: impl Fn(&[u8; 16]) -> Flags + Copy) -> usize {
    match buf.get(i..).and_then(|b| b.first_chunk()) {
        Some(block) => match bad(block) {
            0 => scan_fast(buf, i + 16, class, bad),
            flags => i + first(flags),
        },
        None => scan_fast(buf, i, class, bad),
    }
}

/// Lowercases the header name `buf[pos..colon]` (bytes of
/// [`tables::NAME`], for which lowercase is `| 0x20`): a name of at most
/// sixteen bytes as one block, with the bytes after it left as they are.
#[inline(always)]
fn lowercase_name(buf: &mut [u8], pos: usize, colon: usize) {
    let n = colon - pos;
    if n <= 16
        && let Some(block) = buf.get_mut(pos..).and_then(|b| b.first_chunk_mut())
    {
        blocks::lowercase(block, n);
        return;
    }
    for b in &mut buf[pos..colon] {
        *b |= 0x20;
    }
}

/// A lowercase header name that the parser recognises, with its first
/// sixteen bytes as a block for [`blocks::lower_eq`].
struct Known {
    name: &'static [u8],
    block: [u8; 16],
}

impl Known {
    const fn new(name: &'static [u8]) -> Known {
        let mut block = [0; 16];
        let mut i = 0;
        while i < name.len() && i < 16 {
            block[i] = name[i];
            i += 1;
        }
        Known { name, block }
    }
}

const CONTENT_LENGTH: Known = Known::new(b"content-length");
const TRANSFER_ENCODING: Known = Known::new(b"transfer-encoding");
const RANGE: Known = Known::new(b"range");
const CONTENT_RANGE: Known = Known::new(b"content-range");

/// True when the header name at `buf[pos..]` (bytes of [`tables::NAME`],
/// as long as `known`'s) lowercased is `known`: its first sixteen bytes as
/// one block compare when the buffer has them (comparing byte by byte
/// costs more than the rest of a short header line), the others one by
/// one.
#[inline(always)]
fn is_known(buf: &[u8], pos: usize, known: &Known) -> bool {
    let fold = |name: &[u8], lower: &[u8]| {
        name.iter()
            .zip(lower)
            .fold(true, |eq, (&a, &b)| eq & (a | 0x20 == b))
    };
    let n = known.name.len();
    let Some(name) = buf.get(pos..pos + n) else {
        return false;
    };
    let (head, tail) = name.split_at(n.min(16));
    let head_eq = match buf.get(pos..).and_then(|b| b.first_chunk()) {
        Some(block) => blocks::lower_eq(block, &known.block, head.len()),
        None => fold(head, known.name),
    };
    head_eq & fold(tail, &known.name[head.len()..])
}

/// Where a URI's parts end, found by [`scan_uri`].
struct UriMarks {
    /// End of the path (the `?` or the end of the URI).
    path_end: usize,
    /// End of the URI (the first byte after it).
    end: usize,
}

/// True for a path component that is `.` or `..` (refused: no app should
/// have to guard against them).
#[inline(always)]
fn is_dots(comp: &[u8]) -> bool {
    matches!(comp, [b'.'] | [b'.', b'.'])
}

/// The value of a hex digit, or none.
#[inline]
fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Checks the `%XX` escapes of a path component (bytes of
/// [`tables::PATH`]): each `%` starts two hex digits; what they decode to
/// is not `/`, NUL or another control byte; the decoded component is
/// valid UTF-8 and not `.` or `..`.
#[cold]
#[inline(never)]
fn escapes_ok(comp: &[u8]) -> bool {
    // UTF-8 is checked one sequence at a time: raw bytes are ASCII, so a
    // multi-byte character is escaped whole.
    let mut seq = [0u8; 4];
    let (mut have, mut want) = (0, 0);
    let mut i = 0;
    let mut dots = 0;
    let mut decoded = 0;
    while i < comp.len() {
        let b = if comp[i] == b'%' {
            let hi = comp.get(i + 1).copied().and_then(hex_value);
            let lo = comp.get(i + 2).copied().and_then(hex_value);
            let (Some(hi), Some(lo)) = (hi, lo) else {
                return false;
            };
            i += 3;
            hi << 4 | lo
        } else {
            i += 1;
            comp[i - 1]
        };
        decoded += 1;
        dots += usize::from(b == b'.');
        if want > 0 {
            seq[have] = b;
            have += 1;
            if have == want {
                if std::str::from_utf8(&seq[..want]).is_err() {
                    return false;
                }
                (have, want) = (0, 0);
            }
            continue;
        }
        match b {
            b'/' | 0..=0x1f | 0x7f => return false,
            0x80.. => {
                want = match b {
                    0xc2..=0xdf => 2,
                    0xe0..=0xef => 3,
                    0xf0..=0xf4 => 4,
                    _ => return false,
                };
                seq[0] = b;
                have = 1;
            }
            _ => {}
        }
    }
    want == 0 && !(dots == decoded && decoded <= 2)
}

/// Decodes the `%XX` escapes of a path component the parser accepted
/// into `out` (cleared first); a component without escapes is copied.
///
/// ```
/// let mut s = String::new();
/// degu_core::decode_component("my%20file%2Etxt", &mut s);
/// assert_eq!(s, "my file.txt");
/// degu_core::decode_component("caf%C3%A9", &mut s);
/// assert_eq!(s, "café");
/// ```
pub fn decode_component(comp: &str, out: &mut String) {
    out.clear();
    if !comp.contains('%') {
        out.push_str(comp);
        return;
    }
    let raw = comp.as_bytes();
    let mut bytes = std::mem::take(out).into_bytes();
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'%'
            && let (Some(hi), Some(lo)) = (
                raw.get(i + 1).copied().and_then(hex_value),
                raw.get(i + 2).copied().and_then(hex_value),
            )
        {
            bytes.push(hi << 4 | lo);
            i += 3;
        } else {
            bytes.push(raw[i]);
            i += 1;
        }
    }
    *out = match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    };
}

/// Appends `comp` (a decoded path component) to `out` as a URI's path
/// component: a byte of [`tables::PATH`] as it is, any other (`%`
/// included) as a `%XX` escape. [`decode_component`] gives it back.
///
/// ```
/// let mut uri = String::from("/");
/// degu_core::encode_component("my file 100%.txt", &mut uri);
/// assert_eq!(uri, "/my%20file%20100%25.txt");
/// ```
pub fn encode_component(comp: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in comp.as_bytes() {
        if b != b'%' && tables::is_in(b, tables::PATH) {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(HEX[usize::from(b >> 4)] as char);
            out.push(HEX[usize::from(b & 15)] as char);
        }
    }
}

/// Checks the components of a path (after its first `/`) that the scan
/// left for later: none is `.` or `..`, and their escapes are good
/// ([`escapes_ok`]).
#[cold]
#[inline(never)]
fn components_ok(path: &[u8]) -> bool {
    path.split(|&b| b == b'/')
        .all(|c| !is_dots(c) && (!c.contains(&b'%') || escapes_ok(c)))
}

/// Scans a URI starting at `buf[start]`: `/`, path components (no empty one
/// but the last, no `.` or `..`, escapes that decode to what a component
/// may hold) and an optional `?query`, each against its table. Stops at
/// the first byte that belongs to neither; `None` for a malformed path.
#[inline(always)]
fn scan_uri(buf: &[u8], start: usize) -> Option<UriMarks> {
    if buf.get(start) != Some(&b'/') {
        return None;
    }
    let mut i = start;
    // The classes of the path's bytes, or-ed: whether it holds an escape
    // comes with the scan; and whether a component starts with a dot.
    let mut classes = 0;
    let mut dotted = false;
    loop {
        let comp = i + 1;
        i = comp;
        while let Some(&b) = buf.get(i) {
            let class = tables::TABLE[b as usize];
            if class & tables::PATH == 0 {
                break;
            }
            classes |= class;
            i += 1;
        }
        dotted |= buf.get(comp) == Some(&b'.');
        if buf.get(i) != Some(&b'/') {
            break;
        }
        if i == comp {
            return None; // an empty component that is not the last
        }
    }
    // The rare paths with an escape or a component that starts with a dot
    // are checked component by component.
    if (dotted || classes & tables::ESCAPE != 0) && !components_ok(&buf[start + 1..i]) {
        return None;
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
/// `colon + 1..end` the value with the optional whitespace before it
/// (`end` is past the whitespace after it already).
#[derive(Clone, Copy, Default)]
struct Span {
    start: u16,
    colon: u16,
    end: u16,
}

/// A 6-bit hash of a (non-empty) header name, from its length and its
/// first and last bytes, lowercased (`| 0x20` lowercases every byte of
/// [`tables::NAME`]): the same for a name as sent and as lowercased, so it
/// is taken before the name is lowercased in place (reading back bytes
/// just written costs more).
#[inline(always)]
fn name_hash(name: &[u8]) -> u32 {
    let first = u32::from(name.first().copied().unwrap_or(0) | 0x20);
    let last = u32::from(name.last().copied().unwrap_or(0) | 0x20);
    let key = (name.len() as u32) << 16 | first << 8 | last;
    key.wrapping_mul(0x9E37_79B1) >> 26
}

/// What the validating pass over the header lines found.
struct Scanned {
    count: usize,
    rest: usize,
    typed: Typed,
    /// The names' hash bits (every bit when not kept).
    seen: u64,
}

/// True for the optional whitespace around a header value.
#[inline(always)]
fn is_ows(c: u8) -> bool {
    (c == b' ') | (c == b'\t')
}

/// `start..end` without the whitespace at either end.
#[cold]
#[inline(never)]
fn trim_ows(buf: &[u8], mut start: usize, mut end: usize) -> (usize, usize) {
    while start < end && is_ows(buf[start]) {
        start += 1;
    }
    while end > start && is_ows(buf[end - 1]) {
        end -= 1;
    }
    (start, end)
}

/// The validating pass over the header lines in `buf[pos..]`: checks every
/// byte against its table, lowercases names in place, parses the typed
/// values, and refuses more than `max` headers and, with `UNIQUE`, any
/// repeated name (without it, only a repeated framing or content-range
/// header), recording only positions. Errors come in the order of the
/// lines.
#[inline(always)]
fn scan_headers<const UNIQUE: bool>(
    buf: &mut [u8],
    mut pos: usize,
    spans: &mut [Span; INLINE + 1],
    max: usize,
) -> Result<Scanned> {
    let mut count = 0;
    let mut typed = Typed {
        framing: Framing::None,
        range: None,
        content_range: None,
    };
    // What the loop carries is kept small (every value it keeps live is a
    // register): the content-length with a sentinel for none (a length has
    // at most 16 digits), and three flags in one byte.
    const NO_LENGTH: u64 = u64::MAX;
    const CHUNKED: u8 = 1;
    // A content-range seen (`bytes */N` gives no typed value to tell).
    const RANGED: u8 = 2;
    // A name past the first INLINE that may repeat an earlier one.
    const RECHECK: u8 = 4;
    let mut length = NO_LENGTH;
    let mut flags = 0u8;
    let mut seen = 0u64;
    let len = buf.len();
    while pos < len {
        let colon = scan_fast16(buf, pos, tables::NAME, bad_name);
        // The end of the line, scanned from its start: name bytes and `:`
        // are all VALUE bytes, so for a well-formed line this is the end
        // of the value, and this scan need not wait for the name's (the two
        // run side by side instead of one after the other).
        let end = scan_fast(buf, pos, tables::VALUE, bad_value);
        if count == max || colon == pos || buf.get(colon) != Some(&b':') {
            return Err(header_error(buf, pos, count, max));
        }
        let next = if end == len {
            end
        } else if buf[end] == b'\r' && buf.get(end + 1) == Some(&b'\n') {
            end + 2
        } else {
            return Err(header_error(buf, pos, count, max));
        };
        // The value, without the optional whitespace around it: usually
        // one space before it and none after, the one branch taken.
        let mut start = colon + 1 + usize::from(buf.get(colon + 1) == Some(&b' '));
        let mut stop = end;
        if buf.get(start).is_some_and(|&c| is_ows(c)) | is_ows(buf[end - 1]) {
            (start, stop) = trim_ows(buf, start, end);
        }
        let name = &buf[pos..colon];
        let value = &buf[start..stop];
        // The typed headers are recognised on the name as sent, before it is
        // lowercased in place (reading bytes just written one by one is slow).
        match name.len() {
            14 if is_known(buf, pos, &CONTENT_LENGTH) => {
                if length != NO_LENGTH {
                    return Err(Error::DuplicateHeader(show(b"content-length")));
                }
                length = parse_content_length(value)?;
            }
            17 if is_known(buf, pos, &TRANSFER_ENCODING) => {
                if value != b"chunked" {
                    return Err(Error::BadTransferEncoding(show(value)));
                }
                if flags & CHUNKED != 0 {
                    return Err(Error::DuplicateHeader(show(b"transfer-encoding")));
                }
                flags |= CHUNKED;
            }
            // A range the server cannot serve is ignored (RFC 9110 §14.2),
            // never refused.
            5 if is_known(buf, pos, &RANGE) => typed.range = Range::parse(value).ok(),
            13 if is_known(buf, pos, &CONTENT_RANGE) => {
                if flags & RANGED != 0 {
                    return Err(Error::DuplicateHeader(show(b"content-range")));
                }
                flags |= RANGED;
                typed.content_range = ContentRange::parse_header(value)?;
            }
            _ => {}
        }
        let bit = 1u64 << name_hash(&buf[pos..colon]);
        lowercase_name(buf, pos, colon);
        if UNIQUE {
            // Duplicates: a 64-bit filter of the names seen so far; the
            // names are compared only when this one's bit is already set,
            // with the names kept here at once, and with those past them
            // (rare) after the last line.
            let name = &buf[pos..colon];
            if seen & bit != 0 {
                if spans[..count.min(INLINE)]
                    .iter()
                    .any(|s| buf[s.start as usize..s.colon as usize] == *name)
                {
                    return Err(Error::DuplicateHeader(show(name)));
                }
                if count > INLINE {
                    flags |= RECHECK;
                }
            }
            seen |= bit;
        }
        // Past the first INLINE, into the spare slot: no branch.
        spans[count.min(INLINE)] = Span {
            start: pos as u16,
            colon: colon as u16,
            end: stop as u16,
        };
        count += 1;
        pos = next;
    }
    // Where the lines past the first INLINE start: after the line of the
    // last one kept.
    let rest = match count > INLINE {
        true => line_after(buf, spans[INLINE - 1].end as usize),
        false => len,
    };
    if flags & RECHECK != 0
        && let Some(name) = repeated_name(&buf[rest..])
    {
        return Err(Error::DuplicateHeader(show(name)));
    }
    typed.framing = match (length, flags & CHUNKED != 0) {
        (NO_LENGTH, false) => Framing::None,
        (NO_LENGTH, true) => Framing::Chunked,
        (_, true) => return Err(Error::ContentLengthAndChunked),
        (n, false) => Framing::Length(n),
    };
    Ok(Scanned {
        count,
        rest,
        typed,
        seen: if UNIQUE { seen } else { u64::MAX },
    })
}

/// Where the line after the one that holds `buf[at]` starts.
#[cold]
fn line_after(buf: &[u8], at: usize) -> usize {
    memchr::memchr(b'\n', &buf[at..]).map_or(buf.len(), |i| at + i + 1)
}

/// The first name among the header lines past the first [`INLINE`]
/// (`lines`, validated and lowercased) that one of those lines before it
/// has too; their names were already compared with the first ones'.
#[cold]
#[inline(never)]
fn repeated_name(lines: &[u8]) -> Option<&[u8]> {
    let names = || lines.split(|&b| b == b'\n').map(|line| split_line(line).0);
    names()
        .enumerate()
        .find(|&(i, name)| names().take(i).any(|earlier| earlier == name))
        .map(|(_, name)| name)
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
fn header_error(buf: &mut [u8], pos: usize, count: usize, max: usize) -> Error {
    let end = match next_line(buf, pos) {
        Ok((end, _)) => end,
        Err(e) => return e,
    };
    if count == max {
        return Error::TooManyHeaders(max);
    }
    let line = &mut buf[pos..end];
    let Some(colon) = memchr::memchr(b':', line) else {
        return Error::BadHeaderLine(show(line));
    };
    let (name, value) = line.split_at_mut(colon);
    let value = trim_start_ows(&value[1..]);
    if name.is_empty() || !all_in(name, tables::NAME) {
        return Error::BadHeaderName(show(name));
    }
    name.make_ascii_lowercase();
    if !all_in(value, tables::VALUE) {
        return Error::BadHeaderValue {
            name: short(ascii(name)),
            value: show(value),
        };
    }
    Error::BadHeaderLine(show(line))
}

/// A name (validated bytes) for an error message: at most 64 bytes.
fn short(name: &str) -> String {
    match name.get(..64) {
        Some(head) if name.len() > 64 => format!("{head}..."),
        _ => name.to_owned(),
    }
}

/// The rules of [`scan_uri`] for a path, one check at a time.
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
        if (c.is_empty() && !last)
            || !all_in(c, tables::PATH)
            || is_dots(c)
            || (c.contains(&b'%') && !escapes_ok(c))
        {
            return false;
        }
    }
    true
}

/// Checks a URI as [`parse_uri`] does, without splitting it (an outgoing
/// request's).
pub(crate) fn check_uri(uri: &[u8]) -> Result<()> {
    match scan_uri(uri, 0) {
        Some(m) if m.end == uri.len() => Ok(()),
        _ => Err(Error::BadUri(show(uri))),
    }
}

/// Splits and validates a URI: path components and query against their
/// tables, no empty component but a trailing one, no `.` or `..`
/// component, escapes that decode to what a component may hold.
///
/// ```
/// use degu_core::parse_uri;
/// assert_eq!(parse_uri(b"/a%20b/c?x=[1]").unwrap(), ("/a%20b/c", Some("x=[1]")));
/// assert!(parse_uri(b"/a/../b").is_err());
/// assert!(parse_uri(b"/a%2Fb").is_err()); // an escaped `/`
/// ```
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

/// The method at the start of a request line, and where its URI starts:
/// the first eight bytes read as one number and compared, GET first.
#[inline(always)]
fn method_of(line: &[u8]) -> Option<(Method, usize)> {
    const fn word(name: &[u8]) -> u64 {
        let mut w = [0u8; 8];
        let mut i = 0;
        while i < name.len() {
            w[i] = name[i];
            i += 1;
        }
        u64::from_le_bytes(w)
    }
    const fn mask(n: usize) -> u64 {
        if n == 8 {
            u64::MAX
        } else {
            (1u64 << (8 * n)) - 1
        }
    }
    let Some(head) = line.get(..8) else {
        return short_method(line);
    };
    let w = u64::from_le_bytes(head.try_into().ok()?);
    let m4 = w & mask(4);
    Some(if m4 == word(b"GET ") {
        (Method::Get, 4)
    } else if m4 == word(b"PUT ") {
        (Method::Put, 4)
    } else if w & mask(5) == word(b"POST ") {
        (Method::Post, 5)
    } else if w & mask(5) == word(b"HEAD ") {
        (Method::Head, 5)
    } else if w & mask(7) == word(b"DELETE ") {
        (Method::Delete, 7)
    } else if w & mask(6) == word(b"PATCH ") {
        (Method::Patch, 6)
    } else if w == word(b"OPTIONS ") {
        (Method::Options, 8)
    } else {
        return None;
    })
}

/// [`method_of`] for a line shorter than eight bytes (never a request
/// line the parser takes, but its error names the method).
#[cold]
fn short_method(line: &[u8]) -> Option<(Method, usize)> {
    let sp = memchr::memchr(b' ', line)?;
    Method::parse(&line[..sp]).ok().map(|m| (m, sp + 1))
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
    let Some((_, uri_start)) = method_of(line) else {
        return match memchr::memchr(b' ', line) {
            Some(sp) => Error::BadMethod(show(&line[..sp])),
            None => Error::BadRequestLine(show(line)),
        };
    };
    let Some(sp) = memchr::memchr(b' ', &line[uri_start..]).map(|i| uri_start + i) else {
        return Error::BadRequestLine(show(line));
    };
    let protocol = &line[sp + 1..];
    if protocol != b"HTTP/1.1" && protocol != b"HTTP/1.0" {
        return Error::BadProtocol(show(protocol));
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

/// Refuses a request body GET or HEAD declares, and chunked framing in an
/// HTTP/1.0 request: HTTP/1.0 has none, so such a request's framing is
/// faulty (RFC 9112 §6.1), whatever else it says.
fn check_body(method: Method, version: Version, framing: Framing) -> Result<()> {
    if method.forbids_body() {
        return Err(Error::BodyNotAllowed(method));
    }
    if version == Version::Http10 && framing == Framing::Chunked {
        return Err(Error::BadTransferEncoding(
            "\"chunked\" in an HTTP/1.0 request".into(),
        ));
    }
    Ok(())
}

/// Parses a request preamble (without its final `\r\n\r\n`), with at
/// most [`MAX_HEADERS`] headers.
///
/// ```
/// use degu_core::{parse_request, Framing, Method, Version};
/// let mut buf = *b"PATCH /foo/b%20r?x=[1] HTTP/1.1\r\nContent-Length: 5\r\nHost:  a ";
/// let p = parse_request(&mut buf).unwrap();
/// assert_eq!((p.method, p.version), (Method::Patch, Version::Http11));
/// assert_eq!(p.path_components().collect::<Vec<_>>(), ["foo", "b%20r"]);
/// assert_eq!(p.query, Some("x=[1]"));
/// assert_eq!(p.headers.get("host"), Some("a"));
/// assert_eq!(p.typed.framing, Framing::Length(5));
/// ```
#[inline]
pub fn parse_request(buf: &mut [u8]) -> Result<RequestPreamble<'_>> {
    parse_request_with(buf, MAX_HEADERS)
}

/// Parses a request preamble as [`parse_request`] does, with at most
/// `max_headers` headers (more is [`Error::TooManyHeaders`]).
#[inline]
pub fn parse_request_with(buf: &mut [u8], max_headers: usize) -> Result<RequestPreamble<'_>> {
    check_len(buf)?;
    let Some((method, uri_start)) = method_of(buf) else {
        return Err(request_line_error(buf));
    };
    let Some(uri) = scan_uri(buf, uri_start) else {
        return Err(request_line_error(buf));
    };
    // ` HTTP/1.` as one number, then the minor version and the line's end.
    let version = match buf.get(uri.end..uri.end + 9) {
        Some(v) if v[..8] == *b" HTTP/1." && v[8] == b'1' => Version::Http11,
        Some(v) if v[..8] == *b" HTTP/1." && v[8] == b'0' => Version::Http10,
        _ => return Err(request_line_error(buf)),
    };
    let after = uri.end + 9;
    let next = match buf.get(after..after + 2) {
        None if after == buf.len() => after,
        Some(b"\r\n") => after + 2,
        _ => return Err(request_line_error(buf)),
    };
    let mut spans = [Span::default(); INLINE + 1];
    let scanned = scan_headers::<true>(buf, next, &mut spans, max_headers)?;
    if scanned.typed.framing != Framing::None {
        check_body(method, version, scanned.typed.framing)?;
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
        version,
        headers: RawHeaders {
            text: buf,
            spans,
            len: scanned.count as u16,
            rest: scanned.rest as u16,
            seen: scanned.seen,
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
    if line.len() < 12 || !(line.starts_with(b"HTTP/1.1 ") || line.starts_with(b"HTTP/1.0 ")) {
        return match memchr::memchr(b' ', line) {
            Some(sp) if &line[..sp] != b"HTTP/1.1" && &line[..sp] != b"HTTP/1.0" => {
                Error::BadProtocol(show(&line[..sp]))
            }
            _ => Error::BadStatusLine(show(line)),
        };
    }
    let code = &line[9..12];
    if !matches!(code, [b'1'..=b'5', b'0'..=b'9', b'0'..=b'9']) {
        return Error::BadStatus(show(code));
    }
    if line.len() > 12 && line[12] != b' ' {
        return Error::BadStatusLine(show(line));
    }
    Error::BadReason(show(line.get(13..).unwrap_or_default()))
}

/// A validated reason phrase as `&str`: the usual `OK` without the call
/// to the UTF-8 validation (it costs more than the rest of a minimal status
/// line), any other through [`ascii`].
#[inline(always)]
fn reason_str(reason: &[u8]) -> &str {
    if reason == b"OK" { "OK" } else { ascii(reason) }
}

/// The minor version (`b'0'` or `b'1'`) and the status code of a status
/// line that starts `HTTP/1.x NNN`: the version as one word compare, the
/// code's digits as three range checks.
#[inline(always)]
fn status_line(buf: &[u8]) -> Option<(u8, u16)> {
    let head: &[u8; 12] = buf.first_chunk()?;
    let (version, code) = (head.first_chunk::<9>()?, head.last_chunk::<3>()?);
    // `HTTP/1.0` and `HTTP/1.1` differ in one bit of their last byte.
    let word = u64::from_le_bytes(*version.first_chunk()?);
    if word | 1 << 56 != u64::from_le_bytes(*b"HTTP/1.1") || version[8] != b' ' {
        return None;
    }
    let [a, b, c] = code.map(|d| d.wrapping_sub(b'0'));
    if (a.wrapping_sub(1) < 5) & (b < 10) & (c < 10) {
        Some((
            version[7],
            u16::from(a) * 100 + u16::from(b) * 10 + u16::from(c),
        ))
    } else {
        None
    }
}

/// Parses a response preamble (without its final `\r\n\r\n`), as a
/// client reads one from a server it chose: `HTTP/1.1` or `HTTP/1.0`, any
/// reason phrase (visible ASCII, space, tab; empty too), up to
/// [`MAX_RESPONSE_HEADERS`] headers, repeated headers (`set-cookie`) but
/// for the framing headers and `content-range`.
///
/// ```
/// use degu_core::{parse_response, Framing, Version};
/// let mut buf = *b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked";
/// let p = parse_response(&mut buf).unwrap();
/// assert_eq!((p.status, p.reason), (200, "OK"));
/// assert_eq!(p.typed.framing, Framing::Chunked);
/// let mut buf = *b"HTTP/1.0 422 \r\nSet-Cookie: a=1\r\nSet-Cookie: b=2";
/// let p = parse_response(&mut buf).unwrap();
/// assert_eq!((p.version, p.status, p.reason), (Version::Http10, 422, ""));
/// assert_eq!(p.headers.get_all("set-cookie").collect::<Vec<_>>(), ["a=1", "b=2"]);
/// ```
pub fn parse_response(buf: &mut [u8]) -> Result<ResponsePreamble<'_>> {
    check_len(buf)?;
    let Some((minor, status)) = status_line(buf) else {
        return Err(status_line_error(buf));
    };
    // `SP reason`, the reason possibly empty; a bare code is taken too.
    let (reason_start, reason_end) = match buf.get(12) {
        Some(b' ') => (13, scan_fast(buf, 13, tables::REASON, bad_value)),
        _ => (12, 12),
    };
    let next = match buf.get(reason_end..) {
        Some([]) => reason_end,
        Some([b'\r', b'\n', ..]) => reason_end + 2,
        _ => return Err(status_line_error(buf)),
    };
    let mut spans = [Span::default(); INLINE + 1];
    let scanned = scan_headers::<false>(buf, next, &mut spans, MAX_RESPONSE_HEADERS)?;
    let buf = &*buf;
    Ok(ResponsePreamble {
        version: if minor == b'1' {
            Version::Http11
        } else {
            Version::Http10
        },
        status,
        reason: reason_str(buf.get(reason_start..reason_end).unwrap_or_default()),
        headers: RawHeaders {
            text: buf,
            spans,
            len: scanned.count as u16,
            rest: scanned.rest as u16,
            seen: scanned.seen,
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
                            scan_fast(&buf, 0, class, bad_value)
                        } else {
                            scan_fast(&buf, 0, class, bad_name)
                        };
                        assert_eq!(fast, expected, "class {class} byte {b} at {at} of {len}");
                        let fast16 = if class == tables::VALUE {
                            scan_fast16(&buf, 0, class, bad_value)
                        } else {
                            scan_fast16(&buf, 0, class, bad_name)
                        };
                        assert_eq!(fast16, expected, "class {class} byte {b} at {at} of {len}");
                        assert_eq!(scan(&buf, 0, class), expected);
                    }
                }
            }
        }
    }
}
