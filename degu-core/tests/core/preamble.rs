//! What the parser tolerates (methods, versions, header lines with optional
//! whitespace or an empty value, any reason phrase, repeated response
//! headers) and what it never does (the framing and smuggling vectors),
//! each case with its exact outcome.

use degu_core::{Framing, Headers, Method, Version, check_header};

use crate::util::*;

#[test]
fn every_method_with_and_without_a_body() {
    for (name, method, body) in [
        ("GET", Method::Get, false),
        ("HEAD", Method::Head, false),
        ("PUT", Method::Put, true),
        ("POST", Method::Post, true),
        ("DELETE", Method::Delete, true),
        ("PATCH", Method::Patch, true),
        ("OPTIONS", Method::Options, true),
    ] {
        assert_eq!(name.parse::<Method>().unwrap(), method);
        assert_eq!(method.as_str(), name);
        assert_eq!(method.forbids_body(), !body);
        for version in ["HTTP/1.1", "HTTP/1.0"] {
            let got = request(format!("{name} /x?y {version}").as_bytes(), |p| {
                (
                    p.method,
                    p.version.as_str(),
                    p.uri.to_owned(),
                    p.typed.framing,
                )
            });
            assert_eq!(got, Ok((method, version, "/x?y".to_owned(), Framing::None)));
            let input = format!("{name} /x {version}\r\nContent-Length: 3");
            if body {
                let got = request(input.as_bytes(), |p| p.typed.framing);
                assert_eq!(got, Ok(Framing::Length(3)), "{input:?}");
            } else {
                check_request_err(&input, &format!("{name} request with a body"));
            }
        }
    }
    // A browser's CORS preflight.
    let got = request(
        b"OPTIONS /api/items HTTP/1.1\r\nOrigin: https://a.example\r\nAccess-Control-Request-Method: PATCH",
        |p| {
            (
                p.method,
                p.headers
                    .get("access-control-request-method")
                    .map(str::to_owned),
                p.typed.framing,
            )
        },
    );
    assert_eq!(
        got,
        Ok((Method::Options, Some("PATCH".to_owned()), Framing::None))
    );
}

#[test]
fn http_1_0_requests() {
    for (input, method, framing) in [
        ("GET / HTTP/1.0", Method::Get, Framing::None),
        (
            "HEAD /a HTTP/1.0\r\nUser-Agent: old/1.0",
            Method::Head,
            Framing::None,
        ),
        (
            "POST /form HTTP/1.0\r\nContent-Length: 7",
            Method::Post,
            Framing::Length(7),
        ),
        (
            "PUT /x HTTP/1.0\r\nConnection: keep-alive",
            Method::Put,
            Framing::None,
        ),
    ] {
        let got = request(input.as_bytes(), |p| (p.version, p.method, p.typed.framing));
        assert_eq!(got, Ok((Version::Http10, method, framing)), "{input:?}");
    }
    assert_eq!(
        request(b"GET / HTTP/1.1", |p| p.version),
        Ok(Version::Http11)
    );
    assert_eq!(Version::Http10.to_string(), "HTTP/1.0");
    assert_eq!(Version::default(), Version::Http11);
    check_request_err(
        "POST / HTTP/1.0\r\nTransfer-Encoding: chunked",
        r#"bad transfer-encoding: "chunked" in an HTTP/1.0 request"#,
    );
}

