//! Addresses: one value decides the socket family, for a server and a
//! client alike.
//!
//! | text | variant |
//! |---|---|
//! | `127.0.0.1:8000` | [`Address::Tcp4`] (the original's `(host, port)`) |
//! | `[::1]:8000`, `[fe80::1%2]:8000`, `[fe80::1%eth0]:8000` | [`Address::Tcp6`] (`(host, port, flowinfo, scope_id)`) |
//! | `unix:/run/app.sock` | [`Address::Unix`] |
//! | `unix:@name`, `unix:@` | [`Address::Abstract`] (empty: the kernel picks a name) |
//! | `example.com:80` | [`Address::Dns`] (client only) |
//!
//! `Display` and `FromStr` round-trip: `text.parse::<Address>()?.to_string()`
//! gives the canonical form of `text`, and parsing that gives the same
//! address. The one thing text cannot carry is a non-zero IPv6 flowinfo.
//!
//! ```
//! use degu_core::Address;
//! let a: Address = "[fe80::1%2]:5984".parse().unwrap();
//! assert_eq!(a, Address::tcp6("fe80::1".parse().unwrap(), 5984, 0, 2).unwrap());
//! assert_eq!(a.to_string(), "[fe80::1%2]:5984");
//! assert!("unix:relative/path".parse::<Address>().is_err());
//! assert!(Address::tcp("::1", 80).is_err()); // IPv6 is always the 4-tuple
//! ```

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::error::{Error, Result, show};

/// Longest AF_UNIX path or abstract name in bytes (`sun_path` less its NUL).
pub const MAX_UNIX_LEN: usize = 107;

/// An IPv6 scope: an interface index (0 = none) or an interface name,
/// resolved to its index when the socket is bound or connected.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ScopeId {
    /// An interface index; 0 means no scope.
    Index(u32),
    /// An interface name such as `eth0`.
    Name(String),
}

impl ScopeId {
    /// The interface index: the number itself, or the named interface's
    /// index read from `/sys/class/net/NAME/ifindex`.
    pub fn resolve(&self) -> Result<u32> {
        match self {
            ScopeId::Index(i) => Ok(*i),
            ScopeId::Name(name) => {
                let path = format!("/sys/class/net/{name}/ifindex");
                let text = std::fs::read_to_string(&path).map_err(|e| {
                    Error::BadAddress(format!("no network interface named {name:?} ({e})"))
                })?;
                text.trim().parse().map_err(|_| {
                    Error::BadAddress(format!("unreadable index for interface {name:?}"))
                })
            }
        }
    }
}

/// Where a server listens or a client connects.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Address {
    /// AF_INET: `(host, port)`.
    Tcp4 {
        /// Host address.
        ip: Ipv4Addr,
        /// Port; 0 asks the kernel for one (server).
        port: u16,
    },
    /// AF_INET6: `(host, port, flowinfo, scope_id)`.
    Tcp6 {
        /// Host address.
        ip: Ipv6Addr,
        /// Port; 0 asks the kernel for one (server).
        port: u16,
        /// Flow label (20 bits).
        flowinfo: u32,
        /// Scope (interface) for link-local peers.
        scope_id: ScopeId,
    },
    /// AF_UNIX socket file: an absolute, normalized path.
    Unix(PathBuf),
    /// Linux abstract AF_UNIX name (without the leading NUL); empty asks the
    /// kernel to choose one.
    Abstract(Vec<u8>),
    /// A DNS name and port, resolved when a client connects. A server
    /// refuses it.
    Dns {
        /// The host name.
        host: String,
        /// The port.
        port: u16,
    },
}

