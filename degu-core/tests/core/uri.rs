//! Request URIs: the path's `%XX` escapes and what they may decode to, `.`
//! and `..` components, the query bytes browsers send unescaped, and
//! `decode_component`.

use degu_core::{Headers, Method, decode_component, parse_uri, write_request_preamble};

use crate::util::*;

/// The path components of `uri` as sent and decoded, through the request
/// parser; `parse_uri` and the writer must agree.
fn components(uri: &str) -> Result<(Vec<String>, Vec<String>), String> {
    let parsed = request(format!("GET {uri} HTTP/1.1").as_bytes(), |p| {
        let raw: Vec<String> = p.path_components().map(str::to_owned).collect();
        let decoded = raw
            .iter()
            .map(|c| {
                let mut s = String::new();
                decode_component(c, &mut s);
                s
            })
            .collect();
        assert_eq!(
            parse_uri(uri.as_bytes())
                .map(|(path, query)| (path.len(), query))
                .unwrap(),
            (p.path.len(), p.query)
        );
        (raw, decoded)
    });
    let written = write_request_preamble(&mut Vec::new(), Method::Get, uri, &Headers::new());
    assert_eq!(parsed.is_ok(), written.is_ok(), "{uri:?}");
    assert_eq!(parsed.is_ok(), parse_uri(uri.as_bytes()).is_ok(), "{uri:?}");
    parsed
}

#[test]
fn escapes_that_decode_to_what_a_component_may_hold() {
    for (uri, raw, decoded) in [
        ("/%20", &["%20"][..], &[" "][..]),
        ("/a%20b/c", &["a%20b", "c"], &["a b", "c"]),
        ("/caf%C3%A9", &["caf%C3%A9"], &["café"]),
        ("/caf%c3%a9", &["caf%c3%a9"], &["café"]),
        ("/caf%C3%a9", &["caf%C3%a9"], &["café"]),
        ("/100%25", &["100%25"], &["100%"]),
        ("/%2520", &["%2520"], &["%20"]), // decoded once only
        ("/%E2%82%AC", &["%E2%82%AC"], &["€"]),
        ("/%F0%9F%A6%80", &["%F0%9F%A6%80"], &["🦀"]),
        ("/%C2%80", &["%C2%80"], &["\u{80}"]),
        ("/%3F%23%5C", &["%3F%23%5C"], &["?#\\"]),
        ("/%7E%41", &["%7E%41"], &["~A"]),
        ("/a%2Eb", &["a%2Eb"], &["a.b"]),
        ("/%2e%2e%2e", &["%2e%2e%2e"], &["..."]),
        ("/.%2e.", &[".%2e."], &["..."]),
        ("/%2ea", &["%2ea"], &[".a"]),
        ("/a/%20/", &["a", "%20", ""], &["a", " ", ""]),
    ] {
        let raw: Vec<String> = raw.iter().map(|s| s.to_string()).collect();
        let decoded: Vec<String> = decoded.iter().map(|s| s.to_string()).collect();
        assert_eq!(components(uri), Ok((raw, decoded)), "{uri:?}");
    }
}

#[test]
fn escapes_that_are_refused() {
    for uri in [
        // An escaped `/` would be a separator nobody sees.
        "/%2F",
        "/%2f",
        "/a%2Fb",
        // Control bytes.
        "/%00",
        "/a%00b",
        "/%01",
        "/%09",
        "/%0A",
        "/%0d",
        "/%1F",
        "/%1f",
        "/%7F",
        "/%7f",
        // Not UTF-8 once decoded.
        "/%C3",
        "/%C3x",
        "/%C3%28",
        "/%A9",
        "/%80",
        "/%FF",
        "/%ff",
        "/%C0%AF", // an overlong `/`
        "/%E2%82",
        "/%ED%A0%80", // a surrogate
        "/%F4%90%80%80",
        "/%F8%88%80%80%80",
        // Not two hex digits.
        "/%G0",
        "/%0G",
        "/%g0",
        "/%2",
        "/a%2",
        "/%",
        "/a%",
        "/%%20",
        "/%-1",
        "/%+20",
        // `.` and `..`, escaped.
        "/%2e",
        "/%2E",
        "/%2E%2e",
        "/%2e%2E",
        "/.%2E",
        "/%2e.",
        "/a/%2e%2e/b",
        "/%2e/",
    ] {
        let expected = format!("bad uri: \"{}\"", uri.as_bytes().escape_ascii());
        check_request_err(&format!("GET {uri} HTTP/1.1"), &expected);
        check_err(parse_uri(uri.as_bytes()), &expected);
        check_err(
            write_request_preamble(&mut Vec::new(), Method::Get, uri, &Headers::new()),
            &expected,
        );
    }
}

