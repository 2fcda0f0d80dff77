//! Reading a Fernet token back in bounded memory, verify-then-decrypt (docs/decisions.md,
//! "Document downloads"): a first pass over the whole blob checks the HMAC-SHA256 under every
//! key of the ring and, decrypting and discarding, the PKCS#7 padding and the recorded SHA-256
//! of the plaintext; only then does a second pass over the same blob (the same open file, or
//! the same S3 object version by its ETag) decrypt into the caller's buffer. The second pass
//! checks everything again and fails its last read if the stored bytes changed in between.

use aes::Aes128;
use aes::cipher::{BlockDecrypt as _, KeyInit as _, generic_array::GenericArray};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE;
use erp_domain::ports::{BlobReader, PlainReader, VaultError};
use hmac::{Hmac, Mac as _};
use sha2::{Digest as _, Sha256};

use super::ring::RingKey;

/// Token text read from the store at a time.
const READ_CHUNK: usize = 64 * 1024;
/// Version byte, timestamp and IV.
const HEADER: usize = 25;
/// HMAC-SHA256.
const TAG: usize = 32;

fn malformed(name: &str, why: &str) -> VaultError {
    VaultError::Undecryptable(format!("{name}: {why}"))
}

/// The bytes of a token, base64url-decoded as the text is read. Trailing whitespace is
/// allowed (tokens written by other tools end with a newline); anything after it, or padding
/// anywhere but in the last group, is not.
struct TokenBytes {
    blob: Box<dyn BlobReader>,
    name: String,
    raw: Vec<u8>,
    /// Text not decoded yet (the last group is always held back until the end).
    text: Vec<u8>,
    trailing: bool,
    eof: bool,
}

impl TokenBytes {
    fn new(blob: Box<dyn BlobReader>, name: &str) -> Self {
        Self {
            blob,
            name: name.to_owned(),
            raw: vec![0; READ_CHUNK],
            text: Vec::with_capacity(READ_CHUNK + 8),
            trailing: false,
            eof: false,
        }
    }

    /// Appends the next decoded bytes to `out`; `Ok(false)` once the token is over.
    fn next(&mut self, out: &mut Vec<u8>) -> Result<bool, VaultError> {
        if self.eof {
            return Ok(false);
        }
        let n = self.blob.read(&mut self.raw)?;
        if n == 0 {
            self.eof = true;
            if !self.text.len().is_multiple_of(4) {
                return Err(malformed(&self.name, "truncated base64"));
            }
            URL_SAFE
                .decode_vec(&self.text, out)
                .map_err(|e| malformed(&self.name, &e.to_string()))?;
            self.text.clear();
            return Ok(true);
        }
        for &b in &self.raw[..n] {
            if b.is_ascii_whitespace() {
                self.trailing = true;
            } else if self.trailing {
                return Err(malformed(&self.name, "text after the end of the token"));
            } else {
                self.text.push(b);
            }
        }
        let take = self.text.len().saturating_sub(4) / 4 * 4;
        if self.text[..take].contains(&b'=') {
            return Err(malformed(&self.name, "padding inside the token"));
        }
        URL_SAFE
            .decode_vec(&self.text[..take], out)
            .map_err(|e| malformed(&self.name, &e.to_string()))?;
        self.text.drain(..take);
        Ok(true)
    }

    fn rewind(&mut self) -> Result<(), VaultError> {
        self.blob.rewind()?;
        self.text.clear();
        self.trailing = false;
        self.eof = false;
        Ok(())
    }
}

/// A token cut into its parts as it is decoded: the header, whole ciphertext blocks, the tag.
struct TokenParts {
    bytes: TokenBytes,
    /// Decoded bytes not handed out yet (at most a block and the tag once past the header).
    pending: Vec<u8>,
    header: Vec<u8>,
}

impl TokenParts {
    fn new(bytes: TokenBytes) -> Self {
        Self {
            bytes,
            pending: Vec::with_capacity(READ_CHUNK),
            header: Vec::with_capacity(HEADER),
        }
    }

