//! A rustls stream as a Degu transport.

use std::io::{self, Read, Write};
use std::ops::{Deref, DerefMut};
use std::os::fd::AsFd;
use std::time::Instant;

use degu_core::{Error, Stall};
use rustls::{ConnectionCommon, SideData, StreamOwned};
use socket2::SockRef;

/// A TLS connection over a plain socket, as a [`degu_core::Transport`]
/// (which reports no plain descriptor, so file bodies go through TLS).
/// Every write is pushed to the socket before it returns, as on a plain
/// socket; close_notify is sent when the stream is dropped.
pub struct TlsStream<C, T>
where
    C: DerefMut + Deref<Target = ConnectionCommon<<C as TlsSide>::Side>> + TlsSide,
    T: Read + Write,
{
    inner: StreamOwned<C, T>,
}

/// Names the side data of a rustls connection type.
pub trait TlsSide {
    /// `ServerConnectionData` or `ClientConnectionData`.
    type Side: SideData;

    /// The server name (SNI) the client asked for, as a server sees it;
    /// `None` on the client side.
    fn server_name(conn: &Self) -> Option<String>;
}

impl TlsSide for rustls::ServerConnection {
    type Side = rustls::server::ServerConnectionData;

    fn server_name(conn: &Self) -> Option<String> {
        conn.server_name().map(str::to_owned)
    }
}

impl TlsSide for rustls::ClientConnection {
    type Side = rustls::client::ClientConnectionData;

    fn server_name(_: &Self) -> Option<String> {
        None
    }
}

impl<C, T> TlsStream<C, T>
where
    C: DerefMut + Deref<Target = ConnectionCommon<<C as TlsSide>::Side>> + TlsSide,
    T: Read + Write,
{
    /// Wraps `conn` over `sock` and completes the handshake within the
    /// socket's read timeout as a whole (a peer that sends its handshake
    /// in slow pieces cannot stretch it past that); a handshake not done
    /// by then fails with [`Error::TimedOut`] ([`Stall::Handshake`]). The
    /// socket's timeouts are as they were afterwards.
    pub fn handshake(mut conn: C, mut sock: T) -> io::Result<Self>
    where
        T: AsFd,
    {
        let (read_timeout, write_timeout) = {
            let s = SockRef::from(&sock);
            (s.read_timeout()?, s.write_timeout()?)
        };
        // A timeout past what the clock holds is no deadline.
        let deadline = read_timeout.and_then(|t| Instant::now().checked_add(t));
        let timed_out = || {
            io::Error::from(Error::TimedOut {
                stalled: Stall::Handshake,
                after: read_timeout,
            })
        };
        while conn.is_handshaking() || conn.wants_write() {
            if let Some(deadline) = deadline {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(timed_out());
                }
                let s = SockRef::from(&sock);
                s.set_read_timeout(Some(left))?;
                s.set_write_timeout(Some(write_timeout.map_or(left, |w| w.min(left))))?;
            }
            // One read or one write at a time (rustls' `complete_io` would
            // loop until the handshake is done), so the deadline is
            // checked before each.
            if conn.wants_write() {
                match conn.write_tls(&mut sock) {
                    Err(e) if is_timeout(&e) => return Err(timed_out()),
                    r => r?,
                };
                continue;
            }
            if !conn.wants_read() {
                break;
            }
            match conn.read_tls(&mut sock) {
                Ok(0) => {
                    return Err(Error::UnexpectedEof("TLS handshake").into());
                }
                Ok(_) => {}
                Err(e) if is_timeout(&e) => return Err(timed_out()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            if let Err(e) = conn.process_new_packets() {
                // Send the alert that says why, if it can go.
                let _ = conn.write_tls(&mut sock);
                return Err(io::Error::new(io::ErrorKind::InvalidData, e));
            }
        }
        if deadline.is_some() {
            let s = SockRef::from(&sock);
            s.set_read_timeout(read_timeout)?;
            s.set_write_timeout(write_timeout)?;
        }
        Ok(TlsStream {
            inner: StreamOwned::new(conn, sock),
        })
    }

    /// Wraps `conn` over `sock` without a handshake yet: it runs as the
    /// stream is used, in [`read_nonblocking`](degu_core::Transport::read_nonblocking)
    /// as the peer's bytes arrive (a server's event loop), or within the
    /// first blocking read or write (under the socket's timeouts per
    /// read, rather than one deadline for the whole handshake).
    pub fn deferred(conn: C, sock: T) -> Self {
        TlsStream {
            inner: StreamOwned::new(conn, sock),
        }
    }

    /// The rustls connection (peer certificates, negotiated suite, ...).
    pub fn conn(&self) -> &C {
        &self.inner.conn
    }

    /// The socket underneath.
    pub fn sock(&self) -> &T {
        &self.inner.sock
    }

    fn push(&mut self) -> io::Result<()> {
        while self.inner.conn.wants_write() {
            self.inner.conn.write_tls(&mut self.inner.sock)?;
        }
        Ok(())
    }
}

/// True for a socket timeout (a blocking socket with a timeout reports
/// `WouldBlock`).
fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

impl<C, T> Read for TlsStream<C, T>
where
    C: DerefMut + Deref<Target = ConnectionCommon<<C as TlsSide>::Side>> + TlsSide,
    T: Read + Write,
{
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf)
    }
}

