//! Per-connection state given to every app call.

use std::any::Any;
use std::collections::HashMap;

use degu_core::{Address, Credentials};

/// One connection's state: who the peer is, how many requests it has made,
/// and a store that lives as long as the connection.
#[derive(Debug)]
pub struct Session {
    address: Address,
    credentials: Option<Credentials>,
    max_requests: u64,
    pub(crate) requests: u64,
    /// Per-connection storage (a proxy keeps its upstream connection here).
    pub store: Store,
}

impl Session {
    /// A session for a peer at `address`.
    pub fn new(address: Address, credentials: Option<Credentials>, max_requests: u64) -> Session {
        Session {
            address,
            credentials,
            max_requests,
            requests: 0,
            store: Store::default(),
        }
    }

    /// The peer's address (an unnamed AF_UNIX peer is `unix:@`).
    pub fn address(&self) -> &Address {
        &self.address
    }

    /// The peer's `(pid, uid, gid)` over AF_UNIX, none over TCP.
    pub fn credentials(&self) -> Option<Credentials> {
        self.credentials
    }

    /// Most requests served on this connection before it is closed.
    pub fn max_requests(&self) -> u64 {
        self.max_requests
    }

    /// Requests handled so far (the current one not included).
    pub fn requests(&self) -> u64 {
        self.requests
    }
}

/// A key-value store of any values, alive as long as its connection.
///
/// ```
/// let mut store = degu_server::Store::default();
/// store.insert("count", 1u32);
/// *store.get_mut::<u32>("count").unwrap() += 1;
/// assert_eq!(store.get::<u32>("count"), Some(&2));
/// assert_eq!(store.get::<String>("count"), None); // wrong type
/// ```
#[derive(Default)]
pub struct Store {
    items: HashMap<String, Box<dyn Any + Send>>,
}

impl Store {
    /// Stores `value` under `key`, replacing any previous value.
    pub fn insert<T: Any + Send>(&mut self, key: impl Into<String>, value: T) {
        self.items.insert(key.into(), Box::new(value));
    }

    /// The value under `key` if it is a `T`.
    pub fn get<T: Any>(&self, key: &str) -> Option<&T> {
        self.items.get(key)?.downcast_ref()
    }

    /// The value under `key` if it is a `T`, mutably.
    pub fn get_mut<T: Any>(&mut self, key: &str) -> Option<&mut T> {
        self.items.get_mut(key)?.downcast_mut()
    }

    /// Removes and returns the value under `key` if it is a `T` (a value
    /// of another type stays).
    pub fn remove<T: Any>(&mut self, key: &str) -> Option<T> {
        if !self.items.get(key)?.is::<T>() {
            return None;
        }
        self.items.remove(key)?.downcast().ok().map(|b| *b)
    }

    /// True when `key` holds a value.
    pub fn contains(&self, key: &str) -> bool {
        self.items.contains_key(key)
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.items.keys()).finish()
    }
}
