//! The plain socket a connection starts on ([`PlainStream`]), what is
//! known about a connection ([`ConnectionInfo`]), and the one hook that
//! turns a plain socket into the transport HTTP runs over ([`Wrapper`]:
//! TLS, for degu-tls). Both the server and the client use these; nothing
//! here opens a socket (degu-server binds and accepts, degu-client
//! connects).

use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::time::Duration;

use crate::address::Address;
use crate::error::{Error, Result, Stall};
use crate::message::Transport;

/// A connected plain socket: TCP (IPv4 or IPv6) or AF_UNIX.
///
/// What a server accepts and a client connects, before any [`Wrapper`].
/// It reads and writes through a shared reference as well (as
/// `&TcpStream` does), and reports a socket timeout as
/// [`Error::TimedOut`] naming what stalled. [`share`](Self::share) gives
/// another handle on the same descriptor (no new one is opened), so a
/// server can shut down or time a socket that a TLS stream owns; the
/// socket closes when its last handle is dropped.
#[derive(Debug)]
pub enum PlainStream {
    /// A TCP socket.
    Tcp(Arc<TcpStream>),
    /// An AF_UNIX stream socket (a path or an abstract name).
    Unix(Arc<UnixStream>),
}

impl From<TcpStream> for PlainStream {
    fn from(s: TcpStream) -> PlainStream {
        PlainStream::Tcp(Arc::new(s))
    }
}

impl From<UnixStream> for PlainStream {
    fn from(s: UnixStream) -> PlainStream {
        PlainStream::Unix(Arc::new(s))
    }
}

/// An AF_UNIX peer's process credentials (`SO_PEERCRED`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Credentials {
    /// Process id.
    pub pid: u32,
    /// User id.
    pub uid: u32,
    /// Group id.
    pub gid: u32,
}

impl PlainStream {
    /// True for a TCP socket.
    pub fn is_tcp(&self) -> bool {
        matches!(self, PlainStream::Tcp(_))
    }

    /// Sets the read and the write timeout (`None`: block forever).
    pub fn set_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.set_read_timeout(timeout)?;
        self.set_write_timeout(timeout)
    }

    /// Sets the read timeout (`None`: block forever).
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        match self {
            PlainStream::Tcp(s) => s.set_read_timeout(timeout),
            PlainStream::Unix(s) => s.set_read_timeout(timeout),
        }
    }

    /// Sets the write timeout (`None`: block forever).
    pub fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        match self {
            PlainStream::Tcp(s) => s.set_write_timeout(timeout),
            PlainStream::Unix(s) => s.set_write_timeout(timeout),
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

    /// Shuts down the read half, the write half, or both.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        match self {
            PlainStream::Tcp(s) => s.shutdown(how),
            PlainStream::Unix(s) => s.shutdown(how),
        }
    }

    /// Another handle to the same socket, on a new descriptor (`dup`).
    pub fn try_clone(&self) -> io::Result<PlainStream> {
        Ok(match self {
            PlainStream::Tcp(s) => PlainStream::from(s.try_clone()?),
            PlainStream::Unix(s) => PlainStream::from(s.try_clone()?),
        })
    }

    /// Another handle to the same socket on the same descriptor: no
    /// system call, no descriptor spent. The socket closes when the last
    /// handle is dropped.
    pub fn share(&self) -> PlainStream {
        match self {
            PlainStream::Tcp(s) => PlainStream::Tcp(Arc::clone(s)),
            PlainStream::Unix(s) => PlainStream::Unix(Arc::clone(s)),
        }
    }

    /// Reads what has arrived without waiting, whatever the socket's
    /// mode (`recv` with `MSG_DONTWAIT`): `Ok(0)` at the end of the
    /// stream, an error of kind `WouldBlock` when nothing has arrived.
    pub fn read_nonblocking(&self, buf: &mut [u8]) -> io::Result<usize> {
        rustix::net::recv(self, buf, rustix::net::RecvFlags::DONTWAIT)
            .map(|(n, _)| n)
            .map_err(io::Error::from)
    }

    /// Writes what the socket takes without waiting, whatever its mode
    /// (`send` with `MSG_DONTWAIT`): an error of kind `WouldBlock` when
    /// it takes nothing.
    pub fn write_nonblocking(&self, buf: &[u8]) -> io::Result<usize> {
        rustix::net::send(
            self,
            buf,
            rustix::net::SendFlags::DONTWAIT | rustix::net::SendFlags::NOSIGNAL,
        )
        .map_err(io::Error::from)
    }

    /// The peer's credentials over AF_UNIX; `None` for TCP.
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
}

