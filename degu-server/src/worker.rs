//! Workers: the elastic pool of threads that run requests.
//!
//! The event thread hands a connection to the pool when a whole preamble
//! is buffered ([`Job::Serve`]), or when its wrapper must run a blocking
//! handshake ([`Job::Wrap`]). A worker serves it (the app call, bodies
//! and response with blocking I/O), keeps it while the next request comes
//! within `worker_wait`, and then sends it back to the event thread
//! ([`Back`]) to wait, to linger after the server ended it, or to be
//! forgotten.
//!
//! Threads start when a job finds no idle worker, at once up to a base of
//! four per CPU (enough to keep the CPUs busy with apps
//! that do not block, and few enough that they take connections from the
//! queue in turn instead of each being woken for its own), and beyond it
//! up to `max_workers` only for workers held up: the event thread
//! ([`Pool::grow`]) starts one for each worker that has made no progress
//! (a new job or a new request) for [`STUCK_AFTER`] while jobs wait, so
//! blocking apps get their threads within milliseconds. Threads end after
//! `worker_idle` without a job.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU8, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use degu_core::{Address, Available, Conn, ConnBuffers, Credentials, PlainStream, Transport};
use log::{info, warn};
use rustix::event::{PollFd, PollFlags, Timespec, poll};

use crate::conn::{CloseReason, ConnCtx, Outcome, Park, serve_some};
use crate::patient::{Patient, mode};
use crate::server::Inner;
use crate::session::Session;

/// A connection's place in the event thread's table: its index, and the
/// generation of the slot (a slot reused by a later connection has
/// another).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SlotId {
    pub idx: u32,
    pub era: u32,
}

/// A connection with its protocol state and session, as it moves between
/// the event thread and the workers.
pub(crate) struct Live {
    pub id: SlotId,
    pub conn: Conn,
    pub session: Session,
    /// How its [`Patient`] transport reads (set by the request loop).
    pub mode: Arc<AtomicU8>,
    /// Whether the app's `on_connect` has run.
    pub greeted: bool,
    /// Whether its transport reads without blocking, so the event
    /// thread can hold it between requests; if not, a worker serves it
    /// to its end.
    pub parkable: bool,
    /// Whether the event thread has handed it to a worker before its
    /// first preamble was whole (over TLS, with its handshake under way;
    /// at most once).
    pub early: bool,
    /// When its first preamble is due, as it was when it was handed
    /// early: still due if it comes back without one.
    pub first_deadline: Option<Instant>,
    /// Its socket, to wait on.
    pub sock: PlainStream,
}

impl Live {
    /// A new connection over `transport` (on `sock`), holding no read
    /// buffer yet.
    pub(crate) fn new(
        id: SlotId,
        transport: Box<dyn Transport>,
        sock: &PlainStream,
        session: Session,
        inner: &Inner,
    ) -> Live {
        let mode = Arc::new(AtomicU8::new(mode::EXCHANGE));
        let patient = Patient::new(
            transport,
            sock.share(),
            Arc::clone(&mode),
            inner.wait,
            inner.options.timeout(),
        );
        Live {
            id,
            conn: Conn::without_buffer(Box::new(patient)),
            session,
            mode,
            greeted: false,
            parkable: true,
            early: false,
            first_deadline: None,
            sock: sock.share(),
        }
    }
}

/// An accepted socket whose wrapper runs a blocking handshake.
pub(crate) struct Fresh {
    pub id: SlotId,
    pub stream: PlainStream,
    pub peer: Address,
    pub credentials: Option<Credentials>,
}

/// Work for a worker.
pub(crate) enum Job {
    /// Serve requests: a whole preamble is buffered.
    Serve(Box<Live>),
    /// Run the wrapper's handshake, then serve.
    Wrap(Box<Fresh>),
}

/// What a worker tells the event thread about a connection it had.
pub(crate) enum Back {
    /// Quiet between requests: wait for the next one.
    Park(Box<Live>),
    /// Ended by the server (its worker shuts its output down): discard
    /// what the peer still sends, then close.
    Linger(SlotId),
    /// Over: forget it (its socket closes).
    Gone(SlotId),
}

#[derive(Default)]
struct PoolState {
    jobs: VecDeque<Job>,
    /// Workers waiting for a job and not yet woken for one.
    idle: usize,
    /// Wake-ups sent and not yet taken.
    woken: usize,
    /// Workers started and not yet looking for a job.
    starting: usize,
    workers: usize,
    threads: Vec<JoinHandle<()>>,
    stop: bool,
    /// Per progress slot: for one held by a worker, the value last seen,
    /// and since when (`None`: free).
    seen: Vec<Option<(u64, Instant)>>,
}

