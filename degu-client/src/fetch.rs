//! The `fetch` command line, shared by degu-client's `fetch` example and
//! degu-tls's `fetch_tls` (which adds its TLS options and makes the
//! client): [`main_with`]. Its command line, output and exit codes are a
//! contract, kept as written here (options may be added, none changed):
//! the README, the interop tests and people trying Degu rely on them.
//!
//! ```text
//! cargo run --release -p degu-client --example fetch -- [-X METHOD] [-H 'name: value']...
//!     [--data @FILE | --data TEXT | --chunked @FILE] [--range START-STOP] [--repeat N] ADDRESS URI
//! ```
//!
//! - `-X METHOD`: `GET`, `HEAD`, `PUT`, `POST`, `DELETE`, `PATCH` or
//!   `OPTIONS`, in capitals; by default `GET`, or `POST` when a body is
//!   given.
//! - `-H 'name: value'`: a request header (the name lowercased, the
//!   whitespace around both trimmed); repeatable, one value per name.
//! - `--data @FILE` sends FILE as a content-length body, streamed;
//!   `--data TEXT` sends TEXT so. `--chunked @FILE` sends FILE as a
//!   chunked body in chunks of 64 KiB (the last may be shorter);
//!   `--chunked TEXT` sends TEXT as one chunk. At most one of them.
//! - `--range START-STOP`: bytes START to STOP, STOP exclusive (it sends
//!   `range: bytes=START-(STOP-1)`).
//! - `--repeat N`: N requests, one after the other, through the client's
//!   connection pool ([`Client::request`]: one connection, a new one when
//!   the server ended it or closed it idle), printing only the last
//!   response; the rate and the number of connections opened go to
//!   stderr. For quick latency checks.
//! - `-h`, `--help`: the usage, on stdout.
//! - `ADDRESS`: an [`Address`] in its text form: `127.0.0.1:8000`,
//!   `[::1]:8000`, `[fe80::1%2]:8000` or `[fe80::1%eth0]:8000` (a scope id
//!   by index or interface name), `unix:/run/app.sock`, `unix:@name`, or a
//!   DNS name such as `example.com:80` (resolved when connecting). `URI`:
//!   `/path[?query]`.
//!
//! It prints, to stdout: the status line (`STATUS REASON`, as `200 OK`;
//! the status alone when the reason phrase is empty), each response
//! header as `name: value` in the order received (a repeated header once
//! per line), a blank line, then the body bytes, and nothing after them.
//! A chunked body is printed as its data, without the chunk framing; a
//! body delimited by the end of the connection is printed whole; trailer
//! fields after a chunked body are not printed.
//!
//! Exit code 0 for any HTTP status; 1 with a one-line error on stderr for
//! a connection or protocol error; 2 for a bad command line. A stdout
//! closed early (`fetch ... | head`) is not an error.

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::process::ExitCode;
use std::time::Instant;

use degu_core::{
    Address, Body, Chunk, ChunkedBodyIter, CloseBody, Error, Headers, Method, Outgoing, Range,
};

use crate::{Client, Response};

/// The usage text of `fetch` (a TLS variant prints its own options first).
pub const USAGE: &str = "\
usage: fetch [-X METHOD] [-H 'name: value']... [--data @FILE | --data TEXT | --chunked @FILE]
             [--range START-STOP] [--repeat N] ADDRESS URI

Makes an HTTP/1.1 request with degu-client and prints the status line
(`STATUS REASON`), the response headers as `name: value` (a repeated header
once per line), a blank line, then the whole body, to stdout, and nothing
after it (trailer fields after a chunked body are not printed).

  -X METHOD        GET, HEAD, PUT, POST, DELETE, PATCH or OPTIONS (default:
                   GET, or POST when a body is given)
  -H 'name: value' add a request header (the name is lowercased); repeatable
  --data @FILE     send FILE as a content-length body (streamed)
  --data TEXT      send TEXT as a content-length body
  --chunked @FILE  send FILE as a chunked body, in chunks of 64 KiB
                   (65536 bytes; the last one may be shorter)
  --chunked TEXT   send TEXT as a chunked body of one chunk
  --range START-STOP
                   request bytes START..STOP, STOP exclusive (sends
                   `range: bytes=START-(STOP-1)`)
  --repeat N       make N requests, reusing connections (a new one when
                   the server ended one), print only the last (the rate and
                   the connections opened go to stderr)
  -h, --help       show this help

