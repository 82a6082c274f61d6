//! The demo server over TLS: degu-server's demo app (the same routes as
//! degu-server's `demo` example, given in full in the `degu_server::demo`
//! module docs) behind degu-tls's `SslServer`. Its command line and output
//! are a contract, kept as written here (options may be added, none
//! changed).
//!
//! ```text
//! cargo run --release -p degu-tls --example demo_tls -- --cert FILE --key FILE (--client-ca FILE | --allow-unauthenticated-clients) [--max-connections N] [--max-requests N] [--timeout SECS] ADDRESS
//! ```
//!
//! - `--cert FILE`, `--key FILE`: the server's certificate chain (leaf
//!   first) and its private key, in PEM.
//! - Exactly one of `--client-ca FILE`, a PEM file of CAs (every client
//!   must present a certificate issued by one of them), and
//!   `--allow-unauthenticated-clients` (clients without a certificate are
//!   served; a warning is logged). Neither, or both, is a command-line
//!   error.
//! - `--max-connections N`, `--max-requests N`, `--timeout SECS` and
//!   `ADDRESS` as for `demo`: 50 connections, 1000 requests per
//!   connection and a 30 s socket timeout by default; `127.0.0.1:8443`,
//!   `[::1]:8443`, `unix:/run/app.sock`, `unix:@name`, `unix:@`, port 0
//!   for a free port.
//! - TLS 1.3 only, AEAD suites, ECDHE key exchange (see degu-tls); each
//!   handshake must be done within the timeout.
//! - The first line on stdout is the bound address, with the real port or
//!   abstract name (`127.0.0.1:40505`), and stdout is flushed after it;
//!   nothing else goes to stdout. Logs go to stderr
//!   (`DEGU_LOG=debug|info|warn|error|off`, default `info`).
//! - It serves until SIGINT or SIGTERM, then shuts down gracefully (stops
//!   accepting, closes idle connections, lets in-flight requests finish
//!   for up to 10 s) and exits with code 0. A bad command line or a TLS
//!   configuration that does not load (a missing or unreadable file, a key
//!   that does not match the certificate) exits with code 2, the error
//!   and the usage on stderr; an address that cannot be bound with code 1.

use std::io::Write;
use std::path::PathBuf;

use degu_server::demo;
use degu_tls::{SslServer, SslServerConfig};
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

const USAGE: &str = "usage: demo_tls --cert FILE --key FILE (--client-ca FILE | --allow-unauthenticated-clients) [--max-connections N] [--max-requests N] [--timeout SECS] ADDRESS";

fn fail(msg: impl std::fmt::Display, code: i32) -> ! {
    eprintln!("demo_tls: {msg}");
    if code == 2 {
        eprintln!("{USAGE}");
    }
    std::process::exit(code)
}

fn main() {
    demo::init_stderr_logger();
    let mut ssl = SslServerConfig::default();
    let mut extra = |opt: &str, rest: &mut dyn Iterator<Item = String>| -> Result<bool, String> {
        let mut path = || {
            rest.next()
                .map(PathBuf::from)
                .ok_or_else(|| format!("{opt} needs a value"))
        };
        let old = std::mem::take(&mut ssl);
        ssl = match opt {
            "--cert" => old.with_cert_file(path()?),
            "--key" => old.with_key_file(path()?),
            "--client-ca" => old.with_ca_file(path()?),
            "--allow-unauthenticated-clients" => old.with_allow_unauthenticated_clients(true),
            _ => {
                ssl = old;
                return Ok(false);
            }
        };
        Ok(true)
    };
    let (options, address) = match demo::parse_args(std::env::args().skip(1), &mut extra) {
        Ok(x) => x,
        Err(e) => fail(e, 2),
    };
    let config = ssl.build().unwrap_or_else(|e| fail(e, 2));
    let mut signals = Signals::new([SIGINT, SIGTERM]).unwrap_or_else(|e| fail(e, 1));
    let server =
        SslServer::bind(config, &address, demo::app, options).unwrap_or_else(|e| fail(e, 1));
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}", server.address());
    let _ = out.flush();
    drop(out);
    let handle = server.spawn().unwrap_or_else(|e| fail(e, 1));
    if let Some(sig) = signals.forever().next() {
        log::info!("signal {sig}: shutting down");
    }
    handle.shutdown();
}
