//! The S3-compatible blob store (D15): one bucket (optionally under a key prefix) shared by
//! every replica, through the `object_store` crate (AWS S3, MinIO, Ceph, Garage, moto…).
//!
//! **Sync over async.** The blob-store port is synchronous: use cases run on blocking threads.
//! `object_store` is async, so the store owns a small multi-thread tokio runtime of its own
//! (two workers, which drive the HTTP connections) and every call bridges with `block_on` from
//! the calling blocking thread. It must never be called from inside an async task (tokio
//! refuses a nested `block_on` there); the HTTP layer reaches it only through `web::block` /
//! `spawn_blocking`, the CLI and the workers from plain threads.
//!
//! **Writes** spool the ciphertext to an unlinked temporary file (in `TMPDIR`) while the client
//! sends it, so a slow client holds no memory and no S3 request open; at commit the spool is
//! sent as one `PUT` when it fits in one part, else as a multipart upload of 5 MiB parts, one
//! at a time per blob, with at most [`MAX_PARTS_IN_FLIGHT`] part buffers in the whole process,
//! reused from one part to the next.
//! The name is visible only once the `PUT` or the multipart completion succeeds; a failed
//! multipart upload is aborted.
//!
//! **Reads** stream the object in the chunks the HTTP client receives. A rewind asks for the
//! same object again with `If-Match: <ETag>` (and its version id when the bucket versions), so
//! it reads the very bytes of the first pass or fails with [`BlobStoreError::Changed`].

use std::fs::File;
use std::io::{BufWriter, Read as _, Seek as _, SeekFrom, Write as _};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use erp_domain::document::is_blob_name;
use erp_domain::ports::{BlobReader, BlobStore, BlobStoreError, BlobWriter};

use crate::name::checked;
use futures_util::StreamExt as _;
use futures_util::stream::BoxStream;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as ObjectPath;
use object_store::{
    ClientOptions, GetOptions, ObjectStore, ObjectStoreExt as _, PutPayload, RetryConfig,
};
use secrecy::{ExposeSecret as _, SecretString};
use tokio::runtime::Runtime;
use tokio::sync::Semaphore;

/// Size of one multipart part (the S3 minimum for all but the last part).
pub const PART_SIZE: usize = 5 * 1024 * 1024;
/// Part buffers allowed in memory at once across every upload of the process (allocated on
/// first use, then reused: a 5 MiB buffer freed per part let the allocator's per-thread arenas
/// hold tens of MB of freed pages under 12 concurrent uploads).
pub const MAX_PARTS_IN_FLIGHT: usize = 2;
const SPOOL_BUFFER: usize = 64 * 1024;

/// Where the bucket is and how to reach it.
#[derive(Debug, Clone, Default)]
pub struct S3Settings {
    /// Endpoint URL (`http://127.0.0.1:9000`); `None` = AWS S3 of the region.
    pub endpoint: Option<String>,
    /// Bucket name.
    pub bucket: String,
    /// Region (`us-east-1` for most S3-compatible servers).
    pub region: String,
    /// Path-style URLs (`endpoint/bucket/key`, MinIO and most self-hosted servers) instead of
    /// virtual-hosted (`bucket.endpoint/key`).
    pub path_style: bool,
    /// Key prefix of the blobs (`documents` → `documents/<name>`); `None` = the bucket's root.
    pub prefix: Option<String>,
    /// Access key id; `None` = the SDK's ambient credentials (instance metadata, web identity).
    pub access_key_id: Option<String>,
    /// Secret access key.
    pub secret_access_key: Option<SecretString>,
}

fn store_error(name: &str, e: object_store::Error) -> BlobStoreError {
    match e {
        object_store::Error::NotFound { .. } => BlobStoreError::Missing(name.to_owned()),
        other => BlobStoreError::Io(other.to_string()),
    }
}

/// What every handle of the store shares: the client, the runtime, the part budget and the
/// part buffers.
struct Inner {
    store: AmazonS3,
    prefix: Option<ObjectPath>,
    runtime: Option<Runtime>,
    parts: Semaphore,
    buffers: Arc<Mutex<Vec<Vec<u8>>>>,
}

