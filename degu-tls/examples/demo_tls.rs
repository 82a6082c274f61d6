//! The demo server over TLS (see DEMO.md):
//! `demo_tls --cert FILE --key FILE (--client-ca FILE | --allow-unauthenticated-clients)
//! [--max-connections N] [--max-requests N] [--timeout SECS] ADDRESS`.
//!
//! Same app and routes as `demo`; prints the bound address as its first
//! stdout line; exits 0 after a graceful shutdown on SIGINT or SIGTERM.

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
