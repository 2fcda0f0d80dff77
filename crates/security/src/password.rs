//! Argon2id password hashing (D4) with at least the OWASP minimum parameters.

use argon2::password_hash::{
    PasswordHash as PhcHash, PasswordHasher as _, PasswordVerifier as _, SaltString,
};
use argon2::{Algorithm, Argon2, Params, Version};
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

/// Argon2id hasher producing PHC strings.
#[derive(Debug, Clone)]
pub struct Argon2Hasher {
    params: Params,
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
        let params = Params::new(memory_kib, iterations, parallelism, None)
            .map_err(|e| HashError(e.to_string()))?;
        Ok(Self { params })
    }

    fn argon2(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }
}

impl PasswordHasher for Argon2Hasher {
    fn hash(&self, password: &PlainPassword) -> Result<PasswordHash, HashError> {
        let salt = SaltString::generate(&mut OsRng);
        let phc = self
            .argon2()
            .hash_password(password.expose().as_bytes(), &salt)
            .map_err(|e| HashError(e.to_string()))?;
        Ok(PasswordHash::from_phc(phc.to_string()))
    }

    fn verify(&self, password: &PlainPassword, hash: &PasswordHash) -> Result<bool, HashError> {
        let parsed = PhcHash::new(hash.as_phc()).map_err(|e| HashError(e.to_string()))?;
        // The parameters stored in the PHC string are the ones used, so older hashes verify
        // after a parameter increase.
        match self
            .argon2()
            .verify_password(password.expose().as_bytes(), &parsed)
        {
            Ok(()) => Ok(true),
            Err(argon2::password_hash::Error::Password) => Ok(false),
            Err(e) => Err(HashError(e.to_string())),
        }
    }
}

/// A hasher that runs at most `limit` hashes at once: a login flood queues behind the limit
/// instead of taking every core from the other requests (D11).
#[derive(Debug, Clone)]
pub struct BoundedHasher<H> {
    inner: H,
    gate: std::sync::Arc<Gate>,
}

#[derive(Debug)]
struct Gate {
    free: std::sync::Mutex<usize>,
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
            gate: std::sync::Arc::new(Gate {
                free: std::sync::Mutex::new(limit.max(1)),
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

    fn verify(&self, password: &PlainPassword, hash: &PasswordHash) -> Result<bool, HashError> {
        let _permit = self.gate.acquire()?;
        self.inner.verify(password, hash)
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
