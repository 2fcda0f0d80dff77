//! The document vault (D9): Fernet-encrypted blobs in one directory, under random names.
//!
//! New blobs are written by a streaming encryptor that produces a standard Fernet token
//! (version `0x80`, timestamp, IV, AES-128-CBC ciphertext with PKCS#7, HMAC-SHA256, URL-safe
//! base64) chunk by chunk, so an upload never holds its plaintext in memory nor writes it to
//! disk. Blobs are read back with the `fernet` crate, trying every key of the ring (a Fernet
//! token does not name its key; its HMAC tells a wrong key at once), which also proves the
//! streaming format is the standard one.

use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Write as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aes::Aes128;
use aes::cipher::{BlockEncrypt as _, KeyInit as _, generic_array::GenericArray};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE;
use erp_domain::document::SIGNATURE_BYTES;
use erp_domain::ports::{BlobSink, DocumentVault, SealedBlob, VaultError};
use hmac::{Hmac, Mac as _};
use sha2::{Digest as _, Sha256};

use crate::keys::FernetKeyRing;
use crate::random::random_bytes;

/// Suffix of a blob being written (renamed to `.enc` when sealed).
pub const PARTIAL_SUFFIX: &str = ".part";
const WRITE_BUFFER: usize = 64 * 1024;

/// One key of the ring.
struct RingKey {
    id: String,
    signing: [u8; 16],
    encryption: [u8; 16],
    fernet: fernet::Fernet,
}

/// Encrypted blobs in `dir`, with the Fernet key ring (the first key encrypts).
pub struct FernetVault {
    dir: PathBuf,
    keys: Vec<RingKey>,
}

impl std::fmt::Debug for FernetVault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FernetVault")
            .field("dir", &self.dir)
            .field("keys", &self.keys.iter().map(|k| &k.id).collect::<Vec<_>>())
            .finish()
    }
}

fn io(e: &std::io::Error) -> VaultError {
    VaultError::Io(e.to_string())
}

impl FernetVault {
    /// A vault over `dir` (created with mode 0700 when absent).
    ///
    /// # Errors
    /// [`VaultError::Io`] when the directory cannot be created; [`VaultError::Undecryptable`]
    /// for a key the `fernet` crate refuses (never for a ring that parsed).
    pub fn new(dir: &Path, ring: &FernetKeyRing) -> Result<Self, VaultError> {
        let mut builder = fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt as _;
            builder.mode(0o700);
        }
        builder.create(dir).map_err(|e| io(&e))?;
        let mut keys = Vec::new();
        for (raw, encoded) in ring.raw_keys().into_iter().zip(ring.keys()) {
            let fernet = fernet::Fernet::new(encoded)
                .ok_or_else(|| VaultError::Undecryptable("invalid key in the ring".into()))?;
            let mut signing = [0_u8; 16];
            signing.copy_from_slice(&raw[..16]);
            let mut encryption = [0_u8; 16];
            encryption.copy_from_slice(&raw[16..]);
            keys.push(RingKey {
                id: crate::keys::key_id(&raw),
                signing,
                encryption,
                fernet,
            });
        }
        if keys.is_empty() {
            return Err(VaultError::Undecryptable("empty key ring".into()));
        }
        Ok(Self {
            dir: dir.to_owned(),
            keys,
        })
    }

    /// The storage directory.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path_of(&self, nom_stockage: &str) -> Result<PathBuf, VaultError> {
        if erp_domain::document::is_blob_name(nom_stockage) {
            Ok(self.dir.join(nom_stockage))
        } else {
            Err(VaultError::Missing(format!(
                "not a blob name: {nom_stockage:?}"
            )))
        }
    }

    fn decrypt(&self, nom_stockage: &str) -> Result<Vec<u8>, VaultError> {
        let path = self.path_of(nom_stockage)?;
        let token = match fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(VaultError::Missing(nom_stockage.to_owned()));
            }
            Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                return Err(VaultError::Undecryptable(nom_stockage.to_owned()));
            }
            Err(e) => return Err(io(&e)),
        };
        self.keys
            .iter()
            .find_map(|k| k.fernet.decrypt(token.trim_end()).ok())
            .ok_or_else(|| VaultError::Undecryptable(nom_stockage.to_owned()))
    }
}

fn check_sha(plain: &[u8], expected: &str, name: &str) -> Result<(), VaultError> {
    if hex::encode(Sha256::digest(plain)) == expected {
        Ok(())
    } else {
        Err(VaultError::Integrity(name.to_owned()))
    }
}

