//! Key material: the RSA key that signs access tokens and the Fernet keys that encrypt
//! documents. Generation (dev keys, `xtask keygen`) and loading with validation.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey, LineEnding};
use rsa::traits::PublicKeyParts;
use rsa::{RsaPrivateKey, RsaPublicKey};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use crate::random::random_bytes;

/// RSA modulus size of generated signing keys.
pub const RSA_BITS: usize = 2048;
/// File name of the development signing key inside `<data_dir>/keys/`.
pub const DEV_SIGNING_KEY_FILE: &str = "jwt-signing-key.pem";
/// File name of the development Fernet key inside `<data_dir>/keys/`.
pub const DEV_FERNET_KEY_FILE: &str = "fernet.key";

/// Why key material could not be produced or used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Reading or writing a key file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The RSA key is not a usable PKCS#8 / PKCS#1 PEM private key of at least 2048 bits.
    #[error("invalid RSA private key: {0}")]
    InvalidRsa(String),
    /// A Fernet key is not 32 bytes of URL-safe base64.
    #[error("invalid Fernet key #{index}: must be 32 bytes encoded as URL-safe base64")]
    InvalidFernet {
        /// Position in the key ring (0 = the encrypting key).
        index: usize,
    },
    /// No Fernet key was given.
    #[error("the Fernet key ring is empty")]
    EmptyFernetRing,
}

/// An RSA private key validated for RS256 signing, with its derived key id.
#[derive(Clone)]
pub struct SigningKey {
    pem: SecretString,
    public_pem: String,
    kid: String,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Parses a PEM private key (PKCS#8 or PKCS#1) of at least 2048 bits.
    ///
    /// # Errors
    /// [`KeyError::InvalidRsa`] when it does not parse or is too small.
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        use rsa::pkcs1::DecodeRsaPrivateKey;
        let key = RsaPrivateKey::from_pkcs8_pem(pem)
            .or_else(|_| RsaPrivateKey::from_pkcs1_pem(pem))
            .map_err(|e| KeyError::InvalidRsa(e.to_string()))?;
        if key.size() * 8 < RSA_BITS {
            return Err(KeyError::InvalidRsa(format!(
                "{} bits, at least {RSA_BITS} required",
                key.size() * 8
            )));
        }
        let public = RsaPublicKey::from(&key);
        let public_pem = public
            .to_public_key_pem(LineEnding::LF)
            .map_err(|e| KeyError::InvalidRsa(e.to_string()))?;
        let kid = key_id(public_pem.as_bytes());
        Ok(Self {
            pem: SecretString::from(pem.to_owned()),
            public_pem,
            kid,
        })
    }

    /// Reads and parses a PEM file.
    ///
    /// # Errors
    /// [`KeyError::Io`] or [`KeyError::InvalidRsa`].
    pub fn from_file(path: &Path) -> Result<Self, KeyError> {
        let pem = fs::read_to_string(path).map_err(|source| KeyError::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::from_pem(&pem)
    }

    /// The key id (`kid`): first 16 hex characters of the SHA-256 of the public key PEM.
    #[must_use]
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The private key PEM, for the token issuer only.
    #[must_use]
    pub fn private_pem(&self) -> &str {
        self.pem.expose_secret()
    }

    /// The public key PEM (SPKI), safe to publish.
    #[must_use]
    pub fn public_pem(&self) -> &str {
        &self.public_pem
    }
}

/// The Fernet key ring (D9): the first key encrypts, every key decrypts.
#[derive(Clone)]
pub struct FernetKeyRing {
    keys: Vec<SecretString>,
}

impl std::fmt::Debug for FernetKeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FernetKeyRing")
            .field("keys", &self.keys.len())
            .finish()
    }
}