ADDRESS: 127.0.0.1:8000, [::1]:8000, [fe80::1%eth0]:8000, unix:/path/app.sock,
unix:@name, example.com:80. URI: /path[?query].

Exit code: 0 for any HTTP status; 1 with a one-line error on stderr for a
connection or protocol error; 2 for a bad command line.";

/// What to send as the request body.
enum BodySpec {
    None,
    Text(Vec<u8>),
    File(String),
    ChunkedText(Vec<u8>),
    ChunkedFile(String),
}

struct Args {
    method: Option<Method>,
    headers: Headers,
    body: BodySpec,
    repeat: u64,
    address: Address,
    uri: String,
}

/// A handler for program-specific options: gets the option and the
/// remaining arguments (to take its value), returns whether it took it.
pub type ExtraOption<'e> =
    dyn FnMut(&str, &mut dyn Iterator<Item = &String>) -> Result<bool, String> + 'e;

/// Makes the client for the parsed ADDRESS.
pub type MakeClient<'m> = dyn FnMut(Address) -> Result<Client, String> + 'm;

fn value<'a>(args: &mut dyn Iterator<Item = &'a String>, flag: &str) -> Result<&'a String, String> {
    args.next().ok_or_else(|| format!("{flag} needs a value"))
}

fn parse_args(argv: &[String], extra: &mut ExtraOption<'_>) -> Result<Option<Args>, String> {
    let mut method = None;
    let mut headers = Headers::new();
    let mut body = BodySpec::None;
    let mut repeat = 1u64;
    let mut positional = Vec::new();
    let mut it = argv.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "-X" => {
                let m = value(&mut it, "-X")?;
                method = Some(m.parse::<Method>().map_err(|e| e.to_string())?);
            }
            "-H" => {
                let h = value(&mut it, "-H")?;
                let (name, val) = h
                    .split_once(':')
                    .ok_or_else(|| format!("-H {h:?}: expected 'name: value'"))?;
                headers
                    .insert(name.trim().to_ascii_lowercase(), val.trim().to_owned())
                    .map_err(|e| format!("-H {h:?}: {e}"))?;
            }
            "--data" | "--chunked" => {
                if !matches!(body, BodySpec::None) {
                    return Err("give one of --data and --chunked, once".into());
                }
                let v = value(&mut it, arg)?;
                let file = v.strip_prefix('@').map(str::to_owned);
                body = match (arg.as_str(), file) {
                    ("--data", Some(f)) => BodySpec::File(f),
                    ("--data", None) => BodySpec::Text(v.clone().into_bytes()),
                    (_, Some(f)) => BodySpec::ChunkedFile(f),
                    (_, None) => BodySpec::ChunkedText(v.clone().into_bytes()),
                };
            }
            "--range" => {
                let r = value(&mut it, "--range")?;
                let range = r
                    .split_once('-')
                    .and_then(|(a, b)| Some((a.parse::<u64>().ok()?, b.parse::<u64>().ok()?)))
                    .ok_or_else(|| format!("--range {r:?}: expected START-STOP"))
                    .and_then(|(a, b)| {
                        Range::new(a, b).map_err(|e| format!("--range {r:?}: {e}"))
                    })?;
                headers
                    .set("range", range.to_string())
                    .map_err(|e| e.to_string())?;
            }
            "--repeat" => {
                let n = value(&mut it, "--repeat")?;
                repeat = n
                    .parse()
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or_else(|| format!("--repeat {n:?}: expected a positive number"))?;
            }
            a if a.starts_with('-') && a.len() > 1 => {
                if !extra(a, &mut it)? {
                    return Err(format!("unknown option {a}"));
                }
            }
            _ => positional.push(arg),
        }
    }
    let [address, uri] = positional[..] else {
        return Err("expected ADDRESS and URI".into());
    };
    let address = address
        .parse::<Address>()
        .map_err(|e| format!("ADDRESS {address:?}: {e}"))?;
    Ok(Some(Args {
        method,
        headers,
        body,
        repeat,
        address,
        uri: uri.clone(),
    }))
}

/// A file read as a body, its errors naming it.
struct Named {
    file: File,
    path: String,
}

impl Read for Named {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.file
            .read(buf)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", self.path)))
    }
}

fn open(path: &str) -> Result<File, Error> {
    File::open(path).map_err(|e| Error::Io(io::Error::new(e.kind(), format!("{path}: {e}"))))
}

