//! AWS SDK configuration from the Lambda environment, without `aws-config`.
//!
//! What a function needs on Lambda, and nothing more: the region (`AWS_REGION`), the
//! credentials Lambda puts in the environment (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
//! `AWS_SESSION_TOKEN`), an endpoint override per service (`AWS_ENDPOINT_URL_<SERVICE>`, then
//! `AWS_ENDPOINT_URL`, the names the SDK itself reads), and one HTTPS client: rustls with the
//! `ring` provider, trusting the Amazon Trust Services roots compiled in, or the bundle that
//! `SSL_CERT_FILE` names ([`Roots`]). The variables are read once, into an [`AwsEnv`], by
//! each function's settings.
//!
//! What it leaves out, on purpose: profiles, SSO, credential processes, web identity, container
//! and instance metadata credentials. They cost size and start-up time that a function never
//! uses; for a local run against real AWS, export credentials into the environment
//! (`eval "$(aws configure export-credentials --format env)"`). `authctl` is a command line
//! tool and keeps them, through `aws-config` with [`http_client`].

#[cfg(feature = "http")]
pub mod http_events;
pub mod logging;
pub mod metrics;

use std::collections::HashMap;
use std::sync::OnceLock;

use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_smithy_http_client::tls::rustls_provider::CryptoMode;
use aws_smithy_http_client::tls::{self, TlsContext, TrustStore};
use aws_types::region::Region;
use aws_types::sdk_config::{Builder, SdkConfig, SharedHttpClient};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

/// The variable every service's endpoint falls back to.
pub const ENDPOINT_VAR: &str = "AWS_ENDPOINT_URL";

/// The roots trusted by default: Amazon Trust Services' (Amazon Root CA 1 to 4, and the
/// Starfield Services G2 root that cross-signs them), which sign every AWS service endpoint
/// outside the China regions. From the Mozilla CA store (Debian's `ca-certificates`); see
/// <https://www.amazontrust.com/repository/>.
pub const AMAZON_ROOTS: &[u8] = include_bytes!("amazon-trust-services.pem");

/// Which roots the HTTPS client trusts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Roots {
    /// [`AMAZON_ROOTS`], compiled in: no file to read, five certificates to parse.
    Amazon,
    /// The PEM bundle named by `SSL_CERT_FILE`, instead: a private CA, a TLS-inspecting proxy,
    /// an endpoint in the China regions (`/etc/pki/tls/certs/ca-bundle.crt` on Lambda).
    Bundle(String),
}

impl Roots {
    /// The roots for `ssl_cert_file`, the value of `SSL_CERT_FILE`.
    pub fn choose(ssl_cert_file: Option<&str>) -> Self {
        match ssl_cert_file.map(str::trim) {
            Some(path) if !path.is_empty() => Self::Bundle(path.to_owned()),
            _ => Self::Amazon,
        }
    }

    /// The PEM text to trust: the bundle when it is readable and every certificate in it can be
    /// a trust anchor, else (with a warning) the Amazon roots. The SDK's HTTP client panics on a
    /// certificate it cannot parse; nothing unparsed reaches it.
    pub fn pem(&self) -> Vec<u8> {
        let Self::Bundle(path) = self else {
            return AMAZON_ROOTS.to_vec();
        };
        let problem = match std::fs::read(path) {
            Ok(pem) => match check_pem(&pem) {
                Ok(()) => return pem,
                Err(problem) => problem,
            },
            Err(e) => e.to_string(),
        };
        tracing::warn!(
            path,
            problem,
            "SSL_CERT_FILE is not a usable CA bundle: trusting the Amazon roots"
        );
        AMAZON_ROOTS.to_vec()
    }
}

/// Whether every certificate of `pem` parses and can be a trust anchor, and there is one.
pub fn check_pem(pem: &[u8]) -> Result<(), String> {
    let mut count = 0;
    for der in CertificateDer::pem_slice_iter(pem) {
        let der = der.map_err(|e| format!("not PEM: {e:?}"))?;
        webpki::anchor_from_trusted_cert(&der)
            .map_err(|e| format!("certificate {}: {e}", count + 1))?;
        count += 1;
    }
    if count == 0 {
        return Err("no certificate".into());
    }
    Ok(())
}

/// The HTTPS client every SDK client of a function uses: rustls on `ring`, HTTP/1.1 and
/// HTTP/2, trusting `roots`; the system's certificate directory is never scanned. Built once
/// per process (by the first call) and shared, so that a function with two SDK clients
/// (`authenticate`: Secrets Manager and DynamoDB) reads its roots once and keeps one
/// connection pool.
pub fn http_client(roots: &Roots) -> SharedHttpClient {
    static CLIENT: OnceLock<SharedHttpClient> = OnceLock::new();
    CLIENT
        .get_or_init(|| {
            let store = TrustStore::empty()
                .with_native_roots(false)
                .with_pem_certificate(roots.pem());
            let context = TlsContext::builder()
                .with_trust_store(store)
                .build()
                .unwrap_or_default();
            aws_smithy_http_client::Builder::new()
                .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
                .tls_context(context)
                .build_https()
        })
        .clone()
}

