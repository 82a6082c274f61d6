//! degu-client's integration tests: one binary, a helper module, and one
//! module per kind of peer.

#![allow(
    unreachable_pub,
    reason = "a test or bench binary: `pub` marks what its modules share"
)]

mod canned;
mod degu;
mod duplex;
mod fetch;
mod nginx;
mod pool;
mod python;
mod tolerance;
mod util;

/// A connection, a response and its body may move to another thread (a
/// pool, a worker): checked when this compiles.
#[test]
fn connections_and_responses_are_send() {
    fn send<T: Send>() {}
    send::<degu_client::Client>();
    send::<degu_client::Connection>();
    send::<degu_client::Response>();
    send::<degu_client::Incoming<'static>>();
    fn sync<T: Sync>() {}
    sync::<degu_client::Client>();
}
