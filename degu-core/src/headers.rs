//! Owned headers with lowercase names, for outgoing and incoming messages.

use std::borrow::Cow;
use std::fmt;

use crate::error::{Error, Result, show};
use crate::parse::{Framing, MAX_RESPONSE_HEADERS, RawHeaders, parse_content_length};
use crate::range::{ContentRange, Range};
use crate::tables::{self, all_in};
use crate::write::write_header_line;

/// Headers: lowercase names, every name and value checked against its
/// table when inserted, in insertion order; no name twice, unless added
/// with [`append`](Headers::append) (a response may repeat `set-cookie`).
///
/// The typed headers are checked too: `content-length` (1 to 16 digits),
/// `transfer-encoding` (exactly `chunked`), `content-range`; a `range`
/// is sent as it is (a receiver ignores one it cannot use).
///
/// ```
/// use degu_core::Headers;
/// let mut h = Headers::new();
/// h.insert("content-type", "text/plain").unwrap();
/// h.insert("content-length", "12").unwrap();
/// assert_eq!(h.content_length(), Some(12));
/// assert!(h.insert("Content-Type", "x").is_err()); // outgoing names are lowercase
/// assert!(h.insert("content-type", "x").is_err()); // duplicate
/// assert_eq!(h.set("content-type", "text/html").unwrap().as_deref(), Some("text/plain"));
/// ```
///
/// A name or value given as a `&'static str` (a literal, a
/// [`StaticHeader`]) is kept as it is, without a copy; any other text
/// (parsed headers, `String`s) is copied into one buffer that the list
/// keeps, so a response built from literals allocates nothing per header,
/// and parsed headers cost two allocations however many there are (none
/// when a list is refilled, see [`refill_from_raw`](Headers::refill_from_raw)).
#[derive(Clone, Default)]
pub struct Headers {
    items: Vec<(Piece, Piece)>,
    /// The text of every [`Piece::Own`]: ASCII only (each piece was
    /// checked against its table, by the parser or by [`check_header`]).
    bytes: Vec<u8>,
    /// Bytes of `bytes` no piece refers to any more (removed or replaced).
    dead: usize,
}

/// Where a name or a value is.
#[derive(Clone, Copy, Debug)]
enum Piece {
    Static(&'static str),
    /// `start..end` of [`Headers::bytes`].
    Own(usize, usize),
}

/// Dead bytes a list keeps before it compacts its buffer (and then only
/// when they are most of it).
const COMPACT_AFTER: usize = 1024;

/// True when the comma-separated `list` (a header value such as
/// `connection`'s) has `token` in it, compared without regard to case,
/// optional whitespace around each element ignored (RFC 9110 §5.6.1).
///
/// ```
/// assert!(degu_core::headers::has_token("keep-alive, Close", "close"));
/// assert!(!degu_core::headers::has_token("closed", "close"));
/// ```
pub fn has_token(list: &str, token: &str) -> bool {
    list.split(',')
        .any(|t| t.trim_matches([' ', '\t']).eq_ignore_ascii_case(token))
}

/// The headers that concern one connection only, which a proxy never
/// passes on (RFC 9110 §7.6.1, with RFC 2616's `trailer` and the
/// proxy-authentication pair): see [`Headers::remove_hop_by_hop`].
pub const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "upgrade",
];

/// True for a value that starts or ends with a space or a tab (which a
/// receiver strips): an outgoing value is sent as it will be read.
fn padded(value: &[u8]) -> bool {
    matches!(value.first(), Some(b' ' | b'\t')) || matches!(value.last(), Some(b' ' | b'\t'))
}

/// Checks an outgoing header name and value: a lowercase name; a value of
/// visible ASCII, spaces and tabs, without whitespace around it (it may be
/// empty); the typed headers' values.
pub fn check_header(name: &str, value: &str) -> Result<()> {
    if name.is_empty() || !all_in(name.as_bytes(), tables::LOWER_NAME) {
        return Err(Error::BadHeaderName(show(name.as_bytes())));
    }
    if !all_in(value.as_bytes(), tables::VALUE) || padded(value.as_bytes()) {
        // The name (ASCII, checked above) at most 64 bytes, as in the
        // parser's messages.
        let name = match name.get(..64) {
            Some(head) if name.len() > 64 => format!("{head}..."),
            _ => name.to_owned(),
        };
        return Err(Error::BadHeaderValue {
            name,
            value: show(value.as_bytes()),
        });
    }
    match name {
        "content-length" => {
            parse_content_length(value.as_bytes())?;
        }
        "transfer-encoding" if value != "chunked" => {
            return Err(Error::BadTransferEncoding(show(value.as_bytes())));
        }
        "content-range" => {
            ContentRange::parse_header(value.as_bytes())?;
        }
        _ => {}
    }
    Ok(())
}