impl FernetKeyRing {
    /// Parses a comma-separated list of URL-safe base64 keys (the `FERNET_KEYS` format).
    ///
    /// # Errors
    /// [`KeyError::EmptyFernetRing`] or [`KeyError::InvalidFernet`] naming the bad key.
    pub fn parse(list: &str) -> Result<Self, KeyError> {
        let keys: Vec<&str> = list
            .split(',')
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .collect();
        if keys.is_empty() {
            return Err(KeyError::EmptyFernetRing);
        }
        for (index, k) in keys.iter().enumerate() {
            let ok = URL_SAFE
                .decode(k)
                .map(|raw| raw.len() == 32)
                .unwrap_or(false);
            if !ok {
                return Err(KeyError::InvalidFernet { index });
            }
        }
        Ok(Self {
            keys: keys
                .into_iter()
                .map(|k| SecretString::from(k.to_owned()))
                .collect(),
        })
    }

    /// Number of keys.
    #[must_use]
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the ring is empty (never, once parsed).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The keys, encrypting key first.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(|k| k.expose_secret())
    }

    /// The decoded 32-byte keys, encrypting key first.
    #[must_use]
    pub fn raw_keys(&self) -> Vec<Vec<u8>> {
        self.keys()
            .filter_map(|k| URL_SAFE.decode(k).ok())
            .collect()
    }

    /// The key ids (`documents.cle_id`: first 16 hex characters of the SHA-256 of the raw
    /// 32-byte key), encrypting key first.
    #[must_use]
    pub fn key_ids(&self) -> Vec<String> {
        self.raw_keys().iter().map(|k| key_id(k)).collect()
    }
}

/// Key id of raw key material: first 16 hex characters of its SHA-256.
#[must_use]
pub fn key_id(material: &[u8]) -> String {
    let digest = Sha256::digest(material);
    hex::encode(&digest[..8])
}

/// Generates a new RSA-2048 private key as PKCS#8 PEM.
///
/// # Errors
/// [`KeyError::InvalidRsa`] if the RSA library fails.
pub fn generate_rsa_pem() -> Result<SecretString, KeyError> {
    let key = RsaPrivateKey::new(&mut rand::rngs::OsRng, RSA_BITS)
        .map_err(|e| KeyError::InvalidRsa(e.to_string()))?;
    let pem = key
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| KeyError::InvalidRsa(e.to_string()))?;
    Ok(SecretString::from(pem.to_string()))
}

/// Generates a new Fernet key: 32 random bytes, URL-safe base64.
#[must_use]
pub fn generate_fernet_key() -> SecretString {
    SecretString::from(URL_SAFE.encode(random_bytes(32)))
}

/// Writes a secret file readable by its owner only, creating its directory.
///
/// # Errors
/// [`KeyError::Io`].
pub fn write_secret_file(path: &Path, contents: &str) -> Result<(), KeyError> {
    let io = |source| KeyError::Io {
        path: path.to_owned(),
        source,
    };
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(io)?;
    }
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(io)?;
    file.write_all(contents.as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)
}

/// What [`generate_key_files`] wrote.
#[derive(Debug)]
pub struct GeneratedKeys {
    /// The files, in the order written.
    pub files: Vec<PathBuf>,
    /// Key id of the new signing key.
    pub kid: String,
}

/// Writes a new RS256 key pair (`jwt-signing-key.pem`, PKCS#8; `jwt-public-key.pem`) and a
/// Fernet key (`fernet.key`) into `dir`, each with mode 0600; never overwrites a file.
///
/// # Errors
/// [`KeyError::Io`] (including an existing file) or a generation failure.
pub fn generate_key_files(dir: &Path) -> Result<GeneratedKeys, KeyError> {
    let pem = generate_rsa_pem()?;
    let signing = SigningKey::from_pem(pem.expose_secret())?;
    let mut files = Vec::new();
    for (name, contents) in [
        (DEV_SIGNING_KEY_FILE, signing.private_pem().to_owned()),
        ("jwt-public-key.pem", signing.public_pem().to_owned()),
        (
            DEV_FERNET_KEY_FILE,
            format!("{}\n", generate_fernet_key().expose_secret()),
        ),
    ] {
        let path = dir.join(name);
        write_secret_file(&path, &contents)?;
        files.push(path);
    }
    Ok(GeneratedKeys {
        files,
        kid: signing.kid().to_owned(),
    })
}

