//! The blob-store contract (the `# Errors` sentences of `erp_domain::ports::BlobStore`), run
//! against the filesystem store and against the S3 store on a real S3-compatible server (moto,
//! see `erp_storage::testing`), one fresh directory or bucket per test.

#![expect(
    clippy::unwrap_used,
    reason = "test helpers outside #[test] functions: failing loudly is the point"
)]

use std::sync::Arc;
use std::time::Duration;

use erp_domain::ports::{BlobReader, BlobStore, BlobStoreError};
use erp_storage::testing::TestS3;
use erp_storage::{FsBlobStore, PART_SIZE, S3BlobStore};

const A: &str = "0123456789abcdef0123456789abcdef.enc";
const B: &str = "fedcba9876543210fedcba9876543210.enc";

/// Keeps the directory or the server alive for the test.
#[expect(dead_code, reason = "held only for its Drop")]
enum Guard {
    Dir(tempfile::TempDir),
    S3(TestS3),
}

fn fs_store() -> Option<(Arc<dyn BlobStore>, Guard)> {
    let dir = tempfile::tempdir().unwrap();
    let store = FsBlobStore::new(&dir.path().join("blobs")).unwrap();
    Some((Arc::new(store), Guard::Dir(dir)))
}

fn s3_store() -> Option<(Arc<dyn BlobStore>, Guard)> {
    let server = TestS3::start()?;
    let store = S3BlobStore::new(&server.settings(Some("docs"))).unwrap();
    store.check().unwrap();
    Some((Arc::new(store), Guard::S3(server)))
}

fn put(store: &dyn BlobStore, name: &str, data: &[u8], chunk: usize) {
    let mut w = store.create(name).unwrap();
    for c in data.chunks(chunk.max(1)) {
        w.write(c).unwrap();
    }
    w.commit().unwrap();
}

fn read_to_end(r: &mut dyn BlobReader) -> Result<Vec<u8>, BlobStoreError> {
    let mut out = Vec::new();
    let mut buf = vec![0_u8; 10_000];
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            return Ok(out);
        }
        out.extend_from_slice(&buf[..n]);
    }
}

