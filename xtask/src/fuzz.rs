//! `cargo xtask fuzz [--secs N] [TARGET]`: runs the cargo-fuzz targets of
//! `fuzz/` one after the other and reports libFuzzer's execs/s for each.
//!
//! The toolchain is stable, and cargo-fuzz passes `-Z` flags to rustc, so
//! every run sets `RUSTC_BOOTSTRAP=1`. cargo-fuzz is installed with
//! `cargo install cargo-fuzz` when it is missing.

use std::process::{Command, Stdio};

use crate::{Error, cargo, exec, root};

/// The fuzz targets: the `[[bin]]` names of `fuzz/Cargo.toml`.
pub fn targets() -> Result<Vec<String>, Error> {
    let path = root().join("fuzz").join("Cargo.toml");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Ok(bin_names(&text))
}

/// The `name`s of the `[[bin]]` tables of a manifest.
pub fn bin_names(manifest: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut in_bin = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_bin = line == "[[bin]]";
        } else if in_bin
            && let Some(v) = line.strip_prefix("name").map(str::trim_start)
            && let Some(v) = v.strip_prefix('=')
        {
            names.push(v.trim().trim_matches('"').to_owned());
        }
    }
    names
}

/// The last `exec/s: N` libFuzzer printed, and its run count.
pub fn execs_per_sec(output: &str) -> Option<(u64, u64)> {
    let line = output.lines().rev().find(|l| l.contains("exec/s: "))?;
    let field = |key: &str| -> Option<u64> {
        let rest = &line[line.find(key)? + key.len()..];
        let end = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        rest[..end].parse().ok()
    };
    let runs = line.strip_prefix('#').and_then(|r| {
        let end = r.find(|c: char| !c.is_ascii_digit()).unwrap_or(r.len());
        r[..end].parse().ok()
    })?;
    Some((field("exec/s: ")?, runs))
}

fn cargo_fuzz_installed() -> bool {
    cargo(&["fuzz", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// `cargo xtask fuzz`.
pub fn run(args: &[String]) -> Result<(), Error> {
    let mut secs = 30u64;
    let mut only = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--secs" => {
                let v = it.next().ok_or("fuzz: --secs needs a number")?;
                secs = v
                    .parse()
                    .map_err(|_| format!("fuzz: bad number of seconds {v:?}"))?;
            }
            t if !t.starts_with('-') && only.is_none() => only = Some(t.to_owned()),
            other => return Err(format!("fuzz: unexpected argument {other:?}")),
        }
    }
    let all = targets()?;
    let chosen: Vec<String> = match only {
        Some(t) if all.contains(&t) => vec![t],
        Some(t) => {
            return Err(format!(
                "fuzz: no target {t:?}; targets: {}",
                all.join(", ")
            ));
        }
        None => all,
    };
    if !cargo_fuzz_installed() {
        eprintln!("xtask fuzz: cargo-fuzz is missing, installing it");
        exec(&mut cargo(&["install", "cargo-fuzz"]))?;
    }
    let mut results = Vec::new();
    for target in &chosen {
        let max_time = format!("-max_total_time={secs}");
        let mut cmd = Command::new(crate::cargo_bin());
        cmd.args(["fuzz", "run", target, "--", &max_time])
            .current_dir(root().join("fuzz"))
            .env("RUSTC_BOOTSTRAP", "1")
            .stdout(Stdio::inherit())
            .stderr(Stdio::piped());
        eprintln!("$ {} (in fuzz/)", crate::show(&cmd));
        let out = cmd
            .output()
            .map_err(|e| format!("cannot run cargo fuzz: {e}"))?;
        let log = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() {
            eprintln!("{log}");
            return Err(format!("fuzz target {target} failed ({})", out.status));
        }
        let summary = execs_per_sec(&log);
        results.push((target.clone(), summary));
    }
    println!("\nfuzz: {secs} s per target");
    println!("{:<16} {:>12} {:>14}", "target", "execs/s", "runs");
    for (target, summary) in results {
        match summary {
            Some((eps, runs)) => println!("{target:<16} {eps:>12} {runs:>14}"),
            None => println!("{target:<16} {:>12} {:>14}", "?", "?"),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_libfuzzer_status_lines() {
        let log = "INFO: Seed: 1\n\
#2\tINITED cov: 10 ft: 11 corp: 1/1b exec/s: 0 rss: 30Mb\n\
#65536\tpulse  cov: 300 ft: 900 corp: 80/2Kb lim: 40 exec/s: 32768 rss: 40Mb\n\
#7013612\tDONE   cov: 412 ft: 1502 corp: 190/7Kb lim: 4096 exec/s: 350654 rss: 45Mb\n\
Done 7013612 runs in 20 second(s)\n";
        assert_eq!(execs_per_sec(log), Some((350_654, 7_013_612)));
        assert_eq!(execs_per_sec("nothing here"), None);
    }

    #[test]
    fn reads_bin_names() {
        let manifest = "[package]\nname = \"degu-fuzz\"\n\n[[bin]]\nname = \"a\"\npath = \"x\"\n\n[[bin]]\nname=\"b\"\n[dependencies]\nname = \"no\"\n";
        assert_eq!(bin_names(manifest), ["a", "b"]);
    }

    #[test]
    fn the_fuzz_targets_are_the_expected_ones() {
        let t = targets().unwrap();
        for expected in [
            "parse_request",
            "parse_response",
            "chunk_line",
            "range",
            "address",
            "chunked_body",
            "connection",
        ] {
            assert!(t.iter().any(|n| n == expected), "{expected} in {t:?}");
        }
    }
}
