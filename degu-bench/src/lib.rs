//! Benchmarks for Degu; see `benches/` and `cargo xtask bench`.
//!
//! This library holds the inputs the benches share, so that every
//! contender parses exactly the same bytes and `cargo xtask bench` can name
//! the cases in the same order as the benches run them.

/// One preamble to parse: a short stable id (used as the criterion group
/// name, `parse-<id>`), and its bytes on the wire, with the final
/// `\r\n\r\n`.
#[derive(Clone, Copy, Debug)]
pub struct Case {
    /// Short id, unique among the cases.
    pub id: &'static str,
    /// The whole preamble as sent, terminator included.
    pub wire: &'static [u8],
}

impl Case {
    /// The preamble without its `\r\n\r\n`, as degu-core's parser takes it
    /// (the [`Reader`](degu_core::Reader) finds the terminator).
    pub fn preamble(&self) -> &'static [u8] {
        self.wire
            .strip_suffix(b"\r\n\r\n")
            .expect("every case ends with \\r\\n\\r\\n")
    }

    /// The criterion group this case is benched under.
    pub fn group(&self) -> String {
        format!("parse-{}", self.id)
    }
}

/// Request preambles, from the smallest to a browser-like one.
pub const REQUESTS: &[Case] = &[
    Case {
        id: "req-get-minimal",
        wire: b"GET / HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n\r\n",
    },
    Case {
        id: "req-put-rest",
        wire: b"PUT /db/users/42?rev=3-a7c1 HTTP/1.1\r\n\
Host: api.example.com\r\n\
Content-Type: application/json\r\n\
Content-Length: 1834\r\n\
Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI0MiJ9.dGhpc2lzYXNpZ25hdHVyZQ\r\n\
Accept: application/json\r\n\r\n",
    },
    Case {
        id: "req-get-browser",
        wire: b"GET /app/v1/items/42?view=full&sort=desc HTTP/1.1\r\n\
Host: www.example.com\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36\r\n\
Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8\r\n\
Accept-Language: en-US,en;q=0.9,fr;q=0.7\r\n\
Accept-Encoding: gzip, deflate, br\r\n\
Referer: https://www.example.com/app/v1/items?page=2&per_page=50\r\n\
Cookie: session=6f1d2c3b4a5e6f708192a3b4c5d6e7f8; theme=dark; lang=en\r\n\
Sec-Ch-Ua: \"Chromium\";v=\"120\", \"Not?A_Brand\";v=\"24\"\r\n\
Sec-Fetch-Mode: navigate\r\n\
Upgrade-Insecure-Requests: 1\r\n\
Cache-Control: max-age=0\r\n\r\n",
    },
];

/// Response preambles.
pub const RESPONSES: &[Case] = &[
    Case {
        id: "resp-200-minimal",
        wire: b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n",
    },
    Case {
        id: "resp-200-chunked",
        wire: b"HTTP/1.1 200 OK\r\n\
Content-Type: application/json; charset=utf-8\r\n\
Transfer-Encoding: chunked\r\n\
Cache-Control: no-cache, no-store, must-revalidate\r\n\
Date: Tue, 24 Nov 2026 21:22:19 GMT\r\n\
Server: degu/0.1.0\r\n\
X-Request-Id: 3f2a9c1e-5b7d-4e8f-9a0b-1c2d3e4f5a6b\r\n\r\n",
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_case_parses_with_both_parsers() {
        let mut ids = std::collections::HashSet::new();
        for (case, is_request) in REQUESTS
            .iter()
            .map(|c| (c, true))
            .chain(RESPONSES.iter().map(|c| (c, false)))
        {
            assert!(ids.insert(case.id), "duplicate id {}", case.id);
            let mut buf = case.preamble().to_vec();
            let mut headers = [httparse::EMPTY_HEADER; 20];
            let (degu_headers, status) = if is_request {
                let p = degu_core::parse_request(&mut buf).unwrap();
                let mut req = httparse::Request::new(&mut headers);
                status_is_complete(req.parse(case.wire).unwrap(), case.wire.len());
                assert_eq!(req.path, Some(p.uri));
                (p.headers.len(), req.headers.len())
            } else {
                let p = degu_core::parse_response(&mut buf).unwrap();
                let mut resp = httparse::Response::new(&mut headers);
                status_is_complete(resp.parse(case.wire).unwrap(), case.wire.len());
                assert_eq!(resp.code, Some(p.status));
                (p.headers.len(), resp.headers.len())
            };
            assert_eq!(degu_headers, status, "{}", case.id);
        }
    }

    fn status_is_complete(s: httparse::Status<usize>, len: usize) {
        assert_eq!(s, httparse::Status::Complete(len));
    }

    #[test]
    fn browser_request_is_about_600_bytes_with_10_headers() {
        let case = REQUESTS.iter().find(|c| c.id == "req-get-browser").unwrap();
        assert!(
            (500..=700).contains(&case.wire.len()),
            "{}",
            case.wire.len()
        );
        let mut buf = case.preamble().to_vec();
        assert!(degu_core::parse_request(&mut buf).unwrap().headers.len() >= 10);
    }
}
