//! fetch: make an HTTP request with degu-client and print the response.
//!
//! ```text
//! cargo run --release -p degu-client --example fetch -- [-X METHOD] [-H 'name: value']...
//!     [--data @FILE | --data TEXT | --chunked @FILE] [--range START-STOP] [--repeat N] ADDRESS URI
//! ```
//!
//! Prints the status line, the response headers as `name: value` (a
//! repeated header once per line), a blank line, then the body bytes (a
//! close-delimited body whole; trailers not printed), to stdout. Exit code
//! 0 for any HTTP status; 1 with a one-line error on stderr for a
//! connection or protocol error; 2 for a bad command line. The code is
//! `degu_client::fetch`.

use std::process::ExitCode;

use degu_client::{Client, fetch};

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    fetch::main_with(
        "fetch",
        fetch::USAGE,
        &argv,
        &mut |_, _| Ok(false),
        &mut |address| Ok(Client::new(address)),
    )
}
