//! A rustls stream as a Degu transport.

use std::io::{self, Read, Write};
use std::ops::{Deref, DerefMut};

use rustls::{ConnectionCommon, SideData, StreamOwned};

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
}

impl TlsSide for rustls::ServerConnection {
    type Side = rustls::server::ServerConnectionData;
}

impl TlsSide for rustls::ClientConnection {
    type Side = rustls::client::ClientConnectionData;
}

impl<C, T> TlsStream<C, T>
where
    C: DerefMut + Deref<Target = ConnectionCommon<<C as TlsSide>::Side>> + TlsSide,
    T: Read + Write,
{
    /// Wraps `conn` over `sock` and completes the handshake (bounded by
    /// the socket's timeouts).
    pub fn handshake(mut conn: C, mut sock: T) -> io::Result<Self> {
        while conn.is_handshaking() {
            conn.complete_io(&mut sock)?;
        }
        while conn.wants_write() {
            conn.write_tls(&mut sock)?;
        }
        Ok(TlsStream {
            inner: StreamOwned::new(conn, sock),
        })
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

    fn flush(&mut self) -> io::Result<()> {
        self.inner.conn.writer().flush()?;
        self.push()
    }
}

impl<C, T> degu_core::Transport for TlsStream<C, T>
where
    C: DerefMut + Deref<Target = ConnectionCommon<<C as TlsSide>::Side>> + TlsSide,
    T: Read + Write,
{
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
