//! Document ports (D9): the rows (repository) and the encrypted blobs (vault). The application
//! never sees the cipher or the storage: it streams bytes into a [`BlobSink`], gets back what
//! to store in the row, and later reads the plaintext back through a [`PlainReader`] that the
//! vault hands out only once the whole blob has been authenticated. The vault keeps its blobs
//! in a [`crate::ports::BlobStore`] (a directory, or an S3-compatible bucket).

use crate::document::{Document, DocumentFilter, DocumentId, NewDocument};
use crate::list::{Listed, Page};
use crate::ports::RepoError;

/// Documents storage (DATA.md §3.11).
pub trait DocumentRepository {
    /// Inserts a document row.
    ///
    /// # Errors
    /// [`RepoError::ForeignKey`] for an unknown intervention or user;
    /// [`RepoError::Duplicate`] when `nom_stockage` is taken.
    fn insert_document(&mut self, doc: &NewDocument) -> Result<Document, RepoError>;

    /// The document with this id, if any.
    ///
    /// # Errors
    /// Only storage failures.
    fn document_by_id(&mut self, id: DocumentId) -> Result<Option<Document>, RepoError>;

    /// One page of documents, newest first (`date_upload`, then `id`, descending), with the
    /// total matching the filter.
    ///
    /// # Errors
    /// Only storage failures.
    fn list_documents(
        &mut self,
        filter: &DocumentFilter,
        page: Page,
    ) -> Result<Listed<Document>, RepoError>;

    /// Deletes a row (its blob is the caller's business, after commit).
    ///
    /// # Errors
    /// [`RepoError::NotFound`].
    fn delete_document(&mut self, id: DocumentId) -> Result<(), RepoError>;

    /// Up to `limit` documents whose `cle_id` is not `current_key`, with `id > after`, by id.
    ///
    /// # Errors
    /// Only storage failures.
    fn documents_not_under_key(
        &mut self,
        current_key: &str,
        after: DocumentId,
        limit: i64,
    ) -> Result<Vec<Document>, RepoError>;

    /// Points a row at a re-encrypted blob, only if it still names `old_blob` (a concurrent
    /// rotation or deletion wins); returns whether it did.
    ///
    /// # Errors
    /// Only storage failures.
    fn replace_document_blob(
        &mut self,
        id: DocumentId,
        old_blob: &str,
        new_blob: &str,
        new_key: &str,
    ) -> Result<bool, RepoError>;
}

/// What the vault could not do. Messages are for logs only.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VaultError {
    /// No blob with this name.
    #[error("blob missing: {0}")]
    Missing(String),
    /// No key of the ring opens the blob, or it is corrupt.
    #[error("blob cannot be decrypted: {0}")]
    Undecryptable(String),
    /// The plaintext does not have the recorded SHA-256.
    #[error("blob fails its integrity check: {0}")]
    Integrity(String),
    /// The storage failed.
    #[error("document storage failure: {0}")]
    Io(String),
}

impl From<crate::ports::BlobStoreError> for VaultError {
    fn from(e: crate::ports::BlobStoreError) -> Self {
        use crate::ports::BlobStoreError as E;
        match e {
            E::Missing(m) => Self::Missing(m),
            E::Changed(m) => Self::Io(format!("blob changed while being read: {m}")),
            E::Io(m) => Self::Io(m),
        }
    }
}

/// The plaintext of a blob whose authenticity (HMAC) and integrity (recorded SHA-256) were
/// checked over the whole blob before the first byte is handed out, read in bounded chunks.
pub trait PlainReader: Send + std::fmt::Debug {
    /// Plaintext size in bytes (known from the check).
    fn size(&self) -> u64;

    /// Decrypts the next bytes into `buf`; `Ok(0)` at the end.
    ///
    /// # Errors
    /// [`VaultError::Io`]; [`VaultError::Integrity`] when the stored bytes changed since the
    /// check (the storage misbehaved: the reader stops there).
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, VaultError>;
}

/// A blob once sealed: what the document row records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedBlob {
    /// Random `<32 hex>.enc` name.
    pub nom_stockage: String,
    /// Id of the key that encrypted it (the newest).
    pub cle_id: String,
    /// Lowercase hex SHA-256 of the plaintext.
    pub sha256: String,
    /// Plaintext size in bytes.
    pub taille: u64,
}

/// A blob being written: plaintext goes in chunk by chunk and is encrypted as it comes, so
/// neither the whole plaintext nor any plaintext on disk is ever needed. Dropping an unsealed
/// sink removes what it wrote.
pub trait BlobSink: Send + std::fmt::Debug {
    /// Appends plaintext.
    ///
    /// # Errors
    /// [`VaultError::Io`].
    fn write(&mut self, chunk: &[u8]) -> Result<(), VaultError>;

    /// Plaintext bytes written so far.
    fn size(&self) -> u64;

    /// The first bytes of the plaintext (up to [`crate::document::SIGNATURE_BYTES`]).
    fn head(&self) -> &[u8];

    /// Finishes the ciphertext, makes it durable and gives it its final name (all at once, so
    /// a reader never sees half a blob).
    ///
    /// # Errors
    /// [`VaultError::Io`].
    fn seal(self: Box<Self>) -> Result<SealedBlob, VaultError>;
}

/// Encrypted blob storage with a key ring: the newest key encrypts, every key decrypts.
pub trait DocumentVault: Send + Sync + std::fmt::Debug {
    /// Id of the key new blobs are encrypted with.
    fn current_key_id(&self) -> String;

    /// Starts a new blob under a fresh random name (a temporary name until sealed).
    ///
    /// # Errors
    /// [`VaultError::Io`].
    fn create(&self) -> Result<Box<dyn BlobSink>, VaultError>;

    /// Authenticates a whole blob with the key ring and checks its plaintext against the
    /// recorded SHA-256 (reading it once, in bounded memory), then returns a reader of that
    /// same blob's plaintext.
    ///
    /// # Errors
    /// [`VaultError::Missing`], [`VaultError::Undecryptable`] (no key authenticates it:
    /// tampered, truncated or under an unknown key), [`VaultError::Integrity`],
    /// [`VaultError::Io`].
    fn open(&self, nom_stockage: &str, sha256: &str) -> Result<Box<dyn PlainReader>, VaultError>;

    /// Removes a blob; a missing one is not an error.
    ///
    /// # Errors
    /// [`VaultError::Io`].
    fn delete(&self, nom_stockage: &str) -> Result<(), VaultError>;

    /// Writes a copy of a blob under a new name, encrypted with the newest key, after checking
    /// it as [`Self::open`] does (streaming, in bounded memory). The old blob is left in place.
    ///
    /// # Errors
    /// As [`Self::open`].
    fn reencrypt(&self, nom_stockage: &str, sha256: &str) -> Result<SealedBlob, VaultError>;

    /// Blobs (sealed or left half-written by a crash) not modified for `age` by the storage's
    /// own clock, by name: the housekeeping job removes those no row names.
    ///
    /// # Errors
    /// [`VaultError::Io`].
    fn blobs_older_than(&self, age: std::time::Duration) -> Result<Vec<String>, VaultError>;

    /// Removes a blob or a half-written one by name; a missing one is not an error.
    ///
    /// # Errors
    /// [`VaultError::Io`]; [`VaultError::Missing`] for a name that is not a blob's.
    fn remove_stale(&self, name: &str) -> Result<(), VaultError>;
}
