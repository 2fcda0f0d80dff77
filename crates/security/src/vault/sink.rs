//! The streaming Fernet encryptor: plaintext in, a standard Fernet token out (version `0x80`,
//! timestamp, IV, AES-128-CBC ciphertext with PKCS#7, HMAC-SHA256, URL-safe base64 with
//! padding), chunk by chunk into a blob writer, in bounded memory.

use std::time::{SystemTime, UNIX_EPOCH};

use aes::Aes128;
use aes::cipher::{BlockEncrypt as _, KeyInit as _, generic_array::GenericArray};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE;
use erp_domain::document::SIGNATURE_BYTES;
use erp_domain::ports::{BlobSink, BlobWriter, SealedBlob, VaultError};
use hmac::{Hmac, Mac as _};
use sha2::{Digest as _, Sha256};

use super::ring::RingKey;
use crate::random::random_bytes;

/// Token text buffered before it goes to the blob writer.
const OUT_BUFFER: usize = 64 * 1024;

/// A Fernet token being written: CBC state, running HMAC, running SHA-256 of the plaintext,
/// and base64 output carried over 3-byte boundaries.
pub(super) struct FernetSink {
    writer: Option<Box<dyn BlobWriter>>,
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
    /// Token text not yet handed to the writer.
    out: String,
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
    /// A token for `name` under `key`, written into `writer`; the header goes out at once.
    pub(super) fn start(
        writer: Box<dyn BlobWriter>,
        name: String,
        key: &RingKey,
    ) -> Result<Self, VaultError> {
        let mut sink = Self {
            writer: Some(writer),
            name,
            key_id: key.id.clone(),
            cipher: Aes128::new(GenericArray::from_slice(&key.encryption)),
            mac: <Hmac<Sha256> as hmac::Mac>::new_from_slice(&key.signing)
                .map_err(|e| VaultError::Io(e.to_string()))?,
            sha: Sha256::new(),
            chain: [0; 16],
            pending: Vec::with_capacity(16),
            carry: Vec::with_capacity(3),
            out: String::with_capacity(OUT_BUFFER + 64),
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
        Ok(sink)
    }

    fn writer(&mut self) -> Result<&mut Box<dyn BlobWriter>, VaultError> {
        self.writer
            .as_mut()
            .ok_or_else(|| VaultError::Io("sink already sealed".into()))
    }

    fn flush(&mut self) -> Result<(), VaultError> {
        let out = std::mem::take(&mut self.out);
        let written = self.writer()?.write(out.as_bytes());
        self.out = out;
        self.out.clear();
        Ok(written?)
    }

    /// Appends token bytes: authenticated (header and ciphertext) unless it is the HMAC itself.
    fn emit(&mut self, bytes: &[u8], authenticated: bool) -> Result<(), VaultError> {
        if authenticated {
            self.mac.update(bytes);
        }
        self.carry.extend_from_slice(bytes);
        let whole = self.carry.len() / 3 * 3;
        if whole > 0 {
            URL_SAFE.encode_string(&self.carry[..whole], &mut self.out);
            self.carry.drain(..whole);
            if self.out.len() >= OUT_BUFFER {
                self.flush()?;
            }
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
        let carry = std::mem::take(&mut self.carry);
        URL_SAFE.encode_string(&carry, &mut self.out);
        self.flush()?;
        let writer = self
            .writer
            .take()
            .ok_or_else(|| VaultError::Io("sink already sealed".into()))?;
        writer.commit()?;
        Ok(SealedBlob {
            nom_stockage: self.name.clone(),
            cle_id: self.key_id.clone(),
            sha256: hex::encode(self.sha.clone().finalize()),
            taille: self.size,
        })
    }
}