/// `('::1', 0, 0, 0)`: IPv6 loopback, kernel-chosen port.
pub const IPV6_LOOPBACK: Address = Address::Tcp6 {
    ip: Ipv6Addr::LOCALHOST,
    port: 0,
    flowinfo: 0,
    scope_id: ScopeId::Index(0),
};
/// `('::', 0, 0, 0)`: every IPv6 address, kernel-chosen port.
pub const IPV6_ANY: Address = Address::Tcp6 {
    ip: Ipv6Addr::UNSPECIFIED,
    port: 0,
    flowinfo: 0,
    scope_id: ScopeId::Index(0),
};
/// `('127.0.0.1', 0)`: IPv4 loopback, kernel-chosen port.
pub const IPV4_LOOPBACK: Address = Address::Tcp4 {
    ip: Ipv4Addr::LOCALHOST,
    port: 0,
};
/// `('0.0.0.0', 0)`: every IPv4 address, kernel-chosen port.
pub const IPV4_ANY: Address = Address::Tcp4 {
    ip: Ipv4Addr::UNSPECIFIED,
    port: 0,
};

fn bad(msg: impl Into<String>) -> Error {
    Error::BadAddress(msg.into())
}

impl Address {
    /// The original's 2-tuple `(host, port)`: an IPv4 address or a DNS
    /// name. An IPv6 host is refused: IPv6 is always the 4-tuple
    /// ([`Address::tcp6`]), which is how the family is chosen.
    pub fn tcp(host: &str, port: u16) -> Result<Address> {
        if let Ok(ip) = host.parse::<Ipv4Addr>() {
            return Ok(Address::Tcp4 { ip, port });
        }
        if host.contains(':') {
            return Err(bad(format!(
                "IPv6 host {} in a (host, port) 2-tuple; use (host, port, flowinfo, scope_id)",
                show(host.as_bytes())
            )));
        }
        if host.contains('%') {
            return Err(bad(format!(
                "scope id on a non-IPv6 host {}",
                show(host.as_bytes())
            )));
        }
        validate_dns(host)?;
        Ok(Address::Dns {
            host: host.to_owned(),
            port,
        })
    }

    /// The original's 4-tuple `(host, port, flowinfo, scope_id)`.
    pub fn tcp6(ip: Ipv6Addr, port: u16, flowinfo: u32, scope_id: u32) -> Result<Address> {
        if flowinfo > 0xF_FFFF {
            return Err(bad(format!("flowinfo {flowinfo} is more than 20 bits")));
        }
        Ok(Address::Tcp6 {
            ip,
            port,
            flowinfo,
            scope_id: ScopeId::Index(scope_id),
        })
    }

    /// An AF_UNIX socket file. The path must be absolute and normalized (no
    /// `.`, `..`, empty component or trailing slash) and at most 107 bytes.
    pub fn unix(path: impl Into<PathBuf>) -> Result<Address> {
        let path = path.into();
        validate_unix_path(&path)?;
        Ok(Address::Unix(path))
    }

    /// A Linux abstract AF_UNIX name: at most 107 printable, non-space
    /// ASCII bytes, or empty for a kernel-chosen name.
    pub fn abstract_name(name: impl Into<Vec<u8>>) -> Result<Address> {
        let name = name.into();
        validate_abstract(&name)?;
        Ok(Address::Abstract(name))
    }

    /// Checks every rule of this address's variant (useful for addresses
    /// built directly from the enum).
    pub fn validate(&self) -> Result<()> {
        match self {
            Address::Tcp4 { .. } => Ok(()),
            Address::Tcp6 {
                flowinfo, scope_id, ..
            } => {
                if *flowinfo > 0xF_FFFF {
                    return Err(bad(format!("flowinfo {flowinfo} is more than 20 bits")));
                }
                if let ScopeId::Name(n) = scope_id {
                    validate_ifname(n)?;
                }
                Ok(())
            }
            Address::Unix(p) => validate_unix_path(p),
            Address::Abstract(n) => validate_abstract(n),
            Address::Dns { host, .. } => validate_dns(host),
        }
    }

    /// Checks the address is one a server can bind: valid, and not a DNS
    /// name.
    pub fn validate_for_server(&self) -> Result<()> {
        self.validate()?;
        if let Address::Dns { host, .. } = self {
            return Err(bad(format!(
                "a server binds to an IP address, not a DNS name ({})",
                show(host.as_bytes())
            )));
        }
        Ok(())
    }

    /// True for the two AF_UNIX variants.
    pub fn is_unix(&self) -> bool {
        matches!(self, Address::Unix(_) | Address::Abstract(_))
    }

