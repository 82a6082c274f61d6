//! The event thread: one per server, it owns the listening socket and
//! every connection that is not running a request.
//!
//! Through epoll (rustix's, already a dependency: no runtime, no unsafe
//! code of ours) it accepts connections, reads the next preamble of each
//! waiting connection without blocking as its bytes arrive (over TLS,
//! advancing the handshake too), and hands a connection to a worker when
//! a whole preamble is buffered. It closes a connection that stays idle
//! past `timeout`, or whose preamble is not whole within
//! `header_timeout` of its first byte, and it reads and discards what a
//! peer still sends after the server ended its connection (see
//! [`Outcome::Linger`](crate::conn::Outcome::Linger)). A waiting
//! connection with nothing buffered holds no read buffer: a small one
//! (2 KiB, doubled when a preamble needs more) comes from a pool when
//! bytes arrive and goes back when it is empty; workers lend their
//! full-size buffers to the connections they serve.
//!
//! Every connection is registered once, one-shot: an event disarms it,
//! and it is re-armed only while the event thread holds it, so a
//! connection on a worker never wakes this thread. One whose preamble
//! arrives in pieces is armed edge-triggered until it is whole (each
//! piece then costs one read, not a read and a re-arm), and disarmed
//! before it goes to a worker.

use std::io;
use std::net::Shutdown;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use degu_core::{Address, Available, PlainStream, SMALL_BUFFER_SIZE, Transport};
use log::{info, warn};
use rustix::event::epoll;
use socket2::Socket;

use crate::conn::{CloseReason, LINGER_GAP};
use crate::server::Inner;
use crate::session::Session;
use crate::socket::from_sock_addr;
use crate::worker::{Back, Fresh, GROW_EVERY, Job, Live, SlotId, log_end};

/// Epoll data of the listening socket.
const LISTENER: u64 = u64::MAX;
/// Epoll data of the waker (an eventfd the workers and the handle
/// write).
const WAKER: u64 = u64::MAX - 1;

/// Small read buffers kept for reuse, at most.
const POOLED_BUFFERS: usize = 256;

/// Longest pause in accepting after the process ran out of descriptors.
const MAX_ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Deadlines are checked at most this often (a sweep over the table).
const SWEEP_EVERY: Duration = Duration::from_millis(10);

/// Connections past their deadline closed at most between two looks at
/// the events (closing a socket costs the kernel some work: thousands
/// of them at once would hold up everyone else).
const EXPIRE_BATCH: usize = 64;

/// What the event thread knows of a connection.
enum State {
    Free,
    /// Waiting for (the rest of) its next preamble.
    Waiting {
        live: Box<Live>,
        /// Its preamble has begun (or, over TLS, its handshake): the
        /// deadline is `header_timeout`'s.
        started: bool,
    },
    /// On a worker, or queued for one.
    Busy,
    /// Ended by the server: reading and discarding what the peer still
    /// sends, until `until` at the latest.
    Lingering {
        until: Instant,
    },
}

struct Slot {
    era: u32,
    /// A handle on the socket (none when free): to arm it, shut it down
    /// at shutdown, and discard input while lingering.
    sock: Option<PlainStream>,
    state: State,
    deadline: Option<Instant>,
    /// Registered edge-triggered and armed (while its preamble trickles
    /// in), instead of one-shot.
    edge: bool,
}

/// The event loop's own state.
pub(crate) struct EventLoop {
    inner: Arc<Inner>,
    listener: Option<Socket>,
    unix: bool,
    slots: Vec<Slot>,
    free: Vec<u32>,
    open: usize,
    buffers: Vec<Box<[u8]>>,
    next_sweep: Option<Instant>,
    last_sweep: Instant,
    /// Found past their deadline by the last sweep, not yet closed.
    expired: Vec<SlotId>,
    /// When the workers were last looked at for held-up ones.
    last_grow: Instant,
    accept_paused: Option<Instant>,
    backoff: Duration,
    /// When shutdown began.
    stopping: Option<Instant>,
    busy_shut: bool,
    /// The connections' handshakes run here (a wrapper that defers them,
    /// TLS): see [`hands_early`](Self::hands_early).
    handshakes: bool,
}

