//! Sockets: binding any [`Address`] through socket2, accepted streams, and
//! AF_UNIX peer credentials.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::Duration;

use degu_core::{Address, Error, Result, Stall, Transport};
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

/// An accepted plain connection: TCP or AF_UNIX.
#[derive(Debug)]
pub enum PlainStream {
    /// A TCP connection.
    Tcp(TcpStream),
    /// An AF_UNIX connection.
    Unix(UnixStream),
}

impl PlainStream {
    /// Wraps an accepted socket2 socket.
    pub fn from_socket(sock: Socket, unix: bool) -> PlainStream {
        if unix {
            PlainStream::Unix(sock.into())
        } else {
            PlainStream::Tcp(sock.into())
        }
    }

    /// Sets the read and write timeouts.
    pub fn set_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.set_read_timeout(timeout)?;
        match self {
            PlainStream::Tcp(s) => s.set_write_timeout(timeout),
            PlainStream::Unix(s) => s.set_write_timeout(timeout),
        }
    }

    /// Sets the read timeout only.
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        match self {
            PlainStream::Tcp(s) => s.set_read_timeout(timeout),
            PlainStream::Unix(s) => s.set_read_timeout(timeout),
        }
    }

    /// The read timeout (`None`: reads wait forever).
    pub fn read_timeout(&self) -> io::Result<Option<Duration>> {
        match self {
            PlainStream::Tcp(s) => s.read_timeout(),
            PlainStream::Unix(s) => s.read_timeout(),
        }
    }

    /// The write timeout (`None`: writes wait forever).
    pub fn write_timeout(&self) -> io::Result<Option<Duration>> {
        match self {
            PlainStream::Tcp(s) => s.write_timeout(),
            PlainStream::Unix(s) => s.write_timeout(),
        }
    }

    /// A socket timeout as [`Error::TimedOut`] naming what stalled (the
    /// socket's own timeout read back); other errors unchanged.
    fn stalled(&self, e: io::Error, stall: Stall) -> io::Error {
        Error::name_timeout(e, stall, || {
            match stall {
                Stall::Write => self.write_timeout(),
                _ => self.read_timeout(),
            }
            .ok()
            .flatten()
        })
    }

    /// Shuts down one or both directions.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        match self {
            PlainStream::Tcp(s) => s.shutdown(how),
            PlainStream::Unix(s) => s.shutdown(how),
        }
    }

    /// Another handle to the same socket.
    pub fn try_clone(&self) -> io::Result<PlainStream> {
        Ok(match self {
            PlainStream::Tcp(s) => PlainStream::Tcp(s.try_clone()?),
            PlainStream::Unix(s) => PlainStream::Unix(s.try_clone()?),
        })
    }

    /// The peer's `(pid, uid, gid)` over AF_UNIX (SO_PEERCRED), none for TCP.
    pub fn credentials(&self) -> Option<Credentials> {
        match self {
            PlainStream::Unix(s) => {
                let c = rustix::net::sockopt::socket_peercred(s.as_fd()).ok()?;
                Some(Credentials {
                    pid: c.pid.as_raw_nonzero().get() as u32,
                    uid: c.uid.as_raw(),
                    gid: c.gid.as_raw(),
                })
            }
            PlainStream::Tcp(_) => None,
        }
    }
}

/// An AF_UNIX peer's process credentials.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Credentials {
    /// Process id.
    pub pid: u32,
    /// User id.
    pub uid: u32,
    /// Group id.
    pub gid: u32,
}

impl Read for PlainStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&*self).read(buf)
    }
}

/// Reads through a shared reference, as `&TcpStream` does.
impl Read for &PlainStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let r = match *self {
            PlainStream::Tcp(s) => Read::read(&mut &*s, buf),
            PlainStream::Unix(s) => Read::read(&mut &*s, buf),
        };
        r.map_err(|e| self.stalled(e, Stall::Read))
    }
}

impl Write for PlainStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let r = match self {
            PlainStream::Tcp(s) => s.write(buf),
            PlainStream::Unix(s) => s.write(buf),
        };
        r.map_err(|e| self.stalled(e, Stall::Write))
    }

    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        let r = match self {
            PlainStream::Tcp(s) => s.write_vectored(bufs),
            PlainStream::Unix(s) => s.write_vectored(bufs),
        };
        r.map_err(|e| self.stalled(e, Stall::Write))
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Transport for PlainStream {
    fn plain_fd(&self) -> Option<RawFd> {
        Some(match self {
            PlainStream::Tcp(s) => s.as_raw_fd(),
            PlainStream::Unix(s) => s.as_raw_fd(),
        })
    }

    fn shutdown_write(&mut self) -> io::Result<()> {
        self.shutdown(Shutdown::Write)
    }
}

impl std::os::fd::AsFd for PlainStream {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        match self {
            PlainStream::Tcp(s) => s.as_fd(),
            PlainStream::Unix(s) => s.as_fd(),
        }
    }
}
