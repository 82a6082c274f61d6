//! # degu-tls
//!
//! Degu over TLS, safe and opinionated, with rustls:
//! [`SslServer`] and [`SslClient`] give the plain server's and client's
//! API (same app trait, same `Connection`) over TLS 1.3, with client
//! certificates required by default.
//!
//! ```
//! # #[cfg(all(feature = "server", feature = "client", feature = "pki"))] {
//! use degu_tls::{SslClient, SslServer, TestPki};
//! use degu_server::{ServerOptions, Session, Request, AppResult, Response, ConnectionInfo};
//!
//! let pki = TestPki::new("example CA");
//! let app = |_: &mut Session, _: &mut Request| -> AppResult { Ok(Response::new(200, "OK").body("secret")) };
//! let server = SslServer::bind(pki.server_config(), &degu_core::IPV4_LOOPBACK, app, ServerOptions::default())
//!     .unwrap()
//!     .spawn()
//!     .unwrap();
//! let client = SslClient::new(pki.client_config(), server.address().clone());
//! let mut conn = client.connect().unwrap();
//! let mut response = conn.get("/", &Default::default()).unwrap();
//! assert_eq!(response.read_all().unwrap(), b"secret");
//! # }
//! ```
//!
//! ## Choices
//!
//! TLS 1.3 only; AEAD suites only (AES-256-GCM, ChaCha20-Poly1305,
//! AES-128-GCM); ECDHE key exchange (X25519, P-256, P-384), so every
//! session is forward-secret; no compression, no renegotiation (TLS 1.3
//! has neither). A server requires client certificates unless told
//! `allow_unauthenticated_clients` (logged as a warning). A client checks
//! the host name unless `check_hostname = false`, which still verifies the
//! chain against a pinned CA and is refused without one.
//!
//! ## Features
//!
//! - `server`: [`SslServer`], [`SslServerConfig`] (depends on degu-server only);
//! - `client`: [`SslClient`], [`SslClientConfig`] (depends on degu-client only);
//! - `pki`: [`TestPki`], a throwaway in-memory PKI for tests and examples;
//! - `webpki-roots`: the bundled Mozilla roots, which a client may choose
//!   over the operating system's trust store (its default when no CA is
//!   pinned).
//!
//! The crypto provider under rustls is one of two features, and
//! [`provider_name`] says which one a build uses:
//!
//! - `aws-lc-rs` (default): rustls's `aws-lc-rs` provider (AWS-LC, whose
//!   `aws-lc-sys` compiles C code: it needs a C compiler); the faster of
//!   the two in `cargo xtask bench tls` (full handshakes about 1.2x,
//!   resumed about 1.3x, bulk 1.03-1.13x ring's);
//! - `ring`: rustls's `ring` provider (less memory per connection: about
//!   15 KiB per idle TLS connection against aws-lc-rs's 20 KiB).
//!
//! Either gives the same suites and key exchanges ([`provider`]). With
//! both on (as with `--all-features`), `aws-lc-rs` is used; with neither,
//! degu-tls does not compile. To use ring, turn the defaults off:
//!
//! ```toml
//! degu-tls = { version = "0.1", default-features = false, features = ["server", "client", "ring"] }
//! ```
//!
//! The `pki` feature's certificate generator (rcgen) always uses ring,
//! whichever provider rustls uses.
//!
//! PEM files are read with rustls-pki-types' `PemObject` (rustls-pemfile
//! is archived and flagged unmaintained, RUSTSEC-2025-0134).

#![cfg_attr(docsrs, feature(doc_cfg))]

/// The README's examples, compiled (and run where they can be) with the
/// doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

mod config;
mod stream;

#[cfg(feature = "client")]
mod client;
#[cfg(feature = "pki")]
mod pki;
#[cfg(feature = "server")]
mod server;

pub use config::{TlsError, VERSIONS, load_certs, load_key, load_roots, provider, provider_name};
pub use stream::{TlsSide, TlsStream};

#[cfg(feature = "client")]
pub use client::{SslClient, SslClientConfig, client_config};
#[cfg(feature = "pki")]
pub use pki::{Identity, TestPki};
#[cfg(feature = "server")]
pub use server::{SslServer, SslServerConfig, server_config};

pub use rustls;
