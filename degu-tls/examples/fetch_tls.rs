//! fetch over TLS: degu-client's `fetch` (its command line, output and
//! exit codes, given in full in the `degu_client::fetch` module docs) over
//! a connection made by degu-tls's `SslClient`. Its command line and
//! output are a contract, kept as written here (options may be added,
//! none changed).
//!
//! ```text
//! cargo run --release -p degu-tls --example fetch_tls -- [--ca FILE] [--cert FILE --key FILE] [--no-check-hostname] [--ssl-host NAME] [-X METHOD] [-H 'name: value']... [--data @FILE | --data TEXT | --chunked @FILE] [--range START-STOP] [--repeat N] ADDRESS URI
//! ```
//!
//! - `--ca FILE`: a PEM file of the CAs the server's certificate must
//!   chain to; without it, the operating system's trust store (on Linux
//!   the CA bundle OpenSSL uses, or the file `SSL_CERT_FILE` names).
//! - `--cert FILE --key FILE`: a client certificate chain and its key
//!   (PEM), presented to a server that asks for one; give both or neither.
//! - `--no-check-hostname`: verify the server's chain against `--ca`, but
//!   not the name in it (the peer-to-peer case); refused without `--ca`.
//! - `--ssl-host NAME`: the server name sent (SNI) and checked; by default
//!   the host of ADDRESS (its IP address or DNS name). A `unix:` address
//!   has none, so it needs `--ssl-host`.
//! - Every other option, ADDRESS and URI as for `fetch`. The output is
//!   `fetch`'s: the status line, the headers as `name: value`, a blank
//!   line, the body, on stdout.
//! - Exit code 0 for any HTTP status; 1 with a one-line error on stderr
//!   for a connection error (a failed handshake, a refused certificate
//!   among them) or a protocol error; 2 for a bad command line or a TLS
//!   configuration that does not load (an unreadable file, `--cert`
//!   without `--key`, `--no-check-hostname` without `--ca`, no `--ca`
//!   and no CA in the system store).

use std::cell::RefCell;
use std::process::ExitCode;

use degu_client::fetch;
use degu_tls::{SslClient, SslClientConfig};

fn main() -> ExitCode {
    let usage = format!(
        "usage: fetch_tls [--ca FILE] [--cert FILE --key FILE] [--no-check-hostname] [--ssl-host NAME] ...\n\n  \
         --ca FILE            trust this CA (PEM) for the server's certificate\n                       \
         (default: the system's trusted CAs, or SSL_CERT_FILE)\n  \
         --cert/--key FILE    present this client certificate and key (PEM)\n  \
         --no-check-hostname  verify the chain against --ca, not the name\n  \
         --ssl-host NAME      the server name for SNI and the name check\n                       \
         (default: the ADDRESS host; needed for unix: addresses)\n\n{}",
        fetch::USAGE
    );
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let config = RefCell::new(SslClientConfig::default());
    let ssl_host = RefCell::new(None);
    let mut extra = |opt: &str, rest: &mut dyn Iterator<Item = &String>| -> Result<bool, String> {
        let mut value = || {
            rest.next()
                .cloned()
                .ok_or_else(|| format!("{opt} needs a value"))
        };
        let mut c = config.borrow_mut();
        let old = std::mem::take(&mut *c);
        *c = match opt {
            "--ca" => old.with_ca_file(value()?),
            "--cert" => old.with_cert_file(value()?),
            "--key" => old.with_key_file(value()?),
            "--no-check-hostname" => old.with_check_hostname(false),
            "--ssl-host" => {
                *ssl_host.borrow_mut() = Some(value()?);
                old
            }
            _ => {
                *c = old;
                return Ok(false);
            }
        };
        Ok(true)
    };
    let mut make = |address| {
        let c = config.borrow();
        let tls = c.build().map_err(|e| e.to_string())?;
        Ok(SslClient::with_ssl_host(
            tls,
            address,
            ssl_host.borrow().clone(),
        ))
    };
    fetch::main_with("fetch_tls", &usage, &argv, &mut extra, &mut make)
}
