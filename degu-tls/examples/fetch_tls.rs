//! fetch over TLS (in progress: needs the fetch client's shared code).

fn main() {
    eprintln!("fetch_tls: not available yet");
    std::process::exit(1);
}
