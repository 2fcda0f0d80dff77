//! The upload limits and type allow-list: configuration the [`crate::Application`] holds,
//! kept apart from the use cases of the parent module so that the application depends on it
//! alone.

use erp_domain::document::AllowList;

/// Default largest file: 10 MiB.
pub const DEFAULT_MAX_UPLOAD_BYTES: u64 = 10 * 1024 * 1024;

/// Upload limits and the type allow-list (configuration).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentPolicy {
    /// Largest file, in bytes.
    pub max_upload_bytes: u64,
    /// Allowed extensions with their types and signatures.
    pub allow: AllowList,
}

impl Default for DocumentPolicy {
    fn default() -> Self {
        Self {
            max_upload_bytes: DEFAULT_MAX_UPLOAD_BYTES,
            allow: AllowList::default(),
        }
    }
}
