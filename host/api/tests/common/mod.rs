//! What the dispatcher's integration tests share.

use eddy_store::{Clock, Durability, Store, StoreOptions};

/// A store in a fresh temporary directory (relaxed: these tests never crash
/// it), reading `clock`; the directory lives as long as the returned guard.
pub fn temp_store(clock: Clock) -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let options = StoreOptions {
        clock,
        durability: Durability::Relaxed,
        ..StoreOptions::default()
    };
    let store = Store::open(dir.path(), options).unwrap();
    (dir, store)
}