impl Read for PlainStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&*self).read(buf)
    }

    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        (&*self).read_vectored(bufs)
    }
}

impl Read for &PlainStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let r = match *self {
            PlainStream::Tcp(s) => (&mut &**s).read(buf),
            PlainStream::Unix(s) => (&mut &**s).read(buf),
        };
        r.map_err(|e| self.stalled(e, Stall::Read))
    }

    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        let r = match *self {
            PlainStream::Tcp(s) => (&mut &**s).read_vectored(bufs),
            PlainStream::Unix(s) => (&mut &**s).read_vectored(bufs),
        };
        r.map_err(|e| self.stalled(e, Stall::Read))
    }
}

impl Write for PlainStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&*self).write(buf)
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        (&*self).write_vectored(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Write for &PlainStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let r = match *self {
            PlainStream::Tcp(s) => (&mut &**s).write(buf),
            PlainStream::Unix(s) => (&mut &**s).write(buf),
        };
        r.map_err(|e| self.stalled(e, Stall::Write))
    }

    /// One `send` for a single non-empty buffer (cheaper than `writev`,
    /// which goes through the file layer: a TLS record is one buffer),
    /// one `writev` for several.
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match lone_buffer(bufs) {
            Some(None) => return Ok(0),
            Some(Some(b)) => return self.write(b),
            None => {}
        }
        let r = match *self {
            PlainStream::Tcp(s) => (&mut &**s).write_vectored(bufs),
            PlainStream::Unix(s) => (&mut &**s).write_vectored(bufs),
        };
        r.map_err(|e| self.stalled(e, Stall::Write))
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The one non-empty buffer of `bufs` (written with `send`, not a
/// vectored call): `Some(Some(b))`; `Some(None)` when every buffer is
/// empty; `None` for several.
fn lone_buffer<'a>(bufs: &'a [IoSlice<'_>]) -> Option<Option<&'a [u8]>> {
    let mut full = bufs.iter().filter(|b| !b.is_empty());
    match (full.next(), full.next()) {
        (None, _) => Some(None),
        (Some(b), None) => Some(Some(b)),
        _ => None,
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
    fn plain_fd(&self) -> Option<BorrowedFd<'_>> {
        Some(self.as_fd())
    }

    fn read_nonblocking(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        PlainStream::read_nonblocking(self, buf)
    }

    fn write_nonblocking(&mut self, buf: &[u8]) -> io::Result<usize> {
        PlainStream::write_nonblocking(self, buf)
    }

    /// One `send` for a single non-empty buffer (cheaper than
    /// `sendmsg`), one `sendmsg` for several.
    fn write_vectored_nonblocking(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match lone_buffer(bufs) {
            Some(None) => return Ok(0),
            Some(Some(b)) => return PlainStream::write_nonblocking(self, b),
            None => {}
        }
        rustix::net::sendmsg(
            &*self,
            bufs,
            &mut rustix::net::SendAncillaryBuffer::default(),
            rustix::net::SendFlags::DONTWAIT | rustix::net::SendFlags::NOSIGNAL,
        )
        .map_err(io::Error::from)
    }

    fn poll_fd(&self) -> Option<BorrowedFd<'_>> {
        Some(self.as_fd())
    }

    fn shutdown_write(&mut self) -> io::Result<()> {
        self.shutdown(Shutdown::Write)
    }
}

/// What is known about a connection's transport: over TLS, the peer's
/// certificates and the server name asked for (see [`Transport::info`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConnectionInfo {
    /// True over TLS.
    pub tls: bool,
    /// The peer's certificate chain (DER, leaf first) when it presented
    /// one over TLS.
    pub peer_certificates: Option<Vec<Vec<u8>>>,
    /// The TLS server name (SNI) the client asked for, if any.
    pub server_name: Option<String>,
}

