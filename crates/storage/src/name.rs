//! The blob-name guard both stores apply before touching a path or a key.

use erp_domain::document::is_blob_name;
use erp_domain::ports::BlobStoreError;

/// The name if it is a blob's (`<32 hex>.enc`): no path can reach a store.
pub(crate) fn checked(name: &str) -> Result<&str, BlobStoreError> {
    if is_blob_name(name) {
        Ok(name)
    } else {
        Err(BlobStoreError::Missing(format!(
            "not a blob name: {name:?}"
        )))
    }
}