/// Sends the request: the body streams from a file (read as it is sent,
/// while the response may already be coming back), chunked in pieces of
/// at most 64 KiB for `--chunked`.
fn send<'a>(client: &Client, args: &'a Args, method: Method) -> Result<Response<'a>, Error> {
    let body: Outgoing<'_> = match &args.body {
        BodySpec::None => Outgoing::None,
        BodySpec::Text(t) => t[..].into(),
        BodySpec::ChunkedText(t) => {
            let mut chunks = vec![Chunk::new(t.clone())];
            if !t.is_empty() {
                chunks.push(Chunk::new(""));
            }
            ChunkedBodyIter::new(chunks).into()
        }
        BodySpec::File(path) => {
            let file = open(path)?;
            let len = file.metadata().map_err(Error::Io)?.len();
            let path = path.clone();
            Body::new(Named { file, path }, len).into()
        }
        BodySpec::ChunkedFile(path) => {
            let file = open(path)?;
            let path = path.clone();
            CloseBody::new(Named { file, path }).into()
        }
    };
    client.request(method, &args.uri, &args.headers, body)
}

/// Where printing the response failed.
enum Printing {
    Stdout(io::Error),
    Body(Error),
}

/// Prints the status line, the headers, a blank line and the body.
fn print(response: &mut Response) -> Result<(), Printing> {
    let mut out = BufWriter::with_capacity(64 * 1024, io::stdout().lock());
    let mut head = if response.reason.is_empty() {
        format!("{}\n", response.status)
    } else {
        format!("{} {}\n", response.status, response.reason)
    };
    for (name, value) in response.headers.iter() {
        head.push_str(&format!("{name}: {value}\n"));
    }
    head.push('\n');
    out.write_all(head.as_bytes()).map_err(Printing::Stdout)?;
    if let Some(body) = &mut response.body {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match body.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Printing::Body(e.into())),
            };
            out.write_all(&buf[..n]).map_err(Printing::Stdout)?;
        }
    }
    out.flush().map_err(Printing::Stdout)
}

fn run(args: &Args, client: &Client) -> Result<(), Error> {
    let method = args.method.unwrap_or(match args.body {
        BodySpec::None => Method::Get,
        _ => Method::Post,
    });
    let start = Instant::now();
    // One buffer for every discarded body (io::copy would zero 8 KiB per
    // read, as Incoming has no read_buf).
    let mut scratch = vec![0u8; 64 * 1024];
    for _ in 1..args.repeat {
        // Read to its end, each response gives its connection back to
        // the client's pool for the next request (a new one when the
        // server ended it).
        let mut r = send(client, args, method)?;
        if let Some(body) = &mut r.body {
            while body.read(&mut scratch).map_err(Error::from)? > 0 {}
        }
    }
    let mut response = send(client, args, method)?;
    match print(&mut response) {
        Ok(()) => {}
        // stdout closed early (`fetch ... | head`): not an error.
        Err(Printing::Stdout(e)) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(()),
        Err(Printing::Stdout(e)) => {
            return Err(Error::Io(io::Error::new(e.kind(), format!("stdout: {e}"))));
        }
        Err(Printing::Body(e)) => return Err(e),
    }
    if args.repeat > 1 {
        let secs = start.elapsed().as_secs_f64();
        let opened = client.connections_opened();
        eprintln!(
            "{} requests in {secs:.3} s: {:.0} requests/s, on {opened} connection{}",
            args.repeat,
            args.repeat as f64 / secs,
            if opened == 1 { "" } else { "s" }
        );
    }
    Ok(())
}

/// Runs the fetch command line `argv` (without the program name) as
/// program `name`: `extra` takes the program's own options, `make_client`
/// makes the client for ADDRESS. Returns the exit code.
pub fn main_with(
    name: &str,
    usage: &str,
    argv: &[String],
    extra: &mut ExtraOption<'_>,
    make_client: &mut MakeClient<'_>,
) -> ExitCode {
    let args = match parse_args(argv, extra) {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{usage}");
            return ExitCode::SUCCESS;
        }
        Err(msg) => {
            eprintln!("{name}: {msg}\n(try {name} --help)");
            return ExitCode::from(2);
        }
    };
    let client = match make_client(args.address.clone()) {
        Ok(c) => c,
        Err(msg) => {
            eprintln!("{name}: {msg}");
            return ExitCode::from(2);
        }
    };
    match run(&args, &client) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{name}: {e}");
            ExitCode::FAILURE
        }
    }
}
