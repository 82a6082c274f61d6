//! Building rustls configurations from the original's `sslconfig`.
//!
//! The choices are fixed, modern and forward-secret only:
//! - TLS 1.3 only (no TLS 1.2, no renegotiation, no compression: TLS 1.3
//!   has neither).
//! - Cipher suites: `TLS13_AES_256_GCM_SHA384`,
//!   `TLS13_CHACHA20_POLY1305_SHA256`, `TLS13_AES_128_GCM_SHA256` (AEAD).
//! - Key exchange: X25519, then ECDHE over secp256r1 and secp384r1.
//! - The crypto provider is rustls's `aws-lc-rs` provider (feature
//!   `aws-lc-rs`, on by default) or its `ring` provider (feature `ring`);
//!   with both features on, `aws-lc-rs` is used. [`provider_name`] says
//!   which.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::RootCertStore;
use rustls::crypto::CryptoProvider;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// What can go wrong building a TLS configuration or connection.
#[non_exhaustive]
#[derive(Debug)]
pub enum TlsError {
    /// A file could not be read.
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// A file holds no usable PEM item of the expected kind.
    Pem {
        /// The file.
        path: PathBuf,
        /// What was expected (`"certificate"`, `"private key"`).
        what: &'static str,
        /// Why it is unusable.
        detail: String,
    },
    /// A server needs both a certificate and its key.
    MissingKey,
    /// A server config with neither a client CA nor the explicit
    /// `allow_unauthenticated_clients`.
    NoClientCa,
    /// A client config with `check_hostname = false` and no CA to pin.
    UncheckedWithoutCa,
    /// A client certificate without its key, or a key without a certificate.
    IncompleteClientCert,
    /// No server name to check for: an AF_UNIX address needs `ssl_host`.
    NoServerName(String),
    /// A client to trust the operating system's CAs found none (why).
    NoSystemRoots(String),
    /// rustls refused the configuration (for example a key that does not
    /// match its certificate).
    Rustls(rustls::Error),
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsError::Read { path, source } => {
                write!(f, "cannot read {}: {source}", path.display())
            }
            TlsError::Pem { path, what, detail } => {
                write!(f, "no usable {what} in {}: {detail}", path.display())
            }
            TlsError::MissingKey => f.write_str("a server needs cert_file and key_file"),
            TlsError::NoClientCa => f.write_str(
                "no client CA (ca_file or ca_path): set allow_unauthenticated_clients to accept anonymous clients",
            ),
            TlsError::UncheckedWithoutCa => {
                f.write_str("check_hostname = false needs a ca_file or ca_path to verify against")
            }
            TlsError::IncompleteClientCert => {
                f.write_str("a client certificate needs both cert_file and key_file")
            }
            TlsError::NoServerName(s) => write!(f, "no TLS server name: {s}"),
            TlsError::NoSystemRoots(why) => write!(
                f,
                "no CA certificates in the system trust store ({why}): give a ca_file or ca_path, or set SSL_CERT_FILE"
            ),
            TlsError::Rustls(e) => write!(f, "tls: {e}"),
        }
    }
}

impl std::error::Error for TlsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TlsError::Read { source, .. } => Some(source),
            TlsError::Rustls(e) => Some(e),
            _ => None,
        }
    }
}

impl From<rustls::Error> for TlsError {
    fn from(e: rustls::Error) -> Self {
        TlsError::Rustls(e)
    }
}

impl From<TlsError> for degu_core::Error {
    fn from(e: TlsError) -> Self {
        degu_core::Error::Io(io::Error::new(io::ErrorKind::InvalidInput, e))
    }
}

#[cfg(not(any(feature = "ring", feature = "aws-lc-rs")))]
compile_error!(
    "degu-tls needs a crypto provider: enable its `ring` feature or its `aws-lc-rs` feature"
);

// The provider's module: aws-lc-rs wins when both features are on (a
// dependency may turn `ring` on by default while another asks for aws-lc-rs).
#[cfg(feature = "aws-lc-rs")]
use rustls::crypto::aws_lc_rs as backend;
#[cfg(all(feature = "ring", not(feature = "aws-lc-rs")))]
use rustls::crypto::ring as backend;