/// The worker pool.
pub(crate) struct Pool {
    state: Mutex<PoolState>,
    work: Condvar,
    /// Jobs waiting with no worker on its way to them (none idle to wake,
    /// and no thread left to start): read without the lock by a worker
    /// deciding whether to wait for its connection's next request, or to
    /// give it back and take one of them.
    pub starved: AtomicUsize,
    max: usize,
    base: usize,
    /// Per worker: a count its worker raises at each job and request, so
    /// the event thread can tell a worker held up from one making
    /// progress (see [`mark`]).
    progress: Box<[AtomicU64]>,
}

/// A worker that has made no progress for this long while jobs wait is
/// taken to be held up (in the app, a body or a write), and another
/// worker is started beside it. One waiting for its connection's next
/// request is not held up: it gives the connection back within
/// `worker_wait` (and waits only when no job was waiting).
pub(crate) const STUCK_AFTER: Duration = Duration::from_millis(5);

/// How often the event thread looks for held-up workers while jobs wait.
pub(crate) const GROW_EVERY: Duration = Duration::from_millis(1);

/// A worker's progress word: a count raised by [`STEP`](mark::STEP) at
/// each job and request, and two flags for the states in which a worker
/// is not held up however long it stays in them.
pub(crate) mod mark {
    use std::sync::atomic::{AtomicU64, Ordering};

    /// Waiting for a job.
    pub(crate) const IDLE: u64 = 1;
    /// Waiting for its connection's next request.
    pub(crate) const AWAITING: u64 = 2;
    /// One step of the count.
    pub(crate) const STEP: u64 = 4;

    /// A step forward, flags cleared.
    pub(crate) fn step(p: &AtomicU64) {
        let v = p.load(Ordering::Relaxed);
        p.store((v + STEP) & !(IDLE | AWAITING), Ordering::Relaxed);
    }

    /// Sets a flag (until the next step).
    pub(crate) fn flag(p: &AtomicU64, flag: u64) {
        let v = p.load(Ordering::Relaxed);
        p.store(v | flag, Ordering::Relaxed);
    }
}

