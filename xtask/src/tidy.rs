//! Repository checks, run by `cargo test -p xtask`.

use std::path::{Path, PathBuf};

use crate::root;

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The workspace members named in the root manifest.
fn members() -> Vec<PathBuf> {
    let manifest = read(&root().join("Cargo.toml"));
    let line = manifest
        .lines()
        .find(|l| l.trim_start().starts_with("members"))
        .expect("members = [...] in the root Cargo.toml");
    let list = &line[line.find('[').unwrap() + 1..line.rfind(']').unwrap()];
    list.split(',')
        .map(|m| m.trim().trim_matches('"'))
        .filter(|m| !m.is_empty())
        .map(|m| root().join(m))
        .collect()
}

#[test]
fn every_crate_uses_the_workspace_lints() {
    let members = members();
    assert!(members.len() >= 6, "{members:?}");
    for m in members {
        let manifest = read(&m.join("Cargo.toml"));
        assert!(
            manifest.contains("[lints]\nworkspace = true"),
            "{} lacks [lints] workspace = true",
            m.display()
        );
    }
}

#[test]
fn the_fuzz_crate_is_its_own_workspace() {
    let manifest = read(&root().join("fuzz").join("Cargo.toml"));
    assert!(manifest.contains("\n[workspace]\n"));
    assert!(!members().iter().any(|m| m.ends_with("fuzz")));
}

#[test]
fn every_fuzz_target_has_a_source_and_a_seed_corpus() {
    for target in crate::fuzz::targets().unwrap() {
        let src = root()
            .join("fuzz/fuzz_targets")
            .join(format!("{target}.rs"));
        assert!(src.is_file(), "{}", src.display());
        let corpus = root().join("fuzz/corpus").join(&target);
        let seeds = std::fs::read_dir(&corpus)
            .unwrap_or_else(|e| panic!("{}: {e}", corpus.display()))
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().starts_with("seed-"))
            .count();
        assert!(
            seeds >= 3,
            "{target}: {seeds} seeds in {}",
            corpus.display()
        );
    }
}

#[test]
fn no_unsafe_code_is_allowed_anywhere() {
    let manifest = read(&root().join("Cargo.toml"));
    assert!(manifest.contains("unsafe_code = \"forbid\""));
    // Spelled in two pieces so this file does not match itself.
    let needle = concat!("allow(", "unsafe_code)");
    for m in members() {
        for file in rust_files(&m) {
            let text = read(&file);
            assert!(
                !text.contains(needle),
                "{} allows unsafe code",
                file.display()
            );
        }
    }
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.filter_map(Result::ok) {
        let p = e.path();
        if p.is_dir() && p.file_name().is_some_and(|n| n != "target") {
            out.extend(rust_files(&p));
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
    out
}
