//! A request body sent while its response is read: [`Upload`].
//!
//! A client that writes a whole request before it reads anything
//! deadlocks with a server that answers while the body is still arriving
//! (an echo, a streaming transform, an early refusal): each side ends up
//! waiting on a full socket buffer. An `Upload` sends the body without
//! waiting, a piece at a time, and whoever reads the response (its
//! preamble, then its body) sends more of it whenever it would otherwise
//! wait for input. Only a transport that can wait for readiness
//! ([`Transport::poll_fd`]) and read and write without blocking takes
//! part; over any other a request is sent whole before its response is
//! read.

use std::io::{self, IoSlice, Read};
use std::time::Duration;

use rustix::event::{PollFd, PollFlags, Timespec, poll};

use super::outgoing::StageState;
use super::{Body, ChunkedBody, CloseBody, ConnSource, Incoming, Outgoing, Source, Src};
use crate::error::{Error, Result, Stall};
use crate::message::Transport;
use crate::parse::Framing;
use crate::reader::Reader;

/// A connection's transport behind its read buffer.
pub(crate) type ConnReader = Reader<Box<dyn Transport>>;

/// Where an upload stands.
#[derive(Debug)]
enum Phase {
    /// Bytes are left to send (or held back by the transport).
    Sending,
    /// Everything was sent.
    Done,
    /// Given up: the response ended the exchange first, or a write
    /// failed (the error, kept until a read needs a cause).
    Stopped(Option<io::Error>),
}

/// Why sending failed.
enum PushError {
    /// A write failed: the peer may still have answered.
    Write(io::Error),
    /// The body itself failed (a reader's error, a wrong length).
    Body(Error),
}

/// A request (its preamble's unsent rest, then its body) being sent
/// without waiting, a piece at a time. The body is kept by the caller and
/// passed in each time, so an upload costs no allocation until a piece
/// has to be staged.
#[derive(Debug)]
pub(crate) struct Upload {
    /// Bytes staged to send (a preamble's rest, a framed piece of the
    /// body), and how many of them went.
    stage: Vec<u8>,
    sent: usize,
    /// For a bytes body: how many of its bytes went (it is sent from
    /// where it is).
    bytes_sent: usize,
    /// The body's progress in giving pieces.
    state: StageState,
    /// The body has pieces left to give.
    more: bool,
    phase: Phase,
}

impl Upload {
    /// Sends `head` (a request preamble) and `body` as far as `t` takes
    /// them without waiting: the preamble and a bytes body in one
    /// vectored write. `None` when everything went (the usual case, which
    /// allocates nothing); otherwise the upload, to go on with while the
    /// response is read ([`fill`](Self::fill)). A first write that fails
    /// is an error (nothing was sent); a later one stops the upload, and
    /// the response is still read: the server may have refused the body
    /// and closed.
    pub(crate) fn start(
        t: &mut dyn Transport,
        head: &[u8],
        body: &mut Outgoing<'_>,
    ) -> Result<Option<Upload>> {
        let whole = matches!(body, Outgoing::None | Outgoing::Bytes(_));
        let bytes: &[u8] = match body {
            Outgoing::Bytes(b) => b,
            _ => &[],
        };
        let bytes_len = bytes.len();
        let n = loop {
            match t.write_vectored_nonblocking(&[IoSlice::new(head), IoSlice::new(bytes)]) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break 0,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        };
        // All of it taken (the usual case): done once the transport's own
        // buffer (TLS records) is out.
        if whole && n == head.len() + bytes_len && matches!(t.flush_nonblocking(), Ok(true)) {
            return Ok(None);
        }
        let mut upload = Upload {
            stage: Vec::new(),
            sent: 0,
            bytes_sent: n.saturating_sub(head.len()),
            state: StageState::default(),
            more: !whole,
            phase: Phase::Sending,
        };
        if n < head.len() {
            upload.stage.extend_from_slice(&head[n..]);
        }
        match upload.push(t, body) {
            Ok(true) => Ok(None),
            Ok(false) => Ok(Some(upload)),
            Err(PushError::Write(e)) if n == 0 => Err(e.into()),
            Err(PushError::Write(e)) => {
                upload.phase = Phase::Stopped(Some(e));
                Ok(Some(upload))
            }
            Err(PushError::Body(e)) => Err(e),
        }
    }

