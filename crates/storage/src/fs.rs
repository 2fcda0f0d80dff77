//! The filesystem blob store: one directory (mode 0700) on the node's disk. A blob is written
//! under `<name>.part` (mode 0600), synced, then renamed to `<name>`; a reader keeps its file
//! open, so a rewind reads the very same bytes even if the name is deleted meanwhile.

use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use erp_domain::document::is_blob_name;
use erp_domain::ports::{BlobReader, BlobStore, BlobStoreError, BlobWriter};

use crate::name::checked;

/// Suffix of a blob being written (renamed away when committed).
pub const PARTIAL_SUFFIX: &str = ".part";
const WRITE_BUFFER: usize = 64 * 1024;

fn io(e: &std::io::Error) -> BlobStoreError {
    BlobStoreError::Io(e.to_string())
}

/// Blobs in one directory.
#[derive(Debug, Clone)]
pub struct FsBlobStore {
    dir: PathBuf,
}

impl FsBlobStore {
    /// A store over `dir` (created with mode 0700 when absent).
    ///
    /// # Errors
    /// [`BlobStoreError::Io`] when the directory cannot be created.
    pub fn new(dir: &Path) -> Result<Self, BlobStoreError> {
        let mut builder = fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt as _;
            builder.mode(0o700);
        }
        builder.create(dir).map_err(|e| io(&e))?;
        Ok(Self {
            dir: dir.to_owned(),
        })
    }

    /// The storage directory.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl BlobStore for FsBlobStore {
    fn create(&self, name: &str) -> Result<Box<dyn BlobWriter>, BlobStoreError> {
        let name = checked(name)?;
        let partial = self.dir.join(format!("{name}{PARTIAL_SUFFIX}"));
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
        }
        let file = options.open(&partial).map_err(|e| io(&e))?;
        Ok(Box::new(FsWriter {
            file: Some(BufWriter::with_capacity(WRITE_BUFFER, file)),
            final_path: self.dir.join(name),
            partial,
        }))
    }

    fn open(&self, name: &str) -> Result<Box<dyn BlobReader>, BlobStoreError> {
        let name = checked(name)?;
        match File::open(self.dir.join(name)) {
            Ok(file) => Ok(Box::new(FsReader { file })),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(BlobStoreError::Missing(name.to_owned()))
            }
            Err(e) => Err(io(&e)),
        }
    }

    fn delete(&self, name: &str) -> Result<(), BlobStoreError> {
        remove(&self.dir.join(checked(name)?))
    }

    fn older_than(&self, age: Duration) -> Result<Vec<String>, BlobStoreError> {
        // File times come from the file system's clock, so "now" does too.
        let before = SystemTime::now().checked_sub(age).unwrap_or(UNIX_EPOCH);
        let mut out = Vec::new();
        for entry in fs::read_dir(&self.dir).map_err(|e| io(&e))? {
            let entry = entry.map_err(|e| io(&e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let blob = name.strip_suffix(PARTIAL_SUFFIX).unwrap_or(&name);
            if !is_blob_name(blob) {
                continue;
            }
            let modified = entry
                .metadata()
                .and_then(|m| m.modified())
                .map_err(|e| io(&e))?;
            if modified < before {
                out.push(name);
            }
        }
        out.sort();
        Ok(out)
    }

    fn remove_stale(&self, name: &str) -> Result<(), BlobStoreError> {
        checked(name.strip_suffix(PARTIAL_SUFFIX).unwrap_or(name))?;
        remove(&self.dir.join(name))
    }
}

fn remove(path: &Path) -> Result<(), BlobStoreError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io(&e)),
    }
}

/// A blob being written under its `.part` name.
#[derive(Debug)]
struct FsWriter {
    file: Option<BufWriter<File>>,
    partial: PathBuf,
    final_path: PathBuf,
}

impl BlobWriter for FsWriter {
    fn write(&mut self, bytes: &[u8]) -> Result<(), BlobStoreError> {
        self.file
            .as_mut()
            .ok_or_else(|| BlobStoreError::Io("writer already committed".into()))?
            .write_all(bytes)
            .map_err(|e| io(&e))
    }

    fn commit(mut self: Box<Self>) -> Result<(), BlobStoreError> {
        let file = self
            .file
            .take()
            .ok_or_else(|| BlobStoreError::Io("writer already committed".into()))?;
        let committed = file
            .into_inner()
            .map_err(|e| io(e.error()))
            .and_then(|f| f.sync_all().map_err(|e| io(&e)))
            .and_then(|()| fs::rename(&self.partial, &self.final_path).map_err(|e| io(&e)));
        if let Err(e) = committed {
            let _ = fs::remove_file(&self.partial);
            return Err(e);
        }
        if let Some(dir) = self.final_path.parent()
            && let Ok(d) = File::open(dir)
        {
            // Makes the rename durable; not fatal where directories cannot be synced.
            let _ = d.sync_all();
        }
        Ok(())
    }
}

impl Drop for FsWriter {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            // Never committed: the partial blob is useless.
            let _ = fs::remove_file(&self.partial);
        }
    }
}

/// An open blob file.
#[derive(Debug)]
struct FsReader {
    file: File,
}

impl BlobReader for FsReader {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, BlobStoreError> {
        loop {
            match self.file.read(buf) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                other => return other.map_err(|e| io(&e)),
            }
        }
    }

    fn rewind(&mut self) -> Result<(), BlobStoreError> {
        self.file
            .seek(SeekFrom::Start(0))
            .map(|_| ())
            .map_err(|e| io(&e))
    }
}
