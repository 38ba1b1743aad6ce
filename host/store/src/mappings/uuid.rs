//! Mapping UUIDs: version-4-shaped (`xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx`)
//! from what std offers — the clock, a process-wide counter, the process id
//! and std's per-process random hash keys — mixed through MD5. They are ids,
//! not secrets; the counter makes two in one process differ even on the same
//! clock tick, and the random keys make two processes differ.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use md5::{Digest, Md5};

static COUNTER: AtomicU64 = AtomicU64::new(0);
static KEYS: OnceLock<RandomState> = OnceLock::new();

/// A new UUID in lower-case hex.
pub(crate) fn new_v4() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut hasher = KEYS.get_or_init(RandomState::new).build_hasher();
    hasher.write_u128(nanos);
    hasher.write_u64(count);
    let salt = hasher.finish();
    let mut md5 = Md5::new();
    md5.update(nanos.to_le_bytes());
    md5.update(count.to_le_bytes());
    md5.update(std::process::id().to_le_bytes());
    md5.update(salt.to_le_bytes());
    let mut bytes: [u8; 16] = md5.finalize().into();
    bytes[6] = (bytes[6] & 0x0f) | 0x40; // version 4
    bytes[8] = (bytes[8] & 0x3f) | 0x80; // RFC 4122 variant
    format(&bytes)
}

fn format(bytes: &[u8; 16]) -> String {
    let mut out = String::with_capacity(36);
    for (i, b) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// True for the UUID shape Lambda accepts (8-4-4-4-12 hex digits).
pub(crate) fn is_uuid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    let lengths: Vec<usize> = groups.iter().map(|g| g.len()).collect();
    lengths == [8, 4, 4, 4, 12]
        && groups
            .iter()
            .all(|g| g.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_v4_shaped_and_distinct() {
        let ids: std::collections::HashSet<String> = (0..1000).map(|_| new_v4()).collect();
        assert_eq!(ids.len(), 1000);
        for id in &ids {
            assert!(is_uuid(id), "{id}");
            assert_eq!(id.as_bytes()[14], b'4', "{id}");
            assert!(
                matches!(id.as_bytes()[19], b'8' | b'9' | b'a' | b'b'),
                "{id}"
            );
        }
        assert!(!is_uuid("not-a-uuid"));
        assert!(!is_uuid("0000000g-0000-4000-8000-000000000000"));
    }
}
