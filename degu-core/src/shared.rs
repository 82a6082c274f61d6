//! The connection cell shared by input bodies and the response writer.
//!
//! A connection's transport (a plain socket or one TLS stream that both
//! reads and writes) lives in one [`Shared`] cell, an `Arc` around a
//! locked `Reader<T>`, so a connection, its bodies and the responses that
//! hold them are `Send`. An input body holds a [`BodySource`] clone and
//! locks the cell only for one read; the writer ([`SharedWriter`]) only
//! for one write: the lock is never contended in the normal course. So an app can return its request body as
//! its response body (echo) or an upstream body (proxy): the server reads a
//! piece, then writes it, never holding both borrows at once.
//!
//! Each body gets a [`BodyTracker`] so the transport knows, after the
//! response, whether the body was read to its end ([`BodyState::Complete`]:
//! its last byte, its final chunk and trailers, or for a
//! [`CloseBody`](crate::CloseBody) the end of the stream), left unread, or
//! failed; and can [`detach`](BodyTracker::detach) it so a
//! body kept past its exchange can never read the next request's bytes.
//! Starting a new body on a connection detaches the previous one too.

use std::io::{self, Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::Duration;

use spin::mutex::{SpinMutex, SpinMutexGuard};

use crate::body::Source;
use crate::error::{Error, Result};
use crate::reader::Reader;

/// A connection's transport behind its read buffer, shared by the
/// connection and its current input body; `Send` and `Sync` when the
/// transport is `Send`.
pub(crate) type Shared<T> = Arc<SharedConn<T>>;

/// The inside of a [`Shared`] cell: the buffered transport, behind a lock
/// that is only ever held for one read or one write (and so never waited
/// for in the normal course: one exchange uses a connection at a time),
/// and the progress of the connection's current input body. Keeping that
/// progress here, rather than in a cell of its own, means an input body
/// costs no allocation for its tracking.
///
/// The lock is taken with one compare-and-swap and let go with a plain
/// store: a `std::sync::Mutex` lets go with a locked swap (to learn
/// whether to wake a waiter), and a request takes the lock twice (the
/// server reads and parses its preamble, then writes its response; the
/// client writes, then reads), so that swap was measurable in pinned
/// round trips. The price
/// is in the case that does not happen in the normal course, two
/// threads at one connection at once (a body read on another thread
/// while the connection writes): the second one polls, backing off to
/// sleeps of [`MAX_BACKOFF`], rather than being woken. A panic while the
/// lock is held lets go of it (no poisoning): the reader is still
/// usable, and the body tracking fails the body that panicked.
pub(crate) struct SharedConn<T> {
    reader: SpinMutex<Reader<T>>,
    track: Track,
}

/// The longest a thread waiting for a connection another thread holds
/// sleeps between two looks.
const MAX_BACKOFF: Duration = Duration::from_millis(1);

impl<T> SharedConn<T> {
    /// The buffered transport, locked; waits while another thread holds
    /// it (which it does for one read or one write).
    pub(crate) fn borrow_mut(&self) -> SpinMutexGuard<'_, Reader<T>> {
        if let Some(guard) = self.reader.try_lock() {
            return guard;
        }
        self.wait_for_lock()
    }

    #[cold]
    fn wait_for_lock(&self) -> SpinMutexGuard<'_, Reader<T>> {
        let mut pause = Duration::from_micros(1);
        for _ in 0..64 {
            std::thread::yield_now();
            if let Some(guard) = self.reader.try_lock() {
                return guard;
            }
        }
        loop {
            std::thread::sleep(pause);
            if let Some(guard) = self.reader.try_lock() {
                return guard;
            }
            pause = (pause * 2).min(MAX_BACKOFF);
        }
    }

    /// The buffered transport, if no one else holds it right now.
    pub(crate) fn try_borrow_mut(&self) -> Option<SpinMutexGuard<'_, Reader<T>>> {
        self.reader.try_lock()
    }
}

/// Makes a new [`Shared`] cell around `transport`.
pub(crate) fn shared<T>(transport: T) -> Shared<T> {
    shared_reader(Reader::new(transport))
}

/// Makes a new [`Shared`] cell around `reader`.
pub(crate) fn shared_reader<T>(reader: Reader<T>) -> Shared<T> {
    Arc::new(SharedConn {
        reader: SpinMutex::new(reader),
        track: Track {
            body: AtomicU64::new(0),
            state: AtomicU8::new(BodyState::Detached as u8),
            consumed: AtomicU64::new(0),
        },
    })
}

/// Where an input body stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum BodyState {
    /// Not yet read to its end.
    Reading,
    /// Read to its very end: the connection can move on.
    Complete,
    /// A read failed: the connection must be closed.
    Failed,
    /// Its exchange is over (or a newer body started on the connection):
    /// further reads are refused.
    Detached,
}

