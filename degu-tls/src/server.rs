//! The TLS server: a [`degu_server::Server`] whose connections run over
//! rustls.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use degu_core::{Address, Result, Transport};
use degu_server::{App, PlainStream, Server, ServerOptions, Wrapper};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig, ServerConnection};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::config::{TlsError, VERSIONS, load_certs, load_key, load_roots, provider};
use crate::stream::TlsStream;

/// The server `sslconfig` of the original: a certificate and key, and
/// either a client CA (client certificates required) or the explicit
/// `allow_unauthenticated_clients`.
///
/// ```no_run
/// use degu_tls::SslServerConfig;
/// let config = SslServerConfig::new("server.pem", "server.key")
///     .with_ca_file("clients-ca.pem")
///     .build()?;
/// # Ok::<(), degu_tls::TlsError>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct SslServerConfig {
    /// The server's certificate chain (PEM, leaf first).
    cert_file: PathBuf,
    /// The server's private key (PEM).
    key_file: PathBuf,
    /// A PEM file of CAs whose client certificates are accepted.
    ca_file: Option<PathBuf>,
    /// A directory of such PEM files.
    ca_path: Option<PathBuf>,
    /// Accept clients without a certificate. Off by default; turning it on
    /// logs a warning when the config is built. Refused together with a
    /// client CA (which would be silently unused otherwise).
    allow_unauthenticated_clients: bool,
}

impl SslServerConfig {
    /// A configuration with the server's certificate chain and key (PEM
    /// files); add a client CA or allow unauthenticated clients.
    pub fn new(cert_file: impl Into<PathBuf>, key_file: impl Into<PathBuf>) -> Self {
        SslServerConfig {
            cert_file: cert_file.into(),
            key_file: key_file.into(),
            ..Default::default()
        }
    }

    /// Sets the server's certificate chain (PEM, leaf first).
    pub fn with_cert_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.cert_file = path.into();
        self
    }

    /// The `cert_file` setting.
    pub fn cert_file(&self) -> &Path {
        &self.cert_file
    }

    /// Sets the server's private key (PEM).
    pub fn with_key_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.key_file = path.into();
        self
    }

    /// The `key_file` setting.
    pub fn key_file(&self) -> &Path {
        &self.key_file
    }

    /// Accepts client certificates issued by the CAs of this PEM file.
    pub fn with_ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca_file = Some(path.into());
        self
    }

    /// The `ca_file` setting.
    pub fn ca_file(&self) -> Option<&Path> {
        self.ca_file.as_deref()
    }

    /// Accepts client certificates issued by the CAs of the PEM files in this directory.
    pub fn with_ca_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca_path = Some(path.into());
        self
    }

    /// The `ca_path` setting.
    pub fn ca_path(&self) -> Option<&Path> {
        self.ca_path.as_deref()
    }

    /// Accepts clients without a certificate (off by default; turning it on logs a warning when the config is
    /// built; refused together with a client CA).
    pub fn with_allow_unauthenticated_clients(mut self, on: bool) -> Self {
        self.allow_unauthenticated_clients = on;
        self
    }

    /// The `allow_unauthenticated_clients` setting.
    pub fn allow_unauthenticated_clients(&self) -> bool {
        self.allow_unauthenticated_clients
    }

    /// Builds the rustls configuration; every misconfiguration is an error
    /// here, not at the first connection.
    pub fn build(&self) -> std::result::Result<Arc<ServerConfig>, TlsError> {
        if self.cert_file.as_os_str().is_empty() || self.key_file.as_os_str().is_empty() {
            return Err(TlsError::MissingKey);
        }
        let certs = load_certs(&self.cert_file)?;
        let key = load_key(&self.key_file)?;
        let roots = match (
            &self.ca_file,
            &self.ca_path,
            self.allow_unauthenticated_clients,
        ) {
            (None, None, false) => return Err(TlsError::NoClientCa),
            (None, None, true) => None,
            (_, _, true) => {
                return Err(TlsError::Rustls(rustls::Error::General(
                    "allow_unauthenticated_clients with a client CA: choose one".into(),
                )));
            }
            (f, p, false) => Some(load_roots(f.as_deref(), p.as_deref())?),
        };
        server_config(certs, key, roots)
    }
}

/// A server configuration from in-memory parts: `client_roots` `None`
/// accepts anonymous clients (logged as a warning), `Some` requires a
/// client certificate chaining to one of them.
pub fn server_config(
    certs: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    client_roots: Option<RootCertStore>,
) -> std::result::Result<Arc<ServerConfig>, TlsError> {
    let provider = provider();
    let builder =
        ServerConfig::builder_with_provider(provider.clone()).with_protocol_versions(VERSIONS)?;
    let builder = match client_roots {
        Some(roots) => {
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| TlsError::Rustls(rustls::Error::General(e.to_string())))?;
            builder.with_client_cert_verifier(verifier)
        }
        None => {
            log::warn!("TLS server accepts clients without a certificate");
            builder.with_no_client_auth()
        }
    };
    let config = builder.with_single_cert(certs, key)?;
    Ok(Arc::new(config))
}

/// Runs the TLS handshake on each accepted connection.
struct TlsWrapper {
    config: Arc<ServerConfig>,
}

impl Wrapper for TlsWrapper {
    fn wrap(&self, stream: PlainStream, _peer: &Address) -> Result<Box<dyn Transport>> {
        let conn = ServerConnection::new(Arc::clone(&self.config))
            .map_err(|e| degu_core::Error::from(TlsError::Rustls(e)))?;
        Ok(Box::new(TlsStream::handshake(conn, stream)?))
    }

    /// A server drives the handshake on its event thread.
    fn defers_handshake(&self) -> bool {
        true
    }

    fn wrap_deferred(&self, stream: PlainStream, _peer: &Address) -> Result<Box<dyn Transport>> {
        let conn = ServerConnection::new(Arc::clone(&self.config))
            .map_err(|e| degu_core::Error::from(TlsError::Rustls(e)))?;
        Ok(Box::new(TlsStream::deferred(conn, stream)))
    }
}

/// The original's `SSLServer(sslconfig, address, app)`: a
/// [`degu_server::Server`] (same app trait, options, handle) over TLS.
pub struct SslServer;

impl SslServer {
    /// Binds `address` and returns a server whose connections run over
    /// TLS with `config`. The app's
    /// [`on_connect`](degu_server::App::on_connect) sees the client's
    /// certificate chain in [`ConnectionInfo::peer_certificates`](degu_server::ConnectionInfo::peer_certificates).
    #[allow(
        clippy::new_ret_no_self,
        reason = "SslServer is the original's name for a TLS server"
    )]
    pub fn bind(
        config: Arc<ServerConfig>,
        address: &Address,
        app: impl App,
        options: ServerOptions,
    ) -> Result<Server> {
        Ok(Server::bind(address, app, options)?.with_wrapper(Arc::new(TlsWrapper { config })))
    }
}