/// A header checked when the program is compiled: a `&'static` name and
/// value, validated by a `const fn`, that [`Headers::insert_static`] adds
/// without checking them again on every response.
///
/// ```
/// use degu_core::{Headers, StaticHeader};
/// const TEXT: StaticHeader = StaticHeader::new("content-type", "text/plain");
/// let mut h = Headers::new();
/// h.insert_static(TEXT).unwrap();
/// assert_eq!(h.get("content-type"), Some("text/plain"));
/// assert!(h.insert_static(TEXT).is_err()); // still no duplicates
/// ```
///
/// A bad name or value does not compile:
///
/// ```compile_fail
/// const BAD: degu_core::StaticHeader = degu_core::StaticHeader::new("Content-Type", "x");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StaticHeader {
    name: &'static str,
    value: &'static str,
}

impl StaticHeader {
    /// Checks `name` and `value` as [`check_header`] does, at compile time
    /// when used in a `const` (it panics otherwise). `content-length` must
    /// be 1 to 16 digits without a leading zero and `transfer-encoding`
    /// exactly `chunked`; `range` and `content-range` are refused here (use
    /// [`Headers::insert`] for them).
    pub const fn new(name: &'static str, value: &'static str) -> StaticHeader {
        let (n, v) = (name.as_bytes(), value.as_bytes());
        assert!(
            !n.is_empty() && tables::const_all_in(n, tables::LOWER_NAME),
            "bad header name"
        );
        assert!(
            tables::const_all_in(v, tables::VALUE)
                && (v.is_empty() || !(is_ows(v[0]) || is_ows(v[v.len() - 1]))),
            "bad header value"
        );
        if const_eq(n, b"content-length") {
            assert!(
                v.len() <= 16
                    && (v.len() == 1 || v[0] != b'0')
                    && tables::const_all_in(v, tables::DIGIT),
                "bad content-length"
            );
        } else if const_eq(n, b"transfer-encoding") {
            assert!(const_eq(v, b"chunked"), "transfer-encoding must be chunked");
        } else {
            assert!(
                !const_eq(n, b"range") && !const_eq(n, b"content-range"),
                "range and content-range are not static headers"
            );
        }
        StaticHeader { name, value }
    }

    /// The name.
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// The value.
    pub const fn value(&self) -> &'static str {
        self.value
    }
}

