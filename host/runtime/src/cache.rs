//! Compiled components cached in the data directory, keyed by the SHA-256 of
//! the component's bytes and a hash of the engine configuration, so restarts
//! and re-deploys of the same code compile nothing: a hit is an mmap of the
//! cached artifact (`Component::deserialize_file`, ~40 µs).
//!
//! Validation happens before anything is stored: bytes that are not WASM, a
//! core module, or a component wasmtime refuses never reach the cache.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

use crate::engine::config_hash;
use crate::error::RuntimeError;

/// The cache's directory inside a data directory.
pub const CACHE_DIR: &str = "components";

/// The compiled-component cache of one data directory.
pub(crate) struct ComponentCache {
    dir: PathBuf,
    config: u64,
    compiles: AtomicU64,
}

/// Checks the binary header: WASM at all, and a component rather than a core
/// module (byte 4..8 is the version: 1 for modules, 0x0d layer 1 for components).
pub fn check_header(wasm: &[u8]) -> Result<(), RuntimeError> {
    let (Some(magic), Some(version)) = (wasm.get(..4), wasm.get(4..8)) else {
        return Err(RuntimeError::InvalidCode(
            "not a WebAssembly binary: it is shorter than a WASM header".into(),
        ));
    };
    if magic != b"\0asm" {
        return Err(RuntimeError::InvalidCode(
            "not a WebAssembly binary: it does not start with \\0asm".into(),
        ));
    }
    if version == [1, 0, 0, 0] {
        return Err(RuntimeError::InvalidCode(
            "this is a core WebAssembly module, not a component: build it for \
             wasm32-wasip2 (or wrap it with `wasm-tools component new`) against \
             the eddy:trigger/handler world"
                .into(),
        ));
    }
    Ok(())
}

/// The SHA-256 of `bytes`, in hex.
pub fn content_hash(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl ComponentCache {
    /// The cache under `data_dir/components` for `engine`'s configuration.
    pub fn open(data_dir: &Path, engine: &Engine) -> Result<ComponentCache, RuntimeError> {
        let dir = data_dir.join(CACHE_DIR);
        fs::create_dir_all(&dir)
            .map_err(|e| RuntimeError::Cache(format!("cannot create {}: {e}", dir.display())))?;
        Ok(ComponentCache {
            dir,
            config: config_hash(engine),
            compiles: AtomicU64::new(0),
        })
    }

    /// How many components this cache has compiled (misses) since it opened.
    pub fn compiles(&self) -> u64 {
        self.compiles.load(Ordering::Relaxed)
    }

    fn path_of(&self, hash: &str) -> PathBuf {
        self.dir.join(format!("{hash}-{:016x}.cwasm", self.config))
    }

    /// `wasm` compiled (mapped from the cache, or compiled and stored now)
    /// and turned into `P` by `prepare` — once: `prepare` is also the check
    /// that a fresh compile is runnable before its artifact is stored, and a
    /// cached artifact it refuses (or that no longer maps: truncated by a
    /// crash, written by another wasmtime) is recompiled and replaced.
    ///
    /// `known_hash` is the SHA-256 (lower-case hex) the caller already has for
    /// exactly these bytes — the store computed it when the code was uploaded —
    /// so a load does not hash the whole component again (~0.5 µs per KiB).
    /// Anything that is not 64 hex digits is ignored and the hash computed.
    /// Returns `P` and the hash.
    pub fn load<P>(
        &self,
        engine: &Engine,
        wasm: &[u8],
        known_hash: Option<&str>,
        prepare: impl Fn(&Component) -> Result<P, RuntimeError>,
    ) -> Result<(P, String), RuntimeError> {
        check_header(wasm)?;
        let hash = match known_hash {
            Some(hash) if is_sha256_hex(hash) => hash.to_string(),
            _ => content_hash(wasm),
        };
        let path = self.path_of(&hash);
        // No `exists` check first: a missing file is one failed open.
        if let Ok(component) = deserialize(engine, &path)
            && let Ok(prepared) = prepare(&component)
        {
            return Ok((prepared, hash));
        }
        self.compiles.fetch_add(1, Ordering::Relaxed);
        let component = Component::new(engine, wasm)
            .map_err(|e| RuntimeError::InvalidCode(format!("{e:#}")))?;
        let prepared = prepare(&component)?;
        let bytes = component
            .serialize()
            .map_err(|e| RuntimeError::Cache(format!("cannot serialize: {e:#}")))?;
        write_atomically(&path, &bytes)?;
        Ok((prepared, hash))
    }
}

/// True for 64 lower-case hex digits: a SHA-256 that is safe as a file name.
fn is_sha256_hex(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Maps a cached artifact.
#[allow(unsafe_code)]
fn deserialize(engine: &Engine, path: &Path) -> wasmtime::Result<Component> {
    // SAFETY: `deserialize_file` trusts that the file is an artifact produced
    // by `Component::serialize` and is not modified while mapped. Only eddy
    // writes this directory, always through `write_atomically` (a new file
    // renamed into place, never rewritten), and wasmtime itself checks the
    // header, version and engine configuration before using it.
    unsafe { Component::deserialize_file(engine, path) }
}

/// Writes `bytes` to a temporary file and renames it to `path`, so a reader
/// never maps a half-written artifact.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), RuntimeError> {
    let err =
        |e: std::io::Error| RuntimeError::Cache(format!("cannot write {}: {e}", path.display()));
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let tmp = path.with_extension(format!("tmp{}-{n}", std::process::id()));
    let mut file = fs::File::create(&tmp).map_err(err)?;
    file.write_all(bytes).map_err(err)?;
    file.sync_all().map_err(err)?;
    drop(file);
    fs::rename(&tmp, path).map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_checked() {
        let msg = |b: &[u8]| check_header(b).unwrap_err().to_string();
        assert!(msg(b"").contains("shorter"));
        assert!(msg(b"hello world!").contains("does not start with"));
        assert!(msg(b"\0asm\x01\0\0\0").contains("core WebAssembly module"));
        assert!(check_header(b"\0asm\x0d\0\x01\0").is_ok());
    }

    #[test]
    fn only_sha256_hex_is_taken_as_a_known_hash() {
        let hash = content_hash(b"code");
        assert!(is_sha256_hex(&hash));
        assert!(!is_sha256_hex(&hash.to_uppercase()));
        assert!(!is_sha256_hex(&hash[1..]));
        assert!(!is_sha256_hex(&format!("../{}", &hash[3..])));
        assert!(!is_sha256_hex(""));
    }

    #[test]
    fn content_hashes_are_sha256() {
        assert_eq!(
            content_hash(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
