//! Addresses: every textual form an address takes (see `degu_core::address`)
//! round-trips through `FromStr` and `Display`; every rule of validation
//! has its error.

use std::net::Ipv6Addr;

use degu_core::address::MAX_UNIX_LEN;
use degu_core::{Address, IPV4_ANY, IPV4_LOOPBACK, IPV6_ANY, IPV6_LOOPBACK, ScopeId};

use crate::util::check_err;

fn v6(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

#[test]
fn every_demo_form_round_trips() {
    for (text, expected) in [
        ("127.0.0.1:8000", Address::tcp("127.0.0.1", 8000).unwrap()),
        ("0.0.0.0:0", IPV4_ANY),
        ("127.0.0.1:0", IPV4_LOOPBACK),
        ("[::1]:8000", Address::tcp6(v6("::1"), 8000, 0, 0).unwrap()),
        ("[::1]:0", IPV6_LOOPBACK),
        ("[::]:0", IPV6_ANY),
        (
            "[fe80::1%2]:8000",
            Address::tcp6(v6("fe80::1"), 8000, 0, 2).unwrap(),
        ),
        (
            "[fe80::1%eth0]:8000",
            Address::Tcp6 {
                ip: v6("fe80::1"),
                port: 8000,
                flowinfo: 0,
                scope_id: ScopeId::Name("eth0".into()),
            },
        ),
        (
            "unix:/run/app.sock",
            Address::unix("/run/app.sock").unwrap(),
        ),
        ("unix:@name", Address::abstract_name("name").unwrap()),
        ("unix:@00022", Address::Abstract(b"00022".to_vec())),
        // Every printable byte is written as is (found by the fuzzer:
        // quotes and backslashes used to come back escaped).
        ("unix:@n'a\\m\"e", Address::Abstract(b"n'a\\m\"e".to_vec())),
        (
            "unix:@!#$%&()*+,-./:;<=>?[]^_`{|}~",
            Address::abstract_name("!#$%&()*+,-./:;<=>?[]^_`{|}~").unwrap(),
        ),
        ("unix:@", Address::abstract_name("").unwrap()),
        ("example.com:80", Address::tcp("example.com", 80).unwrap()),
        ("localhost:65535", Address::tcp("localhost", 65535).unwrap()),
    ] {
        let parsed: Address = text.parse().unwrap();
        assert_eq!(parsed, expected, "{text}");
        assert_eq!(parsed.to_string(), text);
        assert_eq!(parsed.to_string().parse::<Address>().unwrap(), parsed);
        parsed.validate().unwrap();
    }
}

#[test]
fn canonical_forms() {
    // Text that parses to the same address as its canonical form.
    for (text, canonical) in [
        ("[0:0:0:0:0:0:0:1]:80", "[::1]:80"),
        ("[FE80::1%2]:80", "[fe80::1%2]:80"),
        ("[::ffff:127.0.0.1]:80", "[::ffff:127.0.0.1]:80"),
    ] {
        let a: Address = text.parse().unwrap();
        assert_eq!(a.to_string(), canonical);
        assert_eq!(canonical.parse::<Address>().unwrap(), a);
    }
}

#[test]
fn constants() {
    assert_eq!(IPV6_LOOPBACK.to_string(), "[::1]:0");
    assert_eq!(IPV6_ANY.to_string(), "[::]:0");
    assert_eq!(IPV4_LOOPBACK.to_string(), "127.0.0.1:0");
    assert_eq!(IPV4_ANY.to_string(), "0.0.0.0:0");
    for a in [IPV6_LOOPBACK, IPV6_ANY, IPV4_LOOPBACK, IPV4_ANY] {
        a.validate_for_server().unwrap();
        assert!(!a.is_unix());
    }
}

#[test]
fn parse_errors() {
    for (text, expected) in [
        ("", r#"bad address: expected HOST:PORT in """#),
        (
            "127.0.0.1",
            r#"bad address: expected HOST:PORT in "127.0.0.1""#,
        ),
        ("127.0.0.1:", r#"bad address: bad port in "127.0.0.1:""#),
        (
            "127.0.0.1:65536",
            r#"bad address: bad port in "127.0.0.1:65536""#,
        ),
        ("127.0.0.1:-1", r#"bad address: bad port in "127.0.0.1:-1""#),
        ("127.0.0.1:+1", r#"bad address: bad port in "127.0.0.1:+1""#),
        (
            "127.0.0.1:080",
            r#"bad address: bad port in "127.0.0.1:080""#,
        ),
        ("127.0.0.1:8o", r#"bad address: bad port in "127.0.0.1:8o""#),
        (
            "127.0.0.1:100000",
            r#"bad address: bad port in "127.0.0.1:100000""#,
        ),
        ("[::1]", r#"bad address: expected [IPv6]:PORT in "[::1]""#),
        ("[::1]:", r#"bad address: bad port in "[::1]:""#),
        ("[::1]:99999", r#"bad address: bad port in "[::1]:99999""#),
        ("[::g]:80", r#"bad address: bad IPv6 address in "[::g]:80""#),
        (
            "[127.0.0.1]:80",
            r#"bad address: bad IPv6 address in "[127.0.0.1]:80""#,
        ),
        (
            "[fe80::1%]:80",
            r#"bad address: bad scope id in "[fe80::1%]:80""#,
        ),
        (
            "[fe80::1%0]:80",
            r#"bad address: bad scope id in "[fe80::1%0]:80""#,
        ),
        (
            "[fe80::1%01]:80",
            r#"bad address: bad scope id in "[fe80::1%01]:80""#,
        ),
        (
            "[fe80::1%4294967296]:80",
            r#"bad address: bad scope id in "[fe80::1%4294967296]:80""#,
        ),
        (
            "[fe80::1%eth 0]:80",
            r#"bad address: bad interface name "eth 0""#,
        ),
        (
            "[fe80::1%0eth]:80",
            r#"bad address: bad interface name "0eth""#,
        ),
        (
            "::1:80",
            "bad address: an IPv6 address needs brackets: [::1]:80",
        ),
        (
            "10.0.0.1%2:80",
            r#"bad address: scope id on a non-IPv6 host "10.0.0.1%2""#,
        ),
        (
            "10.0.0.1%eth0:80",
            r#"bad address: scope id on a non-IPv6 host "10.0.0.1%eth0""#,
        ),
        (":80", r#"bad address: bad host name """#),
        ("-a.com:80", r#"bad address: bad host name "-a.com""#),
        ("a-.com:80", r#"bad address: bad host name "a-.com""#),
        ("a..b:80", r#"bad address: bad host name "a..b""#),
        (
            "exa_mple.com:80",
            r#"bad address: bad host name "exa_mple.com""#,
        ),
        ("unix:", r#"bad address: unix path is not absolute: """#),
        (
            "unix:relative/path",
            r#"bad address: unix path is not absolute: "relative/path""#,
        ),
        ("unix:/", r#"bad address: unix path is not normalized: "/""#),
        (
            "unix:/run/../x",
            r#"bad address: unix path is not normalized: "/run/../x""#,
        ),
        (
            "unix:/run/./x",
            r#"bad address: unix path is not normalized: "/run/./x""#,
        ),
        (
            "unix:/run//x",
            r#"bad address: unix path is not normalized: "/run//x""#,
        ),
        (
            "unix:/run/x/",
            r#"bad address: unix path is not normalized: "/run/x/""#,
        ),
        (
            "unix:@a b",
            r#"bad address: abstract name has a byte that is not printable ASCII: "a b""#,
        ),
    ] {
        check_err(text.parse::<Address>(), expected);
    }
}

#[test]
fn host_name_length_limits() {
    let label = "a".repeat(63);
    assert!(format!("{label}.com:80").parse::<Address>().is_ok());
    assert!(format!("a{label}.com:80").parse::<Address>().is_err());
    let name = [label.as_str(); 4].join(".");
    assert_eq!(name.len(), 255);
    assert!(Address::tcp(&name[..253], 80).is_ok());
    assert!(Address::tcp(&format!("{}a", &name[..253]), 80).is_err());
}

#[test]
fn ipv6_host_in_a_two_tuple() {
    for host in ["::1", "fe80::1", "fe80::1%2", "::"] {
        check_err(
            Address::tcp(host, 80),
            &format!(
                "bad address: IPv6 host \"{host}\" in a (host, port) 2-tuple; \
                 use (host, port, flowinfo, scope_id)"
            ),
        );
    }
}

#[test]
fn flowinfo_is_20_bits() {
    assert!(Address::tcp6(v6("::1"), 80, 0xF_FFFF, 0).is_ok());
    let msg = "bad address: flowinfo 1048576 is more than 20 bits";
    check_err(Address::tcp6(v6("::1"), 80, 0x10_0000, 0), msg);
    let a = Address::Tcp6 {
        ip: v6("::1"),
        port: 80,
        flowinfo: 0x10_0000,
        scope_id: ScopeId::Index(0),
    };
    check_err(a.validate(), msg);
}

#[test]
fn unix_path_length() {
    let ok = format!("/{}", "p".repeat(MAX_UNIX_LEN - 1));
    assert_eq!(
        Address::unix(&ok).unwrap().to_string(),
        format!("unix:{ok}")
    );
    let long = format!("/{}", "p".repeat(MAX_UNIX_LEN));
    check_err(
        Address::unix(&long),
        &format!(
            "bad address: unix path longer than 107 bytes: \"{}\"...",
            &long[..64]
        ),
    );
    check_err(
        Address::unix("/a\0b"),
        r#"bad address: unix path contains a NUL: "/a\x00b""#,
    );
}

#[test]
fn abstract_name_length() {
    let ok = "n".repeat(MAX_UNIX_LEN);
    let a: Address = format!("unix:@{ok}").parse().unwrap();
    assert_eq!(a, Address::Abstract(ok.clone().into_bytes()));
    let long = "n".repeat(MAX_UNIX_LEN + 1);
    let msg = format!(
        "bad address: abstract name longer than 107 bytes: \"{}\"...",
        &long[..64]
    );
    check_err(format!("unix:@{long}").parse::<Address>(), &msg);
    check_err(Address::abstract_name(long.clone()), &msg);
    check_err(Address::Abstract(long.into_bytes()).validate(), &msg);
    check_err(
        Address::abstract_name(&b"a\0b"[..]),
        r#"bad address: abstract name has a byte that is not printable ASCII: "a\x00b""#,
    );
}

#[test]
fn a_server_refuses_a_dns_name() {
    let a = Address::tcp("example.com", 80).unwrap();
    a.validate().unwrap();
    check_err(
        a.validate_for_server(),
        r#"bad address: a server binds to an IP address, not a DNS name ("example.com")"#,
    );
    for ok in [
        "127.0.0.1:0",
        "[::1]:0",
        "unix:/tmp/x.sock",
        "unix:@",
        "unix:@x",
    ] {
        ok.parse::<Address>()
            .unwrap()
            .validate_for_server()
            .unwrap();
    }
}

#[test]
fn validate_catches_variants_built_directly() {
    check_err(
        Address::Unix("rel".into()).validate(),
        r#"bad address: unix path is not absolute: "rel""#,
    );
    check_err(
        Address::Dns {
            host: "a b".into(),
            port: 1,
        }
        .validate(),
        r#"bad address: bad host name "a b""#,
    );
    let named = |n: &str| Address::Tcp6 {
        ip: v6("fe80::1"),
        port: 1,
        flowinfo: 0,
        scope_id: ScopeId::Name(n.into()),
    };
    check_err(
        named("").validate(),
        r#"bad address: bad interface name """#,
    );
    check_err(
        named("a-very-long-interface").validate(),
        r#"bad address: bad interface name "a-very-long-interface""#,
    );
    named("eth0").validate().unwrap();
}

#[test]
fn hosts_and_socket_addresses() {
    let a: Address = "[fe80::1%2]:8000".parse().unwrap();
    assert_eq!(a.default_host().unwrap(), "[fe80::1]:8000");
    assert_eq!(a.host().unwrap(), "fe80::1");
    let sa = a.socket_addr().unwrap().unwrap();
    assert_eq!(sa.to_string(), "[fe80::1%2]:8000");
    assert_eq!(Address::from(sa), a);
    let a: Address = "127.0.0.1:80".parse().unwrap();
    assert_eq!(a.default_host().unwrap(), "127.0.0.1:80");
    assert_eq!(Address::from(a.socket_addr().unwrap().unwrap()), a);
    let a: Address = "example.com:80".parse().unwrap();
    assert_eq!(a.default_host().unwrap(), "example.com:80");
    assert_eq!(a.socket_addr().unwrap(), None);
    for text in ["unix:/x", "unix:@x"] {
        let a: Address = text.parse().unwrap();
        assert!(a.is_unix());
        assert_eq!((a.default_host(), a.host()), (None, None));
        assert_eq!(a.socket_addr().unwrap(), None);
    }
}

#[test]
fn scope_names_resolve_through_the_system() {
    assert_eq!(ScopeId::Index(7).resolve().unwrap(), 7);
    assert_eq!(ScopeId::Name("lo".into()).resolve().unwrap(), 1);
    let e = ScopeId::Name("nosuchif0".into()).resolve().unwrap_err();
    assert!(
        e.to_string()
            .starts_with(r#"bad address: no network interface named "nosuchif0""#),
        "{e}"
    );
}

#[test]
fn invalid_abstract_names_display_escaped() {
    assert_eq!(
        Address::Abstract(b"a b\0".to_vec()).to_string(),
        r"unix:@a b\x00"
    );
}

#[test]
fn unix_paths_that_could_forge_a_log_line_display_escaped() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    use std::path::PathBuf;
    // A peer's name, from the kernel, may hold any byte but NUL: shown
    // escaped, never as a line break, a terminal escape or raw bytes.
    for (path, shown) in [
        (&b"/tmp/x\nERROR forged"[..], r"unix:/tmp/x\nERROR forged"),
        (b"/tmp/a\rb\x1b[2J", r"unix:/tmp/a\rb\x1b[2J"),
        (b"/tmp/\xff\xfe", r"unix:/tmp/\xff\xfe"),
        (b"/tmp/back\\slash", r"unix:/tmp/back\\slash"),
        (b"/tmp/\xc2\x85next-line", r"unix:/tmp/\xc2\x85next-line"),
    ] {
        let a = Address::Unix(PathBuf::from(OsStr::from_bytes(path)));
        assert_eq!(a.to_string(), shown);
        assert!(a.validate().is_err(), "{shown}");
    }
    // Valid paths (spaces and non-ASCII letters included) show as they are
    // and parse back.
    for text in ["unix:/run/my app.sock", "unix:/run/café.sock"] {
        let a: Address = text.parse().unwrap();
        assert_eq!(a.to_string(), text);
    }
    for text in ["unix:/run/a\nb", "unix:/run/a\\b", "unix:/run/a\u{85}b"] {
        let e = text.parse::<Address>().unwrap_err().to_string();
        assert!(
            e.starts_with(
                "bad address: unix path has a control character, a backslash or invalid UTF-8"
            ),
            "{e}"
        );
    }
}
