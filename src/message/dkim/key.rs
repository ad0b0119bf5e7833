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

use super::key_info;
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
    let bytes = std::fs::read(&path)
        .with_context(|| format!("cannot read the DKIM key {}", path.display()))?;
    match String::from_utf8(bytes) {
        Ok(pem) => Ok(pem),
        Err(e) if e.as_bytes().first() == Some(&0x30) => anyhow::bail!(
            "the DKIM key {} is binary DER, not PEM text; convert it with \
             `openssl pkey -inform DER -in {0} -out {0}.pem` and name the .pem file",
            path.display()
        ),
        Err(_) => anyhow::bail!("the DKIM key {} is not PEM text", path.display()),
    }
}

/// Where `[dkim]`'s key comes from, for an error about it.
pub(super) fn origin(dkim: &Dkim, root: &Path) -> String {
    match (&dkim.key_env, &dkim.key_file) {
        (Some(name), _) => format!(
            "the DKIM key in the environment variable {}",
            name.get_ref()
        ),
        (None, Some(file)) => format!("the DKIM key {}", root.join(file.get_ref()).display()),
        (None, None) => "the DKIM key".to_owned(),
    }
}

/// Why a key of the algorithm `name` cannot sign here.
fn wrong_algorithm(name: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "the key's algorithm is {name}: DKIM signs with RSA (`rsa-sha256`) or Ed25519 \
         (`ed25519-sha256`); make one with `openssl genpkey -algorithm ed25519` or \
         `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048`"
    )
}

/// Why an RSA key of `bits` is refused: RFC 8301 §3.2 allows 1024 bits but advises 2048,
/// and the signer (aws-lc) takes 2048 bits at least.
fn too_small(bits: usize) -> anyhow::Error {
    anyhow::anyhow!(
        "an RSA key of {bits} bits: use one of 2048 bits at least, as RFC 8301 advises \
         (`openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048`)"
    )
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
            "PRIVATE KEY" => match key_info::pkcs8_algorithm(der) {
                Some("Ed25519") | None => match Ed25519KeyPair::from_pkcs8_maybe_unchecked(der) {
                    Ok(key) => return Ok(Self::Ed25519(key)),
                    Err(_) => RsaKeyPair::from_pkcs8(der),
                },
                Some("RSA") => RsaKeyPair::from_pkcs8(der),
                Some(other) => return Err(wrong_algorithm(other)),
            },
            "EC PRIVATE KEY" => return Err(wrong_algorithm("elliptic-curve (ECDSA)")),
            "DSA PRIVATE KEY" => return Err(wrong_algorithm("DSA")),
            "ENCRYPTED PRIVATE KEY" => anyhow::bail!(
                "the key is encrypted (`ENCRYPTED PRIVATE KEY`) and broadsheet signs unattended; \
                 write it out decrypted with `openssl pkey -in KEY -out KEY.pem` (it asks for \
                 the passphrase) and keep that file readable by its owner only"
            ),
            other => anyhow::bail!("a `{other}` block is not an unencrypted private key"),
        };
        let bits = key_info::rsa_bits(der).filter(|&bits| bits < 2048);
        let key = rsa.map_err(|why| match bits {
            Some(bits) => too_small(bits),
            None => anyhow::anyhow!("not an RSA or Ed25519 private key that can sign ({why})"),
        })?;
        anyhow::ensure!(
            key.public_modulus_len() >= 256,
            too_small(key.public_modulus_len() * 8)
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
