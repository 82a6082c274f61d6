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
            let (idle, age, old) = {
                let mut pool = self.lock();
                let newest = pool.pop()?;
                let age = now.duration_since(newest.since);
                // The oldest are first: those past their time go (all of
                // them when even the newest is; usually none, found so
                // from the oldest alone).
                let expired = if age >= idle_timeout {
                    pool.len()
                } else {
                    let fresh = |i: &Idle| now.duration_since(i.since) < idle_timeout;
                    pool.iter().position(fresh).unwrap_or(pool.len())
                };
                let old: Vec<Idle> = if expired > 0 {
                    pool.drain(..expired).collect()
                } else {
                    Vec::new()
                };
                (newest, age, old)
            };
            // Closed outside the lock.
            drop(old);
            if age >= idle_timeout {
                return None;
            }
            if age < STALE_CHECK_AFTER || !idle.conn.is_stale() {
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
        if pool.len() > max_idle {
            let over = pool.len() - max_idle;
            let old: Vec<Idle> = pool.drain(..over).collect();
            drop(pool);
            drop(old);
        }
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

#[cfg(test)]
mod tests {
    use std::os::unix::net::UnixStream;
    use std::time::{Duration, Instant};

    use degu_core::{Conn, PlainStream};

    use super::{Idle, Pool};

    /// A connection of the pool (over one end of a socket pair, the other
    /// kept open so that it is not stale) idle since `ago`.
    fn idle(requests: u64, ago: Duration, ends: &mut Vec<UnixStream>) -> Idle {
        let (a, b) = UnixStream::pair().unwrap();
        ends.push(b);
        Idle {
            conn: Conn::new(Box::new(PlainStream::from(a))),
            requests,
            since: Instant::now().checked_sub(ago).unwrap_or_else(Instant::now),
        }
    }

    fn pool_of(entries: Vec<Idle>) -> Pool {
        let pool = Pool::default();
        *pool.lock() = entries;
        pool
    }

    #[test]
    fn the_newest_fit_connection_is_taken_and_the_expired_ones_dropped() {
        let mut ends = Vec::new();
        let (old, fresh) = (Duration::from_secs(60), Duration::ZERO);
        let timeout = Duration::from_secs(30);
        // Two expired, then two fresh (oldest first).
        let pool = pool_of(vec![
            idle(1, old, &mut ends),
            idle(2, old, &mut ends),
            idle(3, fresh, &mut ends),
            idle(4, fresh, &mut ends),
        ]);
        assert_eq!(pool.take(timeout).map(|i| i.requests), Some(4));
        let left: Vec<u64> = pool.lock().iter().map(|i| i.requests).collect();
        assert_eq!(left, [3]);
        // All fresh: the newest, the rest kept.
        let pool = pool_of(vec![idle(1, fresh, &mut ends), idle(2, fresh, &mut ends)]);
        assert_eq!(pool.take(timeout).map(|i| i.requests), Some(2));
        assert_eq!(pool.len(), 1);
        // Even the newest expired: none, and none kept.
        let pool = pool_of(vec![idle(1, old, &mut ends), idle(2, old, &mut ends)]);
        assert!(pool.take(timeout).is_none());
        assert_eq!(pool.len(), 0);
        assert!(Pool::default().take(timeout).is_none());
    }

    #[test]
    fn connections_past_max_idle_are_dropped_oldest_first() {
        let mut ends = Vec::new();
        let pool = Pool::default();
        for n in 1..=4 {
            let i = idle(n, Duration::ZERO, &mut ends);
            pool.put(i.conn, i.requests, 2);
        }
        let left: Vec<u64> = pool.lock().iter().map(|i| i.requests).collect();
        assert_eq!(left, [3, 4]);
    }
}
