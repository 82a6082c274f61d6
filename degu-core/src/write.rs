//! Formatting preambles.

use crate::error::{Error, Result, show};
use crate::headers::Headers;
use crate::parse::{Framing, MAX_HEADERS, MAX_PREAMBLE, Method, check_uri};
use crate::tables::{self, all_in};

/// Appends a request preamble (with its final `\r\n\r\n`) to `out`. The
/// URI is checked against its tables, the headers were when inserted; at
/// most [`MAX_HEADERS`] of them.
///
/// ```
/// use degu_core::{write_request_preamble, Headers, Method};
/// let mut h = Headers::new();
/// h.insert("host", "example.com").unwrap();
/// let mut out = Vec::new();
/// write_request_preamble(&mut out, Method::Get, "/", &h).unwrap();
/// assert_eq!(out, b"GET / HTTP/1.1\r\nhost: example.com\r\n\r\n");
/// ```
pub fn write_request_preamble(
    out: &mut Vec<u8>,
    method: Method,
    uri: &str,
    headers: &Headers,
) -> Result<()> {
    if headers.len() > MAX_HEADERS {
        return Err(Error::TooManyHeaders(MAX_HEADERS));
    }
    let start = out.len();
    write_request_head(out, method, uri, headers)?;
    out.extend_from_slice(b"\r\n");
    check_size(out.len() - start)
}

