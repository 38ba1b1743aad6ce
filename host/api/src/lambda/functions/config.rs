//! The FunctionConfiguration shape of Lambda's responses.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use eddy_store::functions::{FunctionConfig, VersionInfo};
use eddy_store::{Store, timefmt};
use serde_json::{Map, Value, json};

use super::names::{function_arn, role_arn};

/// What `Runtime` says about every eddy function (see the module docs).
pub const RUNTIME: &str = "wasm32-wasip2";

/// Lambda's LastModified: `2024-01-01T00:00:00.000+0000`.
pub(super) fn last_modified(ms: u64) -> String {
    format!("{}+0000", timefmt::iso_ms(ms))
}

/// Lambda's CodeSha256: the digest base64-encoded (the store keeps it hex).
pub(super) fn code_sha256_base64(hex: &str) -> String {
    let digits: Vec<u8> = hex
        .bytes()
        .filter_map(|b| (b as char).to_digit(16))
        .filter_map(|d| u8::try_from(d).ok())
        .collect();
    let bytes: Vec<u8> = digits
        .chunks(2)
        .map(|pair| pair.iter().fold(0u8, |acc, d| (acc << 4) | d))
        .collect();
    STANDARD.encode(bytes)
}

/// The FunctionConfiguration of version `v` of `f`; `qualified` puts the
/// version in FunctionArn (as Lambda does for a version asked for by number).
pub(crate) fn configuration(
    store: &Store,
    f: &FunctionConfig,
    v: &VersionInfo,
    qualified: bool,
) -> Value {
    let arn = function_arn(store, &f.name);
    let arn = if qualified {
        format!("{arn}:{}", v.version)
    } else {
        arn
    };
    let mut c = Map::new();
    c.insert("FunctionName".into(), json!(f.name));
    c.insert("FunctionArn".into(), json!(arn));
    c.insert("Runtime".into(), json!(RUNTIME));
    if let Some(role) = &f.role {
        c.insert("Role".into(), json!(role_arn(store, role)));
    }
    c.insert("CodeSize".into(), json!(v.code_size));
    c.insert("CodeSha256".into(), json!(code_sha256_base64(&v.code_hash)));
    c.insert("Description".into(), json!(f.description));
    c.insert("Timeout".into(), json!(f.timeout_secs));
    c.insert("MemorySize".into(), json!(f.memory_mib));
    c.insert("LastModified".into(), json!(last_modified(v.created_ms)));
    c.insert("Version".into(), json!(v.version.to_string()));
    if !f.env.is_empty() {
        c.insert("Environment".into(), json!({ "Variables": f.env }));
    }
    c.insert("State".into(), json!("Active"));
    c.insert("LastUpdateStatus".into(), json!("Successful"));
    c.insert("PackageType".into(), json!("Zip"));
    c.insert("Grants".into(), json!(f.grants));
    c.insert("Fuel".into(), json!(f.fuel));
    Value::Object(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_sha256_is_the_digest_in_base64() {
        let hex = eddy_store::functions::code_sha256(b"abc");
        assert_eq!(
            code_sha256_base64(&hex),
            "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0="
        );
    }

    #[test]
    fn last_modified_is_in_lambdas_format() {
        assert_eq!(
            last_modified(1_704_067_200_123),
            "2024-01-01T00:00:00.123+0000"
        );
    }
}
