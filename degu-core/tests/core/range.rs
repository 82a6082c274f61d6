//! `Range` and `ContentRange`: construction, parsing, rendering, and the
//! answers to a range for a resource of a given size.

use degu_core::{ContentRange, MAX_LENGTH, Range};

use crate::util::check_err;

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
        assert_eq!((r.start(), r.stop()), (start, stop));
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
        "bytes=-5",
        "bytes=5-1",
        "bytes=a-b",
        "bytes=01-2",
        "bytes=1-02",
        "bytes= 1-2",
        "bytes=1-2 ",
        "bytes=0-1,3-4",
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
    assert_eq!((r.start(), r.stop()), (100, Range::OPEN_END));
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
