//! degu-core's integration tests: one binary, one module per subject.
//!
//! The allowed byte sets are written out in [`util`] from the table of
//! DESIGN.md §2, independently of `degu_core::tables`, and every test
//! asserts the exact outcome (accepted and what was parsed, or the exact
//! error message).

mod address;
mod bodies;
mod bytes;
mod errors;
mod limits;
mod prop;
mod range;
mod roundtrip;
mod shared;
mod util;