    /// The IP socket address for the two IP variants (resolving a named
    /// scope), `None` for AF_UNIX and DNS addresses.
    pub fn socket_addr(&self) -> Result<Option<SocketAddr>> {
        Ok(match self {
            Address::Tcp4 { ip, port } => Some(SocketAddr::V4(SocketAddrV4::new(*ip, *port))),
            Address::Tcp6 {
                ip,
                port,
                flowinfo,
                scope_id,
            } => Some(SocketAddr::V6(SocketAddrV6::new(
                *ip,
                *port,
                *flowinfo,
                scope_id.resolve()?,
            ))),
            _ => None,
        })
    }

    /// The client's default `host` header for this address: `host:port`
    /// for TCP (`[ip]:port` for IPv6, without the scope), none for AF_UNIX.
    pub fn default_host(&self) -> Option<String> {
        match self {
            Address::Tcp4 { ip, port } => Some(format!("{ip}:{port}")),
            Address::Tcp6 { ip, port, .. } => Some(format!("[{ip}]:{port}")),
            Address::Dns { host, port } => Some(format!("{host}:{port}")),
            Address::Unix(_) | Address::Abstract(_) => None,
        }
    }

    /// The host part alone (for TLS server names): the IP or DNS name, none
    /// for AF_UNIX.
    pub fn host(&self) -> Option<String> {
        match self {
            Address::Tcp4 { ip, .. } => Some(ip.to_string()),
            Address::Tcp6 { ip, .. } => Some(ip.to_string()),
            Address::Dns { host, .. } => Some(host.clone()),
            Address::Unix(_) | Address::Abstract(_) => None,
        }
    }
}

impl From<SocketAddr> for Address {
    fn from(sa: SocketAddr) -> Self {
        match sa {
            SocketAddr::V4(v4) => Address::Tcp4 {
                ip: *v4.ip(),
                port: v4.port(),
            },
            SocketAddr::V6(v6) => Address::Tcp6 {
                ip: *v6.ip(),
                port: v6.port(),
                flowinfo: v6.flowinfo(),
                scope_id: ScopeId::Index(v6.scope_id()),
            },
        }
    }
}

fn validate_dns(host: &str) -> Result<()> {
    let ok = !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if ok {
        Ok(())
    } else {
        Err(bad(format!("bad host name {}", show(host.as_bytes()))))
    }
}

fn validate_ifname(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 15
        && !name.as_bytes()[0].is_ascii_digit()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(bad(format!("bad interface name {}", show(name.as_bytes()))))
    }
}

fn validate_unix_path(path: &Path) -> Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let bytes = path.as_os_str().as_bytes();
    if bytes.first() != Some(&b'/') {
        return Err(bad(format!("unix path is not absolute: {}", show(bytes))));
    }
    if bytes.len() > MAX_UNIX_LEN {
        return Err(bad(format!(
            "unix path longer than {MAX_UNIX_LEN} bytes: {}",
            show(bytes)
        )));
    }
    if bytes.contains(&0) {
        return Err(bad(format!("unix path contains a NUL: {}", show(bytes))));
    }
    if !displays_as_is(bytes) {
        return Err(bad(format!(
            "unix path has a control character, a backslash or invalid UTF-8: {}",
            show(bytes)
        )));
    }
    let normalized = bytes.len() > 1
        && bytes[1..]
            .split(|&b| b == b'/')
            .all(|c| !c.is_empty() && c != b"." && c != b"..");
    if !normalized {
        return Err(bad(format!("unix path is not normalized: {}", show(bytes))));
    }
    Ok(())
}

/// True when a path can be shown as it is: UTF-8 without a control
/// character (which could start a new log line or a terminal escape) or a
/// backslash (which shows escapes). Other paths are shown escaped.
fn displays_as_is(path: &[u8]) -> bool {
    std::str::from_utf8(path).is_ok_and(|p| !p.chars().any(|c| c.is_control() || c == '\\'))
}