/// Header lines and the `(name, value)` each gives, in requests and
/// responses alike.
const ACCEPTED_LINES: &[(&str, &str, &str)] = &[
    ("Host: value", "host", "value"),
    ("Host:value", "host", "value"),
    ("Host:   value  ", "host", "value"),
    ("Host:\tvalue\t", "host", "value"),
    ("Host: \t value \t ", "host", "value"),
    ("Host: a b", "host", "a b"),
    ("Host: a\tb", "host", "a\tb"),
    ("Host: a \t b", "host", "a \t b"),
    ("X-Email: user@example.com", "x-email", "user@example.com"),
    ("X-Json: {\"a\": [1, {}]}", "x-json", "{\"a\": [1, {}]}"),
    ("X-Marks: !#$%&'*+-.^_`|~", "x-marks", "!#$%&'*+-.^_`|~"),
    ("X-Brackets: [a]{b}<c>(d)", "x-brackets", "[a]{b}<c>(d)"),
    ("X-Backslash: a\\b", "x-backslash", "a\\b"),
    (
        "X-Url: https://a.example/b?c=d#e",
        "x-url",
        "https://a.example/b?c=d#e",
    ),
    ("X-Colon: a:b", "x-colon", "a:b"),
    ("X-Colon::", "x-colon", ":"),
    ("X-Colon: : ", "x-colon", ":"),
    ("X-Empty:", "x-empty", ""),
    ("X-Empty: ", "x-empty", ""),
    ("X-Empty:\t\t", "x-empty", ""),
    ("X-Empty: \t ", "x-empty", ""),
    ("Content-Length:  5 ", "content-length", "5"),
    (
        "Transfer-Encoding:\tchunked\t",
        "transfer-encoding",
        "chunked",
    ),
    (
        "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
        "user-agent",
        "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    ),
    (
        "Accept: text/html,application/xhtml+xml;q=0.9,*/*;q=0.8",
        "accept",
        "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8",
    ),
    ("IF-NONE-MATCH: W/\"abc\"", "if-none-match", "W/\"abc\""),
];

#[test]
fn header_lines_with_optional_whitespace_and_empty_values() {
    for &(line, name, value) in ACCEPTED_LINES {
        let expected_framing = match name {
            "content-length" => Framing::Length(5),
            "transfer-encoding" => Framing::Chunked,
            _ => Framing::None,
        };
        // Alone at the end, then before another header, and as a late
        // header (past the ones kept inline).
        let mut late = String::new();
        for i in 0..30 {
            late.push_str(&format!("x-{i}: {i}\r\n"));
        }
        for (before, after, at) in [
            ("", "", 0),
            ("", "\r\nx-next: n", 0),
            (late.as_str(), "\r\nx-next: n", 30),
        ] {
            let headers = format!("{before}{line}{after}");
            let got = request(format!("PUT / HTTP/1.1\r\n{headers}").as_bytes(), |p| {
                (
                    p.headers
                        .iter()
                        .nth(at)
                        .map(|(n, v)| (n.to_owned(), v.to_owned())),
                    p.headers.get(name).map(str::to_owned),
                    p.typed.framing,
                )
            });
            let pair = Some((name.to_owned(), value.to_owned()));
            let expected = (pair, Some(value.to_owned()), expected_framing);
            assert_eq!(got, Ok(expected.clone()), "request {headers:?}");
            let got = response(format!("HTTP/1.1 200 OK\r\n{headers}").as_bytes(), |p| {
                (
                    p.headers
                        .iter()
                        .nth(at)
                        .map(|(n, v)| (n.to_owned(), v.to_owned())),
                    p.headers.get(name).map(str::to_owned),
                    p.typed.framing,
                )
            });
            assert_eq!(got, Ok(expected), "response {headers:?}");
        }
    }
}

#[test]
fn whitespace_around_a_value_is_not_part_of_it() {
    // The buffer is left as it was (but for the lowercased name): the
    // value handed out is a slice without the whitespace.
    let mut buf = b"GET / HTTP/1.1\r\nX-A: \t v \t\r\nX-B:w".to_vec();
    let p = degu_core::parse_request(&mut buf).unwrap();
    assert_eq!(
        pairs(&p.headers),
        [("x-a".into(), "v".into()), ("x-b".into(), "w".into())]
    );
    assert_eq!(buf, b"GET / HTTP/1.1\r\nx-a: \t v \t\r\nx-b:w");
    // Copied into owned headers, the values are valid outgoing ones.
    let mut buf = b"HTTP/1.1 200 OK\r\nX-A:  v \r\nX-Empty:\t".to_vec();
    let p = degu_core::parse_response(&mut buf).unwrap();
    let h = Headers::from_raw(&p.headers);
    for (n, v) in h.iter() {
        assert!(check_header(n, v).is_ok(), "{n}: {v:?}");
    }
    assert_eq!(h.get("x-empty"), Some(""));
}

#[test]
fn status_lines_and_reasons() {
    for (line, version, status, reason) in [
        ("HTTP/1.1 200 OK", Version::Http11, 200, "OK"),
        ("HTTP/1.0 200 OK", Version::Http10, 200, "OK"),
        ("HTTP/1.0 404 Not Found", Version::Http10, 404, "Not Found"),
        ("HTTP/1.1 422 ", Version::Http11, 422, ""),
        ("HTTP/1.1 200", Version::Http11, 200, ""),
        ("HTTP/1.0 204", Version::Http10, 204, ""),
        (
            "HTTP/1.1 418 I'm a Teapot",
            Version::Http11,
            418,
            "I'm a Teapot",
        ),
        (
            "HTTP/1.1 400 Bad Request: missing required Host header",
            Version::Http11,
            400,
            "Bad Request: missing required Host header",
        ),
        ("HTTP/1.1 200 Ok!", Version::Http11, 200, "Ok!"),
        (
            "HTTP/1.1 503 Service\tUnavailable",
            Version::Http11,
            503,
            "Service\tUnavailable",
        ),
        (
            "HTTP/1.1 204  No  Content ",
            Version::Http11,
            204,
            " No  Content ",
        ),
        (
            "HTTP/1.1 599 {odd} [but] \"fine\" ~",
            Version::Http11,
            599,
            "{odd} [but] \"fine\" ~",
        ),
        ("HTTP/1.1 100 Continue", Version::Http11, 100, "Continue"),
    ] {
        for tail in ["", "\r\nx: y"] {
            let got = response(format!("{line}{tail}").as_bytes(), |p| {
                (p.version, p.status, p.reason.to_owned(), p.headers.len())
            });
            let n = usize::from(!tail.is_empty());
            assert_eq!(
                got,
                Ok((version, status, reason.to_owned(), n)),
                "{line:?}{tail:?}"
            );
        }
    }
}

#[test]
fn responses_may_repeat_headers() {
    let input = "HTTP/1.1 200 OK\r\nSet-Cookie: a=1; Path=/\r\nVary: Accept\r\nset-cookie: b=2\r\n\
                 SET-COOKIE:c=3\r\nVary: Origin\r\nContent-Length: 0";
    let got = response(input.as_bytes(), |p| {
        assert_eq!(p.headers.len(), 6);
        assert_eq!(p.headers.get("set-cookie"), Some("a=1; Path=/"));
        assert_eq!(p.headers.get("vary"), Some("Accept"));
        assert_eq!(
            p.headers.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            [
                "set-cookie",
                "vary",
                "set-cookie",
                "set-cookie",
                "vary",
                "content-length"
            ]
        );
        let h = Headers::from_raw(&p.headers);
        assert_eq!(
            h.get_all("set-cookie").collect::<Vec<_>>(),
            ["a=1; Path=/", "b=2", "c=3"]
        );
        let all = |name| {
            p.headers
                .get_all(name)
                .map(str::to_owned)
                .collect::<Vec<_>>()
        };
        (
            all("set-cookie"),
            all("vary"),
            p.headers.get_all("x-none").count(),
            p.typed.framing,
        )
    });
    assert_eq!(
        got,
        Ok((
            vec!["a=1; Path=/".to_owned(), "b=2".into(), "c=3".into()],
            vec!["Accept".to_owned(), "Origin".into()],
            0,
            Framing::Length(0)
        ))
    );
    // In a request, the same lines are refused.
    check_request_err(
        &input.replace("HTTP/1.1 200 OK", "POST / HTTP/1.1"),
        r#"duplicate header: "set-cookie""#,
    );
}

#[test]
fn smuggling_vectors_are_refused() {
    // Refused in requests and in responses: the framing is never guessed.
    for (headers, expected) in [
        (
            "Content-Length: 5\r\nTransfer-Encoding: chunked",
            "both content-length and transfer-encoding",
        ),
        (
            "Transfer-Encoding: chunked\r\nContent-Length: 5",
            "both content-length and transfer-encoding",
        ),
        (
            "Content-Length: 5\r\nContent-Length: 5",
            r#"duplicate header: "content-length""#,
        ),
        (
            "Content-Length: 5\r\nContent-Length: 6",
            r#"duplicate header: "content-length""#,
        ),
        ("Content-Length: 5, 5", r#"bad content-length: "5, 5""#),
        ("Content-Length: 0x10", r#"bad content-length: "0x10""#),
        ("Content-Length: 1e3", r#"bad content-length: "1e3""#),
        ("Content-Length: 05", r#"bad content-length: "05""#),
        ("Content-Length: +5", r#"bad content-length: "+5""#),
        (
            "Content-Length: 5\x0b",
            r#"bad content-length value: "5\x0b""#,
        ),
        (
            "Transfer-Encoding: chunked, chunked",
            r#"bad transfer-encoding: "chunked, chunked""#,
        ),
        (
            "Transfer-Encoding: identity",
            r#"bad transfer-encoding: "identity""#,
        ),
        (
            "Transfer-Encoding: CHUNKED",
            r#"bad transfer-encoding: "CHUNKED""#,
        ),
        (
            "Transfer-Encoding: \"chunked\"",
            r#"bad transfer-encoding: "\"chunked\"""#,
        ),
        (
            "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked",
            r#"duplicate header: "transfer-encoding""#,
        ),
        (
            "Transfer-Encoding: \x0bchunked",
            r#"bad transfer-encoding value: "\x0bchunked""#,
        ),
        // Whitespace before the colon.
        (
            "Transfer-Encoding : chunked",
            r#"bad header name: "Transfer-Encoding ""#,
        ),
        (
            "Content-Length\t: 5",
            r#"bad header name: "Content-Length\t""#,
        ),
        // Obs-fold: a line that starts with whitespace continues nothing.
        ("X: a\r\n b", r#"bad header line: " b""#),
        (
            "Transfer-Encoding:\r\n chunked",
            r#"bad transfer-encoding: """#,
        ),
        (
            "X: a\r\n\tTransfer-Encoding: chunked",
            r#"bad header name: "\tTransfer-Encoding""#,
        ),
        // Bare LF and bare CR.
        (
            "X: a\nTransfer-Encoding: chunked",
            r#"bad x value: "a\nTransfer-Encoding: chunked""#,
        ),
        (
            "X: a\rTransfer-Encoding: chunked",
            r#"bad header line: "X: a\rTransfer-Encoding: chunked""#,
        ),
        (
            "Content-Length: 5\n\nhello",
            r#"bad content-length value: "5\n\nhello""#,
        ),
        // NUL and other control bytes in a value.
        ("X: a\0b", r#"bad x value: "a\x00b""#),
        (
            "Transfer-Encoding: chunked\0",
            r#"bad transfer-encoding value: "chunked\x00""#,
        ),
        ("X: \x1b[0m", r#"bad x value: "\x1b[0m""#),
        // A blank line that is not the end of the preamble.
        ("X: a\r\n \r\nY: b", r#"bad header line: " ""#),
    ] {
        check_request_err(&format!("PUT / HTTP/1.1\r\n{headers}"), expected);
        check_response_err(&format!("HTTP/1.1 200 OK\r\n{headers}"), expected);
    }
    // A request's body where none may be.
    check_request_err(
        "GET / HTTP/1.1\r\nContent-Length: 5",
        "GET request with a body",
    );
    check_request_err(
        "HEAD / HTTP/1.1\r\nTransfer-Encoding: chunked",
        "HEAD request with a body",
    );
}

#[test]
fn outgoing_values_may_be_empty_but_not_padded() {
    for value in [
        "",
        "v",
        "a b",
        "a\tb",
        "{\"json\": true}",
        "user@example.com",
        "~!#$%^&*",
    ] {
        assert_eq!(check_header("x", value).map_err(|e| e.to_string()), Ok(()));
        let mut h = Headers::new();
        h.insert("x", value).unwrap();
        assert_eq!(h.get("x"), Some(value));
    }
    for value in [
        " ",
        "\t",
        " v",
        "v ",
        "\tv",
        "v\t",
        " v ",
        "a\0",
        "a\r\nb",
        "caf\u{e9}",
    ] {
        check_err(
            check_header("x", value),
            &format!("bad x value: \"{}\"", value.as_bytes().escape_ascii()),
        );
        assert!(Headers::new().insert("x", value).is_err());
        assert!(Headers::new().append("x", value).is_err());
        assert!(Headers::new().set("x", value).is_err());
    }
    // `range` is sent as it is (only its bytes are checked); the framing
    // headers and `content-range` are still checked.
    for value in ["bytes=0-1,5-6", "bytes=-5", "garbage", ""] {
        assert!(check_header("range", value).is_ok(), "{value:?}");
    }
    check_err(
        check_header("range", "bytes=0-1 "),
        r#"bad range value: "bytes=0-1 ""#,
    );
    check_err(
        check_header("content-length", ""),
        r#"bad content-length: """#,
    );
    check_err(
        check_header("transfer-encoding", ""),
        r#"bad transfer-encoding: """#,
    );
    check_err(
        check_header("content-range", "bytes 5-1/10"),
        r#"bad content-range: "bytes 5-1/10""#,
    );
}

#[test]
fn outgoing_repeats() {
    let mut h = Headers::new();
    h.append("set-cookie", "a=1").unwrap();
    h.append("set-cookie", "b=2").unwrap();
    h.append("x-empty", "").unwrap();
    h.append("x-empty", "").unwrap();
    assert_eq!(h.get("set-cookie"), Some("a=1"));
    assert_eq!(h.get_all("set-cookie").collect::<Vec<_>>(), ["a=1", "b=2"]);
    assert_eq!(h.get_all("x-empty").collect::<Vec<_>>(), ["", ""]);
    assert_eq!(h.get_all("x-none").count(), 0);
    check_err(
        h.insert("set-cookie", "c=3"),
        r#"duplicate header: "set-cookie""#,
    );
    for (name, value) in [
        ("content-length", "1"),
        ("transfer-encoding", "chunked"),
        ("content-range", "bytes 0-0/1"),
    ] {
        h.append(name, value).unwrap();
        check_err(
            h.append(name, value),
            &format!("duplicate header: \"{name}\""),
        );
    }
    assert_eq!(h.len(), 7);
}
