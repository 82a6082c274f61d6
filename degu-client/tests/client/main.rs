//! degu-client's integration tests: one binary, a helper module, and one
//! module per kind of peer.

mod canned;
mod degu;
mod fetch;
mod nginx;
mod python;
mod tolerance;
mod util;
