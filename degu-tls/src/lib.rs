//! Degu over TLS: not implemented yet; this crate currently exports nothing.
