//! `Range` and `ContentRange`: construction, parsing, rendering, and the
//! answers to a range for a resource of a given size.

use degu_core::{ContentRange, MAX_LENGTH, Range};

use crate::util::{check_err, request};

#[test]
fn range_new_and_display() {
    for (start, stop, text) in [
        (0, 1, "bytes=0-0"),
        (0, 500, "bytes=0-499"),
        (10, 20, "bytes=10-19"),
        (
            MAX_LENGTH - 1,
            MAX_LENGTH,
            "bytes=9999999999999998-9999999999999998",
        ),
    ] {
        let r = Range::new(start, stop).unwrap();
        assert_eq!(
            (r.start(), r.stop(), r.suffix()),
            (Some(start), Some(stop), None)
        );
        assert_eq!(r.to_string(), text);
        assert_eq!(text.parse::<Range>().unwrap(), r);
        assert_eq!(Range::parse(text.as_bytes()).unwrap(), r);
    }
}

#[test]
fn range_new_errors() {
    check_err(Range::new(5, 5), "bad range: start 5, stop 5");
    check_err(Range::new(6, 5), "bad range: start 6, stop 5");
    check_err(
        Range::new(0, MAX_LENGTH + 2),
        "bad range: start 0, stop 10000000000000001",
    );
}

#[test]
fn range_parse_errors() {
    for text in [
        "",
        "bytes=",
        "bytes=5",
        "bytes=-",
        "bytes=--5",
        "bytes=-05",
        "bytes=-5-6",
        "bytes=-5-",
        "bytes=- 5",
        "bytes=-10000000000000000",
        "bytes=5-1",
        "bytes=a-b",
        "bytes=01-2",
        "bytes=1-02",
        "bytes= 1-2",
        "bytes=1-2 ",
        "bytes=0-1,3-4",
        "bytes=0-1, 3-4",
        "bytes=-5,0-1",
        "bytes=0-,",
        "bytes=+1-2",
        "Bytes=0-1",
        "items=0-1",
        "bytes 0-1",
        "bytes=10000000000000000-10000000000000001",
    ] {
        check_err(
            Range::parse(text.as_bytes()),
            &format!("bad range: \"{text}\""),
        );
    }
}

#[test]
fn range_against_a_resource() {
    let r = Range::new(0, 500).unwrap();
    assert_eq!(r.resolve(1000).unwrap(), 0..500);
    assert_eq!(r.content_length(1000).unwrap(), 500);
    assert_eq!(r.content_length(300).unwrap(), 300);
    assert_eq!(r.content_range(300).unwrap().to_string(), "bytes 0-299/300");
    assert_eq!(r.content_range(500).unwrap().to_string(), "bytes 0-499/500");
    assert_eq!(r.content_range(501).unwrap().to_string(), "bytes 0-499/501");
    let r = Range::new(299, 400).unwrap();
    assert_eq!(r.content_length(300).unwrap(), 1);
    assert_eq!(
        r.content_range(300).unwrap().to_string(),
        "bytes 299-299/300"
    );
}

#[test]
fn range_not_satisfiable() {
    let r = Range::new(300, 400).unwrap();
    let msg = "range not satisfiable: bytes=300-399 of 300 bytes";
    check_err(r.resolve(300), msg);
    check_err(r.content_length(300), msg);
    check_err(r.content_range(300), msg);
    check_err(
        Range::new(0, 1).unwrap().content_length(0),
        "range not satisfiable: bytes=0-0 of 0 bytes",
    );
}

#[test]
fn content_range_new_and_display() {
    for (start, stop, total, text) in [
        (0, 1, 1, "bytes 0-0/1"),
        (10, 20, 100, "bytes 10-19/100"),
        (0, 100, 100, "bytes 0-99/100"),
        (
            0,
            MAX_LENGTH,
            MAX_LENGTH,
            "bytes 0-9999999999999998/9999999999999999",
        ),
    ] {
        let cr = ContentRange::new(start, stop, total).unwrap();
        assert_eq!((cr.start(), cr.stop(), cr.total()), (start, stop, total));
        assert_eq!(cr.len(), stop - start);
        assert_eq!(cr.to_string(), text);
        assert_eq!(text.parse::<ContentRange>().unwrap(), cr);
    }
}

#[test]
fn content_range_errors() {
    check_err(
        ContentRange::new(10, 101, 100),
        "bad content-range: start 10, stop 101, total 100",
    );
    check_err(
        ContentRange::new(5, 5, 100),
        "bad content-range: start 5, stop 5, total 100",
    );
    check_err(
        ContentRange::new(0, 1, MAX_LENGTH + 1),
        "bad content-range: start 0, stop 1, total 10000000000000000",
    );
    for text in [
        "",
        "bytes ",
        "bytes 0-9",
        "bytes 0-9/",
        "bytes 5-1/10",
        "bytes 0-10/10",
        "bytes */10",
        "bytes 0-9/*",
        "bytes 0/9-10",
        "bytes=0-9/10",
        "bytes 00-9/10",
        "bytes 0-9/10 ",
        "bytes  0-9/10",
    ] {
        check_err(
            ContentRange::parse(text.as_bytes()),
            &format!("bad content-range: \"{text}\""),
        );
    }
}