impl DocumentVault for FernetVault {
    fn current_key_id(&self) -> String {
        self.keys.first().map(|k| k.id.clone()).unwrap_or_default()
    }

    fn create(&self) -> Result<Box<dyn BlobSink>, VaultError> {
        let key = self
            .keys
            .first()
            .ok_or_else(|| VaultError::Undecryptable("empty key ring".into()))?;
        let name = format!("{}.enc", hex::encode(random_bytes(16)));
        let partial = self.dir.join(format!("{name}{PARTIAL_SUFFIX}"));
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
        }
        let file = options.open(&partial).map_err(|e| io(&e))?;
        let mut sink = FernetSink {
            file: Some(BufWriter::with_capacity(WRITE_BUFFER, file)),
            final_path: self.dir.join(&name),
            partial,
            name,
            key_id: key.id.clone(),
            cipher: Aes128::new(GenericArray::from_slice(&key.encryption)),
            mac: <Hmac<Sha256> as hmac::Mac>::new_from_slice(&key.signing)
                .map_err(|e| VaultError::Io(e.to_string()))?,
            sha: Sha256::new(),
            chain: [0; 16],
            pending: Vec::with_capacity(16),
            carry: Vec::with_capacity(3),
            encoded: String::new(),
            size: 0,
            head: Vec::with_capacity(SIGNATURE_BYTES),
        };
        let iv = random_bytes(16);
        sink.chain.copy_from_slice(&iv);
        let seconds = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let mut header = Vec::with_capacity(25);
        header.push(0x80);
        header.extend_from_slice(&seconds.to_be_bytes());
        header.extend_from_slice(&iv);
        sink.emit(&header, true)?;
        Ok(Box::new(sink))
    }

    fn blobs_older_than(&self, age: Duration) -> Result<Vec<String>, VaultError> {
        // File times come from the file system's clock, so "now" does too.
        let before = SystemTime::now().checked_sub(age).unwrap_or(UNIX_EPOCH);
        let mut out = Vec::new();
        for entry in fs::read_dir(&self.dir).map_err(|e| io(&e))? {
            let entry = entry.map_err(|e| io(&e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let blob = name.strip_suffix(PARTIAL_SUFFIX).unwrap_or(&name);
            if !erp_domain::document::is_blob_name(blob) {
                continue;
            }
            let modified = entry
                .metadata()
                .and_then(|m| m.modified())
                .map_err(|e| io(&e))?;
            if modified < before {
                out.push(name);
            }
        }
        out.sort();
        Ok(out)
    }

    fn remove_stale(&self, name: &str) -> Result<(), VaultError> {
        let blob = name.strip_suffix(PARTIAL_SUFFIX).unwrap_or(name);
        if !erp_domain::document::is_blob_name(blob) {
            return Err(VaultError::Missing(format!("not a blob name: {name}")));
        }
        match fs::remove_file(self.dir.join(name)) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io(&e)),
        }
    }

    fn open(&self, nom_stockage: &str, sha256: &str) -> Result<Vec<u8>, VaultError> {
        let plain = self.decrypt(nom_stockage)?;
        check_sha(&plain, sha256, nom_stockage)?;
        Ok(plain)
    }

    fn delete(&self, nom_stockage: &str) -> Result<(), VaultError> {
        match fs::remove_file(self.path_of(nom_stockage)?) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io(&e)),
        }
    }

    fn reencrypt(&self, nom_stockage: &str, sha256: &str) -> Result<SealedBlob, VaultError> {
        let plain = self.open(nom_stockage, sha256)?;
        let mut sink = self.create()?;
        for chunk in plain.chunks(WRITE_BUFFER) {
            sink.write(chunk)?;
        }
        sink.seal()
    }
}

/// A Fernet token being written: CBC state, running HMAC, running SHA-256 of the plaintext,
/// and base64 output carried over 3-byte boundaries.
struct FernetSink {
    file: Option<BufWriter<File>>,
    partial: PathBuf,
    final_path: PathBuf,
    name: String,
    key_id: String,
    cipher: Aes128,
    mac: Hmac<Sha256>,
    sha: Sha256,
    /// The previous ciphertext block (the IV at first).
    chain: [u8; 16],
    /// Plaintext not yet a full block.
    pending: Vec<u8>,
    /// Token bytes not yet a full base64 group.
    carry: Vec<u8>,
    encoded: String,
    size: u64,
    head: Vec<u8>,
}

impl std::fmt::Debug for FernetSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FernetSink")
            .field("name", &self.name)
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

