//! Benchmarks for Degu; see `benches/` and `cargo xtask bench`.