/// Turns a plain socket, just accepted by a server or connected by a
/// client, into the transport a connection speaks HTTP over. degu-tls's
/// TLS server and client are wrappers that run the handshake; without a
/// wrapper, a connection runs on the plain socket as it is.
///
/// One wrapper serves every connection of a server, or of a client and
/// its clones, so it is `Send + Sync`.
///
/// ```
/// use degu_core::{Address, PlainStream, Transport, Wrapper};
///
/// /// Logs each connection, then speaks plain HTTP.
/// struct Logging;
/// impl Wrapper for Logging {
///     fn wrap(&self, stream: PlainStream, peer: &Address)
///         -> degu_core::Result<Box<dyn Transport>>
///     {
///         eprintln!("connection with {peer}");
///         Ok(Box::new(stream))
///     }
/// }
/// ```
pub trait Wrapper: Send + Sync {
    /// Wraps `stream`, connected with `peer` (the server a client
    /// connected to, or the client a server accepted); an error closes the
    /// socket, and the connection is not made.
    fn wrap(&self, stream: PlainStream, peer: &Address) -> Result<Box<dyn Transport>>;

    /// True when [`wrap_deferred`](Self::wrap_deferred) returns without
    /// waiting for the peer. A server then wraps each accepted socket on
    /// its event thread, and drives the handshake there as the peer's
    /// bytes arrive, so a slow peer holds no worker thread; otherwise
    /// (the default) it runs [`wrap`](Self::wrap) on a worker.
    fn defers_handshake(&self) -> bool {
        false
    }

    /// Wraps `stream` without waiting for the peer (when
    /// [`defers_handshake`](Self::defers_handshake) says so): the
    /// transport returned completes its handshake as it is used, through
    /// [`Transport::read_nonblocking`] while an event loop drives it, or
    /// through blocking reads and writes. The default runs
    /// [`wrap`](Self::wrap).
    fn wrap_deferred(&self, stream: PlainStream, peer: &Address) -> Result<Box<dyn Transport>> {
        self.wrap(stream, peer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair() -> (PlainStream, UnixStream) {
        let (a, b) = UnixStream::pair().unwrap();
        b.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        (PlainStream::from(a), b)
    }

    #[test]
    fn vectored_writes_take_every_non_empty_buffer() {
        let (mut s, mut peer) = pair();
        assert_eq!(s.write_vectored(&[]).unwrap(), 0);
        assert_eq!(s.write_vectored(&[IoSlice::new(b"")]).unwrap(), 0);
        // One non-empty buffer among empty ones (a single `send`).
        let one = [IoSlice::new(b""), IoSlice::new(b"abc"), IoSlice::new(b"")];
        assert_eq!(s.write_vectored(&one).unwrap(), 3);
        // Several (one `writev`).
        let two = [IoSlice::new(b"de"), IoSlice::new(b""), IoSlice::new(b"fg")];
        assert_eq!(s.write_vectored(&two).unwrap(), 4);
        let mut got = [0u8; 7];
        peer.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"abcdefg");
    }

    #[test]
    fn a_single_buffer_write_that_times_out_names_the_write() {
        let (mut s, _peer) = pair();
        s.set_write_timeout(Some(Duration::from_millis(20)))
            .unwrap();
        let block = vec![0u8; 64 << 10];
        // Nobody reads: the socket's buffer fills within a few blocks.
        let err = (0..1024)
            .find_map(|_| s.write_vectored(&[IoSlice::new(&block)]).err())
            .expect("a socket nobody reads took 64 MiB");
        let inner = err.get_ref().and_then(|e| e.downcast_ref::<Error>());
        assert!(
            matches!(
                inner,
                Some(Error::TimedOut {
                    stalled: Stall::Write,
                    after: Some(_),
                })
            ),
            "{err:?}"
        );
    }
}
