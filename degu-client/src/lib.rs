//! Degu client (in progress).