impl EventLoop {
    pub(crate) fn new(inner: Arc<Inner>, listener: Socket, unix: bool) -> io::Result<EventLoop> {
        let epoll = &inner.epoll;
        listener.set_nonblocking(true)?;
        epoll::add(
            epoll,
            &listener,
            epoll::EventData::new_u64(LISTENER),
            epoll::EventFlags::IN,
        )?;
        epoll::add(
            epoll,
            &inner.waker,
            epoll::EventData::new_u64(WAKER),
            epoll::EventFlags::IN,
        )?;
        let handshakes = inner.wrapper.as_ref().is_some_and(|w| w.defers_handshake());
        Ok(EventLoop {
            inner,
            listener: Some(listener),
            unix,
            slots: Vec::new(),
            free: Vec::new(),
            open: 0,
            buffers: Vec::new(),
            next_sweep: None,
            last_sweep: Instant::now(),
            expired: Vec::new(),
            last_grow: Instant::now(),
            accept_paused: None,
            backoff: Duration::from_millis(1),
            stopping: None,
            busy_shut: false,
            handshakes,
        })
    }

    /// Runs until the server is shut down and every connection is over
    /// (or, past twice `shutdown_timeout`, left behind); returns how many
    /// connections were left behind on workers.
    pub(crate) fn run(mut self) -> usize {
        let mut events = Vec::with_capacity(256);
        loop {
            let now = Instant::now();
            // Connections left to expire: only a look at the events first.
            let expiring = (!self.expired.is_empty()).then_some(now);
            // Jobs waiting with every worker busy: a look at the workers
            // soon (some may be held up).
            let growing = (self.inner.pool.starved.load(Ordering::Relaxed) > 0)
                .then(|| self.last_grow + GROW_EVERY);
            let wake_at = [
                expiring,
                growing,
                self.next_sweep,
                self.accept_paused,
                self.stop_deadline(),
            ]
            .into_iter()
            .flatten()
            .min();
            let timeout = wake_at.map(|t| {
                let d = t.saturating_duration_since(now);
                rustix::event::Timespec {
                    tv_sec: d.as_secs() as _,
                    tv_nsec: d.subsec_nanos() as _,
                }
            });
            events.clear();
            match epoll::wait(
                &self.inner.epoll,
                rustix::buffer::spare_capacity(&mut events),
                timeout.as_ref(),
            ) {
                Ok(_) => {}
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => {
                    warn!("epoll_wait: {e}");
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                }
            }
            for ev in &events {
                match ev.data.u64() {
                    LISTENER => self.accept(),
                    WAKER => self.drain_back(),
                    data => self.ready(SlotId {
                        idx: data as u32,
                        era: (data >> 32) as u32,
                    }),
                }
            }
            let now = Instant::now();
            if self.accept_paused.is_some_and(|t| now >= t) {
                self.resume_accept();
            }
            if self.expired.is_empty()
                && self.next_sweep.is_some_and(|t| now >= t)
                && now.duration_since(self.last_sweep) >= SWEEP_EVERY
            {
                self.sweep(now);
            }
            self.expire_some(now);
            if now.duration_since(self.last_grow) >= GROW_EVERY
                && self.inner.pool.starved.load(Ordering::Relaxed) > 0
            {
                self.last_grow = now;
                self.inner.pool.grow(&self.inner, now);
            }
            if self.inner.stop.load(Ordering::SeqCst) {
                if self.stopping.is_none() {
                    self.begin_stop(now);
                }
                if let Some(left) = self.stop_progress(now) {
                    return left;
                }
            }
        }
    }

    // --- the table ---

    fn slot(&mut self, id: SlotId) -> Option<&mut Slot> {
        self.slots
            .get_mut(id.idx as usize)
            .filter(|s| s.era == id.era && s.sock.is_some())
    }

    fn slot_ref(&self, id: SlotId) -> Option<&Slot> {
        self.slots
            .get(id.idx as usize)
            .filter(|s| s.era == id.era && s.sock.is_some())
    }

    fn data(id: SlotId) -> epoll::EventData {
        epoll::EventData::new_u64((u64::from(id.era) << 32) | u64::from(id.idx))
    }