/// The endpoint for the service whose variable is `service_var` (such as
/// `AWS_ENDPOINT_URL_DYNAMODB`), read through `lookup`: that variable, else [`ENDPOINT_VAR`].
pub fn endpoint_url(service_var: &str, lookup: impl Fn(&str) -> Option<String>) -> Option<String> {
    [service_var, ENDPOINT_VAR]
        .into_iter()
        .find_map(|k| lookup(k).filter(|v| !v.trim().is_empty()))
}

/// The credentials in the environment read through `lookup`, as Lambda provides them.
pub fn credentials(lookup: impl Fn(&str) -> Option<String>) -> Option<Credentials> {
    let key = lookup("AWS_ACCESS_KEY_ID").filter(|v| !v.is_empty())?;
    let secret = lookup("AWS_SECRET_ACCESS_KEY").filter(|v| !v.is_empty())?;
    let token = lookup("AWS_SESSION_TOKEN").filter(|v| !v.is_empty());
    Some(Credentials::new(key, secret, token, None, "Environment"))
}

/// The variables Lambda (or a developer) sets for the AWS SDK, the logs and the metrics, which [`AwsEnv`]
/// reads for every function; each service's own endpoint variable is read only for the
/// functions that call that service.
pub const AWS_VARS: [&str; 12] = [
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    ENDPOINT_VAR,
    "SSL_CERT_FILE",
    "AWS_LAMBDA_LOG_LEVEL",
    "AWS_LAMBDA_LOG_FORMAT",
    "RUST_LOG",
    metrics::NAMESPACE_VAR,
    // A spelling of the Secrets Manager endpoint the SDK does not read: warned about, not used.
    "AWS_ENDPOINT_URL_SECRETSMANAGER",
];

/// The AWS part of a function's settings: [`AWS_VARS`] and the endpoint variables of the
/// services it calls, read once by the function's settings module. Its `Debug` names the
/// variables that are set, never their values (credentials).
#[derive(Clone, Default)]
pub struct AwsEnv {
    vars: HashMap<&'static str, String>,
}

impl std::fmt::Debug for AwsEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut set: Vec<_> = self.vars.keys().collect();
        set.sort();
        f.debug_struct("AwsEnv").field("set", &set).finish()
    }
}

