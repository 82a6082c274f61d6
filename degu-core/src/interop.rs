//! Conversions to and from the [`http`] crate's types (feature `http`):
//! what the rest of the Rust HTTP world speaks.
//!
//! | Degu | `http` | into Degu | into `http` |
//! |---|---|---|---|
//! | [`Method`] | [`http::Method`] | `TryFrom` (Degu has seven methods) | `From` |
//! | [`Version`] | [`http::Version`] | `TryFrom` (HTTP/1.0 and 1.1) | `From` |
//! | [`Headers`] | [`http::HeaderMap`] | `TryFrom` | `TryFrom` |
//! | a status `u16` | [`http::StatusCode`] | [`StatusCode::as_u16`](http::StatusCode::as_u16) | [`status_code`] |
//! | [`Response`] | [`http::Response<B>`] | `TryFrom` (`B: Into<Outgoing>`) | `TryFrom` (the body an [`Outgoing`]) |
//!
//! Everything converted into Degu passes Degu's own checks, and a refusal
//! names what it refused: a header value Degu does not send (a control
//! byte, a byte past ASCII, spaces around it) is
//! [`Error::BadHeaderValue`] with the header's name; a repeated
//! `content-length` is [`Error::DuplicateHeader`]; a method Degu does not
//! serve is [`Error::BadMethod`].
//!
//! ```
//! use degu_core::{Headers, Method};
//!
//! let mut map = http::HeaderMap::new();
//! map.insert("x-trace", "abc".parse().unwrap());
//! let headers = Headers::try_from(&map).unwrap();
//! assert_eq!(headers.get("x-trace"), Some("abc"));
//! assert_eq!(Method::try_from(&http::Method::PATCH).unwrap(), Method::Patch);
//!
//! map.insert("x-name", http::HeaderValue::from_bytes(b"caf\xc3\xa9").unwrap());
//! let e = Headers::try_from(&map).unwrap_err();
//! assert_eq!(e.to_string(), r#"bad x-name value: "caf\xc3\xa9""#);
//! ```

use std::borrow::Cow;

use crate::body::Outgoing;
use crate::error::{Error, Result, show};
use crate::headers::Headers;
use crate::message::{Response, standard_reason};
use crate::parse::{Method, Version};

impl TryFrom<&http::Method> for Method {
    type Error = Error;

    /// The same method; one Degu does not serve (`CONNECT`, `TRACE`, an
    /// extension method) is [`Error::BadMethod`].
    fn try_from(m: &http::Method) -> Result<Method> {
        Ok(match *m {
            http::Method::GET => Method::Get,
            http::Method::HEAD => Method::Head,
            http::Method::PUT => Method::Put,
            http::Method::POST => Method::Post,
            http::Method::DELETE => Method::Delete,
            http::Method::PATCH => Method::Patch,
            http::Method::OPTIONS => Method::Options,
            _ => return Err(Error::BadMethod(show(m.as_str().as_bytes()))),
        })
    }
}

impl TryFrom<http::Method> for Method {
    type Error = Error;

    /// As for `&http::Method`.
    fn try_from(m: http::Method) -> Result<Method> {
        Method::try_from(&m)
    }
}

impl From<Method> for http::Method {
    fn from(m: Method) -> http::Method {
        match m {
            Method::Get => http::Method::GET,
            Method::Head => http::Method::HEAD,
            Method::Put => http::Method::PUT,
            Method::Post => http::Method::POST,
            Method::Delete => http::Method::DELETE,
            Method::Patch => http::Method::PATCH,
            Method::Options => http::Method::OPTIONS,
        }
    }
}

impl TryFrom<http::Version> for Version {
    type Error = Error;

    /// HTTP/1.0 and HTTP/1.1; any other is [`Error::BadProtocol`].
    fn try_from(v: http::Version) -> Result<Version> {
        match v {
            http::Version::HTTP_10 => Ok(Version::Http10),
            http::Version::HTTP_11 => Ok(Version::Http11),
            other => Err(Error::BadProtocol(format!("{other:?}"))),
        }
    }
}

impl From<Version> for http::Version {
    fn from(v: Version) -> http::Version {
        match v {
            Version::Http10 => http::Version::HTTP_10,
            Version::Http11 => http::Version::HTTP_11,
        }
    }
}

impl TryFrom<&http::HeaderMap> for Headers {
    type Error = Error;

    /// Every header, repeated ones in their order, checked as
    /// [`Headers::append`] checks them (names are lowercase already). A
    /// value that is not visible ASCII, spaces and tabs is refused with
    /// the header's name.
    fn try_from(map: &http::HeaderMap) -> Result<Headers> {
        let mut headers = Headers::new();
        for (name, value) in map {
            let value = value.to_str().map_err(|_| Error::BadHeaderValue {
                name: name.as_str().to_owned(),
                value: show(value.as_bytes()),
            })?;
            headers.append(name.as_str().to_owned(), value.to_owned())?;
        }
        Ok(headers)
    }
}