    /// True once everything was sent.
    pub(crate) fn is_done(&self) -> bool {
        matches!(self.phase, Phase::Done)
    }

    /// True while bytes are left to send.
    pub(crate) fn is_sending(&self) -> bool {
        matches!(self.phase, Phase::Sending)
    }

    /// Gives up sending: the response ended the exchange, and the
    /// connection closes after it.
    pub(crate) fn stop(&mut self) {
        if self.is_sending() {
            self.phase = Phase::Stopped(None);
        }
    }

    /// Sends what `t` takes without waiting; true once everything went.
    fn push(
        &mut self,
        t: &mut dyn Transport,
        body: &mut Outgoing<'_>,
    ) -> std::result::Result<bool, PushError> {
        loop {
            let pending: &[u8] = if self.sent < self.stage.len() {
                &self.stage[self.sent..]
            } else if let Outgoing::Bytes(b) = body
                && self.bytes_sent < b.len()
            {
                &b[self.bytes_sent..]
            } else if self.more {
                self.stage.clear();
                self.sent = 0;
                self.more = body
                    .stage(&mut self.state, &mut self.stage)
                    .map_err(PushError::Body)?;
                continue;
            } else {
                return match t.flush_nonblocking() {
                    Ok(true) => {
                        self.phase = Phase::Done;
                        self.stage = Vec::new();
                        Ok(true)
                    }
                    Ok(false) => Ok(false),
                    Err(e) => Err(PushError::Write(e)),
                };
            };
            let n = match t.write_nonblocking(pending) {
                // Nothing taken: as good as "would block".
                Ok(0) => return Ok(false),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(PushError::Write(e)),
            };
            if self.sent < self.stage.len() {
                self.sent += n;
            } else {
                self.bytes_sent += n;
            }
        }
    }

    /// Reads what has arrived into `reader`'s buffer, sending the upload
    /// while nothing has: returns the bytes read, 0 at the end of the
    /// stream. Once everything is sent (or sending stopped), a plain
    /// read, which waits under the socket's read timeout. While the peer
    /// neither reads nor sends for the socket's write timeout, an
    /// [`Error::TimedOut`] for the write (the peer stopped reading). A
    /// write that fails stops the upload, not the reading: the peer may
    /// have answered before it closed (a refusal of the body, say); if
    /// nothing more can be read, the write's error is returned.
    pub(crate) fn fill(
        &mut self,
        reader: &mut ConnReader,
        body: &mut Outgoing<'_>,
    ) -> Result<usize> {
        loop {
            if self.is_sending() {
                match self.push(reader.get_mut(), body) {
                    Ok(_) => {}
                    Err(PushError::Write(e)) => self.phase = Phase::Stopped(Some(e)),
                    Err(PushError::Body(e)) => return Err(e),
                }
            }
            if !self.is_sending() {
                let r = reader.fill();
                if let (Ok(0) | Err(_), Phase::Stopped(e)) = (&r, &mut self.phase)
                    && let Some(e) = e.take()
                {
                    return Err(Error::Io(e));
                }
                return Ok(r?);
            }
            match reader.fill_with(|t, buf| t.read_nonblocking(buf)) {
                Ok((n, _)) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
            wait(reader.get_ref().as_ref(), true)?;
        }
    }

    /// Sends the rest, waiting on the socket as a blocking write would
    /// (under its write timeout), reading nothing: the response is
    /// complete and the connection stays open, so the peer reads the
    /// whole body before its next request. An error when a write failed,
    /// now or before.
    pub(crate) fn finish(&mut self, t: &mut dyn Transport, body: &mut Outgoing<'_>) -> Result<()> {
        while self.is_sending() {
            match self.push(t, body) {
                Ok(true) => {}
                Ok(false) => wait(t, false)?,
                Err(PushError::Write(e)) => return Err(e.into()),
                Err(PushError::Body(e)) => return Err(e),
            }
        }
        match &mut self.phase {
            Phase::Stopped(e) => e.take().map_or(Ok(()), |e| Err(Error::Io(e))),
            _ => Ok(()),
        }
    }
}

/// Waits until `t` can be written, or read when `read`, for at most the
/// socket's write timeout: what stalls is the write (the peer neither
/// reads nor answers).
fn wait(t: &dyn Transport, read: bool) -> Result<()> {
    let Some(fd) = t.poll_fd() else {
        // A transport that cannot wait (a closed one): its next write
        // says why.
        return Ok(());
    };
    let timeout: Option<Duration> =
        rustix::net::sockopt::socket_timeout(fd, rustix::net::sockopt::Timeout::Send)
            .ok()
            .flatten();
    let spec = timeout.and_then(|d| Timespec::try_from(d).ok());
    let flags = if read {
        PollFlags::IN | PollFlags::OUT
    } else {
        PollFlags::OUT
    };
    let mut fds = [PollFd::from_borrowed_fd(fd, flags)];
    loop {
        match poll(&mut fds, spec.as_ref()) {
            Ok(0) => {
                return Err(Error::TimedOut {
                    stalled: Stall::Write,
                    after: timeout,
                });
            }
            Ok(_) => return Ok(()),
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(Error::Io(e.into())),
        }
    }
}

/// A response body that reads from its connection while the request
/// body still goes out: before each read that would wait for input, more
/// of the request is sent. When the response ends, the rest of the
/// request is sent if the connection stays (the server reads it before
/// its next request), and given up if the response closes the
/// connection.
pub(crate) struct Duplex<'a> {
    pub(super) src: ConnSource,
    body: Outgoing<'a>,
    upload: Upload,
    keeps_alive: bool,
}

