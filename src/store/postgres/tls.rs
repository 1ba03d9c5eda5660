//! TLS for the PostgreSQL store: [`SslMode`] with libpq's `sslmode` semantics, splitting
//! `sslmode` out of a connection string, and the rustls connector (ring provider; webpki roots
//! or the caller's) with the certificate checks each mode asks for.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use super::BACKEND;
use crate::store::StoreError;

/// Whether and how to use TLS, with libpq's `sslmode` names (`FromStr` accepts them).
///
/// As in libpq, `Prefer` and `Require` do not verify the server's certificate (unless root
/// certificates are configured: then `Require` checks the chain); `VerifyFull` checks the
/// chain and the host name.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SslMode {
    /// Plain TCP: only over loopback, a Unix socket or a trusted private network.
    Disable,
    /// TLS if the server offers it, plain TCP if it does not (libpq's default).
    Prefer,
    /// TLS or fail. The certificate is not verified, unless
    /// [`PostgresOptions::root_certificates`](super::PostgresOptions::root_certificates) is
    /// set: then its chain is (libpq's `verify-ca`, accepted as a synonym).
    Require,
    /// TLS or fail; the certificate chain and the host name are verified.
    VerifyFull,
}

impl SslMode {
    /// The libpq name (`disable`, `prefer`, `require`, `verify-full`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Disable => "disable",
            Self::Prefer => "prefer",
            Self::Require => "require",
            Self::VerifyFull => "verify-full",
        }
    }
}

impl fmt::Display for SslMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SslMode {
    type Err = StoreError;

    fn from_str(value: &str) -> Result<Self, StoreError> {
        match value.trim().to_ascii_lowercase().as_str() {
            "disable" => Ok(Self::Disable),
            "prefer" => Ok(Self::Prefer),
            "require" | "verify-ca" => Ok(Self::Require),
            "verify-full" => Ok(Self::VerifyFull),
            _ => Err(StoreError::Tls {
                backend: BACKEND,
                reason: format!("sslmode {value:?} is not one of disable, prefer, require, verify-ca, verify-full"),
            }),
        }
    }
}

/// Splits libpq's `sslmode` out of a connection string (key/value or URL form), returning it
/// and the string without it (tokio-postgres knows only some of the values).
pub(super) fn split_ssl_mode(conn_str: &str) -> Result<(Option<SslMode>, String), StoreError> {
    let trimmed = conn_str.trim_start();
    if trimmed.starts_with("postgres://") || trimmed.starts_with("postgresql://") {
        let Some((base, query)) = trimmed.split_once('?') else { return Ok((None, conn_str.to_owned())) };
        let mut mode = None;
        let mut kept = Vec::new();
        for pair in query.split('&') {
            match pair.split_once('=') {
                Some(("sslmode", value)) => mode = Some(value.parse()?),
                _ => kept.push(pair),
            }
        }
        let rest = if kept.is_empty() { base.to_owned() } else { format!("{base}?{}", kept.join("&")) };
        return Ok((mode, rest));
    }
    // key = value pairs; values may be single-quoted with backslash escapes.
    let chars: Vec<char> = conn_str.chars().collect();
    let (mut i, mut mode, mut rest) = (0, None, String::new());
    while i < chars.len() {
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        let start = i;
        while i < chars.len() && chars[i] != '=' && !chars[i].is_whitespace() {
            i += 1;
        }
        let key: String = chars[start..i].iter().collect();
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        if i < chars.len() && chars[i] == '=' {
            i += 1;
        }
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        let value_start = i;
        let mut value = String::new();
        if i < chars.len() && chars[i] == '\'' {
            i += 1;
            while i < chars.len() && chars[i] != '\'' {
                if chars[i] == '\\' && i + 1 < chars.len() {
                    i += 1;
                }
                value.push(chars[i]);
                i += 1;
            }
            i += 1;
        } else {
            while i < chars.len() && !chars[i].is_whitespace() {
                value.push(chars[i]);
                i += 1;
            }
        }
        if key == "sslmode" {
            mode = Some(value.parse()?);
        } else if !key.is_empty() {
            let raw: String = chars[value_start..i.min(chars.len())].iter().collect();
            rest.push_str(&format!("{key}={raw} "));
        }
    }
    Ok((mode, rest.trim_end().to_owned()))
}

