//! Values derived from the settings: defaults that depend on other keys (database URL,
//! documents directory, thread counts) and parsed forms (allow-list, trusted proxies).

use std::path::PathBuf;

use secrecy::{ExposeSecret as _, SecretString};

use super::sections::{Environment, Settings};

impl Settings {
    /// Whether this is the production environment.
    #[must_use]
    pub fn is_production(&self) -> bool {
        self.environment == Environment::Production
    }

    /// The database URL, defaulting to SQLite under the data directory.
    #[must_use]
    pub fn database_url(&self) -> SecretString {
        let url = self.database.url.expose_secret().trim();
        if url.is_empty() {
            SecretString::from(format!(
                "sqlite://{}",
                self.data_dir.join("erp.db").display()
            ))
        } else {
            SecretString::from(url.to_owned())
        }
    }

    /// The directory of encrypted document blobs.
    #[must_use]
    pub fn documents_dir(&self) -> PathBuf {
        self.documents
            .storage_dir
            .clone()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or_else(|| self.data_dir.join("documents"))
    }

    /// The configured type allow-list.
    ///
    /// # Errors
    /// Why the configured list is unusable (empty, or an extension the contract does not know).
    pub fn document_allow_list(&self) -> Result<erp_domain::document::AllowList, String> {
        match &self.documents.allowed_extensions {
            None => Ok(erp_domain::document::AllowList::default()),
            Some(list) if list.is_empty() => Err("must not be empty".into()),
            Some(list) => erp_domain::document::AllowList::only(list).map_err(|bad| {
                format!(
                    "'{bad}' is not a supported extension ({})",
                    erp_domain::document::AllowList::default()
                        .extensions()
                        .join(", ")
                )
            }),
        }
    }

    /// HTTP workers (`server.workers`, 0 = one per core).
    #[must_use]
    pub fn http_workers(&self) -> usize {
        match self.server.workers {
            0 => std::thread::available_parallelism().map_or(2, std::num::NonZero::get),
            n => n,
        }
    }

    /// Concurrent Argon2id hashes (`security.password_hash_concurrency`, 0 = one less than the
    /// cores, at least 1).
    #[must_use]
    pub fn password_hash_concurrency(&self) -> usize {
        match self.security.password_hash_concurrency {
            0 => erp_security::BoundedHasher::<erp_security::Argon2Hasher>::default_limit(),
            n => n,
        }
    }

    /// Threads of each HTTP worker's blocking pool (`server.blocking_threads`). Auto (0): the
    /// pooled connections plus the hashing slots, shared out between the workers — a thread
    /// more could only wait for a connection, and every waiting thread keeps its own
    /// allocator caches (docs/benchmarks.md).
    #[must_use]
    pub fn blocking_threads_per_worker(&self) -> usize {
        match self.server.blocking_threads {
            0 => {
                let busy = usize::try_from(self.database.max_connections).unwrap_or(usize::MAX)
                    + self.password_hash_concurrency();
                busy.div_ceil(self.http_workers().max(1)).max(2)
            }
            n => n,
        }
    }

    /// Whether HSTS is sent.
    #[must_use]
    pub fn hsts(&self) -> bool {
        self.server.hsts.unwrap_or(self.is_production())
    }

    /// The trusted proxies, parsed (validated at load).
    #[must_use]
    pub fn trusted_proxies(&self) -> erp_http::proxy::TrustedProxies {
        erp_http::proxy::TrustedProxies::parse(&self.rate_limit.trusted_proxies).unwrap_or_default()
    }
}
