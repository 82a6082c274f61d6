//! Sockets: binding any [`Address`] through socket2 (the accepted streams
//! are degu-core's [`PlainStream`](degu_core::PlainStream)).

use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use degu_core::{Address, Error, Result};
use socket2::{Domain, SockAddr, Socket, Type};

/// Converts an [`Address`] to a socket2 address (resolving a named IPv6
/// scope); a DNS name is an error here.
pub fn sock_addr(address: &Address) -> Result<(Domain, SockAddr)> {
    if let Some(sa) = address.socket_addr()? {
        let domain = if sa.is_ipv4() {
            Domain::IPV4
        } else {
            Domain::IPV6
        };
        return Ok((domain, SockAddr::from(sa)));
    }
    let sa = match address {
        Address::Unix(path) => SockAddr::unix(path),
        Address::Abstract(name) => {
            // An empty name is an address of just the family: the kernel
            // then picks a name (autobind).
            let mut bytes = Vec::with_capacity(name.len() + 1);
            if !name.is_empty() {
                bytes.push(0);
                bytes.extend_from_slice(name);
            }
            SockAddr::unix(std::ffi::OsStr::from_bytes(&bytes))
        }
        _ => {
            return Err(Error::BadAddress(format!(
                "{address} cannot be bound or connected without resolving it"
            )));
        }
    }?;
    Ok((Domain::UNIX, sa))
}

/// Converts what the kernel reports (getsockname, accept) back into an
/// [`Address`]. An unnamed AF_UNIX peer is `Address::Abstract(vec![])`,
/// displayed as `unix:@`.
pub fn from_sock_addr(sa: &SockAddr) -> Address {
    if let Some(sa) = sa.as_socket() {
        return Address::from(sa);
    }
    if let Some(path) = sa.as_pathname() {
        return Address::Unix(PathBuf::from(path));
    }
    if let Some(name) = sa.as_abstract_namespace() {
        return Address::Abstract(name.to_vec());
    }
    Address::Abstract(Vec::new())
}

/// Binds and listens on `address`.
pub fn listen(address: &Address, backlog: i32) -> Result<Socket> {
    address.validate_for_server()?;
    let (domain, sa) = sock_addr(address)?;
    let sock = Socket::new(domain, Type::STREAM.cloexec(), None)?;
    if domain != Domain::UNIX {
        sock.set_reuse_address(true)?;
    }
    sock.bind(&sa)
        .map_err(|e| Error::Io(io::Error::new(e.kind(), format!("bind {address}: {e}"))))?;
    sock.listen(backlog)?;
    Ok(sock)
}
