//! Project automation, run as `cargo xtask <command>` (an alias in
//! `.cargo/config.toml`):
//!
//! - `ci`: `cargo fmt --all --check`, `cargo clippy --workspace
//!   --all-targets -- -D warnings`, `cargo test --workspace`.
//! - `bench [--quick] [--ring] [SECTION...]`: runs the benches (parse,
//!   and Degu side by side with hyper, tiny_http, ureq, astra and the
//!   raw-socket floor; `tls`: mutual TLS beside hyper over tokio-rustls and
//!   raw rustls, with rustls's aws-lc-rs provider or `--ring`) and prints their
//!   tables (also written as JSON and SVG under
//!   `target/degu-bench/`).
//! - `fuzz [--secs N] [TARGET]`: runs every cargo-fuzz target (or one) for
//!   N seconds (default 30), installing cargo-fuzz first when missing, and
//!   prints each target's execs/s.

#![allow(
    unreachable_pub,
    reason = "a binary: `pub` marks what its modules share with each other"
)]

use std::env;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

mod bench;
mod fuzz;
mod soak;
#[cfg(test)]
mod tidy;

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  ci                        fmt check, clippy -D warnings, tests
  bench [--quick] [--ring] [SECTION...]
                            run the benches (roundtrip, concurrency,
                            slowloris, idle, bulk, files, tls, parse),
                            print the tables
  fuzz [--secs N] [TARGET]  run the fuzz targets for N seconds each (default 30)
  soak [--secs N]           demo server under a random mix of clients for N s (default 30)
";

/// An error to print before exiting with a failure.
type Error = String;

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => no_more(&args[1..]).and_then(|()| ci()),
        Some("bench") => bench::run(&args[1..]),
        Some("fuzz") => fuzz::run(&args[1..]),
        Some("soak") => soak::run(&args[1..]),
        Some("help" | "-h" | "--help") => {
            print!("{USAGE}");
            Ok(())
        }
        _ => Err(USAGE.trim_end().to_owned()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

fn no_more(args: &[String]) -> Result<(), Error> {
    match args.first() {
        None => Ok(()),
        Some(a) => Err(format!("unexpected argument {a:?}")),
    }
}

/// The workspace root (the parent of this crate's directory).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace root")
        .to_path_buf()
}

/// The cargo that runs us (`$CARGO`), or `cargo` from `PATH`.
fn cargo_bin() -> OsString {
    env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

/// A cargo command run from the workspace root.
fn cargo(args: &[&str]) -> Command {
    let mut cmd = Command::new(cargo_bin());
    cmd.args(args).current_dir(root());
    cmd
}

/// The build's target directory: `$CARGO_TARGET_DIR` or `<root>/target`.
fn target_dir() -> PathBuf {
    match env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() {
                dir
            } else {
                env::current_dir().unwrap_or_else(|_| root()).join(dir)
            }
        }
        None => root().join("target"),
    }
}

/// Runs `cmd`, echoing it first; an error when it fails.
fn exec(cmd: &mut Command) -> Result<(), Error> {
    eprintln!("$ {}", show(cmd));
    let status = cmd
        .status()
        .map_err(|e| format!("cannot run {}: {e}", show(cmd)))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{} failed ({status})", show(cmd)))
    }
}

fn show(cmd: &Command) -> String {
    let mut s = Path::new(cmd.get_program())
        .file_name()
        .unwrap_or(cmd.get_program())
        .to_string_lossy()
        .into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

/// `cargo xtask ci`: formatting, lints, tests; stops at the first failure.
fn ci() -> Result<(), Error> {
    exec(&mut cargo(&["fmt", "--all", "--check"]))?;
    exec(&mut cargo(&[
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    exec(&mut cargo(&["test", "--workspace"]))?;
    eprintln!("xtask ci: all passed");
    Ok(())
}
