//! Serves a directory (see `degu_server::files::FilesApp`):
//! `files [--max-connections N] [--max-requests N] [--timeout SECS] DIR ADDRESS`.
//!
//! ADDRESS takes the same forms as the demo server's. Prints the bound
//! address as its first stdout line; exits 0 after a graceful shutdown on
//! SIGINT or SIGTERM.

use std::io::Write;

use degu_server::files::FilesApp;
use degu_server::{Server, demo};
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

const USAGE: &str =
    "usage: files [--max-connections N] [--max-requests N] [--timeout SECS] DIR ADDRESS";

fn fail(msg: impl std::fmt::Display, code: i32) -> ! {
    eprintln!("files: {msg}");
    if code == 2 {
        eprintln!("{USAGE}");
    }
    std::process::exit(code)
}

fn main() {
    demo::init_stderr_logger();
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    // DIR is the first argument that is neither an option nor its value.
    let mut i = 0;
    let dir = loop {
        match args.get(i).map(String::as_str) {
            None => fail("missing DIR", 2),
            Some("--max-connections" | "--max-requests" | "--timeout") => i += 2,
            Some(_) => break args.remove(i),
        }
    };
    let (options, address) =
        demo::parse_args(args, &mut |_, _| Ok(false)).unwrap_or_else(|e| fail(e, 2));
    let app = FilesApp::new(&dir).unwrap_or_else(|e| fail(format!("{dir}: {e}"), 2));
    let mut signals = Signals::new([SIGINT, SIGTERM]).unwrap_or_else(|e| fail(e, 1));
    let server = Server::bind(&address, app, options).unwrap_or_else(|e| fail(e, 1));
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
