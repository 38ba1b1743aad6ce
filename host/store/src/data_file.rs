//! The data file under redb: redb's own file backend, except that space the
//! file has never held is written with zeros a chunk at a time, just before
//! redb first writes into it.
//!
//! redb grows its file with `set_len`, which leaves the new space a hole. On
//! ext4 a commit whose pages land in a hole makes its fdatasync also commit
//! the journal for the blocks it allocates: measured here, 12 pages and an
//! fdatasync took 211 µs into a hole (202 µs into fallocated space, whose
//! extents are converted on write) against 120 µs into space written before.
//! Durable commits are fsync-bound, so filling a chunk ahead pays that
//! allocation once per chunk instead of once per commit. `eddy bench store`,
//! 64 durable writers, alternating runs on this machine: 134k-156k PutItem/s
//! with the filling against 90k-123k without. The commit that fills a chunk
//! carries 1 MiB more to its fsync (a few ms, once per MiB of new pages).
//!
//! Only space at or past the file's length at its first change under redb's
//! lock (or after a shrink) is ever filled: anything below may hold data.

use std::collections::BTreeMap;
use std::fs::File;
use std::io;
use std::ops::Bound;
use std::sync::{Mutex, MutexGuard};

use redb::backends::FileBackend;
use redb::{BackendError, StorageBackend};

/// Fresh space is filled this much at a time.
const CHUNK: u64 = 1 << 20;

/// A `FileBackend` that fills fresh space with zeros before first use.
#[derive(Debug)]
pub(crate) struct DataFile {
    file: FileBackend,
    fresh: Mutex<Fresh>,
}

/// Where the file holds space it was never written to.
#[derive(Debug, Default)]
struct Fresh {
    /// Below this offset the file may hold data: never filled. Read at the
    /// first write or resize, when redb holds the file's lock: read at open,
    /// it could predate another process's last commits.
    floor: Option<u64>,
    /// The file's length, read with the floor and kept since: redb changes
    /// it only through this backend, so no write needs a syscall to learn it.
    len: u64,
    /// How far each chunk (offset / CHUNK) at or past the floor is filled.
    filled_to: BTreeMap<u64, u64>,
}

impl DataFile {
    pub(crate) fn new(file: File) -> io::Result<DataFile> {
        let file = FileBackend::new(file).map_err(io::Error::other)?;
        Ok(DataFile {
            file,
            fresh: Mutex::new(Fresh::default()),
        })
    }

    /// The fill state, with the floor read if this is the first change.
    fn fresh(&self) -> io::Result<MutexGuard<'_, Fresh>> {
        // The state is a set of facts about the file, each true once added.
        let mut fresh = self.fresh.lock().unwrap_or_else(|e| e.into_inner());
        if fresh.floor.is_none() {
            fresh.len = self.file.len()?;
            fresh.floor = Some(fresh.len);
        }
        Ok(fresh)
    }

    /// Fills the fresh part of every chunk that `offset..end` touches, up
    /// to the file's length. Held across the write (`fresh` is the guard),
    /// so a resize cannot come between the length and the zeros.
    fn fill_before_write(&self, fresh: &mut Fresh, offset: u64, end: u64) -> io::Result<()> {
        let floor = fresh.floor.unwrap_or(u64::MAX);
        if end <= floor {
            return Ok(());
        }
        let len = fresh.len;
        for chunk in offset.max(floor) / CHUNK..end.div_ceil(CHUNK) {
            let filled = fresh.filled_to.get(&chunk).copied().unwrap_or(0);
            let start = (chunk * CHUNK).max(floor).max(filled);
            let stop = ((chunk + 1) * CHUNK).min(len);
            if start < stop {
                let zeros = vec![0u8; (stop - start) as usize];
                self.file.write(start, &zeros)?;
                fresh.filled_to.insert(chunk, stop);
            }
        }
        Ok(())
    }
}

impl StorageBackend for DataFile {
    fn len(&self) -> io::Result<u64> {
        self.file.len()
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> io::Result<()> {
        self.file.read(offset, out)
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        let mut fresh = self.fresh()?;
        let shrinks = len < fresh.len;
        self.file.set_len(len)?;
        fresh.len = len;
        if shrinks {
            // Past `len` the file is a hole again; below it, data.
            fresh.floor = Some(len);
            fresh
                .filled_to
                .retain(|chunk, _| (chunk + 1) * CHUNK <= len);
        }
        Ok(())
    }

    fn sync_data(&self) -> io::Result<()> {
        self.file.sync_data()
    }

    fn write(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        let mut fresh = self.fresh()?;
        let end = offset + data.len() as u64;
        self.fill_before_write(&mut fresh, offset, end)?;
        self.file.write(offset, data)?;
        fresh.len = fresh.len.max(end);
        Ok(())
    }

    fn close(&self) -> io::Result<()> {
        self.file.close()
    }

    fn try_lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<bool, BackendError> {
        self.file.try_lock_range(start, end)
    }

    fn try_lock_shared_range(
        &self,
        start: Bound<u64>,
        end: Bound<u64>,
    ) -> Result<bool, BackendError> {
        self.file.try_lock_shared_range(start, end)
    }

    fn lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.file.lock_range(start, end)
    }