    /// Replaces `blocks` with the next whole ciphertext blocks (the header is complete
    /// whenever some are returned). `Ok(false)` at the end: then [`Self::tag`] is the HMAC.
    fn next(&mut self, blocks: &mut Vec<u8>) -> Result<bool, VaultError> {
        blocks.clear();
        loop {
            let more = self.bytes.next(&mut self.pending)?;
            if self.header.len() < HEADER {
                let take = (HEADER - self.header.len()).min(self.pending.len());
                self.header.extend(self.pending.drain(..take));
            }
            if self.header.len() == HEADER {
                let whole = self.pending.len().saturating_sub(TAG) / 16 * 16;
                if whole > 0 {
                    blocks.extend(self.pending.drain(..whole));
                    return Ok(true);
                }
            }
            if !more {
                let name = &self.bytes.name;
                if self.header.len() < HEADER || self.pending.len() != TAG {
                    return Err(malformed(name, "truncated token"));
                }
                if self.header[0] != 0x80 {
                    return Err(malformed(name, "not a Fernet token"));
                }
                return Ok(false);
            }
        }
    }

    fn header(&self) -> &[u8] {
        &self.header
    }

    fn iv(&self) -> &[u8] {
        &self.header[9..HEADER]
    }

    fn tag(&self) -> &[u8] {
        &self.pending
    }

    fn rewind(&mut self) -> Result<(), VaultError> {
        self.bytes.rewind()?;
        self.pending.clear();
        self.header.clear();
        Ok(())
    }
}

/// AES-128-CBC decryption that holds the last block back until the end (its padding).
struct Cbc {
    cipher: Aes128,
    chain: [u8; 16],
    held: Option<[u8; 16]>,
}

impl Cbc {
    fn new(key: &RingKey, iv: &[u8]) -> Self {
        let mut chain = [0; 16];
        chain.copy_from_slice(iv);
        Self {
            cipher: Aes128::new(GenericArray::from_slice(&key.encryption)),
            chain,
            held: None,
        }
    }

    /// Decrypts whole blocks; the plaintext known not to be the last block goes to `out`.
    fn update(&mut self, blocks: &[u8], out: &mut Vec<u8>) {
        for block in blocks.chunks_exact(16) {
            let mut ga = GenericArray::clone_from_slice(block);
            self.cipher.decrypt_block(&mut ga);
            let mut plain = [0_u8; 16];
            for (i, p) in plain.iter_mut().enumerate() {
                *p = ga[i] ^ self.chain[i];
            }
            self.chain.copy_from_slice(block);
            if let Some(previous) = self.held.replace(plain) {
                out.extend_from_slice(&previous);
            }
        }
    }

    /// The last block without its PKCS#7 padding, into `out`; `false` when it is invalid.
    fn finish(&mut self, out: &mut Vec<u8>) -> bool {
        let Some(last) = self.held.take() else {
            return false;
        };
        let pad = usize::from(last[15]);
        if !(1..=16).contains(&pad) || last[16 - pad..].iter().any(|&b| usize::from(b) != pad) {
            return false;
        }
        out.extend_from_slice(&last[..16 - pad]);
        true
    }
}

fn mac_of(key: &RingKey) -> Result<Hmac<Sha256>, VaultError> {
    <Hmac<Sha256> as hmac::Mac>::new_from_slice(&key.signing)
        .map_err(|e| VaultError::Io(e.to_string()))
}

/// One key's view of the first pass.
struct Trial {
    key: usize,
    mac: Hmac<Sha256>,
    cbc: Option<Cbc>,
    sha: Sha256,
    size: u64,
}

