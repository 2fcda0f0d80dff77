//! Blob-store adapters (D9, D15): the encrypted document blobs on the node's filesystem
//! ([`FsBlobStore`]) or in an S3-compatible bucket ([`S3BlobStore`]), behind the domain's
//! [`erp_domain::ports::BlobStore`] port. This crate owns `object_store` and the tokio runtime
//! the S3 client needs; nothing above it knows which store is in use.

mod fs;
mod name;
mod s3;

pub use fs::{FsBlobStore, PARTIAL_SUFFIX};
pub use s3::{MAX_PARTS_IN_FLIGHT, PART_SIZE, S3BlobStore, S3Settings};

#[cfg(feature = "testing")]
pub mod testing;
