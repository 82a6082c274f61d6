//! The demo server: degu-server's demo app on a plain socket (TCP or
//! AF_UNIX). Its command line, its output and its routes are a contract,
//! kept as written here (options may be added, none changed); the
//! `degu_server::demo` module docs give each route in detail.
//!
//! ```text
//! cargo run --release -p degu-server --example demo -- [--max-connections N] [--max-requests N] [--timeout SECS] ADDRESS
//! ```
//!
//! - `--max-connections N` (default 50), `--max-requests N` per connection
//!   (default 1000), `--timeout SECS` for every socket read and write
//!   (default 30, fractions allowed).
//! - `ADDRESS`: `127.0.0.1:8000`, `[::1]:8000`, `[fe80::1%eth0]:8000`,
//!   `unix:/run/app.sock`, `unix:@name`, or `unix:@` for a name the kernel
//!   picks; port 0 for a free port.
//! - The first line on stdout is the bound address in that form, with the
//!   real port or abstract name (`127.0.0.1:40505`, `unix:@00022`), and
//!   stdout is flushed after it; nothing else goes to stdout. Logs go to
//!   stderr (`DEGU_LOG=debug|info|warn|error|off`, default `info`).
//! - It serves until SIGINT or SIGTERM, then shuts down gracefully (stops
//!   accepting, closes idle connections, lets in-flight requests finish
//!   for up to 10 s) and exits with code 0. A bad command line exits with
//!   code 2 (the error and the usage on stderr), an address that cannot
//!   be bound with code 1.
//!
//! Routes (every response self-delimiting; to an HTTP/1.0 client a body
//! that would be chunked goes bare up to the close):
//!
//! - `GET /`, `HEAD /`: `200 OK`, `text/plain`, `hello, world`.
//! - `PUT`, `POST` or `PATCH /echo`: `200 OK`, the request body sent back
//!   as it came, streamed (a chunked body with its chunk boundaries and
//!   extensions); no body: an empty one.
//! - `GET /bytes/N`, `HEAD /bytes/N`: N bytes, byte i = `i % 251`; with a
//!   `range`: `206` and `content-range`, or `416` past the end.
//! - `GET /chunks/K/S`: chunked, K chunks of S bytes (byte j = `j % 251`),
//!   chunk i with the extension `i=<i>`.
//! - `GET /info`: JSON describing the request (`method`, `uri`, `mount`,
//!   `path`, `query`, `headers`) and the `session` (`address`,
//!   `credentials`, `requests`).
//! - `/app/...`: the same routes, `app` shifted onto `mount`.
//! - Any other path: `404`; a method a route does not take: `405` with
//!   `allow`.

use std::io::Write;

use degu_server::{Server, demo};
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

fn main() {
    demo::init_stderr_logger();
    let args = std::env::args().skip(1);
    let (options, address) = match demo::parse_args(args, &mut |_, _| Ok(false)) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("demo: {e}");
            eprintln!(
                "usage: demo [--max-connections N] [--max-requests N] [--timeout SECS] ADDRESS"
            );
            std::process::exit(2);
        }
    };
    let mut signals = match Signals::new([SIGINT, SIGTERM]) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("demo: cannot handle signals: {e}");
            std::process::exit(1);
        }
    };
    let server = match Server::bind(&address, demo::app, options) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("demo: {e}");
            std::process::exit(1);
        }
    };
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}", server.address());
    let _ = out.flush();
    drop(out);
    let handle = match server.spawn() {
        Ok(h) => h,
        Err(e) => {
            eprintln!("demo: {e}");
            std::process::exit(1);
        }
    };
    if let Some(sig) = signals.forever().next() {
        log::info!("signal {sig}: shutting down");
    }
    handle.shutdown();
}