fn data(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

fn written_blobs_appear_only_when_committed(store: &dyn BlobStore) {
    let bytes = data(100_000, 1);
    let mut w = store.create(A).unwrap();
    w.write(&bytes[..50_000]).unwrap();
    w.write(&bytes[50_000..]).unwrap();
    assert!(matches!(store.open(A), Err(BlobStoreError::Missing(_))));
    w.commit().unwrap();
    let mut r = store.open(A).unwrap();
    assert_eq!(read_to_end(r.as_mut()).unwrap(), bytes);
    r.rewind().unwrap();
    assert_eq!(
        read_to_end(r.as_mut()).unwrap(),
        bytes,
        "a rewind reads it again"
    );
}

fn empty_blobs_round_trip(store: &dyn BlobStore) {
    put(store, A, b"", 1);
    assert!(
        read_to_end(store.open(A).unwrap().as_mut())
            .unwrap()
            .is_empty()
    );
}

fn blobs_larger_than_a_part_round_trip(store: &dyn BlobStore) {
    let bytes = data(2 * PART_SIZE + 12_345, 2);
    put(store, A, &bytes, 256 * 1024);
    let got = read_to_end(store.open(A).unwrap().as_mut()).unwrap();
    assert_eq!(got.len(), bytes.len());
    assert!(got == bytes, "content differs");
}

fn dropped_writers_leave_nothing(store: &dyn BlobStore) {
    let mut w = store.create(A).unwrap();
    w.write(&data(1000, 3)).unwrap();
    drop(w);
    assert!(matches!(store.open(A), Err(BlobStoreError::Missing(_))));
    assert_eq!(
        store.older_than(Duration::ZERO).unwrap(),
        Vec::<String>::new()
    );
}

fn deletes_are_idempotent(store: &dyn BlobStore) {
    put(store, A, b"a", 1);
    put(store, B, b"b", 1);
    store.delete(A).unwrap();
    store.delete(A).unwrap();
    assert!(matches!(store.open(A), Err(BlobStoreError::Missing(_))));
    assert_eq!(read_to_end(store.open(B).unwrap().as_mut()).unwrap(), b"b");
}

fn names_that_are_not_blob_names_are_refused(store: &dyn BlobStore) {
    for name in [
        "../etc/passwd",
        "x.enc",
        "",
        "0123456789ABCDEF0123456789abcdef.enc",
    ] {
        assert!(
            matches!(store.create(name), Err(BlobStoreError::Missing(_))),
            "{name}"
        );
        assert!(
            matches!(store.open(name), Err(BlobStoreError::Missing(_))),
            "{name}"
        );
        assert!(
            matches!(store.delete(name), Err(BlobStoreError::Missing(_))),
            "{name}"
        );
        assert!(
            matches!(store.remove_stale(name), Err(BlobStoreError::Missing(_))),
            "{name}"
        );
    }
}

fn housekeeping_sees_old_blobs_and_removes_them(store: &dyn BlobStore) {
    put(store, B, b"b", 1);
    put(store, A, b"a", 1);
    assert_eq!(
        store.older_than(Duration::from_secs(3600)).unwrap(),
        Vec::<String>::new()
    );
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(
        store.older_than(Duration::from_secs(1)).unwrap(),
        vec![A, B]
    );
    store.remove_stale(A).unwrap();
    store.remove_stale(A).unwrap();
    assert_eq!(store.older_than(Duration::ZERO).unwrap(), vec![B]);
}

fn a_rewind_never_reads_a_newer_blob(store: &dyn BlobStore) {
    let first = data(70_000, 4);
    put(store, A, &first, 70_000);
    let mut r = store.open(A).unwrap();
    assert_eq!(read_to_end(r.as_mut()).unwrap(), first);
    store.delete(A).unwrap();
    put(store, A, &data(70_000, 5), 70_000);
    match r.rewind() {
        Ok(()) => assert_eq!(read_to_end(r.as_mut()).unwrap(), first),
        Err(e) => assert!(matches!(e, BlobStoreError::Changed(_)), "{e:?}"),
    }
}

macro_rules! contract {
    ($($case:ident),* $(,)?) => {
        mod filesystem {
            $(#[test]
            fn $case() {
                if let Some((store, _guard)) = super::fs_store() {
                    super::$case(store.as_ref());
                }
            })*
        }
        mod s3 {
            $(#[test]
            fn $case() {
                if let Some((store, _guard)) = super::s3_store() {
                    super::$case(store.as_ref());
                }
            })*
        }
    };
}

contract!(
    written_blobs_appear_only_when_committed,
    empty_blobs_round_trip,
    blobs_larger_than_a_part_round_trip,
    dropped_writers_leave_nothing,
    deletes_are_idempotent,
    names_that_are_not_blob_names_are_refused,
    housekeeping_sees_old_blobs_and_removes_them,
    a_rewind_never_reads_a_newer_blob,
);

#[test]
fn s3_blobs_live_under_the_prefix_and_ignore_foreign_keys() {
    let Some(server) = TestS3::start() else {
        return;
    };
    let docs = S3BlobStore::new(&server.settings(Some("docs"))).unwrap();
    let other = S3BlobStore::new(&server.settings(Some("other/place"))).unwrap();
    put(&docs, A, b"a", 1);
    put(&other, B, b"b", 1);
    assert!(matches!(docs.open(B), Err(BlobStoreError::Missing(_))));
    assert_eq!(docs.older_than(Duration::ZERO).unwrap(), vec![A]);
    assert_eq!(other.older_than(Duration::ZERO).unwrap(), vec![B]);
}

#[test]
fn s3_reports_a_missing_bucket_or_bad_endpoint() {
    let Some(server) = TestS3::start() else {
        return;
    };
    let mut settings = server.settings(None);
    settings.bucket = "no-such-bucket".into();
    let store = S3BlobStore::new(&settings).unwrap();
    assert!(matches!(store.check(), Err(BlobStoreError::Io(_))));
}