/// The first pass: which key authenticates the blob, and its plaintext size. Then the second
/// pass's reader over the same blob.
pub(super) fn open_verified(
    keys: &[RingKey],
    blob: Box<dyn BlobReader>,
    name: &str,
    sha256: &str,
) -> Result<Box<dyn PlainReader>, VaultError> {
    let mut parts = TokenParts::new(TokenBytes::new(blob, name));
    let mut trials = keys
        .iter()
        .enumerate()
        .map(|(key, k)| {
            Ok(Trial {
                key,
                mac: mac_of(k)?,
                cbc: None,
                sha: Sha256::new(),
                size: 0,
            })
        })
        .collect::<Result<Vec<_>, VaultError>>()?;
    let mut blocks = Vec::with_capacity(READ_CHUNK);
    let mut plain = Vec::with_capacity(READ_CHUNK);
    loop {
        let more = parts.next(&mut blocks)?;
        for t in &mut trials {
            let cbc = match &mut t.cbc {
                Some(cbc) => cbc,
                None => {
                    t.mac.update(parts.header());
                    t.cbc.insert(Cbc::new(&keys[t.key], parts.iv()))
                }
            };
            t.mac.update(&blocks);
            cbc.update(&blocks, &mut plain);
            t.sha.update(&plain);
            t.size += plain.len() as u64;
            plain.clear();
        }
        if !more {
            break;
        }
    }
    let tag = parts.tag().to_vec();
    let Some(mut trial) = trials
        .into_iter()
        .find(|t| t.mac.clone().verify_slice(&tag).is_ok())
    else {
        return Err(VaultError::Undecryptable(format!(
            "{name}: no key of the ring authenticates it"
        )));
    };
    if !trial.cbc.as_mut().is_some_and(|c| c.finish(&mut plain)) {
        return Err(malformed(name, "invalid padding"));
    }
    trial.sha.update(&plain);
    trial.size += plain.len() as u64;
    if hex::encode(trial.sha.finalize()) != sha256 {
        return Err(VaultError::Integrity(name.to_owned()));
    }
    parts.rewind()?;
    plain.clear();
    let key = &keys[trial.key];
    Ok(Box::new(FernetReader {
        mac: Some(mac_of(key)?),
        key: key.clone(),
        parts,
        cbc: None,
        sha: Sha256::new(),
        expected_sha: sha256.to_owned(),
        size: trial.size,
        blocks,
        out: plain,
        at: 0,
        done: false,
    }))
}

/// The second pass: decrypts the blob authenticated by the first.
struct FernetReader {
    key: RingKey,
    parts: TokenParts,
    mac: Option<Hmac<Sha256>>,
    cbc: Option<Cbc>,
    sha: Sha256,
    expected_sha: String,
    size: u64,
    blocks: Vec<u8>,
    out: Vec<u8>,
    at: usize,
    done: bool,
}

impl std::fmt::Debug for FernetReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FernetReader")
            .field("blob", &self.parts.bytes.name)
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

impl FernetReader {
    fn changed(&self) -> VaultError {
        VaultError::Integrity(format!(
            "{}: the stored bytes changed between the check and the read",
            self.parts.bytes.name
        ))
    }

    /// Decrypts the next blocks into `out`.
    fn fill(&mut self) -> Result<(), VaultError> {
        self.out.clear();
        self.at = 0;
        let more = self.parts.next(&mut self.blocks)?;
        let mac = self
            .mac
            .as_mut()
            .ok_or_else(|| VaultError::Io("reader over".into()))?;
        let cbc = match &mut self.cbc {
            Some(cbc) => cbc,
            None => {
                mac.update(self.parts.header());
                self.cbc.insert(Cbc::new(&self.key, self.parts.iv()))
            }
        };
        mac.update(&self.blocks);
        cbc.update(&self.blocks, &mut self.out);
        if !more {
            self.done = true;
            let authentic = self
                .mac
                .take()
                .is_some_and(|m| m.verify_slice(self.parts.tag()).is_ok());
            let padded = self.cbc.as_mut().is_some_and(|c| c.finish(&mut self.out));
            self.sha.update(&self.out);
            let sha = hex::encode(std::mem::take(&mut self.sha).finalize());
            if !authentic || !padded || sha != self.expected_sha {
                return Err(self.changed());
            }
        } else {
            self.sha.update(&self.out);
        }
        Ok(())
    }
}

impl PlainReader for FernetReader {
    fn size(&self) -> u64 {
        self.size
    }

    fn read(&mut self, buf: &mut [u8]) -> Result<usize, VaultError> {
        while self.at == self.out.len() {
            if self.done {
                return Ok(0);
            }
            if let Err(e) = self.fill() {
                // Nothing more is handed out after a failure.
                self.done = true;
                self.out.clear();
                self.at = 0;
                return Err(e);
            }
        }
        let n = buf.len().min(self.out.len() - self.at);
        buf[..n].copy_from_slice(&self.out[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}