impl FernetSink {
    /// Appends token bytes: authenticated (header and ciphertext) unless it is the HMAC itself.
    fn emit(&mut self, bytes: &[u8], authenticated: bool) -> Result<(), VaultError> {
        if authenticated {
            self.mac.update(bytes);
        }
        self.carry.extend_from_slice(bytes);
        let whole = self.carry.len() / 3 * 3;
        if whole > 0 {
            self.encoded.clear();
            URL_SAFE.encode_string(&self.carry[..whole], &mut self.encoded);
            self.carry.drain(..whole);
            let file = self
                .file
                .as_mut()
                .ok_or_else(|| VaultError::Io("sink already sealed".into()))?;
            file.write_all(self.encoded.as_bytes())
                .map_err(|e| io(&e))?;
        }
        Ok(())
    }

    fn encrypt_block(&mut self, block: &[u8]) -> Result<(), VaultError> {
        let mut b = [0_u8; 16];
        for (i, byte) in b.iter_mut().enumerate() {
            *byte = block.get(i).copied().unwrap_or(0) ^ self.chain[i];
        }
        let mut ga = GenericArray::from(b);
        self.cipher.encrypt_block(&mut ga);
        self.chain.copy_from_slice(&ga);
        let out = self.chain;
        self.emit(&out, true)
    }
}

impl BlobSink for FernetSink {
    fn write(&mut self, mut chunk: &[u8]) -> Result<(), VaultError> {
        self.sha.update(chunk);
        self.size += chunk.len() as u64;
        if self.head.len() < SIGNATURE_BYTES {
            let take = (SIGNATURE_BYTES - self.head.len()).min(chunk.len());
            self.head.extend_from_slice(&chunk[..take]);
        }
        if !self.pending.is_empty() {
            let take = (16 - self.pending.len()).min(chunk.len());
            self.pending.extend_from_slice(&chunk[..take]);
            chunk = &chunk[take..];
            if self.pending.len() < 16 {
                return Ok(());
            }
            let block = std::mem::take(&mut self.pending);
            self.encrypt_block(&block)?;
            self.pending = block;
            self.pending.clear();
        }
        let mut blocks = chunk.chunks_exact(16);
        for block in blocks.by_ref() {
            self.encrypt_block(block)?;
        }
        self.pending.extend_from_slice(blocks.remainder());
        Ok(())
    }

    fn size(&self) -> u64 {
        self.size
    }

    fn head(&self) -> &[u8] {
        &self.head
    }

    fn seal(mut self: Box<Self>) -> Result<SealedBlob, VaultError> {
        // PKCS#7: always pad, a full block of 16 when the plaintext is block-aligned.
        let pad = 16 - self.pending.len();
        let mut last = std::mem::take(&mut self.pending);
        last.resize(16, u8::try_from(pad).unwrap_or(16));
        self.encrypt_block(&last)?;
        let tag = self.mac.clone().finalize().into_bytes();
        self.emit(&tag, false)?;
        self.encoded.clear();
        URL_SAFE.encode_string(&self.carry, &mut self.encoded);
        self.carry.clear();
        let mut file = self
            .file
            .take()
            .ok_or_else(|| VaultError::Io("sink already sealed".into()))?;
        file.write_all(self.encoded.as_bytes())
            .map_err(|e| io(&e))?;
        let file = file.into_inner().map_err(|e| io(e.error()))?;
        file.sync_all().map_err(|e| io(&e))?;
        drop(file);
        fs::rename(&self.partial, &self.final_path).map_err(|e| io(&e))?;
        if let Some(dir) = self.final_path.parent()
            && let Ok(d) = File::open(dir)
        {
            // Makes the rename durable; not fatal where directories cannot be synced.
            let _ = d.sync_all();
        }
        Ok(SealedBlob {
            nom_stockage: self.name.clone(),
            cle_id: self.key_id.clone(),
            sha256: hex::encode(self.sha.clone().finalize()),
            taille: self.size,
        })
    }
}

impl Drop for FernetSink {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            // Never sealed: the partial blob is useless.
            let _ = fs::remove_file(&self.partial);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::generate_fernet_key;
    use secrecy::ExposeSecret as _;

    fn ring(keys: &[&str]) -> FernetKeyRing {
        FernetKeyRing::parse(&keys.join(",")).unwrap()
    }

    fn store(vault: &FernetVault, data: &[u8], chunk: usize) -> SealedBlob {
        let mut sink = vault.create().unwrap();
        for c in data.chunks(chunk.max(1)) {
            sink.write(c).unwrap();
        }
        sink.seal().unwrap()
    }