fn validate_abstract(name: &[u8]) -> Result<()> {
    if name.len() > MAX_UNIX_LEN {
        return Err(bad(format!(
            "abstract name longer than {MAX_UNIX_LEN} bytes: {}",
            show(name)
        )));
    }
    if !name.iter().all(|b| b.is_ascii_graphic()) {
        return Err(bad(format!(
            "abstract name has a byte that is not printable ASCII: {}",
            show(name)
        )));
    }
    Ok(())
}

fn parse_port(text: &str, whole: &str) -> Result<u16> {
    let ok = !text.is_empty()
        && text.len() <= 5
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    ok.then(|| text.parse::<u16>().ok())
        .flatten()
        .ok_or_else(|| bad(format!("bad port in {}", show(whole.as_bytes()))))
}

impl FromStr for Address {
    type Err = Error;

    fn from_str(s: &str) -> Result<Address> {
        if let Some(rest) = s.strip_prefix("unix:") {
            return match rest.strip_prefix('@') {
                Some(name) => Address::abstract_name(name.as_bytes()),
                None => Address::unix(rest),
            };
        }
        if let Some(rest) = s.strip_prefix('[') {
            let (inside, port) = rest
                .split_once("]:")
                .ok_or_else(|| bad(format!("expected [IPv6]:PORT in {}", show(s.as_bytes()))))?;
            let port = parse_port(port, s)?;
            let (host, scope) = match inside.split_once('%') {
                Some((h, sc)) => (h, Some(sc)),
                None => (inside, None),
            };
            let ip: Ipv6Addr = host
                .parse()
                .map_err(|_| bad(format!("bad IPv6 address in {}", show(s.as_bytes()))))?;
            let scope_id = match scope {
                None => ScopeId::Index(0),
                Some(sc) if sc.bytes().all(|b| b.is_ascii_digit()) => {
                    let ok = !sc.is_empty() && !sc.starts_with('0');
                    let idx = ok.then(|| sc.parse::<u32>().ok()).flatten();
                    ScopeId::Index(
                        idx.ok_or_else(|| bad(format!("bad scope id in {}", show(s.as_bytes()))))?,
                    )
                }
                Some(sc) => {
                    validate_ifname(sc)?;
                    ScopeId::Name(sc.to_owned())
                }
            };
            return Ok(Address::Tcp6 {
                ip,
                port,
                flowinfo: 0,
                scope_id,
            });
        }
        let (host, port) = s
            .rsplit_once(':')
            .ok_or_else(|| bad(format!("expected HOST:PORT in {}", show(s.as_bytes()))))?;
        let port = parse_port(port, s)?;
        if host.contains(':') {
            return Err(bad(format!(
                "an IPv6 address needs brackets: [{host}]:{port}"
            )));
        }
        Address::tcp(host, port)
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Tcp4 { ip, port } => write!(f, "{ip}:{port}"),
            Address::Tcp6 {
                ip, port, scope_id, ..
            } => match scope_id {
                ScopeId::Index(0) => write!(f, "[{ip}]:{port}"),
                ScopeId::Index(i) => write!(f, "[{ip}%{i}]:{port}"),
                ScopeId::Name(n) => write!(f, "[{ip}%{n}]:{port}"),
            },
            // A valid path is written as is, so that it parses back; any
            // other (a peer's name from the kernel, which may hold any
            // byte but NUL) is escaped, so it can never forge a log line.
            Address::Unix(p) => {
                let bytes = std::os::unix::ffi::OsStrExt::as_bytes(p.as_os_str());
                if displays_as_is(bytes) {
                    write!(f, "unix:{}", p.display())
                } else {
                    write!(f, "unix:{}", bytes.escape_ascii())
                }
            }
            // A valid name is printable ASCII, written as is so that it
            // parses back; anything else (an invalid name built directly)
            // is escaped.
            Address::Abstract(n) => match std::str::from_utf8(n) {
                Ok(name) if n.iter().all(u8::is_ascii_graphic) => write!(f, "unix:@{name}"),
                _ => write!(f, "unix:@{}", n.escape_ascii()),
            },
            Address::Dns { host, port } => write!(f, "{host}:{port}"),
        }
    }
}
