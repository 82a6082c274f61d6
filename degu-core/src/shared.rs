//! The connection cell shared by input bodies and the response writer
//! (DESIGN.md, "the hard part").
//!
//! A connection's transport (a plain socket or one TLS stream that both
//! reads and writes) lives in one [`Shared`] cell: an `Rc<RefCell<Reader<T>>>`
//! on the connection's thread. An input body holds a [`BodySource`] clone
//! and borrows the cell only for one read; the writer ([`SharedWriter`])
//! borrows it only for one write. So an app can return its request body as
//! its response body (echo) or an upstream body (proxy): the server reads a
//! piece, then writes it, never holding both borrows at once.
//!
//! Each body gets a [`BodyTracker`] so the transport knows, after the
//! response, whether the body was read to its end ([`BodyState::Complete`]),
//! left unread, or failed; and can [`detach`](BodyTracker::detach) it so a
//! body kept past its exchange can never read the next request's bytes.

use std::cell::{Cell, RefCell};
use std::io::{self, Read, Write};
use std::rc::Rc;

use crate::body::Source;
use crate::error::{Error, Result};
use crate::reader::Reader;

/// A connection's transport behind its read buffer, shared on one thread.
pub type Shared<T> = Rc<RefCell<Reader<T>>>;

/// Makes a new [`Shared`] cell around `transport`.
pub fn shared<T>(transport: T) -> Shared<T> {
    Rc::new(RefCell::new(Reader::new(transport)))
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
    /// Its exchange is over: further reads are refused.
    Detached,
}

#[derive(Debug)]
struct Track {
    state: Cell<BodyState>,
    consumed: Cell<u64>,
}

/// The transport's view of one input body's progress.
#[derive(Clone, Debug)]
pub struct BodyTracker(Rc<Track>);

impl BodyTracker {
    /// The body's state.
    pub fn state(&self) -> BodyState {
        self.0.state.get()
    }

    /// Bytes the body has consumed from the connection so far (framing
    /// included for chunked bodies).
    pub fn consumed(&self) -> u64 {
        self.0.consumed.get()
    }

    /// Ends the body's access to the connection (unless complete or failed,
    /// which stay as they are); returns the state before.
    pub fn detach(&self) -> BodyState {
        let s = self.0.state.get();
        if s == BodyState::Reading {
            self.0.state.set(BodyState::Detached);
        }
        s
    }

    /// Marks the body failed (for example when the connection is closed).
    pub fn fail(&self) {
        if self.0.state.get() == BodyState::Reading {
            self.0.state.set(BodyState::Failed);
        }
    }
}

/// An input body's reading end: one borrow of the connection per read.
pub struct BodySource<T> {
    conn: Shared<T>,
    track: Rc<Track>,
}

/// A new body source on `conn` and its tracker.
pub fn body_source<T>(conn: &Shared<T>) -> (BodySource<T>, BodyTracker) {
    let track = Rc::new(Track {
        state: Cell::new(BodyState::Reading),
        consumed: Cell::new(0),
    });
    (
        BodySource {
            conn: Rc::clone(conn),
            track: Rc::clone(&track),
        },
        BodyTracker(track),
    )
}

impl<T> BodySource<T> {
    fn check(&self) -> Result<()> {
        match self.track.state.get() {
            BodyState::Reading => Ok(()),
            BodyState::Complete => Err(Error::BodyConsumed),
            BodyState::Failed | BodyState::Detached => Err(Error::BodyDetached),
        }
    }

    fn note<V>(&self, r: Result<V>, n: impl Fn(&V) -> usize) -> Result<V> {
        match &r {
            Ok(v) => self
                .track
                .consumed
                .set(self.track.consumed.get() + n(v) as u64),
            Err(_) => self.track.state.set(BodyState::Failed),
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
        if self.track.state.get() == BodyState::Reading {
            self.track.state.set(BodyState::Complete);
        }
    }

    fn on_error(&mut self) {
        if self.track.state.get() == BodyState::Reading {
            self.track.state.set(BodyState::Failed);
        }
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