impl BodyState {
    fn from_u8(v: u8) -> BodyState {
        match v {
            0 => BodyState::Reading,
            1 => BodyState::Complete,
            2 => BodyState::Failed,
            _ => BodyState::Detached,
        }
    }
}

/// The current input body's progress. `body` numbers the bodies made on
/// the connection; a source or tracker of an earlier body sees its body
/// as detached. One exchange uses a connection at a time, so these are
/// read and written without ordering (`Relaxed`): whatever hands a
/// connection to another thread synchronizes.
#[derive(Debug)]
struct Track {
    body: AtomicU64,
    state: AtomicU8,
    consumed: AtomicU64,
}

impl Track {
    /// The state of body number `body`.
    fn state_of(&self, body: u64) -> BodyState {
        if self.body.load(Ordering::Relaxed) == body {
            BodyState::from_u8(self.state.load(Ordering::Relaxed))
        } else {
            BodyState::Detached
        }
    }

    /// Moves body number `body` from `Reading` to `to`; returns its state
    /// before.
    fn end(&self, body: u64, to: BodyState) -> BodyState {
        let s = self.state_of(body);
        if s == BodyState::Reading {
            self.state.store(to as u8, Ordering::Relaxed);
        }
        s
    }
}

/// A [`SharedConn`] of any transport, as a body tracker sees it.
trait Tracked: Send + Sync {
    fn track(&self) -> &Track;
}

impl<T: Send> Tracked for SharedConn<T> {
    fn track(&self) -> &Track {
        &self.track
    }
}

/// The transport's view of one input body's progress.
#[derive(Clone)]
pub(crate) struct BodyTracker {
    conn: Arc<dyn Tracked>,
    body: u64,
}

impl std::fmt::Debug for BodyTracker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BodyTracker")
            .field("state", &self.state())
            .field("consumed", &self.consumed())
            .finish()
    }
}

impl BodyTracker {
    /// The body's state.
    pub(crate) fn state(&self) -> BodyState {
        self.conn.track().state_of(self.body)
    }

    /// Bytes the body has consumed from the connection so far (framing
    /// included for chunked bodies); 0 once a newer body started.
    pub(crate) fn consumed(&self) -> u64 {
        let t = self.conn.track();
        if t.body.load(Ordering::Relaxed) == self.body {
            t.consumed.load(Ordering::Relaxed)
        } else {
            0
        }
    }

    /// Ends the body's access to the connection (unless complete or failed,
    /// which stay as they are); returns the state before.
    pub(crate) fn detach(&self) -> BodyState {
        self.conn.track().end(self.body, BodyState::Detached)
    }

    /// Marks the body failed (for example when the connection is closed).
    pub(crate) fn fail(&self) {
        self.conn.track().end(self.body, BodyState::Failed);
    }
}

/// What an input body calls once it stops using its connection (see
/// [`Incoming::on_release`](crate::Incoming::on_release)).
pub(crate) type Release = Box<dyn FnOnce(BodyState) + Send>;

/// An input body's reading end: one borrow of the connection per read.
pub(crate) struct BodySource<T> {
    conn: Shared<T>,
    body: u64,
    /// Called once when the body is complete, fails, or is dropped.
    release: Option<Release>,
}

/// A new body source on `conn` and its tracker. The connection's previous
/// body, if any, is detached: its reads are refused from now on.
pub(crate) fn body_source<T: Send + 'static>(conn: &Shared<T>) -> (BodySource<T>, BodyTracker) {
    let t = &conn.track;
    let body = t.body.load(Ordering::Relaxed) + 1;
    t.body.store(body, Ordering::Relaxed);
    t.state.store(BodyState::Reading as u8, Ordering::Relaxed);
    t.consumed.store(0, Ordering::Relaxed);
    (
        BodySource {
            conn: Arc::clone(conn),
            body,
            release: None,
        },
        BodyTracker {
            conn: Arc::clone(conn) as Arc<dyn Tracked>,
            body,
        },
    )
}

impl<T> BodySource<T> {
    fn check(&self) -> Result<()> {
        match self.conn.track.state_of(self.body) {
            BodyState::Reading => Ok(()),
            BodyState::Complete => Err(Error::BodyConsumed),
            BodyState::Failed | BodyState::Detached => Err(Error::BodyDetached),
        }
    }

    fn note<V>(&mut self, r: Result<V>, n: impl Fn(&V) -> usize) -> Result<V> {
        let t = &self.conn.track;
        match &r {
            Ok(v) => {
                t.consumed.fetch_add(n(v) as u64, Ordering::Relaxed);
            }
            Err(_) => {
                t.end(self.body, BodyState::Failed);
                self.released();
            }
        }
        r
    }