    fn lock_shared_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.file.lock_shared_range(start, end)
    }

    fn unlock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.file.unlock_range(start, end)
    }

    fn query_lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<bool, BackendError> {
        self.file.query_lock_range(start, end)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;

    fn open(dir: &tempfile::TempDir, initial: &[u8]) -> DataFile {
        let path = dir.path().join("data");
        std::fs::write(&path, initial).unwrap();
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .unwrap();
        DataFile::new(file).unwrap()
    }

    fn contents(file: &DataFile) -> Vec<u8> {
        let mut out = vec![0; file.len().unwrap() as usize];
        file.read(0, &mut out).unwrap();
        out
    }

    #[test]
    fn fresh_space_is_filled_around_writes_and_old_data_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let file = open(&dir, &[7; 100]);
        file.set_len(3 * CHUNK + 10).unwrap();
        file.write(50, &[1; 10]).unwrap();
        file.write(CHUNK + 5, &[2; 4]).unwrap();
        let bytes = contents(&file);
        assert_eq!(bytes.len() as u64, 3 * CHUNK + 10, "length unchanged");
        assert_eq!(&bytes[..50], &[7; 50][..]);
        assert_eq!(&bytes[50..60], &[1; 10][..]);
        assert_eq!(&bytes[60..100], &[7; 40][..]);
        assert_eq!(&bytes[CHUNK as usize + 5..CHUNK as usize + 9], &[2; 4][..]);
        assert!(bytes[100..CHUNK as usize + 5].iter().all(|&b| b == 0));
        let fresh = file.fresh().unwrap();
        // Chunk 0 was only written below the floor (the data it was opened with).
        assert_eq!(fresh.filled_to, BTreeMap::from([(1, 2 * CHUNK)]));
    }

    #[test]
    fn a_filled_chunk_is_not_filled_again_over_its_data() {
        let dir = tempfile::tempdir().unwrap();
        let file = open(&dir, &[]);
        file.set_len(CHUNK).unwrap();
        file.write(0, &[3; 8]).unwrap();
        file.write(100, &[4; 8]).unwrap();
        let bytes = contents(&file);
        assert_eq!(&bytes[..8], &[3; 8][..], "the second write kept the first");
        assert_eq!(&bytes[100..108], &[4; 8][..]);
    }

    #[test]
    fn after_a_shrink_only_the_space_past_the_new_end_is_fresh() {
        let dir = tempfile::tempdir().unwrap();
        let file = open(&dir, &[]);
        file.set_len(2 * CHUNK).unwrap();
        file.write(10, &[5; 10]).unwrap();
        file.set_len(15).unwrap();
        file.set_len(CHUNK).unwrap();
        file.write(100, &[6; 4]).unwrap();
        let bytes = contents(&file);
        assert_eq!(&bytes[10..15], &[5; 5][..], "data below the shrink kept");
        assert!(bytes[15..100].iter().all(|&b| b == 0));
        assert_eq!(&bytes[100..104], &[6; 4][..]);
    }

    #[test]
    fn data_another_handle_wrote_after_open_is_not_fresh() {
        let dir = tempfile::tempdir().unwrap();
        let file = open(&dir, &[]);
        // Another process, before this one's first write.
        let mut other = std::fs::OpenOptions::new()
            .append(true)
            .open(dir.path().join("data"))
            .unwrap();
        other.write_all(&[9; 4096]).unwrap();
        file.write(8192, &[1; 8]).unwrap();
        let bytes = contents(&file);
        assert_eq!(&bytes[..4096], &[9; 4096][..]);
    }

    #[test]
    fn a_chunk_filled_up_to_the_end_is_filled_on_after_growth() {
        let dir = tempfile::tempdir().unwrap();
        let file = open(&dir, &[]);
        file.set_len(CHUNK / 2).unwrap();
        file.write(0, &[1; 4]).unwrap();
        file.set_len(CHUNK).unwrap();
        file.write(CHUNK / 2 + 8, &[2; 4]).unwrap();
        let bytes = contents(&file);
        assert_eq!(&bytes[..4], &[1; 4][..], "the data of the first half kept");
        assert_eq!(
            file.fresh().unwrap().filled_to,
            BTreeMap::from([(0, CHUNK)])
        );
    }
}