impl<'a> Duplex<'a> {
    /// A response body reading `src`, with `upload` of `body` going on;
    /// `keeps_alive`: whether the connection stays after the response.
    pub(crate) fn new(
        src: ConnSource,
        body: Outgoing<'a>,
        upload: Upload,
        keeps_alive: bool,
    ) -> Duplex<'a> {
        Duplex {
            src,
            body,
            upload,
            keeps_alive,
        }
    }

    /// Sends more of the request until input is buffered to read.
    fn pump(&mut self) -> Result<()> {
        if !self.upload.is_sending() {
            return Ok(());
        }
        let (upload, body) = (&mut self.upload, &mut self.body);
        let r = self.src.with_reader(|reader| {
            if reader.buffered().is_empty() {
                upload.fill(reader, body)?;
            }
            Ok(())
        });
        if r.is_err() {
            self.upload.stop();
            self.src.fail();
        }
        r
    }

    /// The response body was read to its end.
    pub(super) fn on_complete(&mut self) {
        if self.upload.is_sending() && self.keeps_alive {
            let (upload, body) = (&mut self.upload, &mut self.body);
            let r = self
                .src
                .with_reader(|reader| upload.finish(reader.get_mut(), body));
            if r.is_err() {
                // The response stands; the connection cannot be reused.
                self.src.fail();
                return;
            }
        }
        self.upload.stop();
        self.src.complete();
    }

    /// The response body failed.
    pub(super) fn on_error(&mut self) {
        self.upload.stop();
        self.src.fail();
    }
}

impl Read for Duplex<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.pump()?;
        self.src.read(buf)
    }
}

impl Source for Duplex<'_> {
    fn read_line_into(&mut self, line: &mut Vec<u8>, max: usize) -> Result<()> {
        self.pump()?;
        self.src.read_line_into(line, max)
    }
}

/// A response body of `framing` (trailers allowed) reading `src`, with
/// `upload` of `body` going on (see [`Duplex`]).
pub(crate) fn duplex_body<'a>(
    src: ConnSource,
    framing: Framing,
    body: Outgoing<'a>,
    upload: Upload,
    keeps_alive: bool,
) -> Incoming<'a> {
    let src = Src::Duplex(Box::new(Duplex::new(src, body, upload, keeps_alive)));
    match framing {
        Framing::Length(n) => Incoming::Body(Body::with_src(src, n)),
        Framing::Chunked => Incoming::Chunked(ChunkedBody::with_src(src).allow_trailers()),
        Framing::None => Incoming::Close(CloseBody::with_src(src)),
    }
}