    /// Calls the release hook, if any is still set, with the body's
    /// state now.
    fn released(&mut self) {
        if let Some(release) = self.release.take() {
            release(self.conn.track.state_of(self.body));
        }
    }

    /// Sets the hook called once when the body stops using its
    /// connection.
    pub(crate) fn set_release(&mut self, release: Release) {
        self.release = Some(release);
    }
}

impl<T: Read> Read for BodySource<T> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.check()?;
        let r = match self.conn.try_borrow_mut() {
            Some(mut reader) => reader.read(buf).map_err(Error::from),
            None => Err(Error::Invalid("connection is busy".into())),
        };
        self.note(r, |n| *n).map_err(io::Error::from)
    }
}

impl<T: Read> Source for BodySource<T> {
    fn read_line_into(&mut self, line: &mut Vec<u8>, max: usize) -> Result<()> {
        self.check()?;
        let r = match self.conn.try_borrow_mut() {
            Some(mut reader) => reader.read_line(max, "chunk line").map(|l| {
                line.clear();
                line.extend_from_slice(l);
                l.len() + 2
            }),
            None => Err(Error::Invalid("connection is busy".into())),
        };
        self.note(r, |n| *n).map(|_| ())
    }
}

impl<T> BodySource<T> {
    /// Runs `f` on the connection's buffered transport, for a body still
    /// reading.
    pub(crate) fn with_reader<V>(&self, f: impl FnOnce(&mut Reader<T>) -> Result<V>) -> Result<V> {
        self.check()?;
        match self.conn.try_borrow_mut() {
            Some(mut reader) => f(&mut reader),
            None => Err(Error::Invalid("connection is busy".into())),
        }
    }

    /// The body has been read to its very end.
    pub(crate) fn complete(&mut self) {
        self.conn.track.end(self.body, BodyState::Complete);
        self.released();
    }

    /// The body's framing broke: the connection must close.
    pub(crate) fn fail(&mut self) {
        self.conn.track.end(self.body, BodyState::Failed);
        self.released();
    }
}

impl<T> Drop for BodySource<T> {
    fn drop(&mut self) {
        self.released();
    }
}

/// Another handle to the same body (tests read a completed body's source
/// again).
#[cfg(test)]
impl<T> Clone for BodySource<T> {
    fn clone(&self) -> Self {
        BodySource {
            conn: Arc::clone(&self.conn),
            body: self.body,
            release: None,
        }
    }
}

/// Writes to a shared connection, one borrow per write.
pub(crate) struct SharedWriter<T>(pub Shared<T>);

impl<T: Write> Write for SharedWriter<T> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.borrow()?.get_mut().write(buf)
    }

    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        self.borrow()?.get_mut().write_vectored(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.borrow()?.get_mut().flush()
    }
}

impl<T> SharedWriter<T> {
    fn borrow(&self) -> io::Result<SpinMutexGuard<'_, Reader<T>>> {
        self.0
            .try_borrow_mut()
            .ok_or_else(|| io::Error::other("connection is busy"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;
    use std::sync::atomic::AtomicBool;

    #[test]
    fn a_thread_waits_for_the_connection_another_holds() {
        let cell = shared(Cursor::new(b"abc".to_vec()));
        let released = Arc::new(AtomicBool::new(false));
        let guard = cell.borrow_mut();
        assert!(cell.try_borrow_mut().is_none(), "held twice");
        let waiter = {
            let (cell, released) = (Arc::clone(&cell), Arc::clone(&released));
            std::thread::spawn(move || {
                let mut reader = cell.borrow_mut();
                // Only once the first holder let go.
                assert!(released.load(Ordering::SeqCst));
                let mut got = [0u8; 3];
                reader.read_exact(&mut got).unwrap();
                got
            })
        };
        released.store(true, Ordering::SeqCst);
        drop(guard);
        assert_eq!(&waiter.join().unwrap(), b"abc");
        assert!(cell.try_borrow_mut().is_some(), "the waiter let go");
    }

    #[test]
    fn a_panic_while_the_connection_is_held_lets_it_go() {
        let cell = shared(Cursor::new(b"abc".to_vec()));
        let panicked = {
            let cell = Arc::clone(&cell);
            std::thread::spawn(move || {
                let _reader = cell.borrow_mut();
                panic!("while holding the connection");
            })
            .join()
        };
        assert!(panicked.is_err());
        let mut got = [0u8; 3];
        cell.borrow_mut().read_exact(&mut got).unwrap();
        assert_eq!(&got, b"abc");
    }
}
