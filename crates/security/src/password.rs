//! Argon2id password hashing (D4) with at least the OWASP minimum parameters.

use std::sync::{Arc, Mutex};

use argon2::password_hash::{Output, ParamsString, PasswordHash as PhcHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use erp_domain::password::{PasswordHash, PlainPassword};
use erp_domain::ports::{HashError, PasswordHasher};
use rand::rngs::OsRng;

/// OWASP Password Storage Cheat Sheet minimum for Argon2id: 19 MiB of memory, 2 passes,
/// 1 lane (documented in `SECURITY.md`).
pub const OWASP_MEMORY_KIB: u32 = 19_456;
/// Passes over memory.
pub const OWASP_ITERATIONS: u32 = 2;
/// Degree of parallelism.
pub const OWASP_PARALLELISM: u32 = 1;

/// Length of the stored hash, in bytes (the Argon2 PHC default).
const OUTPUT_LEN: usize = 32;

/// Argon2id hasher producing PHC strings.
///
/// Each hash needs `m` KiB of working memory (19 MiB by default). Allocating it per hash made
/// glibc keep one such block per thread arena after a burst of concurrent logins (hundreds of
/// MiB of RSS that never went back), so the blocks are kept in a pool and reused: the memory
/// held is the peak number of concurrent hashes times `m` — with [`BoundedHasher`], its limit.
#[derive(Debug, Clone)]
pub struct Argon2Hasher {
    params: Params,
    pool: Arc<MemoryPool>,
}

/// Whether a hash's working memory goes back to the pool afterwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Keep {
    Yes,
    No,
}

/// Argon2 working memory, reused across hashes.
#[derive(Debug, Default)]
struct MemoryPool {
    free: Mutex<Vec<Vec<Block>>>,
}

impl MemoryPool {
    /// Runs `f` with `blocks` blocks of working memory taken from the pool (or allocated when
    /// none is free), and puts them back afterwards. Argon2 writes every block before reading
    /// it, so a reused block needs no clearing.
    fn with<R>(&self, blocks: usize, keep: Keep, f: impl FnOnce(&mut [Block]) -> R) -> R {
        if keep == Keep::No {
            // Allocated and freed here, never pooled: the allocator can give it back to the
            // system (a pooled block stays for the process's life).
            return f(&mut vec![Block::default(); blocks]);
        }
        let mut memory = self
            .free
            .lock()
            .ok()
            .and_then(|mut free| free.pop())
            .unwrap_or_default();
        if memory.len() != blocks {
            memory = vec![Block::default(); blocks];
        }
        let result = f(&mut memory);
        if let Ok(mut free) = self.free.lock() {
            free.push(memory);
        }
        result
    }

    /// Frees the blocks held for reuse (those of hashes running now are kept by them).
    fn release(&self) {
        let held = self.free.lock().map(|mut free| std::mem::take(&mut *free));
        drop(held);
    }

    /// Blocks of memory currently held for reuse.
    #[cfg(test)]
    fn held(&self) -> usize {
        self.free.lock().map_or(0, |free| free.len())
    }
}

fn hash_error(e: impl std::fmt::Display) -> HashError {
    HashError(e.to_string())
}

impl Argon2Hasher {
    /// A hasher with the OWASP minimum parameters.
    ///
    /// # Errors
    /// Never for the built-in constants; the signature keeps configurable parameters honest.
    pub fn owasp() -> Result<Self, HashError> {
        Self::with_params(OWASP_MEMORY_KIB, OWASP_ITERATIONS, OWASP_PARALLELISM)
    }

