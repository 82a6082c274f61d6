//! The transport a worker serves a connection through: reads that wait
//! `worker_wait` for the next request and the whole `timeout` within one.
//!
//! While a worker holds a connection, its socket's read timeout is the
//! short `worker_wait`, set once when the connection is accepted. Waiting
//! for the next request, a read that times out means the connection is
//! quiet, and the worker gives it back to the event thread. Within an
//! exchange (the rest of a preamble, a request body), a read that times
//! out waits on for the rest of `timeout`, the socket's timeout raised
//! for that read alone. So a request costs no system call beyond its
//! reads and writes, and a quiet connection holds a worker no longer
//! than `worker_wait` (twice that for a preamble that trickles in).

use std::io::{self, IoSlice, Read, Write};
use std::os::fd::BorrowedFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

use degu_core::{ConnectionInfo, Error, PlainStream, Stall, Transport};

/// What a read is for, as the request loop sets it in a [`Patient`]'s
/// shared mode.
pub(crate) mod mode {
    /// Within an exchange: wait up to `timeout`.
    pub(crate) const EXCHANGE: u8 = 0;
    /// Waiting for the next request: give up after `worker_wait`.
    pub(crate) const AWAITING: u8 = 1;
    /// As `AWAITING`, after its first read: give up `worker_wait` after
    /// the second read began.
    pub(crate) const AWAITING_MORE: u8 = 2;
}

/// A transport whose reads wait as the request loop's [`mode`] says.
pub(crate) struct Patient {
    inner: Box<dyn Transport>,
    /// The socket under `inner`, to change its read timeout.
    sock: PlainStream,
    mode: Arc<AtomicU8>,
    /// The socket's read timeout while a worker holds the connection.
    wait: Duration,
    /// The longest a read within an exchange waits.
    timeout: Option<Duration>,
    /// When a preamble that is being waited for stops being waited for.
    deadline: Option<Instant>,
}

impl Patient {
    /// `inner` over `sock`, whose read timeout is `wait`.
    pub(crate) fn new(
        inner: Box<dyn Transport>,
        sock: PlainStream,
        mode: Arc<AtomicU8>,
        wait: Duration,
        timeout: Option<Duration>,
    ) -> Patient {
        Patient {
            inner,
            sock,
            mode,
            wait,
            timeout,
            deadline: None,
        }
    }

    /// A read within an exchange that waited `wait` in vain: waits the
    /// rest of `timeout`.
    #[cold]
    fn read_on(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let rest = match self.timeout {
            None => None,
            Some(t) if t > self.wait => Some(t - self.wait),
            Some(t) => return Err(timed_out(Some(t))),
        };
        self.sock.set_read_timeout(rest)?;
        let r = self.inner.read(buf);
        self.sock.set_read_timeout(Some(self.wait))?;
        r.map_err(|e| {
            if is_timeout(&e) {
                timed_out(self.timeout)
            } else {
                e
            }
        })
    }
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

fn timed_out(after: Option<Duration>) -> io::Error {
    Error::TimedOut {
        stalled: Stall::Read,
        after,
    }
    .into()
}

impl Read for Patient {
    #[inline]
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.mode.load(Ordering::Relaxed) {
            mode::EXCHANGE => match self.inner.read(buf) {
                Err(e) if is_timeout(&e) => self.read_on(buf),
                r => r,
            },
            mode::AWAITING => {
                self.mode.store(mode::AWAITING_MORE, Ordering::Relaxed);
                self.deadline = None;
                self.inner.read(buf)
            }
            _ => {
                let now = Instant::now();
                if now >= *self.deadline.get_or_insert(now + self.wait) {
                    return Err(timed_out(Some(self.wait)));
                }
                self.inner.read(buf)
            }
        }
    }
}

impl Write for Patient {
    #[inline]
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf)
    }

    #[inline]
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.inner.write_vectored(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl Transport for Patient {
    fn plain_fd(&self) -> Option<BorrowedFd<'_>> {
        self.inner.plain_fd()
    }

    fn info(&self) -> ConnectionInfo {
        self.inner.info()
    }

    fn shutdown_write(&mut self) -> io::Result<()> {
        self.inner.shutdown_write()
    }

    fn read_nonblocking(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read_nonblocking(buf)
    }

    fn write_nonblocking(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write_nonblocking(buf)
    }

    fn hello_answered(&self) -> bool {
        self.inner.hello_answered()
    }
}