impl Pool {
    pub(crate) fn new(max: usize) -> Pool {
        let cpus = thread::available_parallelism().map_or(1, |n| n.get());
        Pool {
            state: Mutex::new(PoolState {
                seen: vec![None; max],
                ..PoolState::default()
            }),
            work: Condvar::new(),
            starved: AtomicUsize::new(0),
            max,
            base: (4 * cpus).min(max),
            progress: (0..max).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, PoolState> {
        // Jobs run outside the lock, and app panics are caught: a
        // poisoned lock still holds valid data.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts the jobs no worker is on its way to, after a change.
    fn recount(&self, st: &PoolState) {
        let starved = st.jobs.len().saturating_sub(st.woken + st.starting);
        self.starved.store(starved, Ordering::Relaxed);
    }

    /// Queues `job` for a worker, waking an idle one or starting one.
    pub(crate) fn push(&self, inner: &Arc<Inner>, job: Job) {
        let mut st = self.lock();
        st.jobs.push_back(job);
        let wake = st.idle > 0;
        if wake {
            st.idle -= 1;
            st.woken += 1;
        } else if st.workers < self.base {
            self.start(inner, &mut st);
        }
        self.recount(&st);
        drop(st);
        // Woken after the lock is let go: a worker woken while it is held
        // finds it taken and sleeps again on it (a second context switch
        // per job). The idle worker counted above is already waiting (it
        // counts itself idle and lets the lock go in one step), and one
        // that timed out meanwhile takes the job through `woken`.
        if wake {
            self.work.notify_one();
        }
    }

    /// Starts a worker thread (below `max_workers`).
    fn start(&self, inner: &Arc<Inner>, st: &mut PoolState) {
        let Some(slot) = st.seen.iter().position(Option::is_none) else {
            return;
        };
        st.threads.retain(|t| !t.is_finished());
        self.progress[slot].store(0, Ordering::Relaxed);
        st.seen[slot] = Some((0, Instant::now()));
        let inner2 = Arc::clone(inner);
        match thread::Builder::new()
            .name("degu-worker".into())
            .spawn(move || work(&inner2, slot))
        {
            Ok(t) => {
                st.workers += 1;
                st.starting += 1;
                st.threads.push(t);
            }
            Err(e) => {
                st.seen[slot] = None;
                warn!("cannot start a worker thread: {e}");
            }
        }
    }

    /// With jobs waiting and no worker coming for them: starts a worker
    /// for each one held up (no progress for [`STUCK_AFTER`]) beyond the
    /// base, up to `max_workers` and to the jobs waiting. Called by the
    /// event thread every [`GROW_EVERY`] while jobs wait.
    pub(crate) fn grow(&self, inner: &Arc<Inner>, now: Instant) {
        let mut st = self.lock();
        let starved = st.jobs.len().saturating_sub(st.woken + st.starting);
        if starved == 0 || st.stop {
            return;
        }
        let mut stuck = 0;
        let st = &mut *st;
        for (slot, seen) in st.seen.iter_mut().enumerate() {
            let Some(seen) = seen else { continue };
            let p = self.progress[slot].load(Ordering::Relaxed);
            if p & (mark::IDLE | mark::AWAITING) != 0 {
                continue;
            }
            if p != seen.0 {
                *seen = (p, now);
            } else if now.duration_since(seen.1) >= STUCK_AFTER {
                stuck += 1;
            }
        }
        let active = st.workers - stuck;
        let want = self
            .base
            .saturating_sub(active)
            .min(starved)
            .min(self.max - st.workers);
        for _ in 0..want {
            self.start(inner, st);
        }
        if want > 0 {
            self.recount(st);
        }
    }

    /// Makes idle workers end, and returns every worker thread.
    pub(crate) fn stop(&self) -> Vec<JoinHandle<()>> {
        let mut st = self.lock();
        st.stop = true;
        self.work.notify_all();
        std::mem::take(&mut st.threads)
    }

    /// Whether a worker waits for a job, not yet woken for one.
    pub(crate) fn has_idle(&self) -> bool {
        self.lock().idle > 0
    }

    /// Worker threads running.
    pub(crate) fn workers(&self) -> usize {
        self.lock().workers
    }
}

/// A worker thread: runs jobs until idle for `worker_idle` or stopped.
fn work(inner: &Arc<Inner>, slot: usize) {
    let pool = &inner.pool;
    let progress = &pool.progress[slot];
    // The read and preamble buffers this worker lends to each connection
    // it serves (a waiting connection holds at most a small one).
    let mut bufs = ConnBuffers::new();
    let mut st = pool.lock();
    st.starting -= 1;
    loop {
        if let Some(job) = st.jobs.pop_front() {
            pool.recount(&st);
            drop(st);
            mark::step(progress);
            if !bufs.is_whole() {
                bufs = ConnBuffers::new();
            }
            run(inner, job, &mut bufs, progress);
            st = pool.lock();
            continue;
        }
        if st.stop {
            break;
        }
        mark::flag(progress, mark::IDLE);
        st.idle += 1;
        let (guard, waited) = pool
            .work
            .wait_timeout(st, inner.options.worker_idle())
            .unwrap_or_else(|p| p.into_inner());
        st = guard;
        if st.woken > 0 {
            st.woken -= 1;
            pool.recount(&st);
        } else {
            st.idle -= 1;
            if waited.timed_out() && st.jobs.is_empty() {
                break;
            }
        }
    }
    st.workers -= 1;
    st.seen[slot] = None;
}

/// Runs one job, and tells the event thread how the connection was left.
fn run(inner: &Arc<Inner>, job: Job, bufs: &mut ConnBuffers, progress: &AtomicU64) {
    let mut live = match job {
        Job::Serve(live) => live,
        Job::Wrap(fresh) => match wrap(inner, *fresh) {
            Ok(live) => Box::new(live),
            Err(id) => return inner.send_back(Back::Gone(id)),
        },
    };
    live.conn.swap_buffers(bufs);
    let first = if live.early && !live.greeted {
        first_preamble(&mut live.conn, &live.sock, inner.wait)
    } else {
        Ok(true)
    };
    let Live {
        id,
        conn,
        session,
        mode,
        greeted,
        parkable,
        sock,
        ..
    } = &mut *live;
    let unlist = || inner.unlist(sock);
    let outcome = match first {
        Err(reason) => Outcome::Closed(reason),
        Ok(false) => Outcome::Park,
        Ok(true)
            if !*greeted && {
                *greeted = true;
                !inner.app.on_connect(session, &conn.info())
            } =>
        {
            Outcome::Linger(CloseReason::RefusedByOnConnect)
        }
        Ok(true) => {
            let ctx = ConnCtx {
                app: &*inner.app,
                max_requests: session.max_requests(),
                stop: &inner.stop,
                max_headers: inner.options.max_headers(),
                park: parkable.then_some(Park {
                    mode,
                    starved: &inner.pool.starved,
                    progress,
                    unlist: &unlist,
                }),
            };
            serve_some(conn, session, &ctx)
        }
    };
    let id = *id;
    // The worker's buffers back; the connection keeps what is still
    // buffered in its own.
    live.conn.swap_buffers(bufs);
    match outcome {
        Outcome::Park => inner.send_back(Back::Park(live)),
        Outcome::Linger(reason) => {
            log_end(&live.session, &reason);
            // Lingering before the peer can see the end, so a peer that
            // reconnects at once finds the slot ready to give way.
            inner.send_back(Back::Linger(id));
            let _ = live.conn.shutdown_write();
        }
        Outcome::Closed(reason) => {
            log_end(&live.session, &reason);
            drop(live);
            inner.send_back(Back::Gone(id));
        }
    }
}

/// For a connection handed over before its first preamble was whole (see
/// `EventLoop::hands_early`): reads what has arrived without blocking, as
/// the event thread does (the handshake advancing as its records come),
/// and waits for more, for `wait` in all, so a handshake that trickles in
/// holds the worker no longer. True when the preamble is whole; false
/// when the time is up; the reason when the connection ended.
///
/// It reads before it waits: a connection given back once may come again
/// with its preamble already buffered, and nothing more will arrive.
fn first_preamble(
    conn: &mut Conn,
    sock: &PlainStream,
    wait: Duration,
) -> Result<bool, CloseReason> {
    let start = Instant::now();
    loop {
        match conn.read_available() {
            Ok(Available::Ready) => return Ok(true),
            Ok(Available::Partial | Available::Nothing) => {}
            Ok(Available::Closed) => return Err(CloseReason::PeerClosed),
            Err(e) => return Err(CloseReason::BadRequest(e)),
        }
        let left = wait.saturating_sub(start.elapsed());
        if left.is_zero() || !readable(sock, left) {
            return Ok(false);
        }
    }
}

/// Waits up to `limit` for `sock` to be readable; false when it is not
/// (or the wait failed: the caller stops waiting).
fn readable(sock: &PlainStream, limit: Duration) -> bool {
    // Always converts: `worker_wait` is at most 365 days.
    let Ok(timeout) = Timespec::try_from(limit) else {
        return false;
    };
    let mut fds = [PollFd::new(sock, PollFlags::IN)];
    match poll(&mut fds, Some(&timeout)) {
        Ok(n) => n > 0,
        Err(e) => e == rustix::io::Errno::INTR,
    }
}

/// Logs a connection's end.
pub(crate) fn log_end(session: &Session, reason: &dyn std::fmt::Display) {
    info!(
        "- {} Handled {} requests: {reason}",
        session.address(),
        session.requests()
    );
}

/// Runs a blocking wrapper's handshake, within `header_timeout` (or
/// `timeout`) as a whole.
fn wrap(inner: &Inner, fresh: Fresh) -> Result<Live, SlotId> {
    let Fresh {
        id,
        stream,
        peer,
        credentials,
    } = fresh;
    let wrapper = inner
        .wrapper
        .as_deref()
        .expect("a Wrap job comes from a server with a wrapper");
    let sock = stream.share();
    let limit = inner.options.header_timeout().or(inner.options.timeout());
    let transport = sock
        .set_read_timeout(limit)
        .map_err(degu_core::Error::Io)
        .and_then(|()| wrapper.wrap(stream, &peer))
        .and_then(|t| {
            sock.set_read_timeout(Some(inner.wait))?;
            Ok(t)
        });
    let session = Session::new(peer, credentials, inner.options.max_requests());
    match transport {
        Ok(mut t) => {
            // A transport that cannot read without blocking (an empty
            // read says) is served on this worker to its end.
            let parkable = !matches!(t.read_nonblocking(&mut []), Err(e) if e.kind() == std::io::ErrorKind::Unsupported);
            let mut live = Live::new(id, t, &sock, session, inner);
            live.parkable = parkable;
            Ok(live)
        }
        Err(e) => {
            log_end(&session, &e);
            Err(id)
        }
    }
}