    /// A hasher with explicit parameters; refuses anything below the OWASP minimum.
    ///
    /// # Errors
    /// [`HashError`] when the parameters are below the minimum or invalid for Argon2.
    pub fn with_params(
        memory_kib: u32,
        iterations: u32,
        parallelism: u32,
    ) -> Result<Self, HashError> {
        if memory_kib < OWASP_MEMORY_KIB || iterations < OWASP_ITERATIONS || parallelism < 1 {
            return Err(HashError(format!(
                "Argon2id parameters below the OWASP minimum (m={OWASP_MEMORY_KIB} KiB, t={OWASP_ITERATIONS}, p=1)"
            )));
        }
        let params = Params::new(memory_kib, iterations, parallelism, Some(OUTPUT_LEN))
            .map_err(hash_error)?;
        Ok(Self {
            params,
            pool: Arc::default(),
        })
    }

    /// Argon2 of `password` and `salt` with `argon2`'s parameters, in the pool's memory or (with
    /// `Keep::No`) in a block of its own.
    fn compute(
        &self,
        argon2: &Argon2<'_>,
        params: &Params,
        password: &[u8],
        salt: &[u8],
        out: &mut [u8],
        keep: Keep,
    ) -> Result<(), HashError> {
        self.pool.with(params.block_count(), keep, |memory| {
            argon2
                .hash_password_into_with_memory(password, salt, out, memory)
                .map_err(hash_error)
        })
    }

    /// A new PHC hash of `password`, its working memory pooled or not.
    fn hash_keeping(
        &self,
        password: &PlainPassword,
        keep: Keep,
    ) -> Result<PasswordHash, HashError> {
        let salt = SaltString::generate(&mut OsRng);
        let mut salt_buf = [0_u8; 64];
        let salt_bytes = salt.decode_b64(&mut salt_buf).map_err(hash_error)?;
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone());
        let mut out = [0_u8; OUTPUT_LEN];
        self.compute(
            &argon2,
            &self.params,
            password.expose().as_bytes(),
            salt_bytes,
            &mut out,
            keep,
        )?;
        let phc = PhcHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(&self.params).map_err(hash_error)?,
            salt: Some(salt.as_salt()),
            hash: Some(Output::new(&out).map_err(hash_error)?),
        };
        Ok(PasswordHash::from_phc(phc.to_string()))
    }
}

impl PasswordHasher for Argon2Hasher {
    fn hash(&self, password: &PlainPassword) -> Result<PasswordHash, HashError> {
        self.hash_keeping(password, Keep::Yes)
    }

    fn hash_once(&self, password: &PlainPassword) -> Result<PasswordHash, HashError> {
        self.hash_keeping(password, Keep::No)
    }

    fn verify(&self, password: &PlainPassword, hash: &PasswordHash) -> Result<bool, HashError> {
        let parsed = PhcHash::new(hash.as_phc()).map_err(hash_error)?;
        // The algorithm, version and parameters stored in the PHC string are the ones used, so
        // older hashes verify after a parameter increase.
        let algorithm = Algorithm::try_from(parsed.algorithm).map_err(hash_error)?;
        let version = match parsed.version {
            Some(v) => Version::try_from(v).map_err(hash_error)?,
            None => Version::default(),
        };
        let params = Params::try_from(&parsed).map_err(hash_error)?;
        let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
            return Err(HashError("PHC string without salt or hash".into()));
        };
        let mut salt_buf = [0_u8; 64];
        let salt_bytes = salt.decode_b64(&mut salt_buf).map_err(hash_error)?;
        let argon2 = Argon2::new(algorithm, version, params.clone());
        let mut out = vec![0_u8; expected.len()];
        self.compute(
            &argon2,
            &params,
            password.expose().as_bytes(),
            salt_bytes,
            &mut out,
            Keep::Yes,
        )?;
        // `Output`'s equality is constant-time.
        Ok(Output::new(&out).map_err(hash_error)? == expected)
    }

    fn release_memory(&self) {
        self.pool.release();
    }
}

/// A hasher that runs at most `limit` hashes at once: a login flood queues behind the limit
/// instead of taking every core from the other requests (D11).
#[derive(Debug, Clone)]
pub struct BoundedHasher<H> {
    inner: H,
    gate: Arc<Gate>,
}

