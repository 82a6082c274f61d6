//! Opening sockets: any [`Address`] through socket2, into degu-core's
//! [`PlainStream`] (a [`Wrapper`](degu_core::Wrapper) may then turn it into
//! a TLS stream).

use std::ffi::OsStr;
use std::io;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::UnixStream;
use std::time::Duration;

use degu_core::{Address, Error, PlainStream, Result};
use socket2::{Domain, SockAddr, Socket, Type};

/// Adds "cannot connect to ADDRESS" to an I/O error, keeping its kind (so
/// [`Error::is_timeout`] still answers).
fn context(address: &Address, e: io::Error) -> Error {
    Error::Io(io::Error::new(
        e.kind(),
        format!("cannot connect to {address}: {e}"),
    ))
}

/// Where to connect: the socket addresses an [`Address`] stands for.
fn targets(address: &Address) -> Result<Vec<(Domain, SockAddr)>> {
    address.validate()?;
    Ok(match address {
        Address::Tcp4 { .. } | Address::Tcp6 { .. } => {
            let sa = address
                .socket_addr()?
                .ok_or_else(|| Error::BadAddress(address.to_string()))?;
            vec![(Domain::for_address(sa), SockAddr::from(sa))]
        }
        Address::Dns { host, port } => {
            let found: Vec<SocketAddr> = (host.as_str(), *port)
                .to_socket_addrs()
                .map_err(|e| {
                    Error::Io(io::Error::new(
                        e.kind(),
                        format!("cannot resolve {host}: {e}"),
                    ))
                })?
                .collect();
            if found.is_empty() {
                return Err(Error::BadAddress(format!("{host} resolves to no address")));
            }
            found
                .into_iter()
                .map(|sa| (Domain::for_address(sa), SockAddr::from(sa)))
                .collect()
        }
        Address::Unix(path) => {
            let sa = SockAddr::unix(path).map_err(|e| context(address, e))?;
            vec![(Domain::UNIX, sa)]
        }
        Address::Abstract(name) => {
            if name.is_empty() {
                return Err(Error::BadAddress(
                    "cannot connect to an empty abstract name (unix:@ is for servers)".into(),
                ));
            }
            let mut bytes = Vec::with_capacity(name.len() + 1);
            bytes.push(0);
            bytes.extend_from_slice(name);
            let sa = SockAddr::unix(OsStr::from_bytes(&bytes)).map_err(|e| context(address, e))?;
            vec![(Domain::UNIX, sa)]
        }
    })
}

fn connect_one(
    domain: Domain,
    sa: &SockAddr,
    timeout: Option<Duration>,
) -> io::Result<PlainStream> {
    let socket = Socket::new(domain, Type::STREAM, None)?;
    if domain == Domain::UNIX {
        // A blocking AF_UNIX connect waits at most the send timeout (a
        // non-blocking one would fail at once on a full backlog).
        socket.set_write_timeout(timeout)?;
        socket.connect(sa)?;
        let stream = PlainStream::from(UnixStream::from(socket));
        stream.set_read_timeout(timeout)?;
        return Ok(stream);
    }
    match timeout {
        Some(t) => socket.connect_timeout(sa, t)?,
        None => socket.connect(sa)?,
    }
    socket.set_tcp_nodelay(true)?;
    socket.set_read_timeout(timeout)?;
    socket.set_write_timeout(timeout)?;
    Ok(PlainStream::from(TcpStream::from(socket)))
}

/// Opens a plain socket to `address`, with `timeout` as its connect, read
/// and write timeout (`None`: block forever).
///
/// A DNS address is resolved now and each of its addresses tried in turn;
/// an IPv6 address connects with its flowinfo and scope id; `unix:/path`
/// and `unix:@name` connect over AF_UNIX. TCP sockets get `TCP_NODELAY`.
/// An error names the address. A timeout of zero is refused.
pub fn connect_plain(address: &Address, timeout: Option<Duration>) -> Result<PlainStream> {
    if timeout == Some(Duration::ZERO) {
        return Err(Error::Invalid(
            "a timeout of zero is not allowed (None waits forever)".into(),
        ));
    }
    let mut last = None;
    for (domain, sa) in targets(address)? {
        match connect_one(domain, &sa, timeout) {
            Ok(stream) => return Ok(stream),
            Err(e) => last = Some(e),
        }
    }
    let e = last.unwrap_or_else(|| io::Error::other("no address to connect to"));
    Err(context(address, e))
}