    #[test]
    fn streamed_tokens_are_standard_fernet_for_every_length_and_chunking() {
        let dir = tempfile::tempdir().unwrap();
        let key = generate_fernet_key();
        let vault = FernetVault::new(dir.path(), &ring(&[key.expose_secret()])).unwrap();
        let reference = fernet::Fernet::new(key.expose_secret()).unwrap();
        for len in [0_usize, 1, 2, 3, 15, 16, 17, 31, 32, 33, 100, 4099] {
            let data: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
            for chunk in [1, 5, 16, 1000] {
                let sealed = store(&vault, &data, chunk);
                assert_eq!(sealed.taille, len as u64);
                assert_eq!(sealed.sha256, hex::encode(Sha256::digest(&data)));
                let token = fs::read_to_string(dir.path().join(&sealed.nom_stockage)).unwrap();
                assert_eq!(
                    reference.decrypt(&token).unwrap(),
                    data,
                    "len {len} chunk {chunk}"
                );
                assert_eq!(
                    vault.open(&sealed.nom_stockage, &sealed.sha256).unwrap(),
                    data
                );
            }
        }
    }

    #[test]
    fn blobs_are_not_plaintext_and_are_named_randomly() {
        let dir = tempfile::tempdir().unwrap();
        let key = generate_fernet_key();
        let vault = FernetVault::new(dir.path(), &ring(&[key.expose_secret()])).unwrap();
        let secret = b"rapport confidentiel de maintenance";
        let a = store(&vault, secret, 7);
        let b = store(&vault, secret, 7);
        assert_ne!(a.nom_stockage, b.nom_stockage);
        assert!(erp_domain::document::is_blob_name(&a.nom_stockage));
        let raw = fs::read(dir.path().join(&a.nom_stockage)).unwrap();
        assert!(!raw.windows(secret.len()).any(|w| w == secret));
        assert_eq!(
            a.cle_id,
            crate::keys::key_id(&ring(&[key.expose_secret()]).raw_keys()[0])
        );
    }

    #[test]
    fn old_keys_decrypt_and_reencryption_moves_to_the_newest() {
        let dir = tempfile::tempdir().unwrap();
        let old = generate_fernet_key();
        let new = generate_fernet_key();
        let before = FernetVault::new(dir.path(), &ring(&[old.expose_secret()])).unwrap();
        let sealed = store(&before, b"%PDF-1.4 data", 4);
        let after = FernetVault::new(
            dir.path(),
            &ring(&[new.expose_secret(), old.expose_secret()]),
        )
        .unwrap();
        assert_ne!(after.current_key_id(), sealed.cle_id);
        assert_eq!(
            after.open(&sealed.nom_stockage, &sealed.sha256).unwrap(),
            b"%PDF-1.4 data"
        );
        let moved = after
            .reencrypt(&sealed.nom_stockage, &sealed.sha256)
            .unwrap();
        assert_eq!(moved.cle_id, after.current_key_id());
        assert_eq!(moved.sha256, sealed.sha256);
        let only_new = FernetVault::new(dir.path(), &ring(&[new.expose_secret()])).unwrap();
        assert_eq!(
            only_new.open(&moved.nom_stockage, &moved.sha256).unwrap(),
            b"%PDF-1.4 data"
        );
        assert!(matches!(
            only_new.open(&sealed.nom_stockage, &sealed.sha256),
            Err(VaultError::Undecryptable(_))
        ));
    }

    #[test]
    fn missing_tampered_and_unsealed_blobs() {
        let dir = tempfile::tempdir().unwrap();
        let key = generate_fernet_key();
        let vault = FernetVault::new(dir.path(), &ring(&[key.expose_secret()])).unwrap();
        let sealed = store(&vault, b"hello", 2);
        assert!(matches!(
            vault.open(&sealed.nom_stockage, &"0".repeat(64)),
            Err(VaultError::Integrity(_))
        ));
        assert!(matches!(
            vault.open("0123456789abcdef0123456789abcdef.enc", &sealed.sha256),
            Err(VaultError::Missing(_))
        ));
        assert!(matches!(
            vault.open("../etc/passwd", "x"),
            Err(VaultError::Missing(_))
        ));
        vault.delete(&sealed.nom_stockage).unwrap();
        vault.delete(&sealed.nom_stockage).unwrap();
        let mut sink = vault.create().unwrap();
        sink.write(b"abc").unwrap();
        drop(sink);
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            0,
            "partial blob removed"
        );
    }
}
