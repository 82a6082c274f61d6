//! The demo server (see DEMO.md):
//! `demo [--max-connections N] [--max-requests N] [--timeout SECS] ADDRESS`.
//!
//! Prints the bound address as its first stdout line, logs to stderr, and
//! shuts down gracefully on SIGINT or SIGTERM (exit code 0).

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
