//! Throw-away certificates for development and tests: a CA made on the spot and certificates
//! it signs for the names a process is called by. Production certificates come from
//! cert-manager (k8s/); these never leave the machine that made them.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};

use super::TlsFiles;

/// A development CA.
pub struct DevCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

/// A certificate and its key, PEM.
#[derive(Clone, Debug)]
pub struct DevCert {
    pub cert_pem: String,
    pub key_pem: String,
}

impl DevCa {
    /// A new CA named `name` (its subject's common name).
    pub fn new(name: &str) -> anyhow::Result<DevCa> {
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        Ok(DevCa {
            issuer: CertifiedIssuer::self_signed(params, KeyPair::generate()?)?,
        })
    }

    /// The CA's certificate, PEM: what peers trust.
    pub fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// A certificate for `names` (DNS names or IP addresses), good for both ends of a mutual
    /// TLS hop, as cert-manager's are (server and client authentication); a new key each time.
    pub fn issue(&self, names: &[&str]) -> anyhow::Result<DevCert> {
        let mut params = CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())?;
        if let Some(first) = names.first() {
            params.distinguished_name.push(DnType::CommonName, *first);
        }
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        let key = KeyPair::generate()?;
        let cert = params.signed_by(&key, &self.issuer)?;
        Ok(DevCert {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }
}

impl DevCert {
    /// Writes `<dir>/<stem>.crt` and `<dir>/<stem>.key` (the key readable by its owner only)
    /// and, if given, the CA as `<dir>/ca.crt`; returns the files as `[tls]` names them.
    pub fn write(&self, dir: &Path, stem: &str, ca_pem: Option<&str>) -> anyhow::Result<TlsFiles> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let cert = dir.join(format!("{stem}.crt"));
        let key = dir.join(format!("{stem}.key"));
        write_file(&cert, &self.cert_pem, false)?;
        write_file(&key, &self.key_pem, true)?;
        let ca = match ca_pem {
            Some(pem) => {
                let path = dir.join("ca.crt");
                write_file(&path, pem, false)?;
                Some(path)
            }
            None => None,
        };
        Ok(TlsFiles {
            ca,
            cert,
            key,
            reload_every: super::DEFAULT_RELOAD_EVERY,
        })
    }
}

/// Writes through a temporary file and a rename, as kubelet swaps a mounted Secret: a reader
/// never sees half a file.
fn write_file(path: &Path, text: &str, secret: bool) -> anyhow::Result<()> {
    let mut temporary = PathBuf::from(path);
    temporary.set_extension("tmp");
    std::fs::write(&temporary, text).with_context(|| format!("writing {}", temporary.display()))?;
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&temporary, std::fs::Permissions::from_mode(0o600))?;
    }
    #[cfg(not(unix))]
    let _ = secret;
    std::fs::rename(&temporary, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// A development CA and a certificate for every process of the platform under `dir`
/// (`ca.crt`, `<process>.crt`, `<process>.key`), each valid for the process's Service names
/// (`<process>`, `<process>.<namespace>.svc` and the cluster domain's) and for loopback (the
/// default endpoints of `occasionali dev`). Returns the CA's path.
pub fn write_platform(dir: &Path, processes: &[&str], namespace: &str) -> anyhow::Result<PathBuf> {
    let ca = DevCa::new("Occasionali development CA")?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let ca_path = dir.join("ca.crt");
    write_file(&ca_path, &ca.pem(), false)?;
    for process in processes {
        let svc = format!("{process}.{namespace}.svc");
        let fqdn = format!("{svc}.cluster.local");
        ca.issue(&[process, &svc, &fqdn, "localhost", "127.0.0.1"])?
            .write(dir, process, None)?;
    }
    Ok(ca_path)
}

/// How often tests let the files be checked: reloads show within a test's patience.
pub const TEST_RELOAD_EVERY: Duration = Duration::from_millis(100);
