//! A throwaway PKI made in memory, for tests and examples: a CA, a server
//! certificate for `127.0.0.1`, `::1` and `localhost`, a client certificate.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::RootCertStore;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A certificate and its key.
#[derive(Debug)]
pub struct Identity {
    /// The certificate (DER).
    pub cert: CertificateDer<'static>,
    /// The key (PKCS#8 DER).
    pub key: PrivatePkcs8KeyDer<'static>,
    /// The certificate (PEM).
    pub cert_pem: String,
    /// The key (PEM).
    pub key_pem: String,
}

impl Identity {
    /// The chain (just the certificate) and key as rustls wants them.
    pub fn parts(&self) -> (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
        (
            vec![self.cert.clone()],
            PrivateKeyDer::Pkcs8(self.key.clone_key()),
        )
    }
}

/// A CA and what it issued.
pub struct TestPki {
    issuer: Issuer<'static, KeyPair>,
    /// The CA certificate.
    pub ca: CertificateDer<'static>,
    /// The CA certificate (PEM).
    pub ca_pem: String,
    /// A server certificate for `127.0.0.1`, `::1` and `localhost`.
    pub server: Identity,
    /// A client certificate.
    pub client: Identity,
}

fn fail(e: rcgen::Error) -> ! {
    // Key generation and signing with fixed, valid parameters cannot fail
    // short of a broken crypto library: a test helper may stop here.
    panic!("test PKI: {e}")
}

impl TestPki {
    /// A new CA named `name`, with a server and a client certificate.
    pub fn new(name: &str) -> TestPki {
        let key = KeyPair::generate().unwrap_or_else(|e| fail(e));
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap_or_else(|e| fail(e));
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let cert = params.self_signed(&key).unwrap_or_else(|e| fail(e));
        let issuer = Issuer::new(params, key);
        let mut pki = TestPki {
            issuer,
            ca: cert.der().clone(),
            ca_pem: cert.pem(),
            server: Identity {
                cert: CertificateDer::from(Vec::new()),
                key: PrivatePkcs8KeyDer::from(Vec::new()),
                cert_pem: String::new(),
                key_pem: String::new(),
            },
            client: Identity {
                cert: CertificateDer::from(Vec::new()),
                key: PrivatePkcs8KeyDer::from(Vec::new()),
                cert_pem: String::new(),
                key_pem: String::new(),
            },
        };
        pki.server = pki.issue(&["127.0.0.1", "::1", "localhost"], true, false);
        pki.client = pki.issue(&["client.degu.test"], false, false);
        pki
    }

    /// Issues a certificate for `names` (IP strings become IP names), for
    /// a server or a client; `expired` makes one that expired in 2001.
    pub fn issue(&self, names: &[&str], server: bool, expired: bool) -> Identity {
        let key = KeyPair::generate().unwrap_or_else(|e| fail(e));
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        let mut params = CertificateParams::new(names.clone()).unwrap_or_else(|e| fail(e));
        if let Some(first) = names.first() {
            params
                .distinguished_name
                .push(DnType::CommonName, first.as_str());
        }
        params.extended_key_usages = vec![if server {
            ExtendedKeyUsagePurpose::ServerAuth
        } else {
            ExtendedKeyUsagePurpose::ClientAuth
        }];
        params.use_authority_key_identifier_extension = true;
        if expired {
            params.not_before = rcgen::date_time_ymd(2000, 1, 1);
            params.not_after = rcgen::date_time_ymd(2001, 1, 1);
        }
        let cert = params
            .signed_by(&key, &self.issuer)
            .unwrap_or_else(|e| fail(e));
        Identity {
            cert: cert.der().clone(),
            key: PrivatePkcs8KeyDer::from(key.serialize_der()),
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }

    /// A root store holding this CA.
    pub fn roots(&self) -> RootCertStore {
        let mut roots = RootCertStore::empty();
        // The CA certificate was made just above and is well formed.
        let _ = roots.add(self.ca.clone());
        roots
    }

    /// Writes `ca.pem`, `server.pem`, `server.key`, `client.pem` and
    /// `client.key` into `dir`; returns `dir`.
    pub fn write_files(&self, dir: &Path) -> std::io::Result<PathBuf> {
        std::fs::create_dir_all(dir)?;
        std::fs::write(dir.join("ca.pem"), &self.ca_pem)?;
        std::fs::write(dir.join("server.pem"), &self.server.cert_pem)?;
        std::fs::write(dir.join("server.key"), &self.server.key_pem)?;
        std::fs::write(dir.join("client.pem"), &self.client.cert_pem)?;
        std::fs::write(dir.join("client.key"), &self.client.key_pem)?;
        Ok(dir.to_owned())
    }

    /// A server config with the server certificate, requiring client
    /// certificates from this CA.
    #[cfg(feature = "server")]
    pub fn server_config(&self) -> std::sync::Arc<rustls::ServerConfig> {
        let (certs, key) = self.server.parts();
        match crate::server_config(certs, key, Some(self.roots())) {
            Ok(c) => c,
            Err(e) => panic!("test PKI server config: {e}"),
        }
    }

    /// A client config trusting this CA, presenting the client certificate.
    #[cfg(feature = "client")]
    pub fn client_config(&self) -> std::sync::Arc<rustls::ClientConfig> {
        match crate::client_config(self.roots(), true, Some(self.client.parts())) {
            Ok(c) => c,
            Err(e) => panic!("test PKI client config: {e}"),
        }
    }
}