impl AwsEnv {
    /// [`AWS_VARS`] and the endpoint variables `services` (such as
    /// `AWS_ENDPOINT_URL_DYNAMODB`) read through `lookup`.
    pub fn read(lookup: impl Fn(&str) -> Option<String>, services: &[&'static str]) -> Self {
        let vars = AWS_VARS
            .iter()
            .chain(services)
            .filter_map(|name| lookup(name).map(|v| (*name, v)))
            .collect();
        Self { vars }
    }

    /// The value of `name` (one of [`AWS_VARS`]), if set.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    /// The roots the HTTPS client trusts (`SSL_CERT_FILE`).
    pub fn roots(&self) -> Roots {
        Roots::choose(self.get("SSL_CERT_FILE"))
    }

    /// SDK configuration for the service whose endpoint variable is `service_var`; the caller
    /// adds timeouts and retries, then builds it. Without credentials, calls fail with the
    /// SDK's "no credentials" error.
    pub fn sdk_config(&self, service_var: &str) -> Builder {
        sdk_config_from(service_var, |k| self.get(k).map(str::to_owned))
    }
}

/// Starts a function: sets up its logs from the AWS variables `lookup` gives, then reads its
/// settings with `read` over the same lookup. A setting that cannot be used is logged as the
/// failed start-up, and returned.
pub fn start<T, E: std::fmt::Display>(
    lookup: &dyn Fn(&str) -> Option<String>,
    read: impl FnOnce(&dyn Fn(&str) -> Option<String>) -> Result<T, E>,
) -> Result<T, E> {
    logging::init(&AwsEnv::read(lookup, &[]));
    read(lookup).inspect_err(|e| tracing::error!(error = %e, "start-up failed"))
}

/// SDK configuration for the service whose endpoint variable is `service_var`, from the
/// variables `lookup` gives.
pub fn sdk_config_from(service_var: &str, lookup: impl Fn(&str) -> Option<String>) -> Builder {
    let region = lookup("AWS_REGION").or_else(|| lookup("AWS_DEFAULT_REGION"));
    let roots = Roots::choose(lookup("SSL_CERT_FILE").as_deref());
    // The behavior version is the service crates' (`behavior-version-latest`).
    let mut builder = SdkConfig::builder().http_client(http_client(&roots));
    builder.set_region(region.map(Region::new));
    builder.set_endpoint_url(endpoint_url(service_var, &lookup));
    builder.set_credentials_provider(credentials(&lookup).map(SharedCredentialsProvider::new));
    builder
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn the_service_endpoint_wins_over_the_global_one() {
        let both = vars(&[
            ("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:1"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:2"),
        ]);
        assert_eq!(
            endpoint_url("AWS_ENDPOINT_URL_DYNAMODB", &both).as_deref(),
            Some("http://127.0.0.1:1")
        );
        assert_eq!(
            endpoint_url("AWS_ENDPOINT_URL_SECRETS_MANAGER", &both).as_deref(),
            Some("http://127.0.0.1:2")
        );
        assert_eq!(endpoint_url("AWS_ENDPOINT_URL_DYNAMODB", vars(&[])), None);
        let blank = vars(&[("AWS_ENDPOINT_URL_DYNAMODB", " ")]);
        assert_eq!(endpoint_url("AWS_ENDPOINT_URL_DYNAMODB", blank), None);
    }

    #[test]
    fn credentials_come_from_the_environment_only_when_complete() {
        let full = vars(&[
            ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
            ("AWS_SECRET_ACCESS_KEY", "example-secret"),
            ("AWS_SESSION_TOKEN", "example-token"),
        ]);
        let c = credentials(full).unwrap();
        assert_eq!(
            (c.access_key_id(), c.session_token()),
            ("AKIDEXAMPLE", Some("example-token"))
        );
        assert!(credentials(vars(&[("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")])).is_none());
    }

    #[test]
    fn the_amazon_roots_are_five_usable_trust_anchors() {
        assert_eq!(check_pem(AMAZON_ROOTS), Ok(()));
        assert_eq!(CertificateDer::pem_slice_iter(AMAZON_ROOTS).count(), 5);
        assert_eq!(Roots::choose(None), Roots::Amazon);
        assert_eq!(Roots::choose(Some(" ")), Roots::Amazon);
        assert_eq!(Roots::Amazon.pem(), AMAZON_ROOTS);
    }

    #[test]
    fn a_bundle_from_ssl_cert_file_is_trusted_only_when_every_certificate_parses() {
        let dir = std::env::temp_dir().join(format!("awsenv-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("good.pem");
        std::fs::write(&good, AMAZON_ROOTS).unwrap();
        let good = good.to_string_lossy().into_owned();
        assert_eq!(Roots::choose(Some(&good)), Roots::Bundle(good.clone()));
        assert_eq!(Roots::Bundle(good).pem(), AMAZON_ROOTS);
        // Truncated, not PEM at all, or missing: the Amazon roots, never a panic in the SDK.
        let text = String::from_utf8(AMAZON_ROOTS.to_vec()).unwrap();
        let cut = dir.join("cut.pem");
        std::fs::write(&cut, &text[..text.len() / 2]).unwrap();
        let junk = dir.join("junk.pem");
        std::fs::write(&junk, "not a certificate").unwrap();
        let broken = text.replacen("MII", "XII", 1);
        let bad_der = dir.join("bad.pem");
        std::fs::write(&bad_der, broken).unwrap();
        for path in [cut, junk, bad_der, dir.join("absent.pem")] {
            let roots = Roots::Bundle(path.to_string_lossy().into_owned());
            assert_eq!(roots.pem(), AMAZON_ROOTS, "{}", path.display());
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_aws_env_keeps_only_its_variables_and_never_shows_values() {
        let env = AwsEnv::read(
            vars(&[
                ("AWS_SECRET_ACCESS_KEY", "example-secret"),
                ("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:1"),
                ("JWT_SECRET", "not-aws"),
            ]),
            &[],
        );
        assert_eq!(
            env.get("AWS_ENDPOINT_URL_DYNAMODB"),
            None,
            "not a service it calls"
        );
        assert_eq!(env.get("AWS_SECRET_ACCESS_KEY"), Some("example-secret"));
        assert_eq!(env.get("JWT_SECRET"), None);
        assert!(!format!("{env:?}").contains("example-secret"));
    }

    #[test]
    fn the_config_carries_region_endpoint_and_credentials() {
        let config = sdk_config_from(
            "AWS_ENDPOINT_URL_SECRETS_MANAGER",
            vars(&[
                ("AWS_REGION", "eu-west-1"),
                ("AWS_ENDPOINT_URL_SECRETS_MANAGER", "http://127.0.0.1:9"),
                ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
                ("AWS_SECRET_ACCESS_KEY", "example-secret"),
            ]),
        )
        .build();
        assert_eq!(config.region().map(|r| r.as_ref()), Some("eu-west-1"));
        assert_eq!(config.endpoint_url(), Some("http://127.0.0.1:9"));
        assert!(config.credentials_provider().is_some());
        assert!(config.http_client().is_some());
    }
}