/// The name of rustls's crypto provider that [`provider`] is built from:
/// `"aws-lc-rs"` when the `aws-lc-rs` feature is on (even if `ring` is
/// too), else `"ring"`.
pub fn provider_name() -> &'static str {
    if cfg!(feature = "aws-lc-rs") {
        "aws-lc-rs"
    } else {
        "ring"
    }
}

/// The crypto provider with Degu's choice of suites and key exchanges,
/// built from rustls's `aws-lc-rs` or `ring` provider (see
/// [`provider_name`]): the same suites and key exchanges, in the same
/// order, whichever it is.
#[cfg(any(feature = "ring", feature = "aws-lc-rs"))]
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(CryptoProvider {
        cipher_suites: vec![
            backend::cipher_suite::TLS13_AES_256_GCM_SHA384,
            backend::cipher_suite::TLS13_CHACHA20_POLY1305_SHA256,
            backend::cipher_suite::TLS13_AES_128_GCM_SHA256,
        ],
        kx_groups: vec![
            backend::kx_group::X25519,
            backend::kx_group::SECP256R1,
            backend::kx_group::SECP384R1,
        ],
        ..backend::default_provider()
    })
}

/// Never built: without a provider feature the `compile_error!` above
/// stops the build, and this stand-in keeps that the only error.
#[cfg(not(any(feature = "ring", feature = "aws-lc-rs")))]
pub fn provider() -> Arc<CryptoProvider> {
    unreachable!("degu-tls was built without a crypto provider feature")
}

/// The protocol versions Degu speaks: TLS 1.3 only.
pub static VERSIONS: &[&rustls::SupportedProtocolVersion] = &[&rustls::version::TLS13];

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.to_owned(),
        source,
    })
}

/// Every certificate in a PEM file (an error if there is none).
pub fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bytes = read(path)?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Pem {
            path: path.to_owned(),
            what: "certificate",
            detail: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(TlsError::Pem {
            path: path.to_owned(),
            what: "certificate",
            detail: "no CERTIFICATE section".into(),
        });
    }
    Ok(certs)
}

/// The private key in a PEM file (PKCS#1, PKCS#8 or SEC1).
pub fn load_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let bytes = read(path)?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| TlsError::Pem {
        path: path.to_owned(),
        what: "private key",
        detail: e.to_string(),
    })
}

/// Trust anchors from a PEM file and/or every `*.pem`/`*.crt` file of a
/// directory.
pub fn load_roots(
    ca_file: Option<&Path>,
    ca_path: Option<&Path>,
) -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    let mut files: Vec<PathBuf> = ca_file.into_iter().map(Path::to_owned).collect();
    if let Some(dir) = ca_path {
        let entries = std::fs::read_dir(dir).map_err(|source| TlsError::Read {
            path: dir.to_owned(),
            source,
        })?;
        let mut found: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.extension()
                    .is_some_and(|x| x == "pem" || x == "crt" || x == "0")
            })
            .collect();
        found.sort();
        if found.is_empty() {
            return Err(TlsError::Pem {
                path: dir.to_owned(),
                what: "certificate",
                detail: "no *.pem or *.crt file in the directory".into(),
            });
        }
        files.extend(found);
    }
    for f in files {
        for cert in load_certs(&f)? {
            roots.add(cert).map_err(|e| TlsError::Pem {
                path: f.clone(),
                what: "CA certificate",
                detail: e.to_string(),
            })?;
        }
    }
    Ok(roots)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::{CipherSuite, NamedGroup};

    #[test]
    fn provider_is_the_same_whichever_backend() {
        let p = provider();
        let suites: Vec<CipherSuite> = p.cipher_suites.iter().map(|s| s.suite()).collect();
        assert_eq!(
            suites,
            [
                CipherSuite::TLS13_AES_256_GCM_SHA384,
                CipherSuite::TLS13_CHACHA20_POLY1305_SHA256,
                CipherSuite::TLS13_AES_128_GCM_SHA256,
            ]
        );
        let groups: Vec<NamedGroup> = p.kx_groups.iter().map(|g| g.name()).collect();
        assert_eq!(
            groups,
            [
                NamedGroup::X25519,
                NamedGroup::secp256r1,
                NamedGroup::secp384r1
            ]
        );
    }

    #[test]
    fn provider_name_follows_the_features() {
        let expected = if cfg!(feature = "aws-lc-rs") {
            "aws-lc-rs"
        } else {
            "ring"
        };
        assert_eq!(provider_name(), expected);
    }
}