/// Loads the development signing key from `dir`, generating it first when absent.
/// Returns the key and whether it was generated by this call.
///
/// # Errors
/// [`KeyError`] when the file cannot be read or written, or holds an invalid key.
pub fn dev_signing_key(dir: &Path) -> Result<(SigningKey, bool), KeyError> {
    let path = dir.join(DEV_SIGNING_KEY_FILE);
    let generated = !path.exists();
    if generated {
        write_secret_file(&path, generate_rsa_pem()?.expose_secret())?;
    }
    Ok((SigningKey::from_file(&path)?, generated))
}

/// Loads the development Fernet key from `dir`, generating it first when absent.
/// Returns the one-key ring and whether it was generated by this call.
///
/// # Errors
/// [`KeyError`] when the file cannot be read or written, or holds an invalid key.
pub fn dev_fernet_keys(dir: &Path) -> Result<(FernetKeyRing, bool), KeyError> {
    let path = dir.join(DEV_FERNET_KEY_FILE);
    let generated = !path.exists();
    if generated {
        write_secret_file(
            &path,
            &format!("{}\n", generate_fernet_key().expose_secret()),
        )?;
    }
    let text = fs::read_to_string(&path).map_err(|source| KeyError::Io {
        path: path.clone(),
        source,
    })?;
    Ok((FernetKeyRing::parse(&text)?, generated))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_keys_are_generated_once_then_reused() {
        let dir = tempfile::tempdir().unwrap();
        let (signing, generated) = dev_signing_key(dir.path()).unwrap();
        assert!(generated);
        let (again, generated) = dev_signing_key(dir.path()).unwrap();
        assert!(!generated);
        assert_eq!(signing.kid(), again.kid());
        assert!(
            signing
                .public_pem()
                .starts_with("-----BEGIN PUBLIC KEY-----")
        );
        let (ring, generated) = dev_fernet_keys(dir.path()).unwrap();
        assert!(generated);
        let (ring_again, generated) = dev_fernet_keys(dir.path()).unwrap();
        assert!(!generated);
        assert_eq!(ring.keys().next(), ring_again.keys().next());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = fs::metadata(dir.path().join(DEV_SIGNING_KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn generated_key_files_load_and_are_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let generated = generate_key_files(dir.path()).unwrap();
        assert_eq!(generated.files.len(), 3);
        let key = SigningKey::from_file(&dir.path().join(DEV_SIGNING_KEY_FILE)).unwrap();
        assert_eq!(key.kid(), generated.kid);
        assert!(
            fs::read_to_string(dir.path().join(DEV_SIGNING_KEY_FILE))
                .unwrap()
                .starts_with("-----BEGIN PRIVATE KEY-----"),
            "PKCS#8"
        );
        let public = fs::read_to_string(dir.path().join("jwt-public-key.pem")).unwrap();
        assert_eq!(key_id(public.as_bytes()), generated.kid);
        FernetKeyRing::parse(&fs::read_to_string(dir.path().join(DEV_FERNET_KEY_FILE)).unwrap())
            .unwrap();
        assert!(matches!(
            generate_key_files(dir.path()),
            Err(KeyError::Io { .. })
        ));
    }

    #[test]
    fn invalid_keys_are_refused_with_a_reason() {
        assert!(matches!(
            SigningKey::from_pem("nope"),
            Err(KeyError::InvalidRsa(_))
        ));
        assert!(matches!(
            FernetKeyRing::parse(" , "),
            Err(KeyError::EmptyFernetRing)
        ));
        let good = generate_fernet_key();
        let ring = format!("{}, short", good.expose_secret());
        assert!(matches!(
            FernetKeyRing::parse(&ring),
            Err(KeyError::InvalidFernet { index: 1 })
        ));
        assert_eq!(FernetKeyRing::parse(good.expose_secret()).unwrap().len(), 1);
    }

    #[test]
    fn debug_output_never_contains_key_material() {
        let k = generate_fernet_key();
        let ring = FernetKeyRing::parse(k.expose_secret()).unwrap();
        assert!(!format!("{ring:?}").contains(k.expose_secret()));
    }
}
