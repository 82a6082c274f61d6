//! Owned headers with lowercase names, for outgoing and incoming messages.

use std::borrow::Cow;
use std::fmt;

use crate::error::{Error, Result, show};
use crate::parse::{Framing, MAX_RESPONSE_HEADERS, RawHeaders, parse_content_length};
use crate::range::{ContentRange, Range};
use crate::tables::{self, all_in};

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
/// Names and values are `Cow<'static, str>`: a `&'static str` (a literal)
/// is kept without a copy, a `String` is moved in, so a response built
/// from literals allocates nothing per header. Borrowed non-static text
/// goes in as `s.to_owned()`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Headers {
    items: Vec<(Cow<'static, str>, Cow<'static, str>)>,
}

/// The static spelling of a common header name, so that parsed headers
/// with these names need no allocation for the name. Bucketed by length,
/// so a lookup compares with at most a few names.
fn known_name(name: &str) -> Option<&'static str> {
    let candidates: &[&'static str] = match name.len() {
        4 => &["host", "date", "etag"],
        5 => &["range"],
        6 => &["accept", "cookie", "origin", "server", "expect"],
        7 => &["referer"],
        8 => &["location"],
        10 => &["connection", "user-agent", "keep-alive"],
        12 => &["content-type"],
        13 => &[
            "content-range",
            "cache-control",
            "last-modified",
            "authorization",
            "accept-ranges",
            "if-none-match",
        ],
        14 => &["content-length"],
        15 => &["accept-encoding", "accept-language"],
        16 => &["content-encoding"],
        17 => &["transfer-encoding", "if-modified-since"],
        25 => &["upgrade-insecure-requests"],
        _ => &[],
    };
    candidates.iter().copied().find(|k| *k == name)
}

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

/// Sets `slot` to `text`, in its own string when it has one.
fn refill(slot: &mut Cow<'static, str>, text: &str) {
    match slot {
        Cow::Owned(s) => {
            s.clear();
            s.push_str(text);
        }
        Cow::Borrowed(_) => *slot = Cow::Owned(text.to_owned()),
    }
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
        Headers { items: Vec::new() }
    }

    /// Copies parsed (already validated) headers. Common names are kept
    /// as literals (no allocation); other names and every value are copied.
    pub fn from_raw(raw: &RawHeaders<'_>) -> Headers {
        let mut h = Headers {
            items: Vec::with_capacity(raw.len()),
        };
        h.refill_from_raw(raw);
        h
    }

    /// Replaces every header with the parsed ones, reusing this value's
    /// storage: the list and any owned name or value strings already here
    /// are refilled rather than allocated again. A server refills one
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
        if raw.is_empty() {
            self.items.clear();
            return;
        }
        let mut k = 0;
        for (n, v) in raw.iter() {
            match self.items.get_mut(k) {
                Some((name, value)) => {
                    // The name the last message had here (a peer sending
                    // the same headers on a kept-alive connection) stays.
                    // Else an owned string here is reused, whatever the
                    // name; otherwise a common name needs none.
                    if **name != *n {
                        match (&*name, known_name(n)) {
                            (Cow::Borrowed(_), Some(known)) => *name = Cow::Borrowed(known),
                            _ => refill(name, n),
                        }
                    }
                    refill(value, v);
                }
                None => {
                    let name = match known_name(n) {
                        Some(known) => Cow::Borrowed(known),
                        None => Cow::Owned(n.to_owned()),
                    };
                    self.items.push((name, Cow::Owned(v.to_owned())));
                }
            }
            k += 1;
        }
        self.items.truncate(k);
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
        self.items.push((name, value));
        Ok(())
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
        self.items.push((name, value));
        Ok(())
    }

    /// Every value of `name`, in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.items
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| &**v)
    }

    /// Adds a header checked at compile time ([`StaticHeader`]): only the
    /// duplicate check is left to do.
    pub fn insert_static(&mut self, header: StaticHeader) -> Result<()> {
        if self.contains(header.name) {
            return Err(Error::DuplicateHeader(show(header.name.as_bytes())));
        }
        self.items
            .push((Cow::Borrowed(header.name), Cow::Borrowed(header.value)));
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
        match self.items.iter_mut().find(|(n, _)| *n == name) {
            Some((_, v)) => Ok(Some(std::mem::replace(v, value))),
            None => {
                self.items.push((name, value));
                Ok(None)
            }
        }
    }

    /// The value of `name` (the first, when it is repeated).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.items
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| &**v)
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
        self.items.iter().any(|(n, _)| n == name)
    }

    /// Removes `name`; returns its value.
    pub fn remove(&mut self, name: &str) -> Option<Cow<'static, str>> {
        let i = self.items.iter().position(|(n, _)| n == name)?;
        Some(self.items.remove(i).1)
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
        self.items
            .retain(|(n, _)| !HOP_BY_HOP.contains(&&**n) && !named.iter().any(|t| t == n));
    }

    /// The pairs in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.items.iter().map(|(n, v)| (&**n, &**v))
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

    /// Removes every header.
    pub fn clear(&mut self) {
        self.items.clear();
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
        match (self.content_length(), self.is_chunked()) {
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
        let len: usize = self.items.iter().map(|(n, v)| n.len() + v.len() + 4).sum();
        out.reserve(len);
        for (n, v) in &self.items {
            out.extend_from_slice(n.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(v.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        Ok(())
    }
}

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

/// The pairs in order, by value: forwarding headers moves them, without
/// copying.
impl IntoIterator for Headers {
    type Item = (Cow<'static, str>, Cow<'static, str>);
    type IntoIter = std::vec::IntoIter<(Cow<'static, str>, Cow<'static, str>)>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}

#[cfg(test)]
mod tests {
    use super::known_name;

    #[test]
    fn known_names_are_found_in_their_bucket() {
        let names = [
            "host",
            "date",
            "etag",
            "range",
            "accept",
            "cookie",
            "origin",
            "server",
            "expect",
            "referer",
            "location",
            "connection",
            "user-agent",
            "keep-alive",
            "content-type",
            "content-range",
            "cache-control",
            "last-modified",
            "authorization",
            "accept-ranges",
            "if-none-match",
            "content-length",
            "accept-encoding",
            "accept-language",
            "content-encoding",
            "transfer-encoding",
            "if-modified-since",
            "upgrade-insecure-requests",
        ];
        for n in names {
            assert_eq!(known_name(n), Some(n));
        }
        for n in ["x-host", "hosts", "", "content-lengths", "Host"] {
            assert_eq!(known_name(n), None);
        }
    }
}
