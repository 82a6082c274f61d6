//! The TLS client: a [`degu_client::Client`] whose connections run over
//! rustls.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use degu_client::{Client, PlainStream, Wrapper};
use degu_core::{Address, Result, Transport};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::{
    CertificateError, ClientConfig, ClientConnection, DigitallySignedStruct, RootCertStore,
};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};

use crate::config::{TlsError, VERSIONS, load_certs, load_key, load_roots, provider};
use crate::stream::TlsStream;

/// The client `sslconfig` of the original.
///
/// ```no_run
/// use degu_tls::SslClientConfig;
/// let config = SslClientConfig::default()
///     .with_ca_file("ca.pem")
///     .with_cert_file("client.pem")
///     .with_key_file("client.key")
///     .build()?;
/// # Ok::<(), degu_tls::TlsError>(())
/// ```
#[derive(Clone, Debug)]
pub struct SslClientConfig {
    /// A PEM file of CAs to trust; with `ca_path` unset too, the
    /// operating system's trust store is used (or the bundled roots, when
    /// chosen).
    ca_file: Option<PathBuf>,
    /// A directory of CA PEM files to trust.
    ca_path: Option<PathBuf>,
    /// Check that the server's certificate names the host (default true).
    /// False is the peer-to-peer case: the chain is still verified against
    /// the given CA (and refused without one), the name is not.
    check_hostname: bool,
    /// The client certificate chain (PEM), to authenticate to the server.
    cert_file: Option<PathBuf>,
    /// The client certificate's key (PEM).
    key_file: Option<PathBuf>,
    /// Trust the bundled Mozilla roots rather than the system store.
    bundled_roots: bool,
}

impl Default for SslClientConfig {
    fn default() -> Self {
        SslClientConfig {
            ca_file: None,
            ca_path: None,
            check_hostname: true,
            cert_file: None,
            key_file: None,
            bundled_roots: false,
        }
    }
}

impl SslClientConfig {
    /// Trusts the CAs of this PEM file only (not the system's).
    pub fn with_ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca_file = Some(path.into());
        self
    }

    /// The `ca_file` setting.
    pub fn ca_file(&self) -> Option<&Path> {
        self.ca_file.as_deref()
    }

    /// Trusts the CAs of the PEM files in this directory only (not the
    /// system's).
    pub fn with_ca_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca_path = Some(path.into());
        self
    }

    /// The `ca_path` setting.
    pub fn ca_path(&self) -> Option<&Path> {
        self.ca_path.as_deref()
    }

    /// Checks that the server's certificate names the host (default true).
    pub fn with_check_hostname(mut self, on: bool) -> Self {
        self.check_hostname = on;
        self
    }

    /// The `check_hostname` setting.
    pub fn check_hostname(&self) -> bool {
        self.check_hostname
    }

    /// Sets the client certificate chain (PEM), to authenticate to the server.
    pub fn with_cert_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.cert_file = Some(path.into());
        self
    }

    /// The `cert_file` setting.
    pub fn cert_file(&self) -> Option<&Path> {
        self.cert_file.as_deref()
    }

    /// Sets the client certificate's key (PEM).
    pub fn with_key_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.key_file = Some(path.into());
        self
    }

    /// The `key_file` setting.
    pub fn key_file(&self) -> Option<&Path> {
        self.key_file.as_deref()
    }

    /// Trusts the Mozilla roots bundled in the program (webpki-roots)
    /// rather than the operating system's store, when no CA is pinned: for
    /// a system without a CA bundle (a minimal container), at the cost of
    /// roots that age with the build and of CAs the system added (a
    /// company's own) being ignored.
    #[cfg(feature = "webpki-roots")]
    pub fn with_bundled_roots(mut self, on: bool) -> Self {
        self.bundled_roots = on;
        self
    }

    /// Builds the rustls configuration; misconfigurations are errors here.
    ///
    /// The CAs trusted: those of `ca_file` and `ca_path` when either is
    /// set (a pinned CA, nothing else); otherwise the operating system's
    /// trust store, as curl and browsers use it (on Linux the bundle
    /// OpenSSL uses, or the file and directory `SSL_CERT_FILE` and
    /// `SSL_CERT_DIR` name), or the bundled roots when chosen. A system
    /// store with no usable certificate is an error
    /// ([`TlsError::NoSystemRoots`]).
    pub fn build(&self) -> std::result::Result<Arc<ClientConfig>, TlsError> {
        let pinned = self.ca_file.is_some() || self.ca_path.is_some();
        if !self.check_hostname && !pinned {
            return Err(TlsError::UncheckedWithoutCa);
        }
        let roots = if pinned {
            load_roots(self.ca_file.as_deref(), self.ca_path.as_deref())?
        } else if self.bundled_roots {
            bundled_roots()
        } else {
            system_roots()?
        };
        let identity = match (&self.cert_file, &self.key_file) {
            (Some(c), Some(k)) => Some((load_certs(c)?, load_key(k)?)),
            (None, None) => None,
            _ => return Err(TlsError::IncompleteClientCert),
        };
        client_config(roots, self.check_hostname, identity)
    }
}