/// Appends a request line and headers to `out`, without the blank line
/// that ends the preamble (the caller may add header lines of its own,
/// then ends it with `\r\n` and keeps it within [`MAX_PREAMBLE`] and
/// [`MAX_HEADERS`]). The URI is checked as [`write_request_preamble`]
/// checks it. This is what a Degu client sends.
pub fn write_request_head(
    out: &mut Vec<u8>,
    method: Method,
    uri: &str,
    headers: &Headers,
) -> Result<()> {
    check_uri(uri.as_bytes())?;
    out.extend_from_slice(method.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(uri.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\n");
    headers.write_to(out)
}

/// Appends one `name: value\r\n` line (both checked by the caller).
pub(crate) fn write_header_line(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.extend_from_slice(name);
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

/// Appends a response preamble (with its final `\r\n\r\n`) to `out`. The
/// status must be 100..=599 and the reason non-empty and within its table.
///
/// ```
/// use degu_core::{write_response_preamble, Headers};
/// let mut out = Vec::new();
/// write_response_preamble(&mut out, 404, "Not Found", &Headers::new()).unwrap();
/// assert_eq!(out, b"HTTP/1.1 404 Not Found\r\n\r\n");
/// assert!(write_response_preamble(&mut out, 200, "OK\r\n", &Headers::new()).is_err());
/// ```
pub fn write_response_preamble(
    out: &mut Vec<u8>,
    status: u16,
    reason: &str,
    headers: &Headers,
) -> Result<()> {
    let start = out.len();
    write_response_head(out, status, reason, headers)?;
    out.extend_from_slice(b"\r\n");
    check_size(out.len() - start)
}

/// Appends a response's status line and headers to `out`, without the
/// blank line that ends the preamble: the caller may add header lines of
/// its own (say with [`write_framing`]), then ends it with `\r\n` and
/// keeps it within [`MAX_PREAMBLE`] and [`MAX_RESPONSE_HEADERS`](crate::MAX_RESPONSE_HEADERS).
/// This is what a Degu server sends.
/// Checked as [`write_response_preamble`] is.
///
/// ```
/// use degu_core::{write_framing, write_response_head, Framing, Headers};
/// let mut out = Vec::new();
/// write_response_head(&mut out, 200, "OK", &Headers::new()).unwrap();
/// write_framing(&mut out, Framing::Length(2));
/// out.extend_from_slice(b"\r\n");
/// assert_eq!(out, b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n");
/// ```
pub fn write_response_head(
    out: &mut Vec<u8>,
    status: u16,
    reason: &str,
    headers: &Headers,
) -> Result<()> {
    let start = out.len();
    if let Some(line) = common_status_line(status, reason) {
        out.extend_from_slice(line);
        headers.write_to(out)?;
        return check_size(out.len() - start);
    }
    if !(100..=599).contains(&status) {
        return Err(Error::BadStatus(status.to_string()));
    }
    if reason.is_empty() || !all_in(reason.as_bytes(), tables::REASON) {
        return Err(Error::BadReason(show(reason.as_bytes())));
    }
    out.extend_from_slice(b"HTTP/1.1 ");
    let digits = [
        b'0' + (status / 100) as u8,
        b'0' + (status / 10 % 10) as u8,
        b'0' + (status % 10) as u8,
    ];
    out.extend_from_slice(&digits);
    out.push(b' ');
    out.extend_from_slice(reason.as_bytes());
    out.extend_from_slice(b"\r\n");
    headers.write_to(out)?;
    check_size(out.len() - start)
}

/// The whole status line of the most common responses with their usual
/// reason phrase, written as one piece (no digits to format, no phrase to
/// check); `None` for any other status or phrase.
fn common_status_line(status: u16, reason: &str) -> Option<&'static [u8]> {
    let line: &'static [u8] = match status {
        200 => b"HTTP/1.1 200 OK\r\n",
        201 => b"HTTP/1.1 201 Created\r\n",
        204 => b"HTTP/1.1 204 No Content\r\n",
        206 => b"HTTP/1.1 206 Partial Content\r\n",
        304 => b"HTTP/1.1 304 Not Modified\r\n",
        400 => b"HTTP/1.1 400 Bad Request\r\n",
        404 => b"HTTP/1.1 404 Not Found\r\n",
        _ => return None,
    };
    (&line[13..line.len() - 2] == reason.as_bytes()).then_some(line)
}

/// Appends the header line that declares `framing` (`content-length: N`
/// or `transfer-encoding: chunked`; nothing for [`Framing::None`]), for a
/// preamble being written: see [`Outgoing::missing_framing`](crate::Outgoing::missing_framing).
/// No allocation: the number is formatted in place.
///
/// ```
/// use degu_core::{write_framing, Framing};
/// let mut out = Vec::new();
/// write_framing(&mut out, Framing::Length(1234));
/// write_framing(&mut out, Framing::Chunked);
/// write_framing(&mut out, Framing::None);
/// assert_eq!(out, b"content-length: 1234\r\ntransfer-encoding: chunked\r\n");
/// ```
pub fn write_framing(out: &mut Vec<u8>, framing: Framing) {
    match framing {
        Framing::None => {}
        Framing::Chunked => out.extend_from_slice(b"transfer-encoding: chunked\r\n"),
        Framing::Length(n) => {
            out.extend_from_slice(b"content-length: ");
            push_decimal(out, n);
            out.extend_from_slice(b"\r\n");
        }
    }
}

/// Appends `n` in decimal.
fn push_decimal(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

fn check_size(n: usize) -> Result<()> {
    if n > MAX_PREAMBLE {
        return Err(Error::PreambleTooLarge);
    }
    Ok(())
}

#[cfg(test)]
mod status_line_tests {
    use super::*;

    #[test]
    fn common_status_lines_are_the_formatted_ones() {
        for status in [200, 201, 204, 206, 304, 400, 404] {
            let reason = crate::standard_reason(status).unwrap();
            let line = common_status_line(status, reason).unwrap();
            assert_eq!(line, format!("HTTP/1.1 {status} {reason}\r\n").as_bytes());
            // Another phrase is formatted (and checked) as given.
            assert_eq!(common_status_line(status, "Fine"), None);
            let mut out = Vec::new();
            write_response_head(&mut out, status, "Fine", &Headers::new()).unwrap();
            assert_eq!(out, format!("HTTP/1.1 {status} Fine\r\n").as_bytes());
        }
        assert_eq!(common_status_line(500, "Internal Server Error"), None);
        assert_eq!(common_status_line(200, "OK "), None);
    }
}
