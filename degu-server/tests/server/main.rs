//! degu-server's integration tests, one binary.
//!
//! The server itself over raw sockets (no client crate): the demo routes,
//! keep-alive and pipelining, streamed bodies, every refusal of the
//! parser's rules (the README's "What is strict, and what is tolerated")
//! on the wire, limits, app failures, shutdown, address
//! families, faults (peers leaving at every stage, slowloris, EMFILE,
//! leak counts; in child processes), and interop with curl and Python's http.client. Then the
//! applib apps (`applib`) and the reverse proxy (`proxy`, with the
//! `proxy` feature).
//!
//! Every client socket has a timeout, servers bind port 0 or a per-test
//! AF_UNIX name, and nothing sleeps to wait for a server.

#![allow(
    unreachable_pub,
    reason = "a test or bench binary: `pub` marks what its modules share"
)]

mod addresses;
mod applib;
mod apps;
mod attacks;
mod connection;
mod events;
mod faults;
mod http_types;
mod interop;
mod lifecycle;
mod limits;
mod peers;
mod proxy;
mod rejections;
mod routes;
mod streaming;
mod util;

/// A session (its store holds `Send` values), a request with its body and
/// the connection under them (its state between two requests) may move
/// between threads: checked when this compiles.
#[test]
fn sessions_requests_and_connections_are_send() {
    fn send<T: Send>() {}
    send::<degu_server::Session>();
    send::<degu_server::Request>();
    send::<degu_server::Response<'static>>();
    send::<degu_core::Conn>();
}