/// libpq's `prefer`/`require`: the host name is never checked. With root certificates the
/// chain is (`chain`: any name the inner verifier would accept); without, any certificate is
/// accepted. Handshake signatures are always checked, so the session is encrypted to whoever
/// answered.
#[derive(Debug)]
struct Relaxed {
    chain: Option<Arc<rustls::client::WebPkiServerVerifier>>,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl rustls::client::danger::ServerCertVerifier for Relaxed {
    fn verify_server_cert(
        &self,
        end_entity: &rustls::pki_types::CertificateDer<'_>,
        intermediates: &[rustls::pki_types::CertificateDer<'_>],
        server_name: &rustls::pki_types::ServerName<'_>,
        ocsp_response: &[u8],
        now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        let Some(chain) = &self.chain else {
            return Ok(rustls::client::danger::ServerCertVerified::assertion());
        };
        match chain.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::NotValidForName | rustls::CertificateError::NotValidForNameContext { .. },
            )) => Ok(rustls::client::danger::ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

/// The rustls connector for `mode` (ring provider; `roots` or webpki-roots).
pub(super) fn tls_connector(
    mode: SslMode,
    roots: Option<Arc<rustls::RootCertStore>>,
) -> Result<tokio_postgres_rustls::MakeRustlsConnect, StoreError> {
    let tls = |reason: String| StoreError::Tls { backend: BACKEND, reason };
    let custom_roots = roots.is_some();
    let roots =
        roots.unwrap_or_else(|| Arc::new(rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() }));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| tls(format!("no usable TLS versions: {e}")))?;
    let config = match mode {
        SslMode::VerifyFull | SslMode::Disable => builder.with_root_certificates(roots).with_no_client_auth(),
        SslMode::Prefer | SslMode::Require if !custom_roots => {
            let relaxed = Relaxed { chain: None, provider };
            builder.dangerous().with_custom_certificate_verifier(Arc::new(relaxed)).with_no_client_auth()
        }
        SslMode::Prefer | SslMode::Require => {
            let chain = rustls::client::WebPkiServerVerifier::builder_with_provider(roots, Arc::clone(&provider))
                .build()
                .map_err(|e| tls(format!("the root certificates cannot be used: {e}")))?;
            let relaxed = Relaxed { chain: Some(chain), provider };
            builder.dangerous().with_custom_certificate_verifier(Arc::new(relaxed)).with_no_client_auth()
        }
    };
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

#[cfg(test)]
mod ssl_tests {
    use super::*;

    #[test]
    fn sslmode_is_parsed_and_split_out_of_connection_strings() {
        for (text, mode) in [
            ("disable", SslMode::Disable),
            ("prefer", SslMode::Prefer),
            ("require", SslMode::Require),
            ("verify-ca", SslMode::Require),
            ("VERIFY-FULL", SslMode::VerifyFull),
        ] {
            assert_eq!(text.parse::<SslMode>().unwrap(), mode);
        }
        let err = "allow-anything".parse::<SslMode>().unwrap_err();
        assert!(matches!(err, StoreError::Tls { .. }), "{err}");

        let (mode, rest) =
            split_ssl_mode("host=db user=app sslmode=verify-full options='-c a=b\\' c' dbname=x").unwrap();
        assert_eq!(mode, Some(SslMode::VerifyFull));
        assert_eq!(rest, "host=db user=app options='-c a=b\\' c' dbname=x");
        assert_eq!(split_ssl_mode("host=db").unwrap(), (None, "host=db".to_owned()));
        let (mode, rest) = split_ssl_mode("postgresql://app@db:5432/x?sslmode=require&application_name=z").unwrap();
        assert_eq!((mode, rest.as_str()), (Some(SslMode::Require), "postgresql://app@db:5432/x?application_name=z"));
        let (mode, rest) = split_ssl_mode("postgres://db/x?sslmode=disable").unwrap();
        assert_eq!((mode, rest.as_str()), (Some(SslMode::Disable), "postgres://db/x"));
        assert!(split_ssl_mode("host=db sslmode=bogus").is_err());
        // Every mode builds a connector (ring provider, webpki roots).
        for mode in [SslMode::Disable, SslMode::Prefer, SslMode::Require, SslMode::VerifyFull] {
            tls_connector(mode, None).unwrap();
        }
    }
}
