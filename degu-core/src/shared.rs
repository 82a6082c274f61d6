//! The connection cell shared by input bodies and the response writer.
//!
//! A connection's transport (a plain socket or one TLS stream that both
//! reads and writes) lives in one [`Shared`] cell, an `Rc` around a
//! `RefCell<Reader<T>>`, on the connection's thread. An input body holds a [`BodySource`] clone
//! and borrows the cell only for one read; the writer ([`SharedWriter`])
//! borrows it only for one write. So an app can return its request body as
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

use std::cell::{Cell, RefCell};
use std::io::{self, Read, Write};
use std::rc::Rc;

use crate::body::Source;
use crate::error::{Error, Result};
use crate::reader::Reader;

/// A connection's transport behind its read buffer, shared on one thread.
pub type Shared<T> = Rc<SharedConn<T>>;

/// The inside of a [`Shared`] cell: the buffered transport (reached
/// through `Deref`, as a `RefCell<Reader<T>>`) and the progress of the
/// connection's current input body. Keeping that progress here, rather
/// than in a cell of its own, means an input body costs no allocation
/// for its tracking.
pub struct SharedConn<T> {
    reader: RefCell<Reader<T>>,
    track: Track,
}

impl<T> std::ops::Deref for SharedConn<T> {
    type Target = RefCell<Reader<T>>;
    fn deref(&self) -> &RefCell<Reader<T>> {
        &self.reader
    }
}

/// Makes a new [`Shared`] cell around `transport`.
pub fn shared<T>(transport: T) -> Shared<T> {
    Rc::new(SharedConn {
        reader: RefCell::new(Reader::new(transport)),
        track: Track {
            body: Cell::new(0),
            state: Cell::new(BodyState::Detached),
            consumed: Cell::new(0),
        },
    })
}

/// Where an input body stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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

/// The current input body's progress. `body` numbers the bodies made on
/// the connection; a source or tracker of an earlier body sees its body
/// as detached.
#[derive(Debug)]
struct Track {
    body: Cell<u64>,
    state: Cell<BodyState>,
    consumed: Cell<u64>,
}

impl Track {
    /// The state of body number `body`.
    fn state_of(&self, body: u64) -> BodyState {
        if self.body.get() == body {
            self.state.get()
        } else {
            BodyState::Detached
        }
    }

    /// Moves body number `body` from `Reading` to `to`; returns its state
    /// before.
    fn end(&self, body: u64, to: BodyState) -> BodyState {
        let s = self.state_of(body);
        if s == BodyState::Reading {
            self.state.set(to);
        }
        s
    }
}

/// A [`SharedConn`] of any transport, as a body tracker sees it.
trait Tracked {
    fn track(&self) -> &Track;
}

impl<T> Tracked for SharedConn<T> {
    fn track(&self) -> &Track {
        &self.track
    }
}

/// The transport's view of one input body's progress.
#[derive(Clone)]
pub struct BodyTracker {
    conn: Rc<dyn Tracked>,
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
    pub fn state(&self) -> BodyState {
        self.conn.track().state_of(self.body)
    }

    /// Bytes the body has consumed from the connection so far (framing
    /// included for chunked bodies); 0 once a newer body started.
    pub fn consumed(&self) -> u64 {
        let t = self.conn.track();
        if t.body.get() == self.body {
            t.consumed.get()
        } else {
            0
        }
    }

    /// Ends the body's access to the connection (unless complete or failed,
    /// which stay as they are); returns the state before.
    pub fn detach(&self) -> BodyState {
        self.conn.track().end(self.body, BodyState::Detached)
    }

    /// Marks the body failed (for example when the connection is closed).
    pub fn fail(&self) {
        self.conn.track().end(self.body, BodyState::Failed);
    }
}

/// An input body's reading end: one borrow of the connection per read.
pub struct BodySource<T> {
    conn: Shared<T>,
    body: u64,
}

/// A new body source on `conn` and its tracker. The connection's previous
/// body, if any, is detached: its reads are refused from now on.
pub fn body_source<T: 'static>(conn: &Shared<T>) -> (BodySource<T>, BodyTracker) {
    let t = &conn.track;
    let body = t.body.get() + 1;
    t.body.set(body);
    t.state.set(BodyState::Reading);
    t.consumed.set(0);
    (
        BodySource {
            conn: Rc::clone(conn),
            body,
        },
        BodyTracker {
            conn: Rc::clone(conn) as Rc<dyn Tracked>,
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

    fn note<V>(&self, r: Result<V>, n: impl Fn(&V) -> usize) -> Result<V> {
        let t = &self.conn.track;
        match &r {
            Ok(v) => t.consumed.set(t.consumed.get() + n(v) as u64),
            Err(_) => {
                t.end(self.body, BodyState::Failed);
            }
        }
        r
    }
}

impl<T: Read> Read for BodySource<T> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.check()?;
        let r = match self.conn.try_borrow_mut() {
            Ok(mut reader) => reader.read(buf).map_err(Error::from),
            Err(_) => Err(Error::Invalid("connection is busy".into())),
        };
        self.note(r, |n| *n).map_err(io::Error::from)
    }
}

impl<T: Read> Source for BodySource<T> {
    fn read_line_into(&mut self, line: &mut Vec<u8>, max: usize) -> Result<()> {
        self.check()?;
        let r = match self.conn.try_borrow_mut() {
            Ok(mut reader) => reader.read_line(max, "chunk line").map(|l| {
                line.clear();
                line.extend_from_slice(l);
                l.len() + 2
            }),
            Err(_) => Err(Error::Invalid("connection is busy".into())),
        };
        self.note(r, |n| *n).map(|_| ())
    }

    fn on_complete(&mut self) {
        self.conn.track.end(self.body, BodyState::Complete);
    }

    fn on_error(&mut self) {
        self.conn.track.end(self.body, BodyState::Failed);
    }
}

/// Writes to a shared connection, one borrow per write.
pub struct SharedWriter<T>(pub Shared<T>);

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
    fn borrow(&self) -> io::Result<std::cell::RefMut<'_, Reader<T>>> {
        self.0
            .try_borrow_mut()
            .map_err(|_| io::Error::other("connection is busy"))
    }
}
