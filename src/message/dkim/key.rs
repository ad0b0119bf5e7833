//! DKIM private keys: PEM text in (PKCS#8 `PRIVATE KEY` blocks, or PKCS#1 `RSA PRIVATE KEY`
//! as `openssl genrsa` writes), signing keys out, each knowing its algorithm. aws-lc-rs does
//! the signing (and TLS): its RSA signature costs less than half of ring's on the machines
//! we measured (BENCHMARKS.md, "DKIM signing").

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use anyhow::Context as _;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{Ed25519KeyPair, RSA_PKCS1_SHA256, RsaKeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest as _, Sha256};

use crate::settings::{Algorithm, Dkim};

/// The PEM text `[dkim]` points at: the environment variable, or the file, which must be
/// readable by its owner only (a private key others can read is no longer private).
pub(super) fn read_pem(dkim: &Dkim, root: &Path) -> anyhow::Result<String> {
    if let Some(name) = &dkim.key_env {
        let name = name.get_ref();
        return std::env::var(name).map_err(|_| {
            anyhow::anyhow!("the environment variable {name} (`[dkim] key_env`) holds no key")
        });
    }
    let file = dkim
        .key_file
        .as_ref()
        .context("`[dkim]` needs `key_env` or `key_file`")?;
    let path = root.join(file.get_ref());
    let mode = std::fs::metadata(&path)
        .with_context(|| format!("cannot read the DKIM key {}", path.display()))?
        .permissions()
        .mode();
    anyhow::ensure!(
        mode & 0o077 == 0,
        "the DKIM key {} can be read by others (mode {:o}); run `chmod 600` on it",
        path.display(),
        mode & 0o777
    );
    std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read the DKIM key {}", path.display()))
}

/// A private key for one algorithm.
pub enum Key {
    /// An RSA key (2048 bits or more).
    Rsa(RsaKeyPair),
    /// An Ed25519 key.
    Ed25519(Ed25519KeyPair),
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        write!(f, "Key({})", self.algorithm())
    }
}

impl Key {
    /// The keys in `pem`, in the order they appear. The error names no key material.
    pub fn parse_all(pem: &str) -> anyhow::Result<Vec<Self>> {
        let mut keys = Vec::new();
        let mut rest = pem;
        while let Some(start) = rest.find("-----BEGIN ") {
            let block = &rest[start..];
            let label_end = block[11..]
                .find("-----")
                .ok_or_else(|| anyhow::anyhow!("a PEM header line is not closed"))?;
            let label = &block[11..11 + label_end];
            let footer = format!("-----END {label}-----");
            let end = block
                .find(&footer)
                .ok_or_else(|| anyhow::anyhow!("`-----BEGIN {label}-----` has no end line"))?;
            let inner: String = block[11 + label_end + 5..end]
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect();
            let der = STANDARD
                .decode(inner)
                .map_err(|_| anyhow::anyhow!("the `{label}` block is not valid base64"))?;
            keys.push(Self::from_der(label, &der)?);
            rest = &block[end + footer.len()..];
        }
        anyhow::ensure!(!keys.is_empty(), "no PEM private key found");
        Ok(keys)
    }

    fn from_der(label: &str, der: &[u8]) -> anyhow::Result<Self> {
        let rsa = match label {
            "RSA PRIVATE KEY" => RsaKeyPair::from_der(der),
            "PRIVATE KEY" => match Ed25519KeyPair::from_pkcs8_maybe_unchecked(der) {
                Ok(key) => return Ok(Self::Ed25519(key)),
                Err(_) => RsaKeyPair::from_pkcs8(der),
            },
            other => anyhow::bail!("a `{other}` block is not an unencrypted private key"),
        };
        let key = rsa.map_err(|why| {
            anyhow::anyhow!("not an RSA or Ed25519 private key that can sign ({why})")
        })?;
        anyhow::ensure!(
            key.public_modulus_len() >= 256,
            "the RSA key is shorter than 2048 bits, which receivers treat as unsigned"
        );
        Ok(Self::Rsa(key))
    }

    /// This key's algorithm.
    pub fn algorithm(&self) -> &'static str {
        self.kind().as_str()
    }

    /// This key's algorithm, as a value.
    pub fn kind(&self) -> Algorithm {
        match self {
            Self::Rsa(_) => Algorithm::RsaSha256,
            Self::Ed25519(_) => Algorithm::Ed25519Sha256,
        }
    }

    /// The signature over `data` (the canonical headers): RSA signs the data with SHA-256;
    /// Ed25519 signs the SHA-256 hash of it (RFC 8463 §3).
    pub fn sign(&self, data: &[u8]) -> Vec<u8> {
        match self {
            Self::Rsa(key) => {
                let mut signature = vec![0; key.public_modulus_len()];
                key.sign(
                    &RSA_PKCS1_SHA256,
                    &SystemRandom::new(),
                    data,
                    &mut signature,
                )
                .expect("an RSA key aws-lc accepted signs any data");
                signature
            }
            Self::Ed25519(key) => key.sign(&Sha256::digest(data)).as_ref().to_vec(),
        }
    }
}