#[test]
fn open_ended_ranges() {
    let r: Range = "bytes=100-".parse().unwrap();
    assert_eq!((r.start(), r.stop()), (Some(100), Some(Range::OPEN_END)));
    assert_eq!(r, Range::new(100, Range::OPEN_END).unwrap());
    assert_eq!(r.to_string(), "bytes=100-");
    assert_eq!(r.content_length(300).unwrap(), 200);
    assert_eq!(
        r.content_range(300).unwrap().to_string(),
        "bytes 100-299/300"
    );
    check_err(
        r.content_range(100),
        "range not satisfiable: bytes=100- of 100 bytes",
    );
    assert_eq!(
        "bytes=0-"
            .parse::<Range>()
            .unwrap()
            .content_length(7)
            .unwrap(),
        7
    );
    check_err("bytes=01-".parse::<Range>(), r#"bad range: "bytes=01-""#);
}

#[test]
fn suffix_ranges() {
    for (text, n) in [
        ("bytes=-0", 0),
        ("bytes=-1", 1),
        ("bytes=-100", 100),
        ("bytes=-9999999999999999", MAX_LENGTH),
    ] {
        let r: Range = text.parse().unwrap();
        assert_eq!(r, Range::last(n).unwrap());
        assert_eq!((r.start(), r.stop(), r.suffix()), (None, None, Some(n)));
        assert_eq!(r.to_string(), text);
        assert_eq!(Range::parse(text.as_bytes()).unwrap(), r);
    }
    check_err(
        Range::last(MAX_LENGTH + 1),
        "bad range: last 10000000000000000",
    );
    // The last n bytes, or the whole resource when it is shorter.
    let r = Range::last(100).unwrap();
    for (total, selected, content_range) in [
        (300, 200..300, "bytes 200-299/300"),
        (101, 1..101, "bytes 1-100/101"),
        (100, 0..100, "bytes 0-99/100"),
        (30, 0..30, "bytes 0-29/30"),
        (1, 0..1, "bytes 0-0/1"),
    ] {
        assert_eq!(r.resolve(total).unwrap(), selected);
        assert_eq!(
            r.content_length(total).unwrap(),
            selected.end - selected.start
        );
        assert_eq!(r.content_range(total).unwrap().to_string(), content_range);
    }
    assert_eq!(
        Range::last(1).unwrap().content_range(MAX_LENGTH).unwrap(),
        ContentRange::new(MAX_LENGTH - 1, MAX_LENGTH, MAX_LENGTH).unwrap()
    );
    // Nothing to select: a suffix of zero bytes, or an empty resource.
    check_err(r.resolve(0), "range not satisfiable: bytes=-100 of 0 bytes");
    check_err(
        r.content_range(0),
        "range not satisfiable: bytes=-100 of 0 bytes",
    );
    let zero = Range::last(0).unwrap();
    for total in [0, 1, 300] {
        check_err(
            zero.resolve(total),
            &format!("range not satisfiable: bytes=-0 of {total} bytes"),
        );
        check_err(
            zero.content_length(total),
            &format!("range not satisfiable: bytes=-0 of {total} bytes"),
        );
    }
    // A suffix is never equal to a start-stop range that selects the
    // same bytes of one resource: it depends on the resource.
    assert_ne!(r, Range::new(200, 300).unwrap());
}

#[test]
fn requests_keep_one_range_and_ignore_the_rest() {
    for (value, expected) in [
        ("bytes=0-99", Some(Range::new(0, 100).unwrap())),
        ("bytes=5-", Some(Range::new(5, Range::OPEN_END).unwrap())),
        ("bytes=-5", Some(Range::last(5).unwrap())),
        ("bytes=-0", Some(Range::last(0).unwrap())),
        // Optional whitespace is not part of the value.
        (" bytes=0-0\t", Some(Range::new(0, 1).unwrap())),
        // Several ranges, malformed or backwards ones: no range at all
        // (the whole resource is served), not an error.
        ("bytes=0-1,5-6", None),
        ("bytes=0-1, 5-6", None),
        ("bytes=5-1", None),
        ("bytes=", None),
        ("bytes=-", None),
        ("bytes=01-2", None),
        ("Bytes=0-1", None),
        ("items=0-1", None),
        ("garbage", None),
        ("", None),
        ("bytes=10000000000000000-", None),
    ] {
        for method in ["GET", "HEAD", "PUT"] {
            let got = request(
                format!("{method} /f HTTP/1.1\r\nRange:{value}\r\nX: y").as_bytes(),
                |p| (p.typed.range, p.headers.get("x").map(str::to_owned)),
            );
            assert_eq!(
                got,
                Ok((expected, Some("y".to_owned()))),
                "{method} {value:?}"
            );
        }
    }
}

#[test]
fn unsatisfied_content_range() {
    assert_eq!(ContentRange::parse_header(b"bytes */300").unwrap(), None);
    assert_eq!(
        ContentRange::parse_header(b"bytes 0-9/300").unwrap(),
        Some(ContentRange::new(0, 10, 300).unwrap())
    );
    for text in ["bytes */", "bytes */x", "bytes */0300", "bytes *-1/300"] {
        check_err(
            ContentRange::parse_header(text.as_bytes()),
            &format!("bad content-range: \"{text}\""),
        );
    }
    // Incoming and outgoing headers take it (a 416 says it).
    let mut buf = b"HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */300".to_vec();
    let p = degu_core::parse_response(&mut buf).unwrap();
    assert_eq!(p.typed.content_range, None);
    assert_eq!(p.headers.get("content-range"), Some("bytes */300"));
    assert!(degu_core::check_header("content-range", "bytes */300").is_ok());
}
