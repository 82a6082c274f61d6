//! Formatting preambles.

use crate::error::{Error, Result, show};
use crate::headers::Headers;
use crate::parse::{MAX_PREAMBLE, Method, parse_uri};
use crate::tables::{self, all_in};

/// Appends a request preamble (with its final `\r\n\r\n`) to `out`. The
/// URI is checked against its tables, the headers were when inserted.
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
    parse_uri(uri.as_bytes())?;
    let start = out.len();
    out.extend_from_slice(method.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(uri.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\n");
    headers.write_to(out)?;
    out.extend_from_slice(b"\r\n");
    check_size(out.len() - start)
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
    if !(100..=599).contains(&status) {
        return Err(Error::BadStatus(status.to_string()));
    }
    if reason.is_empty() || !all_in(reason.as_bytes(), tables::REASON) {
        return Err(Error::BadReason(show(reason.as_bytes())));
    }
    let start = out.len();
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
    out.extend_from_slice(b"\r\n");
    check_size(out.len() - start)
}

fn check_size(n: usize) -> Result<()> {
    if n > MAX_PREAMBLE {
        return Err(Error::PreambleTooLarge);
    }
    Ok(())
}
