//! The document vault (D9): Fernet-encrypted blobs under random names, in a blob store (a
//! directory or an S3-compatible bucket: the vault does not know which).
//!
//! New blobs are written by a streaming encryptor that produces a standard Fernet token
//! chunk by chunk ([`sink`]), so an upload never holds its plaintext in memory nor writes it to
//! storage. Blobs are read back verify-then-decrypt ([`reader`]): the whole token is
//! authenticated (HMAC-SHA256 under each key of the ring: a token does not name its key) and
//! its plaintext checked against the recorded SHA-256 in a first streaming pass, and only then
//! decrypted for the caller in a second pass over the same blob. Memory stays bounded by a few
//! 64 KiB buffers whatever the file size.

mod reader;
mod ring;
mod sink;

use std::sync::Arc;
use std::time::Duration;

use erp_domain::ports::{BlobSink, BlobStore, DocumentVault, PlainReader, SealedBlob, VaultError};

use crate::keys::FernetKeyRing;
use crate::random::random_bytes;
use ring::RingKey;

/// Plaintext copied per step of a re-encryption.
const COPY_CHUNK: usize = 64 * 1024;

/// Encrypted blobs in a blob store, with the Fernet key ring (the first key encrypts).
pub struct FernetVault {
    store: Arc<dyn BlobStore>,
    keys: Vec<RingKey>,
}

impl std::fmt::Debug for FernetVault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FernetVault")
            .field("store", &self.store)
            .field("keys", &self.keys.iter().map(|k| &k.id).collect::<Vec<_>>())
            .finish()
    }
}

impl FernetVault {
    /// A vault over `store` with the ring's keys.
    ///
    /// # Errors
    /// [`VaultError::Undecryptable`] for an empty ring or a key that is not 32 bytes (never
    /// for a ring that parsed).
    pub fn new(store: Arc<dyn BlobStore>, ring: &FernetKeyRing) -> Result<Self, VaultError> {
        let mut keys = Vec::new();
        for raw in ring.raw_keys() {
            let key = RingKey::from_raw(&raw)
                .ok_or_else(|| VaultError::Undecryptable("invalid key in the ring".into()))?;
            keys.push(key);
        }
        if keys.is_empty() {
            return Err(VaultError::Undecryptable("empty key ring".into()));
        }
        Ok(Self { store, keys })
    }

    /// The blob store.
    #[must_use]
    pub fn store(&self) -> &Arc<dyn BlobStore> {
        &self.store
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
        let writer = self.store.create(&name)?;
        Ok(Box::new(sink::FernetSink::start(writer, name, key)?))
    }

    fn open(&self, nom_stockage: &str, sha256: &str) -> Result<Box<dyn PlainReader>, VaultError> {
        let blob = self.store.open(nom_stockage)?;
        reader::open_verified(&self.keys, blob, nom_stockage, sha256)
    }

    fn delete(&self, nom_stockage: &str) -> Result<(), VaultError> {
        Ok(self.store.delete(nom_stockage)?)
    }

    fn reencrypt(&self, nom_stockage: &str, sha256: &str) -> Result<SealedBlob, VaultError> {
        let mut plain = self.open(nom_stockage, sha256)?;
        let mut sink = self.create()?;
        let mut buf = vec![0_u8; COPY_CHUNK];
        loop {
            let n = plain.read(&mut buf)?;
            if n == 0 {
                break;
            }
            sink.write(&buf[..n])?;
        }
        let sealed = sink.seal()?;
        if sealed.sha256 != sha256 {
            let _ = self.store.delete(&sealed.nom_stockage);
            return Err(VaultError::Integrity(nom_stockage.to_owned()));
        }
        Ok(sealed)
    }

    fn blobs_older_than(&self, age: Duration) -> Result<Vec<String>, VaultError> {
        Ok(self.store.older_than(age)?)
    }

    fn remove_stale(&self, name: &str) -> Result<(), VaultError> {
        Ok(self.store.remove_stale(name)?)
    }
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::path::Path;

