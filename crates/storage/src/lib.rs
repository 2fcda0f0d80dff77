//! Blob-store adapters (D9, D15): the encrypted document blobs on the node's filesystem
//! ([`FsBlobStore`]) or in an S3-compatible bucket ([`S3BlobStore`]), behind the domain's
//! [`erp_domain::ports::BlobStore`] port. This crate owns `object_store` and the tokio runtime
//! the S3 client needs; nothing above it knows which store is in use.

mod fs;
mod s3;

pub use fs::{FsBlobStore, PARTIAL_SUFFIX};
pub use s3::{MAX_PARTS_IN_FLIGHT, PART_SIZE, S3BlobStore, S3Settings};

use erp_domain::document::is_blob_name;
use erp_domain::ports::BlobStoreError;

/// The name if it is a blob's (`<32 hex>.enc`): no path can reach a store.
fn checked(name: &str) -> Result<&str, BlobStoreError> {
    if is_blob_name(name) {
        Ok(name)
    } else {
        Err(BlobStoreError::Missing(format!(
            "not a blob name: {name:?}"
        )))
    }
}

#[cfg(feature = "testing")]
pub mod testing;
