//! Fakes of the non-storage ports: a transparent password hasher, fixed secrets, readable
//! tokens, a clock set by hand and an in-memory document vault.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use chrono::TimeZone as _;
use erp_domain::clock::{Clock, Timestamp};
use erp_domain::password::{PasswordHash, PlainPassword};
use erp_domain::ports::{
    AccessClaims, BlobSink, DocumentVault, HashError, IssuedToken, OpaqueToken, OpaqueTokens,
    PasswordHasher, PlainReader, SealedBlob, SecretGenerator, TokenIssuer, TokenRejected,
    TokenVerifier, VaultError,
};
use erp_domain::{SessionId, UserId, UserRole};

/// 2026-03-15 10:00:00 UTC, where every test clock starts.
pub fn start() -> Timestamp {
    chrono::Utc
        .with_ymd_and_hms(2026, 3, 15, 10, 0, 0)
        .single()
        .unwrap_or_default()
}

/// A UTC instant.
pub fn at(y: i32, m: u32, d: u32, h: u32) -> Timestamp {
    chrono::Utc
        .with_ymd_and_hms(y, m, d, h, 0, 0)
        .single()
        .unwrap_or_default()
}

/// A clock moved by hand.
#[derive(Debug)]
pub struct TestClock(Mutex<Timestamp>);

impl Default for TestClock {
    fn default() -> Self {
        Self(Mutex::new(start()))
    }
}

impl TestClock {
    /// Sets the time.
    pub fn set(&self, t: Timestamp) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = t;
    }

    /// Moves the time on.
    pub fn advance(&self, d: chrono::Duration) {
        let now = self.now();
        self.set(now + d);
    }
}