#[test]
fn dot_components() {
    for uri in [
        "/.", "/..", "/./", "/../", "/a/.", "/a/..", "/./a", "/../a", "/a/../b", "/a/./b",
        "/a/.?x", "/..?x",
    ] {
        check_request_err(
            &format!("GET {uri} HTTP/1.1"),
            &format!("bad uri: \"{uri}\""),
        );
        check_err(parse_uri(uri.as_bytes()), &format!("bad uri: \"{uri}\""));
    }
    // Dots are fine in any other component, and in the query.
    for (uri, comps) in [
        ("/...", &["..."][..]),
        ("/.a", &[".a"]),
        ("/a.", &["a."]),
        ("/..a", &["..a"]),
        ("/a..", &["a.."]),
        ("/.well-known/x", &[".well-known", "x"]),
        ("/a/b.c/", &["a", "b.c", ""]),
        ("/a?/../.", &["a"]),
    ] {
        let comps: Vec<String> = comps.iter().map(|s| s.to_string()).collect();
        assert_eq!(components(uri), Ok((comps.clone(), comps)), "{uri:?}");
    }
}

#[test]
fn query_bytes_browsers_send() {
    for (uri, query) in [
        ("/search?filter[name]=x", "filter[name]=x"),
        ("/?a={1}|b^c", "a={1}|b^c"),
        ("/?x=`y`", "x=`y`"),
        ("/?a/b?c", "a/b?c"),
        ("/a?", ""),
        ("/?q=a+b&r=%20", "q=a+b&r=%20"),
        ("/?@!$&'()*,;=:~", "@!$&'()*,;=:~"),
        // The query is kept as sent: escapes are not checked there.
        ("/?x=%2F%00%zz%", "x=%2F%00%zz%"),
        ("/?../.", "../."),
    ] {
        let path = &uri[..uri.find('?').unwrap()];
        assert_eq!(
            request(format!("GET {uri} HTTP/1.1").as_bytes(), |p| (
                p.uri.to_owned(),
                p.path.to_owned(),
                p.query.map(str::to_owned)
            )),
            Ok((uri.to_owned(), path.to_owned(), Some(query.to_owned()))),
        );
        assert_eq!(parse_uri(uri.as_bytes()).unwrap(), (path, Some(query)));
    }
    for uri in [
        "/?a\"b",
        "/?a#b",
        "/?<b>",
        "/?a\\b",
        "/?a\tb",
        "/?a\x7fb",
        "/?caf\u{e9}",
        "/a[1]",
        "/a{b}",
        "/a|b",
        "/a^b",
        "/a`b",
        "/a\"b",
        "/a<b>",
        "/a\\b",
        "/a#b",
    ] {
        let expected = format!("bad uri: \"{}\"", uri.as_bytes().escape_ascii());
        check_request_err(&format!("GET {uri} HTTP/1.1"), &expected);
        check_err(parse_uri(uri.as_bytes()), &expected);
    }
}

#[test]
fn decode_component_decodes_once_and_clears_its_output() {
    let mut out = String::from("left over");
    for (comp, decoded) in [
        ("plain", "plain"),
        ("", ""),
        ("a%20b", "a b"),
        ("%25", "%"),
        ("%25%32%30", "%20"),
        ("100%25", "100%"),
        ("caf%C3%A9", "café"),
        ("%c3%a9t%C3%A9", "été"),
        ("%E2%82%AC%20", "€ "),
        ("a+b", "a+b"), // `+` is not a space in a path
        ("%2e%2e%2e", "..."),
    ] {
        decode_component(comp, &mut out);
        assert_eq!(out, decoded, "{comp:?}");
    }
}