impl TryFrom<&Headers> for http::HeaderMap {
    type Error = Error;

    /// Every header, repeated ones in their order. Degu's names and
    /// values are valid `http` ones, so this fails only for headers built
    /// around Degu's checks.
    fn try_from(headers: &Headers) -> Result<http::HeaderMap> {
        let mut map = http::HeaderMap::with_capacity(headers.len());
        for (name, value) in headers.iter() {
            let n = http::HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| Error::BadHeaderName(show(name.as_bytes())))?;
            let v = http::HeaderValue::from_str(value).map_err(|_| Error::BadHeaderValue {
                name: name.to_owned(),
                value: show(value.as_bytes()),
            })?;
            map.append(n, v);
        }
        Ok(map)
    }
}

/// `status` as an [`http::StatusCode`]; outside 100..=999 an
/// [`Error::BadStatus`].
pub fn status_code(status: u16) -> Result<http::StatusCode> {
    http::StatusCode::from_u16(status).map_err(|_| Error::BadStatus(status.to_string()))
}

impl<'a, B: Into<Outgoing<'a>>> TryFrom<http::Response<B>> for Response<'a> {
    type Error = Error;

    /// The status (with its usual reason phrase, or `http`'s canonical one,
    /// or `Unknown`), the headers checked as for `HeaderMap`, and the body.
    /// Whether the headers agree with the body is checked when the
    /// response is written, as for any response.
    fn try_from(r: http::Response<B>) -> Result<Response<'a>> {
        let (parts, body) = r.into_parts();
        let status = parts.status.as_u16();
        let reason = standard_reason(status)
            .or(parts.status.canonical_reason())
            .unwrap_or("Unknown");
        Ok(Response {
            status,
            reason: Cow::Borrowed(reason),
            headers: Headers::try_from(&parts.headers)?,
            body: body.into(),
        })
    }
}

impl<'a> TryFrom<Response<'a>> for http::Response<Outgoing<'a>> {
    type Error = Error;

    /// The status, the headers and the body (the reason phrase is
    /// dropped: `http` has none).
    fn try_from(r: Response<'a>) -> Result<http::Response<Outgoing<'a>>> {
        let mut out = http::Response::new(r.body);
        *out.status_mut() = status_code(r.status)?;
        *out.headers_mut() = http::HeaderMap::try_from(&r.headers)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_versions_and_headers_go_both_ways() {
        for m in [
            Method::Get,
            Method::Head,
            Method::Put,
            Method::Post,
            Method::Delete,
            Method::Patch,
            Method::Options,
        ] {
            assert_eq!(Method::try_from(http::Method::from(m)).unwrap(), m);
        }
        let e = Method::try_from(&http::Method::CONNECT).unwrap_err();
        assert_eq!(e.to_string(), "bad method: \"CONNECT\"");
        for v in [Version::Http10, Version::Http11] {
            assert_eq!(Version::try_from(http::Version::from(v)).unwrap(), v);
        }
        assert!(Version::try_from(http::Version::HTTP_2).is_err());
        let mut h = Headers::new();
        h.append("set-cookie", "a=1").unwrap();
        h.append("set-cookie", "b=2").unwrap();
        h.insert("content-type", "text/plain").unwrap();
        let map = http::HeaderMap::try_from(&h).unwrap();
        let back = Headers::try_from(&map).unwrap();
        assert_eq!(
            back.get_all("set-cookie").collect::<Vec<_>>(),
            ["a=1", "b=2"]
        );
        assert_eq!(back.get("content-type"), Some("text/plain"));
    }

    #[test]
    fn what_degu_refuses_is_named() {
        let mut map = http::HeaderMap::new();
        map.append("content-length", "1".parse().unwrap());
        map.append("content-length", "1".parse().unwrap());
        let e = Headers::try_from(&map).unwrap_err();
        assert!(
            matches!(e, Error::DuplicateHeader(ref n) if n.contains("content-length")),
            "{e}"
        );
        let mut map = http::HeaderMap::new();
        map.insert("x-pad", " padded".parse().unwrap());
        let e = Headers::try_from(&map).unwrap_err();
        assert!(e.to_string().starts_with("bad x-pad value"), "{e}");
        let r = http::Response::builder()
            .status(418)
            .header("x-a", "1")
            .body("tea")
            .unwrap();
        let r = Response::try_from(r).unwrap();
        assert_eq!((r.status, &*r.reason), (418, "I'm a teapot"));
        let back = http::Response::try_from(r).unwrap();
        assert_eq!(back.status(), 418);
        assert!(matches!(back.body(), Outgoing::Bytes(b) if &b[..] == b"tea"));
    }
}