    use super::*;
    use crate::keys::generate_fernet_key;
    use erp_storage::FsBlobStore;
    use secrecy::ExposeSecret as _;
    use sha2::{Digest as _, Sha256};

    fn ring(keys: &[&str]) -> FernetKeyRing {
        FernetKeyRing::parse(&keys.join(",")).unwrap()
    }

    fn vault(dir: &Path, keys: &[&str]) -> FernetVault {
        FernetVault::new(Arc::new(FsBlobStore::new(dir).unwrap()), &ring(keys)).unwrap()
    }

    fn store(vault: &FernetVault, data: &[u8], chunk: usize) -> SealedBlob {
        let mut sink = vault.create().unwrap();
        for c in data.chunks(chunk.max(1)) {
            sink.write(c).unwrap();
        }
        sink.seal().unwrap()
    }

    fn read_all(vault: &FernetVault, sealed: &SealedBlob) -> Result<Vec<u8>, VaultError> {
        let mut reader = vault.open(&sealed.nom_stockage, &sealed.sha256)?;
        let mut out = Vec::new();
        let mut buf = [0_u8; 1000];
        loop {
            let n = reader.read(&mut buf)?;
            if n == 0 {
                assert_eq!(reader.size(), out.len() as u64);
                return Ok(out);
            }
            out.extend_from_slice(&buf[..n]);
        }
    }

    fn sha_hex(data: &[u8]) -> String {
        hex::encode(Sha256::digest(data))
    }

    #[test]
    fn streamed_tokens_are_standard_fernet_for_every_length_and_chunking() {
        let dir = tempfile::tempdir().unwrap();
        let key = generate_fernet_key();
        let vault = vault(dir.path(), &[key.expose_secret()]);
        let reference = fernet::Fernet::new(key.expose_secret()).unwrap();
        for len in [0_usize, 1, 2, 3, 15, 16, 17, 31, 32, 33, 100, 4099, 200_000] {
            let data: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
            for chunk in [1, 5, 16, 1000, 70_000] {
                if len > 10_000 && chunk < 1000 {
                    continue;
                }
                let sealed = store(&vault, &data, chunk);
                assert_eq!(sealed.taille, len as u64);
                assert_eq!(sealed.sha256, sha_hex(&data));
                let token = fs::read_to_string(dir.path().join(&sealed.nom_stockage)).unwrap();
                assert_eq!(
                    reference.decrypt(&token).unwrap(),
                    data,
                    "len {len} chunk {chunk}"
                );
                assert_eq!(read_all(&vault, &sealed).unwrap(), data);
            }
        }
    }

