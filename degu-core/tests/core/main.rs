//! degu-core's integration tests: one binary, one module per subject.
//!
//! The allowed byte sets are written out by hand in [`util`] from the
//! parser's rules, independently of the byte tables in
//! `degu-core/src/tables.rs`, and every test asserts the exact outcome
//! (accepted and what was parsed, or the exact error message).

mod address;
mod bodies;
mod bytes;
mod errors;
mod limits;
mod preamble;
mod prop;
mod range;
mod roundtrip;
mod shared;
mod uri;
mod util;