#[derive(Debug)]
struct Gate {
    free: Mutex<usize>,
    freed: std::sync::Condvar,
}

struct Permit<'a>(&'a Gate);

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if let Ok(mut free) = self.0.free.lock() {
            *free += 1;
        }
        self.0.freed.notify_one();
    }
}

impl Gate {
    fn acquire(&self) -> Result<Permit<'_>, HashError> {
        let poisoned = |_| HashError("hashing gate poisoned".into());
        let mut free = self.free.lock().map_err(poisoned)?;
        while *free == 0 {
            free = self.freed.wait(free).map_err(poisoned)?;
        }
        *free -= 1;
        Ok(Permit(self))
    }
}

impl<H> BoundedHasher<H> {
    /// Wraps `inner`, allowing `limit` (at least 1) concurrent hashes or verifications.
    #[must_use]
    pub fn new(inner: H, limit: usize) -> Self {
        Self {
            inner,
            gate: Arc::new(Gate {
                free: Mutex::new(limit.max(1)),
                freed: std::sync::Condvar::new(),
            }),
        }
    }

    /// The default limit: one core is always left to the rest of the server.
    #[must_use]
    pub fn default_limit() -> usize {
        std::thread::available_parallelism().map_or(1, |n| n.get().saturating_sub(1).max(1))
    }
}

impl<H: PasswordHasher> PasswordHasher for BoundedHasher<H> {
    fn hash(&self, password: &PlainPassword) -> Result<PasswordHash, HashError> {
        let _permit = self.gate.acquire()?;
        self.inner.hash(password)
    }

    fn hash_once(&self, password: &PlainPassword) -> Result<PasswordHash, HashError> {
        let _permit = self.gate.acquire()?;
        self.inner.hash_once(password)
    }

    fn verify(&self, password: &PlainPassword, hash: &PasswordHash) -> Result<bool, HashError> {
        let _permit = self.gate.acquire()?;
        self.inner.verify(password, hash)
    }

