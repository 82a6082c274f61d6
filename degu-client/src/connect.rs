//! Opening sockets: any [`Address`] through socket2, and the pluggable
//! [`Connector`] that turns the plain socket into a [`Transport`].

use std::ffi::OsStr;
use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, ToSocketAddrs};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::UnixStream;
use std::time::Duration;

use degu_core::{Address, Error, Result, Stall, Transport};
use socket2::{Domain, SockAddr, Socket, Type};

/// A connected plain socket: TCP (IPv4 or IPv6) or AF_UNIX.
///
/// It is what [`connect_plain`] returns and what a [`Connector`] receives;
/// it implements `Read`, `Write` and [`Transport`] (its
/// [`plain_fd`](Transport::plain_fd) is the socket's descriptor).
#[derive(Debug)]
pub enum PlainStream {
    /// A TCP socket (`TCP_NODELAY` set).
    Tcp(TcpStream),
    /// An AF_UNIX stream socket (a path or an abstract name).
    Unix(UnixStream),
}

impl PlainStream {
    /// Sets the socket's read timeout (`None`: block forever).
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        match self {
            PlainStream::Tcp(s) => s.set_read_timeout(timeout),
            PlainStream::Unix(s) => s.set_read_timeout(timeout),
        }
    }

    /// Sets the socket's write timeout (`None`: block forever).
    pub fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        match self {
            PlainStream::Tcp(s) => s.set_write_timeout(timeout),
            PlainStream::Unix(s) => s.set_write_timeout(timeout),
        }
    }

    /// Shuts down the read half, the write half, or both.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        match self {
            PlainStream::Tcp(s) => s.shutdown(how),
            PlainStream::Unix(s) => s.shutdown(how),
        }
    }

    /// True for a TCP socket.
    pub fn is_tcp(&self) -> bool {
        matches!(self, PlainStream::Tcp(_))
    }

    /// A socket timeout as [`Error::TimedOut`] naming what stalled (the
    /// socket's own timeout read back); other errors unchanged.
    fn stalled(&self, e: io::Error, stall: Stall) -> io::Error {
        Error::name_timeout(e, stall, || {
            let t = match (self, stall) {
                (PlainStream::Tcp(s), Stall::Write) => s.write_timeout(),
                (PlainStream::Tcp(s), _) => s.read_timeout(),
                (PlainStream::Unix(s), Stall::Write) => s.write_timeout(),
                (PlainStream::Unix(s), _) => s.read_timeout(),
            };
            t.ok().flatten()
        })
    }
}

impl Read for PlainStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let r = match self {
            PlainStream::Tcp(s) => s.read(buf),
            PlainStream::Unix(s) => s.read(buf),
        };
        r.map_err(|e| self.stalled(e, Stall::Read))
    }

    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        let r = match self {
            PlainStream::Tcp(s) => s.read_vectored(bufs),
            PlainStream::Unix(s) => s.read_vectored(bufs),
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

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
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

impl AsFd for PlainStream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        match self {
            PlainStream::Tcp(s) => s.as_fd(),
            PlainStream::Unix(s) => s.as_fd(),
        }
    }
}

impl AsRawFd for PlainStream {
    fn as_raw_fd(&self) -> RawFd {
        self.as_fd().as_raw_fd()
    }
}

impl Transport for PlainStream {
    fn plain_fd(&self) -> Option<RawFd> {
        Some(self.as_raw_fd())
    }

    fn shutdown_write(&mut self) -> io::Result<()> {
        self.shutdown(Shutdown::Write)
    }
}

/// Turns a freshly connected plain socket into the transport a
/// [`Connection`](crate::Connection) speaks HTTP over.
///
/// The default, [`PlainConnector`], uses the socket as it is; degu-tls
/// provides one that runs a TLS handshake over it. A connector is shared
/// by every clone of a [`Client`](crate::Client), so it is `Send + Sync`.
///
/// ```
/// use degu_client::{Address, Client, Connector, PlainStream, Transport};
/// use std::sync::Arc;
///
/// /// Logs each connection, then speaks plain HTTP.
/// struct Logging;
/// impl Connector for Logging {
///     fn connect(&self, stream: PlainStream, address: &Address)
///         -> degu_client::Result<Box<dyn Transport>>
///     {
///         eprintln!("connected to {address}");
///         Ok(Box::new(stream))
///     }
/// }
/// let client = Client::with_connector("127.0.0.1:5984".parse().unwrap(), Arc::new(Logging));
/// ```
pub trait Connector: Send + Sync {
    /// Wraps `stream`, connected to `address`, in a transport (an error
    /// refuses the connection; the socket is closed when dropped).
    fn connect(&self, stream: PlainStream, address: &Address) -> Result<Box<dyn Transport>>;
}

/// The default [`Connector`]: plain HTTP over the socket as it is.
#[derive(Clone, Copy, Debug, Default)]
pub struct PlainConnector;

impl Connector for PlainConnector {
    fn connect(&self, stream: PlainStream, _address: &Address) -> Result<Box<dyn Transport>> {
        Ok(Box::new(stream))
    }
}

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
        let stream = PlainStream::Unix(UnixStream::from(socket));
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
    Ok(PlainStream::Tcp(TcpStream::from(socket)))
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
