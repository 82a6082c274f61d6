//! degu-core's integration tests: one binary, one module per subject.
//!
//! The allowed byte sets are written out by hand in [`util`] from the
//! parser's rules, independently of the byte tables in
//! `degu-core/src/tables.rs`, and every test asserts the exact outcome
//! (accepted and what was parsed, or the exact error message).

#![allow(
    unreachable_pub,
    reason = "a test or bench binary: `pub` marks what its modules share"
)]

mod address;
mod bodies;
mod bytes;
mod errors;
mod limits;
mod preamble;
mod prop;
mod range;
mod roundtrip;
mod uri;
mod util;
