//! Function code blobs, keyed by their SHA-256 so a re-upload of the same
//! component (or a blueprint used by many functions) is stored once.

use redb::ReadableTable;
use sha2::{Digest, Sha256};

use crate::error::{Result, StoreError};
use crate::schema::{FUNCTION_CODE, FUNCTIONS};
use crate::writer::WriteCtx;

/// The SHA-256 of `code`, lower-case hex (Lambda's CodeSha256 is the same
/// digest, base64-encoded; hex matches the runtime's component cache keys).
pub fn code_sha256(code: &[u8]) -> String {
    let digest = Sha256::digest(code);
    let mut hex = String::with_capacity(64);
    for byte in digest {
        hex.push_str(&format!("{byte:02x}"));
    }
    hex
}

/// Stores `code` under its hash unless it is already there; returns the hash.
pub(super) fn put(ctx: &WriteCtx<'_>, code: &[u8]) -> Result<String> {
    let hash = code_sha256(code);
    let mut table = ctx.txn().open_table(FUNCTION_CODE)?;
    if table.get(hash.as_str())?.is_none() {
        table.insert(hash.as_str(), code)?;
    }
    Ok(hash)
}

/// The code stored under `hash`; its absence means a corrupt registry.
pub(super) fn get<T: ReadableTable<&'static str, &'static [u8]>>(
    table: &T,
    hash: &str,
) -> Result<Vec<u8>> {
    match table.get(hash)? {
        Some(bytes) => Ok(bytes.value().to_vec()),
        None => Err(StoreError::Storage(format!(
            "function code {hash} is missing from the data directory"
        ))),
    }
}

/// Removes every blob no function version refers to any more (after a delete).
pub(super) fn collect_garbage(ctx: &WriteCtx<'_>) -> Result<()> {
    let functions = ctx.txn().open_table(FUNCTIONS)?;
    let mut used = std::collections::HashSet::new();
    for entry in functions.iter()? {
        let (_, value) = entry?;
        let config = super::config::FunctionConfig::decode(value.value())?;
        used.extend(config.versions.into_iter().map(|v| v.code_hash));
    }
    drop(functions);
    let mut blobs = ctx.txn().open_table(FUNCTION_CODE)?;
    blobs.retain(|hash, _| used.contains(hash))?;
    Ok(())
}
