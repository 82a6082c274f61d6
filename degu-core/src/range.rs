//! `Range` and `ContentRange`: the byte ranges of requests and of partial
//! responses.

use std::fmt;

use crate::error::{Error, Result, show};
use crate::parse::parse_decimal;

/// Largest value a 16-digit decimal can hold; bounds every length here.
pub const MAX_LENGTH: u64 = 9_999_999_999_999_999;

/// A byte range of a request: `start..stop` (stop exclusive), rendered as
/// `bytes=start-(stop-1)`; an open-ended `bytes=start-` ("from start to
/// the end"), the range whose stop is [`Range::OPEN_END`]; or a suffix
/// `bytes=-n`, the last `n` bytes ([`Range::last`]). A header with several
/// ranges, or one that does not parse, is ignored by the parser (RFC 9110
/// §14.2 lets a server answer such a request with the whole resource).
///
/// ```
/// use degu_core::Range;
/// let r = Range::new(0, 500).unwrap();
/// assert_eq!(r.to_string(), "bytes=0-499");
/// assert_eq!(r.content_length(300).unwrap(), 300); // clamped to the resource
/// assert_eq!(r.content_range(300).unwrap().to_string(), "bytes 0-299/300");
/// assert!(Range::new(300, 400).unwrap().content_range(300).is_err()); // 416
/// assert_eq!("bytes=5-9".parse::<Range>().unwrap(), Range::new(5, 10).unwrap());
/// let open: Range = "bytes=100-".parse().unwrap();
/// assert_eq!(open.content_range(300).unwrap().to_string(), "bytes 100-299/300");
/// assert_eq!(open.to_string(), "bytes=100-");
/// let last: Range = "bytes=-100".parse().unwrap();
/// assert_eq!(last, Range::last(100).unwrap());
/// assert_eq!(last.content_range(300).unwrap().to_string(), "bytes 200-299/300");
/// assert_eq!(last.content_range(30).unwrap().to_string(), "bytes 0-29/30");
/// assert!("bytes=0-1,5-6".parse::<Range>().is_err()); // several: not served
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Range(Spec);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Spec {
    /// `start..stop`.
    Bytes { start: u64, stop: u64 },
    /// The last `n` bytes.
    Last(u64),
}

impl Range {
    /// The stop of an open-ended range (`bytes=start-`).
    pub const OPEN_END: u64 = MAX_LENGTH + 1;

    /// `start..stop`; `start < stop <= MAX_LENGTH + 1` or an error.
    pub fn new(start: u64, stop: u64) -> Result<Range> {
        if start >= stop || stop > MAX_LENGTH + 1 {
            return Err(Error::BadRange(format!("start {start}, stop {stop}")));
        }
        Ok(Range(Spec::Bytes { start, stop }))
    }

    /// The last `n` bytes (`bytes=-n`), `n <= MAX_LENGTH`; `n` = 0 is a
    /// range no resource can satisfy.
    pub fn last(n: u64) -> Result<Range> {
        if n > MAX_LENGTH {
            return Err(Error::BadRange(format!("last {n}")));
        }
        Ok(Range(Spec::Last(n)))
    }

    /// First byte; none for a suffix range, which counts from the end.
    pub fn start(&self) -> Option<u64> {
        match self.0 {
            Spec::Bytes { start, .. } => Some(start),
            Spec::Last(_) => None,
        }
    }

    /// One past the last byte ([`OPEN_END`](Self::OPEN_END) for an
    /// open-ended range); none for a suffix range.
    pub fn stop(&self) -> Option<u64> {
        match self.0 {
            Spec::Bytes { stop, .. } => Some(stop),
            Spec::Last(_) => None,
        }
    }

    /// The length of a suffix range (`bytes=-n`); none for the others.
    pub fn suffix(&self) -> Option<u64> {
        match self.0 {
            Spec::Last(n) => Some(n),
            Spec::Bytes { .. } => None,
        }
    }

    /// The part of a resource of `total` bytes this range selects, as
    /// `start..stop` clamped to `total`; an error when it selects nothing
    /// (a 416): it starts at or past the end, or is a suffix of zero bytes
    /// or of an empty resource.
    pub fn resolve(&self, total: u64) -> Result<std::ops::Range<u64>> {
        let selected = match self.0 {
            Spec::Bytes { start, stop } if start < total => Some(start..stop.min(total)),
            Spec::Last(n) if n > 0 && total > 0 => Some(total - n.min(total)..total),
            _ => None,
        };
        selected.ok_or_else(|| Error::RangeNotSatisfiable {
            range: self.to_string(),
            total,
        })
    }

    /// Length of the selected part of a resource of `total` bytes.
    pub fn content_length(&self, total: u64) -> Result<u64> {
        let r = self.resolve(total)?;
        Ok(r.end - r.start)
    }

    /// The `content-range` answering this range for a resource of `total`
    /// bytes.
    pub fn content_range(&self, total: u64) -> Result<ContentRange> {
        let r = self.resolve(total)?;
        ContentRange::new(r.start, r.end, total)
    }