    fn release_memory(&self) {
        self.inner.release_memory();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_phc_with_owasp_parameters_and_verify() {
        let h = Argon2Hasher::owasp().unwrap();
        let pw = PlainPassword::new("Maintenance#2026x");
        let hash = h.hash(&pw).unwrap();
        assert!(
            hash.as_phc().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{}",
            hash.as_phc()
        );
        assert!(h.verify(&pw, &hash).unwrap());
        assert!(
            !h.verify(&PlainPassword::new("Maintenance#2026y"), &hash)
                .unwrap()
        );
    }

    #[test]
    fn hashes_interoperate_with_the_reference_phc_implementation() {
        use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
        let h = Argon2Hasher::owasp().unwrap();
        let pw = PlainPassword::new("Maintenance#2026x");
        // Ours → the argon2 crate's own verifier.
        let ours = h.hash(&pw).unwrap();
        let parsed = PhcHash::new(ours.as_phc()).unwrap();
        assert!(
            Argon2::default()
                .verify_password(pw.expose().as_bytes(), &parsed)
                .is_ok()
        );
        // The argon2 crate's hasher (stored by earlier versions, other parameters) → ours.
        let salt = SaltString::generate(&mut OsRng);
        let stronger = Params::new(OWASP_MEMORY_KIB * 2, 3, 1, None).unwrap();
        let theirs = Argon2::new(Algorithm::Argon2id, Version::V0x13, stronger)
            .hash_password(pw.expose().as_bytes(), &salt)
            .unwrap()
            .to_string();
        let theirs = PasswordHash::from_phc(theirs);
        assert!(h.verify(&pw, &theirs).unwrap());
        assert!(!h.verify(&PlainPassword::new("wrong"), &theirs).unwrap());
    }

    #[test]
    fn working_memory_is_reused_not_allocated_per_hash() {
        let h = Argon2Hasher::owasp().unwrap();
        let pw = PlainPassword::new("Maintenance#2026x");
        assert_eq!(
            h.pool.held(),
            0,
            "nothing is allocated before the first hash"
        );
        let hash = h.hash(&pw).unwrap();
        for _ in 0..3 {
            assert!(h.verify(&pw, &hash).unwrap());
        }
        assert_eq!(
            h.pool.held(),
            1,
            "sequential hashes share one block of memory"
        );
        // Concurrent hashes each get their own memory; the pool keeps at most that many.
        std::thread::scope(|s| {
            for _ in 0..3 {
                s.spawn(|| h.verify(&pw, &hash).unwrap());
            }
        });
        assert!((1..=3).contains(&h.pool.held()), "{}", h.pool.held());
    }

    #[test]
    fn a_one_off_hash_keeps_no_memory() {
        let h = BoundedHasher::new(Argon2Hasher::owasp().unwrap(), 1);
        let pw = PlainPassword::new("Maintenance#2026x");
        let once = h.hash_once(&pw).unwrap();
        assert_eq!(h.inner.pool.held(), 0, "the start-up's hash pins no memory");
        assert!(once.as_phc().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(h.verify(&pw, &once).unwrap());
        assert_eq!(
            h.inner.pool.held(),
            1,
            "logins keep theirs for the next one"
        );
        h.release_memory();
        assert_eq!(
            h.inner.pool.held(),
            0,
            "released through the bounded hasher"
        );
        assert!(
            h.verify(&pw, &once).unwrap(),
            "and allocated again when needed"
        );
        assert_eq!(h.inner.pool.held(), 1);
    }

    #[test]
    fn the_same_password_gets_a_fresh_salt() {
        let h = Argon2Hasher::owasp().unwrap();
        let pw = PlainPassword::new("Maintenance#2026x");
        assert_ne!(h.hash(&pw).unwrap(), h.hash(&pw).unwrap());
    }

    #[test]
    fn parameters_below_the_minimum_are_refused() {
        assert!(Argon2Hasher::with_params(4096, 2, 1).is_err());
        assert!(Argon2Hasher::with_params(OWASP_MEMORY_KIB, 1, 1).is_err());
    }

    #[test]
    fn a_malformed_hash_is_an_error_not_a_mismatch() {
        let h = Argon2Hasher::owasp().unwrap();
        assert!(
            h.verify(
                &PlainPassword::new("x"),
                &PasswordHash::from_phc("not-a-phc")
            )
            .is_err()
        );
    }
}

#[cfg(test)]
mod bounded_tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// Counts how many calls run at the same time.
    #[derive(Debug, Default)]
    struct Probe {
        running: AtomicUsize,
        peak: AtomicUsize,
    }

    #[derive(Debug, Clone)]
    struct Shared(Arc<Probe>);

    impl std::ops::Deref for Shared {
        type Target = Probe;
        fn deref(&self) -> &Probe {
            &self.0
        }
    }

    impl PasswordHasher for Shared {
        fn hash(&self, _: &PlainPassword) -> Result<PasswordHash, HashError> {
            let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
            self.peak.fetch_max(now, Ordering::SeqCst);
            std::thread::sleep(std::time::Duration::from_millis(20));
            self.running.fetch_sub(1, Ordering::SeqCst);
            Ok(PasswordHash::from_phc("x"))
        }
        fn verify(&self, p: &PlainPassword, _: &PasswordHash) -> Result<bool, HashError> {
            self.hash(p).map(|_| true)
        }
    }

    #[test]
    fn no_more_than_the_limit_run_at_once() {
        let probe = Arc::new(Probe::default());
        let hasher = BoundedHasher::new(Shared(Arc::clone(&probe)), 2);
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| hasher.hash(&PlainPassword::new("x")).unwrap());
            }
        });
        assert_eq!(probe.peak.load(Ordering::SeqCst), 2);
    }
}
