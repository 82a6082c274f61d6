//! The idle connections a [`Client`](crate::Client) keeps for its next
//! requests.
//!
//! A connection enters the pool when its exchange is over and it can
//! carry another: its response had no body, or its body was read to the
//! very end (the body's release hook puts it back, see
//! [`Incoming::on_release`](degu_core::Incoming::on_release)). It leaves
//! it for a request, newest first; on the way out, one idle past the
//! client's `idle_timeout`, or that the server closed (a look without
//! blocking, [`Conn::is_stale`], for one idle at least
//! [`STALE_CHECK_AFTER`]), is dropped and the next one tried.
//!
//! The pool holds bare [`Conn`]s, never a [`Connection`](crate::Connection)
//! (which holds its `Client`, which holds the pool): so the pool and its
//! sockets go when the last clone of the client and the last body that
//! could give a connection back are gone.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use degu_core::Conn;

/// How long a connection must have waited in the pool before it is
/// checked for a close by the server. The look costs a system call, as
/// much as a tenth of a whole request on a fast local connection; servers
/// close idle connections after seconds (Node and Apache 5 s, nginx
/// 75 s). A connection back in the pool for less than this is used as it
/// is: if the server did close it (a restart, a server that closes
/// without saying so), the request fails before any response byte and the
/// resend rule applies.
pub(crate) const STALE_CHECK_AFTER: Duration = Duration::from_millis(100);

/// A connection waiting in the pool.
pub(crate) struct Idle {
    pub conn: Conn,
    /// Requests it carried so far.
    pub requests: u64,
    /// Since when it waits.
    pub since: Instant,
}

/// A client's idle connections, and how many it ever opened.
#[derive(Default)]
pub(crate) struct Pool {
    /// Oldest first.
    idle: Mutex<Vec<Idle>>,
    opened: AtomicU64,
}

impl Pool {
    fn lock(&self) -> MutexGuard<'_, Vec<Idle>> {
        // Nothing runs under the lock that could panic half-way.
        self.idle.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The newest idle connection still fit for a request: newer than
    /// `idle_timeout` and not closed by the server. The ones found unfit
    /// are closed.
    pub(crate) fn take(&self, idle_timeout: Duration) -> Option<Idle> {
        let now = Instant::now();
        loop {
            let idle = {
                let mut pool = self.lock();
                // The oldest are first: drop those past their time.
                let expired = pool
                    .iter()
                    .position(|i| now.duration_since(i.since) < idle_timeout)
                    .unwrap_or(pool.len());
                let old: Vec<Idle> = pool.drain(..expired).collect();
                let newest = pool.pop();
                drop(pool);
                // Closed outside the lock.
                drop(old);
                newest?
            };
            if now.duration_since(idle.since) < STALE_CHECK_AFTER || !idle.conn.is_stale() {
                return Some(idle);
            }
            log::debug!("dropping a pooled connection the server closed");
        }
    }

    /// Puts a connection back, unless `max_idle` wait already (then the
    /// oldest goes).
    pub(crate) fn put(&self, conn: Conn, requests: u64, max_idle: usize) {
        let idle = Idle {
            conn,
            requests,
            since: Instant::now(),
        };
        let mut pool = self.lock();
        pool.push(idle);
        let over = pool.len().saturating_sub(max_idle);
        let old: Vec<Idle> = pool.drain(..over).collect();
        drop(pool);
        drop(old);
    }

    /// Idle connections now.
    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }

    /// Counts a connection opened.
    pub(crate) fn opened_one(&self) {
        self.opened.fetch_add(1, Ordering::Relaxed);
    }

    /// Connections opened so far.
    pub(crate) fn opened(&self) -> u64 {
        self.opened.load(Ordering::Relaxed)
    }
}
