//! Owned headers with lowercase names, for outgoing and incoming messages.

use std::fmt;

use crate::error::{Error, Result, show};
use crate::parse::{Framing, MAX_HEADERS, RawHeaders, parse_content_length};
use crate::range::{ContentRange, Range};
use crate::tables::{self, all_in};

/// Headers: lowercase names, no duplicates, every name and value checked
/// against its table when inserted, in insertion order.
///
/// The typed headers are checked too: `content-length` (1 to 16 digits),
/// `transfer-encoding` (exactly `chunked`), `range`, `content-range`.
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
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Headers {
    items: Vec<(String, String)>,
}

/// Checks an outgoing header name and value.
pub fn check_header(name: &str, value: &str) -> Result<()> {
    if name.is_empty() || !all_in(name.as_bytes(), tables::LOWER_NAME) {
        return Err(Error::BadHeaderName(show(name.as_bytes())));
    }
    if value.is_empty() || !all_in(value.as_bytes(), tables::VALUE) {
        return Err(Error::BadHeaderValue {
            name: name.to_owned(),
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
        "range" => {
            Range::parse(value.as_bytes())?;
        }
        "content-range" => {
            ContentRange::parse_header(value.as_bytes())?;
        }
        _ => {}
    }
    Ok(())
}

impl Headers {
    /// No headers.
    pub fn new() -> Headers {
        Headers { items: Vec::new() }
    }

    /// Copies parsed (already validated) headers.
    pub fn from_raw(raw: &RawHeaders<'_>) -> Headers {
        Headers {
            items: raw
                .iter()
                .map(|(n, v)| (n.to_owned(), v.to_owned()))
                .collect(),
        }
    }

    /// Builds headers from pairs, checking each.
    pub fn from_pairs<N, V>(pairs: impl IntoIterator<Item = (N, V)>) -> Result<Headers>
    where
        N: Into<String>,
        V: Into<String>,
    {
        let mut h = Headers::new();
        for (n, v) in pairs {
            h.insert(n, v)?;
        }
        Ok(h)
    }

    /// Adds a header; an error for a bad name or value or a duplicate.
    pub fn insert(&mut self, name: impl Into<String>, value: impl Into<String>) -> Result<()> {
        let (name, value) = (name.into(), value.into());
        check_header(&name, &value)?;
        if self.contains(&name) {
            return Err(Error::DuplicateHeader(show(name.as_bytes())));
        }
        self.items.push((name, value));
        Ok(())
    }

    /// Adds or replaces a header; returns the value it replaced.
    pub fn set(
        &mut self,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> Result<Option<String>> {
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

    /// The value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.items
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// True when `name` is present.
    pub fn contains(&self, name: &str) -> bool {
        self.items.iter().any(|(n, _)| n == name)
    }

    /// Removes `name`; returns its value.
    pub fn remove(&mut self, name: &str) -> Option<String> {
        let i = self.items.iter().position(|(n, _)| n == name)?;
        Some(self.items.remove(i).1)
    }

    /// The pairs in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.items.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// Number of headers.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
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
    /// An error for more than [`MAX_HEADERS`], which no peer would accept.
    pub fn write_to(&self, out: &mut Vec<u8>) -> Result<()> {
        if self.items.len() > MAX_HEADERS {
            return Err(Error::TooManyHeaders);
        }
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