impl Clock for TestClock {
    fn now(&self) -> Timestamp {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// "Hashes" as `fake$<password>`; can be told to fail.
#[derive(Debug, Default)]
pub struct FakeHasher {
    pub fail: AtomicBool,
    pub verified: AtomicUsize,
}

/// The hash [`FakeHasher`] gives `password`.
pub fn hash_of(password: &str) -> PasswordHash {
    PasswordHash::from_phc(format!("fake${password}"))
}

impl PasswordHasher for FakeHasher {
    fn hash(&self, p: &PlainPassword) -> Result<PasswordHash, HashError> {
        Ok(hash_of(p.expose()))
    }
    fn verify(&self, p: &PlainPassword, h: &PasswordHash) -> Result<bool, HashError> {
        self.verified.fetch_add(1, Ordering::SeqCst);
        if self.fail.load(Ordering::SeqCst) {
            return Err(HashError("hasher down".into()));
        }
        Ok(h.as_phc() == format!("fake${}", p.expose()))
    }
}

/// Always the same strong password.
#[derive(Debug)]
pub struct FixedSecrets;

/// What [`FixedSecrets`] generates.
pub const GENERATED: &str = "Generated#Pass2026";

impl SecretGenerator for FixedSecrets {
    fn strong_password(&self) -> PlainPassword {
        PlainPassword::new(GENERATED)
    }
}

/// Access tokens `tok:<user>:<session>`, readable by [`FakeTokens`]'s verifier side.
#[derive(Debug, Default)]
pub struct FakeTokens {
    refresh: AtomicUsize,
}

/// The access token [`FakeTokens`] issues.
pub fn access_token(user: UserId, session: SessionId) -> String {
    format!("tok:{user}:{session}")
}

impl TokenIssuer for FakeTokens {
    fn issue(
        &self,
        user: UserId,
        _: UserRole,
        session: SessionId,
        _: Timestamp,
    ) -> Result<IssuedToken, TokenRejected> {
        Ok(IssuedToken {
            token: access_token(user, session),
            expires_in: 900,
        })
    }
}

impl TokenVerifier for FakeTokens {
    fn verify(&self, token: &str, now: Timestamp) -> Result<AccessClaims, TokenRejected> {
        let mut parts = token.split(':');
        let (Some("tok"), Some(u), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenRejected("malformed".into()));
        };
        let parse = |v: &str| v.parse::<i64>().map_err(|_| TokenRejected("bad id".into()));
        Ok(AccessClaims {
            user_id: UserId::new(parse(u)?),
            role: UserRole::Admin,
            session_id: SessionId::new(parse(s)?),
            jti: token.to_owned(),
            issued_at: now,
            expires_at: now + chrono::Duration::minutes(15),
        })
    }
}

impl OpaqueTokens for FakeTokens {
    fn generate(&self) -> OpaqueToken {
        let n = self.refresh.fetch_add(1, Ordering::SeqCst) + 1;
        let value = format!("refresh-{n}");
        OpaqueToken {
            hash: self.hash(&value),
            value: value.into(),
        }
    }
    fn hash(&self, presented: &str) -> String {
        format!("h:{presented}")
    }
}

/// What the vault holds.
#[derive(Debug, Default)]
pub struct VaultState {
    /// Blob name → (plaintext, key id).
    pub blobs: HashMap<String, (Vec<u8>, String)>,
    /// Names handed out so far.
    pub created: usize,
    /// Blobs housekeeping is told are old.
    pub stale: Vec<String>,
    /// Blobs `reencrypt` refuses.
    pub broken: Vec<String>,
}

/// An in-memory vault whose current key is `key-2`.
#[derive(Debug, Default, Clone)]
pub struct FakeVault(pub Arc<Mutex<VaultState>>);

/// The current key of [`FakeVault`].
pub const CURRENT_KEY: &str = "key-2";

/// The checksum [`FakeVault`] records.
pub fn checksum(bytes: &[u8]) -> String {
    let sum: u64 = bytes.iter().map(|b| u64::from(*b)).sum();
    format!("sum{sum}-{}", bytes.len())
}

impl FakeVault {
    /// Runs `f` on the state.
    pub fn with<T>(&self, f: impl FnOnce(&mut VaultState) -> T) -> T {
        f(&mut self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }

    fn name(&self) -> String {
        self.with(|v| {
            v.created += 1;
            format!("blob-{}.enc", v.created)
        })
    }
}

/// A sink writing into the vault.
#[derive(Debug)]
struct FakeSink {
    vault: FakeVault,
    bytes: Vec<u8>,
}

impl BlobSink for FakeSink {
    fn write(&mut self, chunk: &[u8]) -> Result<(), VaultError> {
        self.bytes.extend_from_slice(chunk);
        Ok(())
    }
    fn size(&self) -> u64 {
        u64::try_from(self.bytes.len()).unwrap_or(u64::MAX)
    }
    fn head(&self) -> &[u8] {
        &self.bytes[..self.bytes.len().min(16)]
    }
    fn seal(self: Box<Self>) -> Result<SealedBlob, VaultError> {
        let name = self.vault.name();
        let sealed = SealedBlob {
            nom_stockage: name.clone(),
            cle_id: CURRENT_KEY.into(),
            sha256: checksum(&self.bytes),
            taille: self.size(),
        };
        let Self { vault, bytes } = *self;
        vault.with(|v| v.blobs.insert(name, (bytes, CURRENT_KEY.into())));
        Ok(sealed)
    }
}

/// A reader of a plaintext.
#[derive(Debug)]
pub struct FakeReader(Vec<u8>, usize);

impl PlainReader for FakeReader {
    fn size(&self) -> u64 {
        u64::try_from(self.0.len()).unwrap_or(u64::MAX)
    }
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, VaultError> {
        let n = buf.len().min(self.0.len() - self.1);
        buf[..n].copy_from_slice(&self.0[self.1..self.1 + n]);
        self.1 += n;
        Ok(n)
    }
}

impl DocumentVault for FakeVault {
    fn current_key_id(&self) -> String {
        CURRENT_KEY.into()
    }
    fn create(&self) -> Result<Box<dyn BlobSink>, VaultError> {
        Ok(Box::new(FakeSink {
            vault: self.clone(),
            bytes: Vec::new(),
        }))
    }
    fn open(&self, name: &str, sha256: &str) -> Result<Box<dyn PlainReader>, VaultError> {
        let bytes = self
            .with(|v| v.blobs.get(name).map(|b| b.0.clone()))
            .ok_or_else(|| VaultError::Missing(name.into()))?;
        if checksum(&bytes) != sha256 {
            return Err(VaultError::Integrity(name.into()));
        }
        Ok(Box::new(FakeReader(bytes, 0)))
    }
    fn delete(&self, name: &str) -> Result<(), VaultError> {
        self.with(|v| v.blobs.remove(name));
        Ok(())
    }
    fn reencrypt(&self, name: &str, sha256: &str) -> Result<SealedBlob, VaultError> {
        if self.with(|v| v.broken.iter().any(|b| b == name)) {
            return Err(VaultError::Undecryptable(name.into()));
        }
        let mut reader = self.open(name, sha256)?;
        let mut bytes = vec![0; usize::try_from(reader.size()).unwrap_or(0)];
        reader.read(&mut bytes)?;
        let mut sink = self.create()?;
        sink.write(&bytes)?;
        sink.seal()
    }
    fn blobs_older_than(&self, _: std::time::Duration) -> Result<Vec<String>, VaultError> {
        Ok(self.with(|v| v.stale.clone()))
    }
    fn remove_stale(&self, name: &str) -> Result<(), VaultError> {
        self.with(|v| {
            v.blobs.remove(name);
            v.stale.retain(|s| s != name);
        });
        Ok(())
    }
}