    /// Takes a free slot for `sock`.
    fn insert(&mut self, sock: PlainStream) -> SlotId {
        self.open += 1;
        self.inner.open.store(self.open, Ordering::Relaxed);
        if let Some(idx) = self.free.pop() {
            let slot = &mut self.slots[idx as usize];
            slot.era = slot.era.wrapping_add(1);
            slot.sock = Some(sock);
            slot.state = State::Busy;
            slot.deadline = None;
            slot.edge = false;
            SlotId { idx, era: slot.era }
        } else {
            self.slots.push(Slot {
                era: 0,
                sock: Some(sock),
                state: State::Busy,
                deadline: None,
                edge: false,
            });
            SlotId {
                idx: (self.slots.len() - 1) as u32,
                era: 0,
            }
        }
    }

    /// Forgets a connection: its socket closes (once the worker's
    /// handles are gone too).
    fn remove(&mut self, id: SlotId) {
        let Some(slot) = self.slot(id) else { return };
        let sock = slot.sock.take();
        let state = std::mem::replace(&mut slot.state, State::Free);
        slot.deadline = None;
        if let Some(sock) = &sock {
            // Not there if the worker that had it took it out: no matter.
            let _ = epoll::delete(&self.inner.epoll, sock);
        }
        if let State::Waiting { mut live, .. } = state
            && let Some(buf) = live.conn.park()
        {
            self.keep_buffer(buf);
        }
        self.free.push(id.idx);
        self.open -= 1;
        self.inner.open.store(self.open, Ordering::Relaxed);
    }

    /// Gives a connection that holds no read buffer a small one.
    fn lend_buffer(&mut self, live: &mut Live) {
        if live.conn.buffer_capacity() == 0 {
            let buf = self
                .buffers
                .pop()
                .unwrap_or_else(|| vec![0u8; SMALL_BUFFER_SIZE].into_boxed_slice());
            live.conn.attach_buffer(buf);
        }
    }

    fn keep_buffer(&mut self, buf: Box<[u8]>) {
        if buf.len() == SMALL_BUFFER_SIZE && self.buffers.len() < POOLED_BUFFERS {
            self.buffers.push(buf);
        }
    }

    /// Arms a connection's one-shot registration.
    fn arm(&mut self, id: SlotId) {
        self.register_as(
            id,
            epoll::EventFlags::IN | epoll::EventFlags::ONESHOT,
            false,
        );
    }

    /// Keeps a connection whose preamble is arriving in pieces armed,
    /// edge-triggered: each piece is an event, with no syscall to re-arm
    /// it (a trickle costs one read per piece).
    fn follow(&mut self, id: SlotId) {
        if self.slot_ref(id).is_some_and(|s| !s.edge) {
            self.register_as(id, epoll::EventFlags::IN | epoll::EventFlags::ET, true);
        }
    }

    /// Disarms a connection about to leave for a worker.
    fn disarm(&mut self, id: SlotId) {
        if self.slot_ref(id).is_some_and(|s| s.edge) {
            self.register_as(id, epoll::EventFlags::ONESHOT, false);
        }
    }

    fn register_as(&mut self, id: SlotId, flags: epoll::EventFlags, edge: bool) {
        let Some(slot) = self
            .slots
            .get_mut(id.idx as usize)
            .filter(|s| s.era == id.era)
        else {
            return;
        };
        slot.edge = edge;
        let Some(sock) = slot.sock.as_ref() else {
            return;
        };
        let epoll = &self.inner.epoll;
        let done = match epoll::modify(epoll, sock, Self::data(id), flags) {
            // Taken out by the worker that had it (`Inner::unlist`): in
            // again (a failed call once per long stay).
            Err(rustix::io::Errno::NOENT) => epoll::add(epoll, sock, Self::data(id), flags),
            r => r,
        };
        if let Err(e) = done {
            warn!("epoll: {e}");
        }
    }

    fn set_deadline(&mut self, id: SlotId, deadline: Option<Instant>) {
        if let Some(slot) = self.slot(id) {
            slot.deadline = deadline;
        }
        if let Some(d) = deadline {
            self.next_sweep = Some(self.next_sweep.map_or(d, |n| n.min(d)));
        }
    }

