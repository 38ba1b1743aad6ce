//! What a function is: its settings (as `function create` set them) and its
//! versions, stored as JSON in the FUNCTIONS table; and the checks on them,
//! worded as Lambda's ValidationException words them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Result, StoreError};
use crate::streams::validate::{check, failure, range};

/// Lambda's bounds and defaults for a function's settings.
pub mod limits {
    /// Default timeout, seconds (Lambda: 3).
    pub const DEFAULT_TIMEOUT_SECS: u32 = 3;
    /// Longest timeout, seconds (Lambda: 900).
    pub const MAX_TIMEOUT_SECS: u32 = 900;
    /// Default memory, MiB (Lambda: 128).
    pub const DEFAULT_MEMORY_MIB: u32 = 128;
    /// Smallest memory, MiB (Lambda: 128).
    pub const MIN_MEMORY_MIB: u32 = 128;
    /// Largest memory, MiB (Lambda: 10240).
    pub const MAX_MEMORY_MIB: u32 = 10_240;
    /// The longest function name (Lambda: 64).
    pub const MAX_NAME_CHARS: usize = 64;
    /// The longest description (Lambda: 256).
    pub const MAX_DESCRIPTION_CHARS: usize = 256;
}

/// The settings a new function is created with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionSpec {
    pub name: String,
    pub description: String,
    pub timeout_secs: u32,
    pub memory_mib: u32,
    /// Fuel per invocation.
    pub fuel: u64,
    /// Grants of its own (`read:table/T`, ...), on top of its role's.
    pub grants: Vec<String>,
    /// Environment variables the function may read.
    pub env: BTreeMap<String, String>,
    /// The role whose grants the function also has (it must exist).
    pub role: Option<String>,
}

/// One published version of a function's code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionInfo {
    /// 1 for the code the function was created with, then 2, 3, ...
    pub version: u32,
    /// The SHA-256 of the component (hex); the key of its bytes.
    pub code_hash: String,
    pub code_size: u64,
    pub created_ms: u64,
}

/// A function as stored: its settings and every version, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionConfig {
    pub name: String,
    pub description: String,
    pub versions: Vec<VersionInfo>,
    pub timeout_secs: u32,
    pub memory_mib: u32,
    pub fuel: u64,
    pub grants: Vec<String>,
    pub env: BTreeMap<String, String>,
    pub role: Option<String>,
    pub created_ms: u64,
}

impl FunctionConfig {
    /// The newest version (every stored function has at least one).
    pub fn latest(&self) -> Option<&VersionInfo> {
        self.versions.last()
    }

    /// Version `version`, if it was published.
    pub fn version(&self, version: u32) -> Option<&VersionInfo> {
        self.versions.iter().find(|v| v.version == version)
    }

    pub(super) fn decode(bytes: &[u8]) -> Result<FunctionConfig> {
        serde_json::from_slice(bytes)
            .map_err(|e| StoreError::Storage(format!("corrupt function metadata: {e}")))
    }

    pub(super) fn encode(&self) -> Result<Vec<u8>> {
        serde_json::to_vec(self).map_err(|e| StoreError::Storage(e.to_string()))
    }
}

/// Lambda's function-name pattern (for an unqualified name).
const NAME_PATTERN: &str = "[a-zA-Z0-9-_]+";

/// A function name: `[a-zA-Z0-9-_]+`, 1..=64 characters.
pub(super) fn check_name(name: &str) -> Result<()> {
    check(name_failures(name))
}

fn name_failures(name: &str) -> Vec<String> {
    let mut failures = Vec::new();
    if name.is_empty() || name.chars().count() > limits::MAX_NAME_CHARS {
        let why = format!(
            "Member must have length less than or equal to {} and greater than or equal to 1",
            limits::MAX_NAME_CHARS
        );
        failures.push(failure(name, "functionName", &why));
    }
    let ok = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    if !name.is_empty() && !name.chars().all(ok) {
        let why = format!("Member must satisfy regular expression pattern: {NAME_PATTERN}");
        failures.push(failure(name, "functionName", &why));
    }
    failures
}

/// Every setting of `spec`, reported together as Lambda does.
pub(super) fn check_spec(spec: &FunctionSpec) -> Result<()> {
    let mut failures = name_failures(&spec.name);
    if spec.description.chars().count() > limits::MAX_DESCRIPTION_CHARS {
        let why = format!(
            "Member must have length less than or equal to {}",
            limits::MAX_DESCRIPTION_CHARS
        );
        failures.push(failure(&spec.description, "description", &why));
    }
    failures.extend(range(
        u64::from(spec.timeout_secs),
        "timeout",
        1,
        u64::from(limits::MAX_TIMEOUT_SECS),
    ));
    failures.extend(range(
        u64::from(spec.memory_mib),
        "memorySize",
        u64::from(limits::MIN_MEMORY_MIB),
        u64::from(limits::MAX_MEMORY_MIB),
    ));
    failures.extend(range(spec.fuel, "fuel", 1, u64::MAX));
    for key in spec.env.keys() {
        failures.extend(env_key_failures(key));
    }
    check(failures)
}

/// Lambda's environment variable names: `[a-zA-Z]([a-zA-Z0-9_])+`.
fn env_key_failures(key: &str) -> Vec<String> {
    let mut chars = key.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    let rest: Vec<char> = chars.collect();
    let rest_ok = !rest.is_empty() && rest.iter().all(|c| c.is_ascii_alphanumeric() || *c == '_');
    if first_ok && rest_ok {
        return Vec::new();
    }
    let why = "Member must satisfy regular expression pattern: [a-zA-Z]([a-zA-Z0-9_])+";
    vec![failure(key, "environment.variables", why)]
}
