//! Degu server (in progress).
