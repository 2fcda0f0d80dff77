//! The blob store port (D9, D15): where the encrypted document blobs live — a directory on one
//! node, or an S3-compatible bucket shared by every replica. It moves opaque bytes only; the
//! cipher (the document vault) sits on top of it and never knows which store it writes to.
//!
//! Everything streams: a blob is written and read in chunks, so neither side ever holds a
//! whole blob in memory. The port is synchronous, like the rest of the use cases (they run in
//! one blocking section); an adapter with an async client bridges inside itself.

use std::time::Duration;

/// What a blob store could not do. Messages are for logs only.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlobStoreError {
    /// No blob with this name (or the name is not a blob's).
    #[error("blob missing: {0}")]
    Missing(String),
    /// The blob read by a [`BlobReader`] was replaced or removed before a rewind.
    #[error("blob changed while being read: {0}")]
    Changed(String),
    /// The storage failed (disk, network, credentials, bucket).
    #[error("blob storage failure: {0}")]
    Io(String),
}

/// A blob being written. Nothing is visible under the blob's name until [`Self::commit`]
/// returns; dropping an uncommitted writer discards what it wrote (a partial file, an
/// unfinished multipart upload).
pub trait BlobWriter: Send + std::fmt::Debug {
    /// Appends bytes.
    ///
    /// # Errors
    /// [`BlobStoreError::Io`].
    fn write(&mut self, bytes: &[u8]) -> Result<(), BlobStoreError>;

    /// Makes the blob durable and visible under its name, all at once.
    ///
    /// # Errors
    /// [`BlobStoreError::Io`]; nothing is visible then.
    fn commit(self: Box<Self>) -> Result<(), BlobStoreError>;
}

/// One version of a blob, read from its first byte to its last, as many times as needed.
pub trait BlobReader: Send + std::fmt::Debug {
    /// Reads the next bytes into `buf`; `Ok(0)` at the end.
    ///
    /// # Errors
    /// [`BlobStoreError::Io`].
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, BlobStoreError>;

    /// Starts again at the first byte of the very version opened (never a newer one).
    ///
    /// # Errors
    /// [`BlobStoreError::Changed`] when that version cannot be read any more;
    /// [`BlobStoreError::Io`].
    fn rewind(&mut self) -> Result<(), BlobStoreError>;
}

/// Named blobs. Names are the vault's random `<32 hex>.enc` names; a store refuses any other
/// (no path can be smuggled in).
pub trait BlobStore: Send + Sync + std::fmt::Debug {
    /// Starts writing a new blob named `name`.
    ///
    /// # Errors
    /// [`BlobStoreError::Io`]; [`BlobStoreError::Missing`] for a name that is not a blob's.
    fn create(&self, name: &str) -> Result<Box<dyn BlobWriter>, BlobStoreError>;

    /// Opens a committed blob for reading.
    ///
    /// # Errors
    /// [`BlobStoreError::Missing`]; [`BlobStoreError::Io`].
    fn open(&self, name: &str) -> Result<Box<dyn BlobReader>, BlobStoreError>;

    /// Removes a committed blob; a missing one is not an error.
    ///
    /// # Errors
    /// [`BlobStoreError::Io`]; [`BlobStoreError::Missing`] for a name that is not a blob's.
    fn delete(&self, name: &str) -> Result<(), BlobStoreError>;

    /// Names of the blobs, and of the leftovers of unfinished writes the store can see, not
    /// modified for `age` by the storage's own clock, sorted. Housekeeping removes those no
    /// row names with [`Self::remove_stale`].
    ///
    /// # Errors
    /// [`BlobStoreError::Io`].
    fn older_than(&self, age: Duration) -> Result<Vec<String>, BlobStoreError>;

    /// Removes a blob or a leftover named by [`Self::older_than`]; a missing one is not an
    /// error.
    ///
    /// # Errors
    /// [`BlobStoreError::Io`]; [`BlobStoreError::Missing`] for a name that is neither.
    fn remove_stale(&self, name: &str) -> Result<(), BlobStoreError>;
}