/// The operating system's trusted CAs (rustls-native-certs), the
/// unparsable ones skipped; an error when none is usable.
fn system_roots() -> std::result::Result<RootCertStore, TlsError> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    let (added, _) = roots.add_parsable_certificates(found.certs);
    if added == 0 {
        let why = match found.errors.first() {
            Some(e) => e.to_string(),
            None => "none found".to_owned(),
        };
        return Err(TlsError::NoSystemRoots(why));
    }
    Ok(roots)
}

/// The bundled Mozilla roots.
#[cfg(feature = "webpki-roots")]
fn bundled_roots() -> RootCertStore {
    RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    }
}

/// Without the `webpki-roots` feature nothing can choose them.
#[cfg(not(feature = "webpki-roots"))]
fn bundled_roots() -> RootCertStore {
    RootCertStore::empty()
}

/// A client configuration from in-memory parts.
pub fn client_config(
    roots: RootCertStore,
    check_hostname: bool,
    identity: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
) -> std::result::Result<Arc<ClientConfig>, TlsError> {
    let provider = provider();
    let builder =
        ClientConfig::builder_with_provider(provider.clone()).with_protocol_versions(VERSIONS)?;
    let builder = if check_hostname {
        builder.with_root_certificates(roots)
    } else {
        let inner = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
            .build()
            .map_err(|e| TlsError::Rustls(rustls::Error::General(e.to_string())))?;
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(ChainOnly(inner)))
    };
    let config = match identity {
        Some((certs, key)) => builder.with_client_auth_cert(certs, key)?,
        None => builder.with_no_client_auth(),
    };
    Ok(Arc::new(config))
}

/// Verifies the chain against the pinned roots, and only a wrong name is
/// forgiven (`check_hostname = false`).
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// Wraps each new client connection in TLS.
struct TlsWrapper {
    config: Arc<ClientConfig>,
    ssl_host: Option<String>,
}

impl Wrapper for TlsWrapper {
    fn wrap(&self, stream: PlainStream, address: &Address) -> Result<Box<dyn Transport>> {
        let name = match self.ssl_host.clone().or_else(|| address.host()) {
            Some(n) => n,
            None => {
                return Err(TlsError::NoServerName(format!(
                    "{address} has no host name; set ssl_host"
                ))
                .into());
            }
        };
        let server_name = ServerName::try_from(name.clone()).map_err(|_| {
            degu_core::Error::from(TlsError::NoServerName(format!("bad ssl_host {name:?}")))
        })?;
        let conn = ClientConnection::new(Arc::clone(&self.config), server_name)
            .map_err(|e| degu_core::Error::from(TlsError::Rustls(e)))?;
        Ok(Box::new(TlsStream::handshake(conn, stream)?))
    }
}

/// The original's `SSLClient(sslconfig, address)`: a
/// [`degu_client::Client`] (same options, same `Connection`) over TLS.
pub struct SslClient;

impl SslClient {
    /// A client for `address` over TLS; the server name for SNI and the
    /// name check is the address's host.
    #[allow(
        clippy::new_ret_no_self,
        reason = "SslClient is the original's name for a TLS client"
    )]
    pub fn new(config: Arc<ClientConfig>, address: Address) -> Client {
        SslClient::with_ssl_host(config, address, None)
    }

    /// As [`new`](Self::new), with `ssl_host` as the server name (needed
    /// for AF_UNIX addresses, or to reach a host by IP under its name).
    pub fn with_ssl_host(
        config: Arc<ClientConfig>,
        address: Address,
        ssl_host: Option<String>,
    ) -> Client {
        Client::with_wrapper(address, Arc::new(TlsWrapper { config, ssl_host }))
    }
}
