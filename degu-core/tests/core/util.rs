//! Helpers: the byte sets of the parser's rules written out by hand (the
//! byte tables in `degu-core/src/tables.rs` are not read here, so these
//! sets check them), and small `check` functions that assert one input's
//! exact outcome.

use std::fmt::Debug;

use degu_core::{RequestPreamble, ResponsePreamble, parse_request, parse_response};

/// `A`: `-0-9a-z`.
pub const A: &str = "-0123456789abcdefghijklmnopqrstuvwxyz";
/// `U`: `A-Z`.
pub const U: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
/// `VCHAR`: every visible ASCII byte, `!` to `~`.
pub const VCHAR: &str = concat!(
    "!\"#$%&'()*+,-./",
    "0123456789",
    ":;<=>?@",
    "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "[\\]^_`",
    "abcdefghijklmnopqrstuvwxyz",
    "{|}~",
);
/// What a path component may hold besides `A` and `U`: the marks, the
/// sub-delimiters and `@`, and `%` (which starts an escape).
pub const PATH_EXTRA: &str = "+.:_~!$&'()*,;=@%";
/// What a query may hold besides the path bytes: the separators, and what
/// browsers send unescaped.
pub const QUERY_EXTRA: &str = "/?[]{}|^`";

/// A set of bytes, one flag per byte value.
pub type Set = [bool; 256];

/// The union of the bytes of `parts`.
pub fn set(parts: &[&str]) -> Set {
    let mut s = [false; 256];
    for part in parts {
        for b in part.bytes() {
            s[b as usize] = true;
        }
    }
    s
}

/// `set` minus the bytes of `out`.
pub fn without(mut s: Set, out: &str) -> Set {
    for b in out.bytes() {
        s[b as usize] = false;
    }
    s
}

// The byte sets, one per region.

/// Incoming header name (before lowercasing).
pub fn name_in() -> Set {
    set(&[A, U])
}
/// Outgoing header name.
pub fn name_out() -> Set {
    set(&[A])
}
/// Header value: field content, no obs-text, no control byte but tab.
pub fn value() -> Set {
    set(&[VCHAR, " ", "\t"])
}
/// Whole URI: a path and a query.
pub fn uri() -> Set {
    query()
}
/// Path component.
pub fn path() -> Set {
    set(&[A, U, PATH_EXTRA])
}
/// Query.
pub fn query() -> Set {
    set(&[A, U, PATH_EXTRA, QUERY_EXTRA])
}
/// Reason phrase.
pub fn reason() -> Set {
    set(&[VCHAR, " ", "\t"])
}
/// Chunk-extension key.
pub fn ext_key() -> Set {
    set(&[A, U])
}
/// Chunk-extension value.
pub fn ext_value() -> Set {
    set(&[A, U, "+.:_~", "\"'()*,;<>[]"])
}
/// Content-length digits.
pub fn digit() -> Set {
    set(&["0123456789"])
}
/// Chunk-size digits, and the digits of a path escape.
pub fn hex() -> Set {
    set(&["0123456789", "abcdef", "ABCDEF"])
}

/// Runs `accepts` for every byte value and asserts it is true exactly for
/// the bytes of `allowed`; the failure lists every byte that disagrees.
pub fn check_every_byte(region: &str, allowed: &Set, mut accepts: impl FnMut(u8) -> bool) {
    let wrong: Vec<String> = (0..=255u8)
        .filter(|&b| accepts(b) != allowed[b as usize])
        .map(|b| {
            let verdict = if allowed[b as usize] {
                "refused"
            } else {
                "accepted"
            };
            format!("{:?} {verdict}", b as char)
        })
        .collect();
    assert!(wrong.is_empty(), "{region}: {}", wrong.join(", "));
}

/// `input` with `byte` put where `@` is (the input has exactly one `@`).
pub fn with_byte(input: &str, byte: u8) -> Vec<u8> {
    let at = input.find('@').expect("template has an @");
    let mut v = input.as_bytes().to_vec();
    v[at] = byte;
    v
}

/// Parses `input` as a request, hands the preamble to `f`, returns what
/// `f` returns; or the error message.
pub fn request<T>(input: &[u8], f: impl FnOnce(&RequestPreamble<'_>) -> T) -> Result<T, String> {
    let mut buf = input.to_vec();
    parse_request(&mut buf)
        .map(|p| f(&p))
        .map_err(|e| e.to_string())
}

/// Parses `input` as a response, like [`request`].
pub fn response<T>(input: &[u8], f: impl FnOnce(&ResponsePreamble<'_>) -> T) -> Result<T, String> {
    let mut buf = input.to_vec();
    parse_response(&mut buf)
        .map(|p| f(&p))
        .map_err(|e| e.to_string())
}

/// Asserts a request's error message.
#[track_caller]
pub fn check_request_err(input: &str, expected: &str) {
    match request(input.as_bytes(), |p| format!("{p:?}")) {
        Ok(p) => panic!("{input:?} was accepted: {p}"),
        Err(e) => assert_eq!(e, expected, "input {input:?}"),
    }
}

/// Asserts a response's error message.
#[track_caller]
pub fn check_response_err(input: &str, expected: &str) {
    match response(input.as_bytes(), |p| format!("{p:?}")) {
        Ok(p) => panic!("{input:?} was accepted: {p}"),
        Err(e) => assert_eq!(e, expected, "input {input:?}"),
    }
}

/// Asserts `result` is the error with message `expected`.
#[track_caller]
pub fn check_err<T: Debug, E: std::fmt::Display>(result: Result<T, E>, expected: &str) {
    match result {
        Ok(v) => panic!("expected the error {expected:?}, got Ok({v:?})"),
        Err(e) => assert_eq!(e.to_string(), expected),
    }
}

/// The headers of a parsed preamble as owned pairs.
pub fn pairs(h: &degu_core::RawHeaders<'_>) -> Vec<(String, String)> {
    h.iter()
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .collect()
}

/// A reader over `data` that hands out at most `step` bytes per read.
pub fn trickle(data: &[u8], step: usize) -> impl std::io::Read + '_ {
    struct Step<'a>(&'a [u8], usize);
    impl std::io::Read for Step<'_> {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            let n = out.len().min(self.1).min(self.0.len());
            out[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }
    Step(data, step)
}