    // --- accepting ---

    fn accept(&mut self) {
        loop {
            let Some(listener) = &self.listener else {
                return;
            };
            match listener.accept() {
                Ok((sock, addr)) => {
                    self.backoff = Duration::from_millis(1);
                    let peer = if self.unix {
                        from_sock_addr(&addr)
                    } else {
                        Address::from(
                            addr.as_socket()
                                .unwrap_or_else(|| std::net::SocketAddr::from(([0, 0, 0, 0], 0))),
                        )
                    };
                    self.admit(sock, peer);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    match e.raw_os_error() {
                        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM) => {
                            warn!("accept: {e}; pausing for {:?}", self.backoff);
                            self.pause_accept();
                        }
                        _ => warn!("accept: {e}"),
                    }
                    return;
                }
            }
        }
    }

    /// Stops listening for connections for a while (the process is out of
    /// descriptors or memory: accepting again at once would spin).
    fn pause_accept(&mut self) {
        if let Some(listener) = &self.listener {
            let _ = epoll::modify(
                &self.inner.epoll,
                listener,
                epoll::EventData::new_u64(LISTENER),
                epoll::EventFlags::empty(),
            );
        }
        self.accept_paused = Some(Instant::now() + self.backoff);
        self.backoff = (self.backoff * 2).min(MAX_ACCEPT_BACKOFF);
    }

    fn resume_accept(&mut self) {
        self.accept_paused = None;
        if let Some(listener) = &self.listener {
            let _ = epoll::modify(
                &self.inner.epoll,
                listener,
                epoll::EventData::new_u64(LISTENER),
                epoll::EventFlags::IN,
            );
        }
    }

    /// Takes in an accepted socket: counted, set up, registered, and
    /// either waiting for its first request or (a blocking wrapper) given
    /// to a worker for its handshake.
    fn admit(&mut self, sock: Socket, peer: Address) {
        let max = self.inner.options.max_connections();
        if self.open >= max {
            // Workers may have given connections back (ended ones among
            // them) since this thread last looked.
            self.drain_back();
        }
        if self.open >= max && !self.evict_lingering() {
            warn!("{peer} refused: already {} connections", self.open);
            return;
        }
        let stream = if self.unix {
            PlainStream::from(std::os::unix::net::UnixStream::from(sock))
        } else {
            PlainStream::from(std::net::TcpStream::from(sock))
        };
        if let PlainStream::Tcp(s) = &stream {
            let _ = s.set_nodelay(true);
        }
        let set = stream
            .set_read_timeout(Some(self.inner.wait))
            .and_then(|()| stream.set_write_timeout(self.inner.options.timeout()));
        if let Err(e) = set {
            warn!("{peer} refused: {e}");
            return;
        }
        info!("+ {peer} New connection");
        let credentials = stream.credentials();
        let sock = stream.share();
        let id = self.insert(sock);
        let sock = self
            .slot_ref(id)
            .and_then(|s| s.sock.as_ref())
            .map(PlainStream::share);
        let Some(sock) = sock else { return };
        let session = Session::new(peer.clone(), credentials, self.inner.options.max_requests());
        let transport: Box<dyn Transport> = match self.inner.wrapper.clone() {
            None => Box::new(stream),
            Some(w) if w.defers_handshake() => match w.wrap_deferred(stream, &peer) {
                Ok(t) => t,
                Err(e) => {
                    log_end(&session, &e);
                    self.remove(id);
                    return;
                }
            },
            Some(_) => {
                // Registered disarmed: a worker runs the handshake.
                if !self.register(id, &sock, &peer, epoll::EventFlags::ONESHOT) {
                    return;
                }
                let fresh = Fresh {
                    id,
                    stream,
                    peer,
                    credentials,
                };
                self.inner
                    .pool
                    .push(&self.inner, Job::Wrap(Box::new(fresh)));
                return;
            }
        };
        // Over TLS the handshake is the start of the first preamble.
        let started = self.inner.wrapper.is_some();
        let live = Box::new(Live::new(id, transport, &sock, session, &self.inner));
        let deadline = self.deadline_for(started);
        if let Some(slot) = self.slot(id) {
            slot.state = State::Waiting { live, started };
        }
        self.set_deadline(id, deadline);
        // Registered armed, waiting for its first request.
        let armed = epoll::EventFlags::IN | epoll::EventFlags::ONESHOT;
        self.register(id, &sock, &peer, armed);
    }

    /// Registers a new connection with `flags`; false (and the connection
    /// forgotten) when epoll refuses.
    fn register(
        &mut self,
        id: SlotId,
        sock: &PlainStream,
        peer: &Address,
        flags: epoll::EventFlags,
    ) -> bool {
        match epoll::add(&self.inner.epoll, sock, Self::data(id), flags) {
            Ok(()) => true,
            Err(e) => {
                warn!("{peer} refused: epoll: {e}");
                self.remove(id);
                false
            }
        }
    }

    /// Makes room by ending a lingering connection; false when none is.
    fn evict_lingering(&mut self) -> bool {
        let found = self.slots.iter().enumerate().find_map(|(i, s)| {
            matches!(s.state, State::Lingering { .. }).then_some(SlotId {
                idx: i as u32,
                era: s.era,
            })
        });
        match found {
            Some(id) => {
                self.remove(id);
                true
            }
            None => false,
        }
    }

    // --- waiting connections ---

    /// Holds `live` until its next preamble is whole.
    fn wait_for_request(&mut self, mut live: Box<Live>, mut started: bool) {
        let id = live.id;
        if live.conn.preamble_ready() {
            return self.dispatch(live);
        }
        if let Some(buf) = live.conn.park() {
            self.keep_buffer(buf);
        }
        let deadline = if live.early && live.session.requests() == 0 {
            // Back from a worker it went to early, still without its
            // first request: the deadline it had before holds.
            started = true;
            live.first_deadline
        } else {
            self.deadline_for(started)
        };
        if let Some(slot) = self.slot(id) {
            slot.state = State::Waiting { live, started };
        }
        self.set_deadline(id, deadline);
        self.arm(id);
    }

    fn deadline_for(&self, started: bool) -> Option<Instant> {
        let options = &self.inner.options;
        let limit = if started {
            options.header_timeout().or(options.timeout())
        } else {
            options.timeout()
        };
        limit.map(|t| Instant::now() + t)
    }

    /// Whether `live`, with no request yet, goes to a worker now, before
    /// its first preamble is whole: once per connection, when a worker is
    /// idle, and only once the server has answered the peer's hello (its
    /// flight is out). The handshake's last flight and the first request
    /// then usually come together, soon; a worker reading them itself
    /// (for `worker_wait` at most, then it gives the connection back)
    /// wakes while the peer is still busy with the handshake, rather than
    /// after the request arrived, which takes a hand-off off each new
    /// connection's way. A peer still sending its hello, a piece at a
    /// time perhaps, is not handed early: only the peer could end that
    /// wait, and it stays with the event thread.
    fn hands_early(&self, live: &Live) -> bool {
        self.handshakes
            && !live.early
            && live.session.requests() == 0
            && self.stopping.is_none()
            && self.inner.pool.has_idle()
            && live.conn.hello_answered()
    }

    /// Gives a connection with a whole preamble (or one
    /// [handed early](Self::hands_early)) to a worker.
    fn dispatch(&mut self, live: Box<Live>) {
        let id = live.id;
        self.disarm(id);
        if let Some(slot) = self.slot(id) {
            slot.state = State::Busy;
            slot.deadline = None;
        }
        self.inner.pool.push(&self.inner, Job::Serve(live));
    }

    /// A registered connection is readable.
    fn ready(&mut self, id: SlotId) {
        let Some(slot) = self.slot(id) else { return };
        match std::mem::replace(&mut slot.state, State::Busy) {
            State::Waiting { live, started } => self.read_waiting(live, started),
            State::Lingering { until } => {
                slot.state = State::Lingering { until };
                self.discard(id, until);
            }
            other => slot.state = other,
        }
    }

    fn read_waiting(&mut self, mut live: Box<Live>, started: bool) {
        let id = live.id;
        self.lend_buffer(&mut live);
        match live.conn.read_available() {
            Ok(Available::Ready) => self.dispatch(live),
            Ok(Available::Partial) => {
                let deadline = (!started).then(|| self.deadline_for(true));
                if let Some(slot) = self.slot(id) {
                    slot.state = State::Waiting {
                        live,
                        started: true,
                    };
                }
                if let Some(deadline) = deadline {
                    self.set_deadline(id, deadline);
                }
                self.follow(id);
            }
            Ok(Available::Nothing) if self.hands_early(&live) => {
                live.early = true;
                live.first_deadline = self.slot_ref(id).and_then(|s| s.deadline);
                self.dispatch(live);
            }
            Ok(Available::Nothing) => {
                if let Some(buf) = live.conn.park() {
                    self.keep_buffer(buf);
                }
                if let Some(slot) = self.slot(id) {
                    slot.state = State::Waiting { live, started };
                }
                self.arm(id);
            }
            Ok(Available::Closed) => {
                log_end(&live.session, &CloseReason::PeerClosed);
                self.end(live);
            }
            Err(e) => {
                log_end(&live.session, &CloseReason::BadRequest(e));
                self.end(live);
            }
        }
    }

    /// Forgets a connection the event thread holds.
    fn end(&mut self, mut live: Box<Live>) {
        if let Some(buf) = live.conn.park() {
            self.keep_buffer(buf);
        }
        let id = live.id;
        drop(live);
        self.remove(id);
    }

    // --- lingering ---

    fn linger(&mut self, id: SlotId) {
        let linger = self.inner.options.linger();
        if linger.is_zero() {
            return self.remove(id);
        }
        let until = Instant::now() + linger;
        if let Some(slot) = self.slot(id) {
            slot.state = State::Lingering { until };
        }
        self.set_deadline(id, Some(until.min(Instant::now() + LINGER_GAP)));
        self.arm(id);
    }

    /// Reads and discards what a lingering peer sent; closes when it has
    /// closed (or failed).
    fn discard(&mut self, id: SlotId, until: Instant) {
        let Some(sock) = self.slot_ref(id).and_then(|s| s.sock.as_ref()) else {
            return;
        };
        let mut buf = [0u8; 8192];
        let mut done = false;
        for _ in 0..16 {
            match sock.read_nonblocking(&mut buf) {
                Ok(0) => {
                    done = true;
                    break;
                }
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    done = true;
                    break;
                }
            }
        }
        if done {
            return self.remove(id);
        }
        self.set_deadline(id, Some(until.min(Instant::now() + LINGER_GAP)));
        self.arm(id);
    }

    // --- from the workers ---

    fn drain_back(&mut self) {
        let mut n = [0u8; 8];
        let _ = rustix::io::read(&self.inner.waker, &mut n);
        let backs = std::mem::take(&mut *self.inner.back.lock().unwrap_or_else(|p| p.into_inner()));
        for back in backs {
            match back {
                Back::Park(live) => {
                    if self.stopping.is_some() && !live.conn.has_buffered() {
                        self.close_at_stop(live);
                    } else {
                        let started = live.conn.has_buffered();
                        self.wait_for_request(live, started);
                    }
                }
                Back::Linger(id) => self.linger(id),
                Back::Gone(id) => self.remove(id),
            }
        }
    }

    // --- deadlines ---

    /// Finds the connections past their deadline (closed by
    /// [`expire_some`](Self::expire_some), a batch at a time).
    fn sweep(&mut self, now: Instant) {
        self.last_sweep = now;
        let mut next: Option<Instant> = None;
        for (i, slot) in self.slots.iter().enumerate() {
            let Some(d) = slot.deadline else { continue };
            if d <= now {
                self.expired.push(SlotId {
                    idx: i as u32,
                    era: slot.era,
                });
            } else {
                next = Some(next.map_or(d, |n| n.min(d)));
            }
        }
        self.next_sweep = next.map(|n| n.max(now + SWEEP_EVERY));
    }

    /// Closes up to [`EXPIRE_BATCH`] of the connections the last sweep
    /// found past their deadline (still past it: one may have moved on
    /// since).
    fn expire_some(&mut self, now: Instant) {
        for _ in 0..EXPIRE_BATCH {
            let Some(id) = self.expired.pop() else { return };
            let Some(slot) = self.slot(id) else { continue };
            if slot.deadline.is_none_or(|d| d > now) {
                continue;
            }
            match std::mem::replace(&mut slot.state, State::Busy) {
                State::Waiting { live, started } => {
                    let reason = if started {
                        CloseReason::HeaderTimeout
                    } else {
                        CloseReason::Timeout
                    };
                    log_end(&live.session, &reason);
                    self.end(live);
                }
                State::Lingering { .. } => {
                    // Quiet for a whole gap, or out of time.
                    self.remove(id);
                }
                other => {
                    slot.state = other;
                    slot.deadline = None;
                }
            }
        }
    }

    // --- shutdown ---

    fn stop_deadline(&self) -> Option<Instant> {
        let started = self.stopping?;
        let t = self.inner.options.shutdown_timeout();
        Some(if self.busy_shut {
            started + 2 * t
        } else {
            started + t
        })
    }

    /// Stops accepting (taking in what is already in the backlog first:
    /// those peers may have sent whole requests), and closes the waiting
    /// connections that have nothing of a request; a whole preamble
    /// already here is answered, and one on its way may still arrive
    /// until its deadline.
    fn begin_stop(&mut self, now: Instant) {
        self.stopping = Some(now);
        self.accept();
        if let Some(listener) = self.listener.take() {
            let _ = epoll::delete(&self.inner.epoll, &listener);
        }
        let waiting: Vec<SlotId> = self
            .slots
            .iter()
            .enumerate()
            .filter(|(_, s)| matches!(s.state, State::Waiting { .. }))
            .map(|(i, s)| SlotId {
                idx: i as u32,
                era: s.era,
            })
            .collect();
        for id in waiting {
            let Some(slot) = self.slot(id) else { continue };
            let State::Waiting { mut live, started } =
                std::mem::replace(&mut slot.state, State::Busy)
            else {
                continue;
            };
            self.lend_buffer(&mut live);
            match live.conn.read_available() {
                Ok(Available::Ready) => self.dispatch(live),
                Ok(Available::Partial) => {
                    if let Some(slot) = self.slot(id) {
                        slot.state = State::Waiting { live, started };
                    }
                    self.arm(id);
                }
                Ok(Available::Nothing) if !live.conn.has_buffered() => self.close_at_stop(live),
                Ok(_) | Err(_) => {
                    log_end(&live.session, &CloseReason::ShuttingDown);
                    self.end(live);
                }
            }
        }
    }

    /// Ends a waiting connection with nothing of a request at shutdown:
    /// its output shut down, then lingering, so a request on its way is
    /// not met with a reset.
    fn close_at_stop(&mut self, mut live: Box<Live>) {
        log_end(&live.session, &CloseReason::ShuttingDown);
        let _ = live.conn.shutdown_write();
        let id = live.id;
        if let Some(buf) = live.conn.park() {
            self.keep_buffer(buf);
        }
        drop(live);
        self.linger(id);
    }

    /// Once every connection is over, or past the shutdown deadlines:
    /// how many were left on workers.
    fn stop_progress(&mut self, now: Instant) -> Option<usize> {
        if self.open == 0 {
            return Some(0);
        }
        let started = self.stopping?;
        let t = self.inner.options.shutdown_timeout();
        if !self.busy_shut && now >= started + t {
            let busy = self
                .slots
                .iter()
                .filter(|s| matches!(s.state, State::Busy) && s.sock.is_some())
                .count();
            warn!("shutdown: closing {busy} connections still busy");
            for slot in &self.slots {
                if let Some(sock) = &slot.sock {
                    let _ = sock.shutdown(Shutdown::Both);
                }
            }
            self.busy_shut = true;
        }
        if self.busy_shut && now >= started + 2 * t {
            return Some(
                self.slots
                    .iter()
                    .filter(|s| matches!(s.state, State::Busy) && s.sock.is_some())
                    .count(),
            );
        }
        None
    }
}