    #[test]
    fn tokens_written_by_other_fernet_implementations_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let key = generate_fernet_key();
        let vault = vault(dir.path(), &[key.expose_secret()]);
        let reference = fernet::Fernet::new(key.expose_secret()).unwrap();
        for len in [0_usize, 1, 16, 47, 5000] {
            let data: Vec<u8> = (0..len).map(|i| (i * 13 % 256) as u8).collect();
            let name = format!("{}.enc", hex::encode(random_bytes(16)));
            fs::write(
                dir.path().join(&name),
                format!("{}\n", reference.encrypt(&data)),
            )
            .unwrap();
            let sealed = SealedBlob {
                nom_stockage: name,
                cle_id: vault.current_key_id(),
                sha256: sha_hex(&data),
                taille: len as u64,
            };
            assert_eq!(read_all(&vault, &sealed).unwrap(), data, "len {len}");
        }
    }

    #[test]
    fn blobs_are_not_plaintext_and_are_named_randomly() {
        let dir = tempfile::tempdir().unwrap();
        let key = generate_fernet_key();
        let vault = vault(dir.path(), &[key.expose_secret()]);
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
        let before = vault(dir.path(), &[old.expose_secret()]);
        let data: Vec<u8> = (0..300_000_u32).map(|i| (i % 253) as u8).collect();
        let sealed = store(&before, &data, 4096);
        let after = vault(dir.path(), &[new.expose_secret(), old.expose_secret()]);
        assert_ne!(after.current_key_id(), sealed.cle_id);
        assert_eq!(read_all(&after, &sealed).unwrap(), data);
        let moved = after
            .reencrypt(&sealed.nom_stockage, &sealed.sha256)
            .unwrap();
        assert_eq!(moved.cle_id, after.current_key_id());
        assert_eq!(moved.sha256, sealed.sha256);
        let only_new = vault(dir.path(), &[new.expose_secret()]);
        assert_eq!(read_all(&only_new, &moved).unwrap(), data);
        assert!(matches!(
            read_all(&only_new, &sealed),
            Err(VaultError::Undecryptable(_))
        ));
    }

    #[test]
    fn tampering_with_any_byte_is_refused_before_any_plaintext() {
        let dir = tempfile::tempdir().unwrap();
        let key = generate_fernet_key();
        let vault = vault(dir.path(), &[key.expose_secret()]);
        let data: Vec<u8> = (0..200_u8).collect();
        let sealed = store(&vault, &data, 64);
        let path = dir.path().join(&sealed.nom_stockage);
        let original = fs::read(&path).unwrap();
        for i in 0..original.len() {
            let mut bytes = original.clone();
            bytes[i] = match bytes[i] {
                b'A' => b'B',
                b'=' => b'A',
                _ => b'A',
            };
            fs::write(&path, &bytes).unwrap();
            let opened = vault.open(&sealed.nom_stockage, &sealed.sha256);
            assert!(
                matches!(opened, Err(VaultError::Undecryptable(_))),
                "byte {i} of {}: {opened:?}",
                original.len()
            );
        }
        for cut in [
            0,
            1,
            10,
            40,
            original.len() / 2,
            original.len() - 44,
            original.len() - 1,
        ] {
            fs::write(&path, &original[..cut]).unwrap();
            assert!(
                matches!(
                    vault.open(&sealed.nom_stockage, &sealed.sha256),
                    Err(VaultError::Undecryptable(_))
                ),
                "truncated at {cut}"
            );
        }
        fs::write(&path, &original).unwrap();
        assert_eq!(read_all(&vault, &sealed).unwrap(), data);
    }

    #[test]
    fn a_valid_blob_under_the_wrong_name_fails_its_sha256() {
        let dir = tempfile::tempdir().unwrap();
        let key = generate_fernet_key();
        let vault = vault(dir.path(), &[key.expose_secret()]);
        let a = store(&vault, b"document A", 3);
        let b = store(&vault, b"document B", 3);
        fs::copy(
            dir.path().join(&b.nom_stockage),
            dir.path().join(&a.nom_stockage),
        )
        .unwrap();
        assert!(matches!(
            read_all(&vault, &a),
            Err(VaultError::Integrity(_))
        ));
    }

    #[test]
    fn bytes_changed_between_the_passes_stop_the_second_one() {
        let dir = tempfile::tempdir().unwrap();
        let key = generate_fernet_key();
        let vault = vault(dir.path(), &[key.expose_secret()]);
        let data = vec![7_u8; 300_000];
        let sealed = store(&vault, &data, 10_000);
        let other = store(&vault, &vec![8_u8; 300_000], 10_000);
        let mut reader = vault.open(&sealed.nom_stockage, &sealed.sha256).unwrap();
        // Rewritten in place (same file, so the open reader sees it): a broken storage.
        let replacement = fs::read(dir.path().join(&other.nom_stockage)).unwrap();
        fs::write(dir.path().join(&sealed.nom_stockage), replacement).unwrap();
        let mut buf = vec![0_u8; 64 * 1024];
        let outcome = loop {
            match reader.read(&mut buf) {
                Ok(0) => break Ok(()),
                Ok(_) => {}
                Err(e) => break Err(e),
            }
        };
        assert!(
            matches!(outcome, Err(VaultError::Integrity(_))),
            "{outcome:?}"
        );
        assert_eq!(
            reader.read(&mut buf).unwrap(),
            0,
            "nothing after the failure"
        );
    }

    #[test]
    fn missing_and_unsealed_blobs() {
        let dir = tempfile::tempdir().unwrap();
        let key = generate_fernet_key();
        let vault = vault(dir.path(), &[key.expose_secret()]);
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
