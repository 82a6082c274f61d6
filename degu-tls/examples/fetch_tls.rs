//! fetch over TLS (see DEMO.md):
//! `fetch_tls --ca FILE [--cert FILE --key FILE] [--no-check-hostname]
//! [--ssl-host NAME] [fetch's options] ADDRESS URI`.
//!
//! The same command line and output as `fetch` (`degu_client::fetch`),
//! over a TLS connection made with degu-tls.

use std::cell::RefCell;
use std::process::ExitCode;

use degu_client::fetch;
use degu_tls::{SslClient, SslClientConfig};

fn main() -> ExitCode {
    let usage = format!(
        "usage: fetch_tls --ca FILE [--cert FILE --key FILE] [--no-check-hostname] [--ssl-host NAME] ...\n\n  \
         --ca FILE            trust this CA (PEM) for the server's certificate\n  \
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
        if c.ca_file().is_none() {
            return Err("--ca FILE is required".to_string());
        }
        let tls = c.build().map_err(|e| e.to_string())?;
        Ok(SslClient::with_ssl_host(
            tls,
            address,
            ssl_host.borrow().clone(),
        ))
    };
    fetch::main_with("fetch_tls", &usage, &argv, &mut extra, &mut make)
}