const fn is_ows(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

const fn const_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

impl Headers {
    /// No headers.
    pub fn new() -> Headers {
        Headers::default()
    }

    /// Copies parsed (already validated) headers: their lines in one
    /// piece, so two allocations in all (the list and its text).
    pub fn from_raw(raw: &RawHeaders<'_>) -> Headers {
        let mut items = Vec::with_capacity(raw.len());
        let bytes = Headers::places_into(&mut items, raw).to_vec();
        Headers {
            items,
            bytes,
            dead: 0,
        }
    }

    /// Replaces every header with the parsed ones, reusing this value's
    /// storage (its list and its text buffer): a server refills one
    /// request's headers per connection this way, so a steady stream of
    /// requests allocates nothing for them.
    ///
    /// ```
    /// use degu_core::{Headers, parse_request};
    /// let mut h = Headers::new();
    /// let mut buf = *b"GET / HTTP/1.1\r\nHost: a\r\nX-Id: 1";
    /// h.refill_from_raw(&parse_request(&mut buf).unwrap().headers);
    /// let mut buf = *b"GET / HTTP/1.1\r\nX-Id: 2";
    /// h.refill_from_raw(&parse_request(&mut buf).unwrap().headers);
    /// assert_eq!(h.iter().collect::<Vec<_>>(), [("x-id", "2")]);
    /// ```
    pub fn refill_from_raw(&mut self, raw: &RawHeaders<'_>) {
        self.items.clear();
        self.bytes.clear();
        self.dead = 0;
        let region = Headers::places_into(&mut self.items, raw);
        self.bytes.extend_from_slice(region);
    }

    /// Appends the places of `raw`'s headers to `items`; returns the bytes
    /// they are places in.
    #[inline(always)]
    fn places_into<'a>(items: &mut Vec<(Piece, Piece)>, raw: &RawHeaders<'a>) -> &'a [u8] {
        raw.places(|n, v| items.push((Piece::Own(n.0, n.1), Piece::Own(v.0, v.1))))
    }

    /// The bytes of `p`.
    #[inline]
    fn raw(&self, p: Piece) -> &[u8] {
        match p {
            Piece::Static(s) => s.as_bytes(),
            Piece::Own(start, end) => self.bytes.get(start..end).unwrap_or_default(),
        }
    }

    /// The text of `p`.
    #[inline]
    fn text(&self, p: Piece) -> &str {
        match p {
            Piece::Static(s) => s,
            // ASCII (see `bytes`): the conversion cannot fail.
            Piece::Own(..) => std::str::from_utf8(self.raw(p)).unwrap_or_default(),
        }
    }

    /// `p` as a value of its own.
    fn take(&self, p: Piece) -> Cow<'static, str> {
        match p {
            Piece::Static(s) => Cow::Borrowed(s),
            Piece::Own(..) => Cow::Owned(self.text(p).to_owned()),
        }
    }

    /// Keeps `text`: a literal as it is, other text copied in (after a
    /// [`compact`](Self::compact), which moves the pieces in the list:
    /// never between keeping two pieces that are not in it yet).
    fn keep(&mut self, text: Cow<'static, str>) -> Piece {
        match text {
            Cow::Borrowed(s) => Piece::Static(s),
            Cow::Owned(s) => {
                let start = self.bytes.len();
                self.bytes.extend_from_slice(s.as_bytes());
                Piece::Own(start, self.bytes.len())
            }
        }
    }

    /// Counts `p`'s bytes as no longer used.
    fn forget(&mut self, p: Piece) {
        if let Piece::Own(start, end) = p {
            self.dead += end - start;
        }
    }

    /// Copies the text still used into a new buffer, when most of it is
    /// not (headers set or removed again and again).
    fn compact(&mut self) {
        if self.dead < COMPACT_AFTER || self.dead * 2 < self.bytes.len() {
            return;
        }
        let mut bytes = Vec::with_capacity(self.bytes.len() - self.dead);
        let old = &self.bytes;
        let mut moved = |p: &mut Piece| {
            if let Piece::Own(start, end) = *p {
                let at = bytes.len();
                bytes.extend_from_slice(old.get(start..end).unwrap_or_default());
                *p = Piece::Own(at, bytes.len());
            }
        };
        for (n, v) in &mut self.items {
            moved(n);
            moved(v);
        }
        self.bytes = bytes;
        self.dead = 0;
    }

    /// The index of the first header named `name`.
    #[inline]
    fn find(&self, name: &[u8]) -> Option<usize> {
        self.items.iter().position(|&(n, _)| self.raw(n) == name)
    }

    /// Builds headers from pairs, checking each.
    pub fn from_pairs<N, V>(pairs: impl IntoIterator<Item = (N, V)>) -> Result<Headers>
    where
        N: Into<Cow<'static, str>>,
        V: Into<Cow<'static, str>>,
    {
        let mut h = Headers::new();
        for (n, v) in pairs {
            h.insert(n, v)?;
        }
        Ok(h)
    }

    /// Adds a header; an error for a bad name or value or a duplicate.
    pub fn insert(
        &mut self,
        name: impl Into<Cow<'static, str>>,
        value: impl Into<Cow<'static, str>>,
    ) -> Result<()> {
        let (name, value) = (name.into(), value.into());
        check_header(&name, &value)?;
        if self.contains(&name) {
            return Err(Error::DuplicateHeader(show(name.as_bytes())));
        }
        self.push(name, value);
        Ok(())
    }

    fn push(&mut self, name: Cow<'static, str>, value: Cow<'static, str>) {
        self.compact();
        let name = self.keep(name);
        let value = self.keep(value);
        self.items.push((name, value));
    }

    /// Adds a header even when the name is there already, for the headers
    /// HTTP lets a message repeat (`set-cookie`, say); an error for a bad
    /// name or value, or for repeating `content-length`,
    /// `transfer-encoding` or `content-range`. [`get`](Self::get) gives
    /// the first value, [`get_all`](Self::get_all) every one.
    ///
    /// ```
    /// let mut h = degu_core::Headers::new();
    /// h.append("set-cookie", "a=1").unwrap();
    /// h.append("set-cookie", "b=2").unwrap();
    /// assert_eq!(h.get_all("set-cookie").collect::<Vec<_>>(), ["a=1", "b=2"]);
    /// assert!(h.append("content-length", "1").is_ok());
    /// assert!(h.append("content-length", "1").is_err());
    /// ```
    pub fn append(
        &mut self,
        name: impl Into<Cow<'static, str>>,
        value: impl Into<Cow<'static, str>>,
    ) -> Result<()> {
        let (name, value) = (name.into(), value.into());
        check_header(&name, &value)?;
        let single = matches!(
            &*name,
            "content-length" | "transfer-encoding" | "content-range"
        );
        if single && self.contains(&name) {
            return Err(Error::DuplicateHeader(show(name.as_bytes())));
        }
        self.push(name, value);
        Ok(())
    }

    /// Every value of `name`, in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.items
            .iter()
            .filter(move |&&(n, _)| self.raw(n) == name.as_bytes())
            .map(|&(_, v)| self.text(v))
    }

    /// Adds a header checked at compile time ([`StaticHeader`]): only the
    /// duplicate check is left to do.
    pub fn insert_static(&mut self, header: StaticHeader) -> Result<()> {
        if self.contains(header.name) {
            return Err(Error::DuplicateHeader(show(header.name.as_bytes())));
        }
        self.items
            .push((Piece::Static(header.name), Piece::Static(header.value)));
        Ok(())
    }

    /// Adds or replaces a header; returns the value it replaced.
    pub fn set(
        &mut self,
        name: impl Into<Cow<'static, str>>,
        value: impl Into<Cow<'static, str>>,
    ) -> Result<Option<Cow<'static, str>>> {
        let (name, value) = (name.into(), value.into());
        check_header(&name, &value)?;
        match self.find(name.as_bytes()) {
            Some(i) => {
                let old = std::mem::replace(&mut self.items[i].1, Piece::Static(""));
                let was = self.take(old);
                self.forget(old);
                self.compact();
                let value = self.keep(value);
                self.items[i].1 = value;
                Ok(Some(was))
            }
            None => {
                self.push(name, value);
                Ok(None)
            }
        }
    }

    /// The value of `name` (the first, when it is repeated).
    #[inline]
    pub fn get(&self, name: &str) -> Option<&str> {
        self.find(name.as_bytes())
            .map(|i| self.text(self.items[i].1))
    }

    /// True when `name`'s value is a comma-separated list with `token` in
    /// it, compared without regard to case (RFC 9110 §5.6.1: tokens such
    /// as `connection`'s options; optional whitespace around each).
    ///
    /// ```
    /// let h = degu_core::Headers::from_pairs([("connection", "keep-alive, Close")]).unwrap();
    /// assert!(h.has_token("connection", "close"));
    /// assert!(!h.has_token("connection", "clos"));
    /// assert!(!h.has_token("upgrade", "close"));
    /// ```
    pub fn has_token(&self, name: &str, token: &str) -> bool {
        self.get_all(name).any(|list| has_token(list, token))
    }

    /// True when `name` is present.
    pub fn contains(&self, name: &str) -> bool {
        self.contains_bytes(name.as_bytes())
    }

    /// [`contains`](Self::contains) for a name as bytes.
    pub(crate) fn contains_bytes(&self, name: &[u8]) -> bool {
        self.find(name).is_some()
    }

    /// Removes `name` (its first occurrence); returns its value.
    pub fn remove(&mut self, name: &str) -> Option<Cow<'static, str>> {
        let i = self.find(name.as_bytes())?;
        let (n, v) = self.items.remove(i);
        let was = self.take(v);
        self.forget(n);
        self.forget(v);
        Some(was)
    }

    /// Removes the headers a proxy must not pass on: those in
    /// [`HOP_BY_HOP`], and those the `connection` header names (RFC 9110
    /// §7.6.1). The framing headers stay: they describe the body, which
    /// the proxy passes on as it came.
    ///
    /// ```
    /// let mut h = degu_core::Headers::new();
    /// h.insert("connection", "close, x-secret").unwrap();
    /// h.insert("x-secret", "1").unwrap();
    /// h.insert("keep-alive", "timeout=5").unwrap();
    /// h.insert("accept", "*/*").unwrap();
    /// h.remove_hop_by_hop();
    /// assert_eq!(h.iter().collect::<Vec<_>>(), [("accept", "*/*")]);
    /// ```
    pub fn remove_hop_by_hop(&mut self) {
        let named: Vec<String> = self
            .get_all("connection")
            .flat_map(|v| v.split(','))
            .map(|t| t.trim_matches([' ', '\t']).to_ascii_lowercase())
            .filter(|t| !t.is_empty() && t != "content-length" && t != "transfer-encoding")
            .collect();
        let mut items = std::mem::take(&mut self.items);
        items.retain(|&(n, v)| {
            let name = self.text(n);
            let keep = !HOP_BY_HOP.contains(&name) && !named.iter().any(|t| t == name);
            if !keep {
                self.forget(n);
                self.forget(v);
            }
            keep
        });
        self.items = items;
    }

    /// The pairs in order, as bytes (for writing them out).
    pub(crate) fn iter_bytes(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.items.iter().map(|&(n, v)| (self.raw(n), self.raw(v)))
    }

    /// The pairs in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.items
            .iter()
            .map(|&(n, v)| (self.text(n), self.text(v)))
    }

    /// Number of headers.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// How many headers fit before the list grows.
    pub fn capacity(&self) -> usize {
        self.items.capacity()
    }

    /// Removes every header (the storage stays, for reuse).
    pub fn clear(&mut self) {
        self.items.clear();
        self.bytes.clear();
        self.dead = 0;
    }

    /// `content-length` as a number.
    pub fn content_length(&self) -> Option<u64> {
        self.get("content-length")
            .and_then(|v| parse_content_length(v.as_bytes()).ok())
    }

    /// True for `transfer-encoding: chunked`.
    pub fn is_chunked(&self) -> bool {
        self.get("transfer-encoding") == Some("chunked")
    }

    /// `range` as a [`Range`].
    pub fn range(&self) -> Option<Range> {
        self.get("range")
            .and_then(|v| Range::parse(v.as_bytes()).ok())
    }

    /// `content-range` as a [`ContentRange`].
    pub fn content_range(&self) -> Option<ContentRange> {
        self.get("content-range")
            .and_then(|v| ContentRange::parse(v.as_bytes()).ok())
    }

    /// The framing the headers declare; an error if they declare both.
    pub fn framing(&self) -> Result<Framing> {
        // One pass (every response's headers are looked at so), each name
        // told by its length first.
        let (mut length, mut te) = (None, None);
        for &(n, v) in &self.items {
            match self.raw(n) {
                b"content-length" if length.is_none() => length = Some(v),
                b"transfer-encoding" if te.is_none() => te = Some(v),
                _ => {}
            }
        }
        let length = length.and_then(|v| parse_content_length(self.raw(v)).ok());
        let chunked = te.is_some_and(|v| self.raw(v) == b"chunked");
        match (length, chunked) {
            (Some(_), true) => Err(Error::ContentLengthAndChunked),
            (Some(n), false) => Ok(Framing::Length(n)),
            (None, true) => Ok(Framing::Chunked),
            (None, false) => Ok(Framing::None),
        }
    }

    /// Appends `name: value\r\n` for every header (no final blank line).
    /// An error for more than [`MAX_RESPONSE_HEADERS`], which no Degu peer
    /// would accept (a request should have at most [`MAX_HEADERS`](crate::MAX_HEADERS)).
    pub fn write_to(&self, out: &mut Vec<u8>) -> Result<()> {
        if self.items.len() > MAX_RESPONSE_HEADERS {
            return Err(Error::TooManyHeaders(MAX_RESPONSE_HEADERS));
        }
        for (n, v) in self.iter_bytes() {
            write_header_line(out, n, v);
        }
        Ok(())
    }
}