    /// Parses a header value: `bytes=START-END`, `bytes=START-` or
    /// `bytes=-N` (one range; decimal numbers of 1 to 16 digits).
    pub fn parse(value: &[u8]) -> Result<Range> {
        let err = || Error::BadRange(show(value));
        let rest = value.strip_prefix(b"bytes=").ok_or_else(err)?;
        let dash = memchr::memchr(b'-', rest).ok_or_else(err)?;
        let end_part = &rest[dash + 1..];
        if dash == 0 {
            let n = parse_decimal(end_part).ok_or_else(err)?;
            return Ok(Range(Spec::Last(n)));
        }
        let start = parse_decimal(&rest[..dash]).ok_or_else(err)?;
        if end_part.is_empty() {
            return Ok(Range(Spec::Bytes {
                start,
                stop: Range::OPEN_END,
            }));
        }
        let end = parse_decimal(end_part).ok_or_else(err)?;
        if end < start {
            return Err(err());
        }
        Ok(Range(Spec::Bytes {
            start,
            stop: end + 1,
        }))
    }
}

impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Spec::Last(n) => write!(f, "bytes=-{n}"),
            Spec::Bytes { start, stop } if stop == Range::OPEN_END => {
                write!(f, "bytes={start}-")
            }
            Spec::Bytes { start, stop } => write!(f, "bytes={start}-{}", stop - 1),
        }
    }
}

impl std::str::FromStr for Range {
    type Err = Error;
    fn from_str(s: &str) -> Result<Range> {
        Range::parse(s.as_bytes())
    }
}

/// A `content-range` value `bytes start-(stop-1)/total`.
///
/// ```
/// use degu_core::ContentRange;
/// let cr = ContentRange::new(10, 20, 100).unwrap();
/// assert_eq!(cr.to_string(), "bytes 10-19/100");
/// assert_eq!(cr.len(), 10);
/// assert!(ContentRange::new(10, 101, 100).is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ContentRange {
    start: u64,
    stop: u64,
    total: u64,
}

impl ContentRange {
    /// `start < stop <= total <= MAX_LENGTH` or an error.
    pub fn new(start: u64, stop: u64, total: u64) -> Result<ContentRange> {
        if start >= stop || stop > total || total > MAX_LENGTH {
            return Err(Error::BadContentRange(format!(
                "start {start}, stop {stop}, total {total}"
            )));
        }
        Ok(ContentRange { start, stop, total })
    }

    /// First byte.
    pub fn start(&self) -> u64 {
        self.start
    }

    /// One past the last byte.
    pub fn stop(&self) -> u64 {
        self.stop
    }

    /// The whole resource's length.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Bytes in the range (`stop - start`, never zero).
    #[allow(
        clippy::len_without_is_empty,
        reason = "a content range is never empty"
    )]
    pub fn len(&self) -> u64 {
        self.stop - self.start
    }

    /// Parses a `content-range` header value: `bytes START-END/TOTAL`, or
    /// the unsatisfied form `bytes */TOTAL` of a 416 response (`None`).
    ///
    /// ```
    /// use degu_core::ContentRange;
    /// assert_eq!(ContentRange::parse_header(b"bytes */300").unwrap(), None);
    /// assert!(ContentRange::parse_header(b"bytes 0-9/300").unwrap().is_some());
    /// assert!(ContentRange::parse_header(b"bytes */").is_err());
    /// ```
    pub fn parse_header(value: &[u8]) -> Result<Option<ContentRange>> {
        if let Some(total) = value.strip_prefix(b"bytes */") {
            return match parse_decimal(total) {
                Some(_) => Ok(None),
                None => Err(Error::BadContentRange(show(value))),
            };
        }
        ContentRange::parse(value).map(Some)
    }

    /// Parses a header value `bytes START-END/TOTAL`.
    pub fn parse(value: &[u8]) -> Result<ContentRange> {
        let err = || Error::BadContentRange(show(value));
        let rest = value.strip_prefix(b"bytes ").ok_or_else(err)?;
        let dash = memchr::memchr(b'-', rest).ok_or_else(err)?;
        let slash = memchr::memchr(b'/', rest).ok_or_else(err)?;
        if slash < dash {
            return Err(err());
        }
        let start = parse_decimal(&rest[..dash]).ok_or_else(err)?;
        let end = parse_decimal(&rest[dash + 1..slash]).ok_or_else(err)?;
        let total = parse_decimal(&rest[slash + 1..]).ok_or_else(err)?;
        if end < start || end >= total {
            return Err(err());
        }
        Ok(ContentRange {
            start,
            stop: end + 1,
            total,
        })
    }
}

impl fmt::Display for ContentRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bytes {}-{}/{}", self.start, self.stop - 1, self.total)
    }
}

impl std::str::FromStr for ContentRange {
    type Err = Error;
    fn from_str(s: &str) -> Result<ContentRange> {
        ContentRange::parse(s.as_bytes())
    }
}