/// A part buffer lent to one upload request; back to the pool when the request drops it.
struct PartBuffer {
    buf: Vec<u8>,
    len: usize,
    pool: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl AsRef<[u8]> for PartBuffer {
    fn as_ref(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl Drop for PartBuffer {
    fn drop(&mut self) {
        let mut pool = self.pool.lock().unwrap_or_else(PoisonError::into_inner);
        if pool.len() < MAX_PARTS_IN_FLIGHT {
            pool.push(std::mem::take(&mut self.buf));
        }
    }
}

impl Inner {
    fn block_on<F: Future>(&self, f: F) -> Result<F::Output, BlobStoreError> {
        self.runtime
            .as_ref()
            .map(|rt| rt.block_on(f))
            .ok_or_else(|| BlobStoreError::Io("S3 runtime shut down".into()))
    }

    fn path_of(&self, name: &str) -> ObjectPath {
        match &self.prefix {
            Some(p) => p.clone().join(name),
            None => ObjectPath::from(name),
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // The last handle may go away on an async thread, where a blocking shutdown panics.
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

/// Blobs in an S3-compatible bucket.
#[derive(Clone)]
pub struct S3BlobStore {
    inner: Arc<Inner>,
    bucket: String,
}

impl std::fmt::Debug for S3BlobStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3BlobStore")
            .field("bucket", &self.bucket)
            .field("prefix", &self.inner.prefix)
            .finish_non_exhaustive()
    }
}

impl S3BlobStore {
    /// A store over the bucket (nothing is sent yet: see [`Self::check`]).
    ///
    /// # Errors
    /// [`BlobStoreError::Io`] for settings the client refuses or a runtime that cannot start.
    pub fn new(settings: &S3Settings) -> Result<Self, BlobStoreError> {
        // TLS through rustls with ring, as the rest of the workspace (no aws-lc, no OpenSSL);
        // an error only means a provider is already installed.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(&settings.bucket)
            .with_region(&settings.region)
            .with_virtual_hosted_style_request(!settings.path_style)
            .with_retry(RetryConfig {
                max_retries: 3,
                retry_timeout: Duration::from_secs(30),
                ..RetryConfig::default()
            })
            .with_client_options(
                ClientOptions::new()
                    .with_connect_timeout(Duration::from_secs(5))
                    // A download's second pass is paced by the client (bounded buffers), so
                    // a whole GET may last as long as a slow download.
                    .with_timeout(Duration::from_secs(3600)),
            );
        if let Some(endpoint) = &settings.endpoint {
            builder = builder
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"));
        }
        if let Some(id) = &settings.access_key_id {
            builder = builder.with_access_key_id(id);
        }
        if let Some(secret) = &settings.secret_access_key {
            builder = builder.with_secret_access_key(secret.expose_secret());
        }
        let store = builder
            .build()
            .map_err(|e| BlobStoreError::Io(e.to_string()))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("erp-s3")
            .enable_all()
            .build()
            .map_err(|e| BlobStoreError::Io(e.to_string()))?;
        let prefix = settings
            .prefix
            .as_deref()
            .map(|p| p.trim_matches('/'))
            .filter(|p| !p.is_empty())
            .map(ObjectPath::from);
        Ok(Self {
            inner: Arc::new(Inner {
                store,
                prefix,
                runtime: Some(runtime),
                parts: Semaphore::new(MAX_PARTS_IN_FLIGHT),
                buffers: Arc::new(Mutex::new(Vec::new())),
            }),
            bucket: settings.bucket.clone(),
        })
    }

    /// Lists one page of the prefix: proves the endpoint, the credentials and the bucket.
    ///
    /// # Errors
    /// [`BlobStoreError::Io`] with the client's reason.
    pub fn check(&self) -> Result<(), BlobStoreError> {
        let inner = &self.inner;
        inner.block_on(async {
            let mut list = inner.store.list(inner.prefix.as_ref());
            match list.next().await {
                Some(Err(e)) => Err(BlobStoreError::Io(e.to_string())),
                _ => Ok(()),
            }
        })?
    }
}

impl BlobStore for S3BlobStore {
    fn create(&self, name: &str) -> Result<Box<dyn BlobWriter>, BlobStoreError> {
        let name = checked(name)?;
        let spool = tempfile::tempfile().map_err(|e| BlobStoreError::Io(e.to_string()))?;
        Ok(Box::new(S3Writer {
            inner: Arc::clone(&self.inner),
            path: self.inner.path_of(name),
            spool: BufWriter::with_capacity(SPOOL_BUFFER, spool),
        }))
    }

    fn open(&self, name: &str) -> Result<Box<dyn BlobReader>, BlobStoreError> {
        let name = checked(name)?;
        let path = self.inner.path_of(name);
        let inner = &self.inner;
        let got = inner
            .block_on(inner.store.get_opts(&path, GetOptions::default()))?
            .map_err(|e| store_error(name, e))?;
        Ok(Box::new(S3Reader {
            inner: Arc::clone(&self.inner),
            name: name.to_owned(),
            e_tag: got.meta.e_tag.clone(),
            version: got.meta.version.clone(),
            path,
            stream: Some(got.into_stream()),
            chunk: Bytes::new(),
        }))
    }

    fn delete(&self, name: &str) -> Result<(), BlobStoreError> {
        let name = checked(name)?;
        let inner = &self.inner;
        match inner.block_on(inner.store.delete(&inner.path_of(name)))? {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(BlobStoreError::Io(e.to_string())),
        }
    }

    fn older_than(&self, age: Duration) -> Result<Vec<String>, BlobStoreError> {
        let inner = &self.inner;
        // Object times come from the server's clock, compared with this node's (both are
        // NTP-synchronised; the housekeeping age is an hour, far beyond any skew).
        let before: chrono::DateTime<chrono::Utc> = std::time::SystemTime::now()
            .checked_sub(age)
            .unwrap_or(std::time::UNIX_EPOCH)
            .into();
        let mut names = inner.block_on(async {
            let mut out = Vec::new();
            let mut list = inner.store.list(inner.prefix.as_ref());
            while let Some(meta) = list.next().await {
                let meta = meta.map_err(|e| BlobStoreError::Io(e.to_string()))?;
                let Some(name) = meta.location.filename() else {
                    continue;
                };
                if is_blob_name(name)
                    && meta.location == inner.path_of(name)
                    && meta.last_modified < before
                {
                    out.push(name.to_owned());
                }
            }
            Ok::<_, BlobStoreError>(out)
        })??;
        names.sort();
        Ok(names)
    }

    fn remove_stale(&self, name: &str) -> Result<(), BlobStoreError> {
        // Unfinished multipart uploads are invisible here; a bucket lifecycle rule
        // (AbortIncompleteMultipartUpload) removes those a crash leaves (docs/documents.md).
        self.delete(name)
    }
}

/// A blob being spooled before its upload.
struct S3Writer {
    inner: Arc<Inner>,
    path: ObjectPath,
    spool: BufWriter<File>,
}

impl std::fmt::Debug for S3Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Writer")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

fn spool_error(e: &std::io::Error) -> BlobStoreError {
    BlobStoreError::Io(format!("upload spool: {e}"))
}

/// Reads the next `len` (≤ [`PART_SIZE`]) bytes of the spool into a pooled part buffer.
fn read_part(
    pool: &Arc<Mutex<Vec<Vec<u8>>>>,
    file: &mut File,
    len: usize,
) -> Result<PutPayload, BlobStoreError> {
    let buf = pool
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .pop()
        .unwrap_or_else(|| vec![0; PART_SIZE]);
    let mut part = PartBuffer {
        buf,
        len,
        pool: Arc::clone(pool),
    };
    file.read_exact(&mut part.buf[..len])
        .map_err(|e| spool_error(&e))?;
    Ok(Bytes::from_owner(part).into())
}

impl S3Writer {
    async fn upload(&self, mut file: File, size: usize) -> Result<(), BlobStoreError> {
        let store = &self.inner.store;
        let io = |e: object_store::Error| BlobStoreError::Io(e.to_string());
        let parts = &self.inner.parts;
        let permit = |_| BlobStoreError::Io("upload budget closed".into());
        if size <= PART_SIZE {
            let _budget = parts.acquire().await.map_err(permit)?;
            let payload = read_part(&self.inner.buffers, &mut file, size)?;
            return store.put(&self.path, payload).await.map(|_| ()).map_err(io);
        }
        let mut upload = store.put_multipart(&self.path).await.map_err(io)?;
        let sent = async {
            let mut left = size;
            while left > 0 {
                let _budget = parts.acquire().await.map_err(permit)?;
                let len = left.min(PART_SIZE);
                let payload = read_part(&self.inner.buffers, &mut file, len)?;
                upload.put_part(payload).await.map_err(io)?;
                left -= len;
            }
            upload.complete().await.map(|_| ()).map_err(io)
        }
        .await;
        if sent.is_err()
            && let Err(e) = upload.abort().await
        {
            tracing::warn!(path = %self.path, error = %e, "could not abort a multipart upload");
        }
        sent
    }
}

impl BlobWriter for S3Writer {
    fn write(&mut self, bytes: &[u8]) -> Result<(), BlobStoreError> {
        self.spool.write_all(bytes).map_err(|e| spool_error(&e))
    }

    fn commit(self: Box<Self>) -> Result<(), BlobStoreError> {
        let mut this = *self;
        this.spool.flush().map_err(|e| spool_error(&e))?;
        let file = this.spool.get_mut();
        let size = file.seek(SeekFrom::End(0)).map_err(|e| spool_error(&e))?;
        file.seek(SeekFrom::Start(0)).map_err(|e| spool_error(&e))?;
        let file = file.try_clone().map_err(|e| spool_error(&e))?;
        let size = usize::try_from(size).map_err(|e| BlobStoreError::Io(e.to_string()))?;
        this.inner.block_on(this.upload(file, size))?
    }
}

/// One version of an object, streamed.
struct S3Reader {
    inner: Arc<Inner>,
    name: String,
    path: ObjectPath,
    e_tag: Option<String>,
    version: Option<String>,
    stream: Option<BoxStream<'static, object_store::Result<Bytes>>>,
    chunk: Bytes,
}

impl std::fmt::Debug for S3Reader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Reader")
            .field("path", &self.path)
            .field("e_tag", &self.e_tag)
            .finish_non_exhaustive()
    }
}

impl BlobReader for S3Reader {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, BlobStoreError> {
        loop {
            if !self.chunk.is_empty() {
                let n = buf.len().min(self.chunk.len());
                buf[..n].copy_from_slice(&self.chunk.split_to(n));
                return Ok(n);
            }
            let Some(stream) = self.stream.as_mut() else {
                return Ok(0);
            };
            match self.inner.block_on(stream.next())? {
                Some(Ok(bytes)) => self.chunk = bytes,
                Some(Err(e)) => return Err(BlobStoreError::Io(e.to_string())),
                None => self.stream = None,
            }
        }
    }

    fn rewind(&mut self) -> Result<(), BlobStoreError> {
        self.stream = None;
        self.chunk = Bytes::new();
        let options = GetOptions {
            if_match: self.e_tag.clone(),
            version: self.version.clone(),
            ..GetOptions::default()
        };
        let inner = &self.inner;
        let got = match inner.block_on(inner.store.get_opts(&self.path, options))? {
            Ok(got) => got,
            Err(
                object_store::Error::NotFound { .. } | object_store::Error::Precondition { .. },
            ) => return Err(BlobStoreError::Changed(self.name.clone())),
            Err(e) => return Err(BlobStoreError::Io(e.to_string())),
        };
        if got.meta.e_tag != self.e_tag {
            return Err(BlobStoreError::Changed(self.name.clone()));
        }
        self.stream = Some(got.into_stream());
        Ok(())
    }
}