impl<C, T> Write for TlsStream<C, T>
where
    C: DerefMut + Deref<Target = ConnectionCommon<<C as TlsSide>::Side>> + TlsSide,
    T: Read + Write,
{
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.conn.writer().write(buf)?;
        self.push()?;
        Ok(n)
    }

    /// Every slice into the same records and one push: a response's head
    /// and a small body are one TLS record and one `write(2)`, not two of
    /// each (`Write`'s default takes the first slice alone).
    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        let n = self.inner.conn.writer().write_vectored(bufs)?;
        self.push()?;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.conn.writer().flush()?;
        self.push()
    }
}

impl<C, T> degu_core::Transport for TlsStream<C, T>
where
    C: DerefMut + Deref<Target = ConnectionCommon<<C as TlsSide>::Side>> + TlsSide + Send,
    T: degu_core::Transport,
{
    /// TLS; the peer's certificates; the server name the client asked for
    /// (as a server).
    fn info(&self) -> degu_core::ConnectionInfo {
        let conn: &ConnectionCommon<_> = &self.inner.conn;
        degu_core::ConnectionInfo {
            tls: true,
            peer_certificates: conn
                .peer_certificates()
                .map(|certs| certs.iter().map(|c| c.to_vec()).collect()),
            server_name: C::server_name(&self.inner.conn),
        }
    }

    /// Sends `close_notify`, then shuts down the socket's writing side.
    fn shutdown_write(&mut self) -> io::Result<()> {
        self.inner.conn.send_close_notify();
        self.push()?;
        self.inner.sock.shutdown_write()
    }

    /// Takes in the TLS records that have arrived (handshake messages
    /// too: the handshake advances here, its replies written without
    /// waiting) and returns the plaintext they carry; `WouldBlock` when
    /// none has arrived yet.
    fn read_nonblocking(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.inner.conn.reader().read(buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                r => return r,
            }
            let n = self
                .inner
                .conn
                .read_tls(&mut NoWait(&mut self.inner.sock))?;
            let processed = self.inner.conn.process_new_packets();
            // Replies (the handshake's next flight, an alert) go out now
            // if the socket takes them; what it does not take yet goes
            // with the next write.
            while self.inner.conn.wants_write() {
                match self.inner.conn.write_tls(&mut NoWait(&mut self.inner.sock)) {
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) => return Err(e),
                }
            }
            if let Err(e) = processed {
                return Err(io::Error::new(io::ErrorKind::InvalidData, e));
            }
            if n == 0 {
                // The end of the stream: rustls says whether it was clean.
                return self.inner.conn.reader().read(buf);
            }
        }
    }

    /// Encrypts what rustls takes of `buf` (it holds back at most its
    /// buffer limit of records the socket has not taken) and writes the
    /// records the socket takes; `WouldBlock` when it takes none of `buf`.
    fn write_nonblocking(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.inner.conn.is_handshaking() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = self.inner.conn.writer().write(buf)?;
        self.flush_nonblocking()?;
        if n == 0 && !buf.is_empty() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(n)
    }

    fn write_vectored_nonblocking(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        if self.inner.conn.is_handshaking() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = self.inner.conn.writer().write_vectored(bufs)?;
        self.flush_nonblocking()?;
        if n == 0 && bufs.iter().any(|b| !b.is_empty()) {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(n)
    }

    fn flush_nonblocking(&mut self) -> io::Result<bool> {
        while self.inner.conn.wants_write() {
            match self.inner.conn.write_tls(&mut NoWait(&mut self.inner.sock)) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }

    fn poll_fd(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        self.inner.sock.poll_fd()
    }

    /// Whether the handshake is past the peer's hello: done, or its kind
    /// known, which rustls knows once it has read the peer's whole hello
    /// (a server has then queued or written its answer: its ServerHello
    /// and the rest of its flight, or a HelloRetryRequest).
    fn hello_answered(&self) -> bool {
        let conn: &ConnectionCommon<_> = &self.inner.conn;
        !conn.is_handshaking() || conn.handshake_kind().is_some()
    }
}

/// A transport read and written without waiting (see
/// [`degu_core::Transport::read_nonblocking`]).
struct NoWait<'a, T>(&'a mut T);

impl<T: degu_core::Transport> Read for NoWait<'_, T> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read_nonblocking(buf)
    }
}

impl<T: degu_core::Transport> Write for NoWait<'_, T> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write_nonblocking(buf)
    }

    /// Every record rustls holds in one system call: a handshake flight
    /// (ServerHello, ChangeCipherSpec, the encrypted rest) goes out
    /// whole, so the peer reads it at once instead of answering its
    /// first piece alone (`Write`'s default takes the first slice).
    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        self.0.write_vectored_nonblocking(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<C, T> Drop for TlsStream<C, T>
where
    C: DerefMut + Deref<Target = ConnectionCommon<<C as TlsSide>::Side>> + TlsSide,
    T: Read + Write,
{
    fn drop(&mut self) {
        self.inner.conn.send_close_notify();
        let _ = self.push();
    }
}