impl PartialEq for Headers {
    /// The same pairs in the same order.
    fn eq(&self, other: &Headers) -> bool {
        self.items.len() == other.items.len() && self.iter().eq(other.iter())
    }
}

impl Eq for Headers {}

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<'a> IntoIterator for &'a Headers {
    type Item = (&'a str, &'a str);
    type IntoIter = Box<dyn Iterator<Item = (&'a str, &'a str)> + 'a>;
    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

/// The pairs in order, by value: literals as they are, other text copied
/// out.
impl IntoIterator for Headers {
    type Item = (Cow<'static, str>, Cow<'static, str>);
    type IntoIter = std::vec::IntoIter<(Cow<'static, str>, Cow<'static, str>)>;
    fn into_iter(self) -> Self::IntoIter {
        let pairs: Vec<_> = self
            .items
            .iter()
            .map(|&(n, v)| (self.take(n), self.take(v)))
            .collect();
        pairs.into_iter()
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::{COMPACT_AFTER, Headers, StaticHeader};
    use crate::parse::parse_request;

    #[test]
    fn literals_and_copies_read_and_compare_alike() {
        let mut a = Headers::new();
        a.insert("x-a", "1").unwrap();
        a.insert_static(StaticHeader::new("x-b", "2")).unwrap();
        let mut b = Headers::new();
        b.insert(String::from("x-a"), String::from("1")).unwrap();
        b.insert("x-b", String::from("2")).unwrap();
        assert_eq!(a, b);
        assert_eq!(b.get("x-a"), Some("1"));
        assert_eq!(b.iter().collect::<Vec<_>>(), [("x-a", "1"), ("x-b", "2")]);
        b.set("x-b", "3").unwrap();
        assert_ne!(a, b);
        let by_value: Vec<_> = b.into_iter().collect();
        assert!(matches!(by_value[1].1, Cow::Borrowed("3")));
        assert_eq!(by_value[0], (Cow::from("x-a"), Cow::from("1")));
    }

    #[test]
    fn removed_and_replaced_values_come_back_whole() {
        let mut buf = *b"GET / HTTP/1.1\r\nX-One: first\r\nX-Two: second";
        let mut h = Headers::from_raw(&parse_request(&mut buf).unwrap().headers);
        assert_eq!(h.set("x-one", "1").unwrap().as_deref(), Some("first"));
        assert_eq!(h.remove("x-two").as_deref(), Some("second"));
        assert_eq!(h.remove("x-two"), None);
        assert_eq!(h.iter().collect::<Vec<_>>(), [("x-one", "1")]);
    }

    #[test]
    fn text_set_again_and_again_is_compacted() {
        let mut h = Headers::new();
        h.insert("x-fixed", String::from("kept")).unwrap();
        for i in 0..10_000 {
            h.set("x-request-id", format!("request-{i:08}")).unwrap();
            if i % 3 == 0 {
                h.remove("x-other");
            } else {
                h.set("x-other", format!("{i}")).unwrap();
            }
        }
        assert_eq!(h.get("x-fixed"), Some("kept"));
        assert_eq!(h.get("x-request-id"), Some("request-00009999"));
        assert_eq!(h.get("x-other"), None); // removed at 9 999 (9 999 % 3 == 0)
        h.set("x-other", String::from("last")).unwrap();
        assert_eq!(h.get("x-other"), Some("last"));
        // Bounded by what is used and the compaction threshold, not by
        // the 10 000 values set.
        assert!(h.bytes.len() <= 2 * COMPACT_AFTER + 64, "{}", h.bytes.len());
    }

    #[test]
    fn owned_names_and_values_survive_a_compaction() {
        let mut h = Headers::new();
        // Dead text past the threshold, most of the buffer.
        for i in 0..200 {
            h.set("x-dead", format!("value-{i:08}")).unwrap();
        }
        // The name and the value are copied in one after the other, the
        // buffer compacted on the way.
        for i in 0..50 {
            let (name, value) = (format!("x-owned-{i}"), format!("v{i}"));
            h.insert(name.clone(), value.clone()).unwrap();
            assert_eq!(h.get(&name), Some(&*value), "{name}");
            h.set(name.clone(), format!("{value}-again")).unwrap();
            assert_eq!(h.get(&name), Some(&*format!("{value}-again")));
        }
        assert_eq!(h.get("x-dead"), Some("value-00000199"));
        assert_eq!(h.len(), 51);
        let live: usize = h.iter().map(|(n, v)| n.len() + v.len()).sum();
        assert_eq!(h.bytes.len() - h.dead, live - "x-dead".len());
    }

    #[test]
    fn a_refill_reuses_the_storage() {
        let mut h = Headers::new();
        let mut buf = *b"GET / HTTP/1.1\r\nHost: a\r\nX-Id: 12345";
        h.refill_from_raw(&parse_request(&mut buf).unwrap().headers);
        let (items, bytes) = (h.items.as_ptr(), h.bytes.as_ptr());
        let mut buf = *b"GET / HTTP/1.1\r\nhost: b\r\nx-id: 6";
        h.refill_from_raw(&parse_request(&mut buf).unwrap().headers);
        assert_eq!((h.items.as_ptr(), h.bytes.as_ptr()), (items, bytes));
        assert_eq!(h.iter().collect::<Vec<_>>(), [("host", "b"), ("x-id", "6")]);
        let mut buf = *b"GET / HTTP/1.1";
        h.refill_from_raw(&parse_request(&mut buf).unwrap().headers);
        assert!(h.is_empty());
    }
}
