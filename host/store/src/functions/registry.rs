//! Creating, updating, reading and deleting functions. Every change is one
//! store write that checks before it writes, so a refused change leaves the
//! registry as it was.

use redb::ReadableTable;

use super::code;
use super::config::{FunctionConfig, FunctionSpec, VersionInfo, check_name, check_spec};
use super::roles;
use crate::error::{Result, StoreError};
use crate::schema::{FUNCTION_CODE, FUNCTIONS};
use crate::store::Store;
use crate::writer::WriteCtx;

/// Lambda's "Function not found: ARN" (`qualifier` is a version, if one was asked for).
fn not_found(store: &Store, name: &str, qualifier: Option<u32>) -> StoreError {
    let arn = format!("{}function:{name}", store.arn_prefix("lambda"));
    match qualifier {
        Some(version) => {
            StoreError::ResourceNotFound(format!("Function not found: {arn}:{version}"))
        }
        None => StoreError::ResourceNotFound(format!("Function not found: {arn}")),
    }
}

fn load_in(ctx: &WriteCtx<'_>, name: &str) -> Result<Option<FunctionConfig>> {
    let table = ctx.txn().open_table(FUNCTIONS)?;
    let found = table.get(name)?;
    found.map(|v| FunctionConfig::decode(v.value())).transpose()
}

fn save_in(ctx: &WriteCtx<'_>, config: &FunctionConfig) -> Result<()> {
    let bytes = config.encode()?;
    ctx.txn()
        .open_table(FUNCTIONS)?
        .insert(config.name.as_str(), bytes.as_slice())?;
    Ok(())
}

fn code_size(code: &[u8]) -> u64 {
    u64::try_from(code.len()).unwrap_or(u64::MAX)
}

/// Creates a function whose version 1 is `code` (already validated by the
/// runtime). Errors: Validation (bad settings), ResourceInUse (the name is
/// taken), ResourceNotFound (its role does not exist).
pub fn create_function(store: &Store, spec: FunctionSpec, code: Vec<u8>) -> Result<FunctionConfig> {
    check_spec(&spec)?;
    store.write(move |ctx| {
        if load_in(ctx, &spec.name)?.is_some() {
            return Err(StoreError::ResourceInUse(format!(
                "Function already exist: {}",
                spec.name
            )));
        }
        if let Some(role) = &spec.role {
            roles::require_in(ctx, role)?;
        }
        let code_hash = code::put(ctx, &code)?;
        let version = VersionInfo {
            version: 1,
            code_hash,
            code_size: code_size(&code),
            created_ms: ctx.now_ms,
        };
        let config = FunctionConfig {
            name: spec.name,
            description: spec.description,
            versions: vec![version],
            timeout_secs: spec.timeout_secs,
            memory_mib: spec.memory_mib,
            fuel: spec.fuel,
            grants: spec.grants,
            env: spec.env,
            role: spec.role,
            created_ms: ctx.now_ms,
        };
        save_in(ctx, &config)?;
        Ok(config)
    })
}

/// Publishes `code` (already validated) as the function's next version; the
/// previous versions stay and can still be invoked.
pub fn update_function_code(store: &Store, name: &str, code: Vec<u8>) -> Result<FunctionConfig> {
    check_name(name)?;
    let missing = not_found(store, name, None);
    let name = name.to_string();
    store.write(move |ctx| {
        let mut config = load_in(ctx, &name)?.ok_or(missing)?;
        let next = config
            .latest()
            .map_or(Some(1), |v| v.version.checked_add(1))
            .ok_or_else(|| StoreError::LimitExceeded(format!("{name} has no versions left")))?;
        let code_hash = code::put(ctx, &code)?;
        config.versions.push(VersionInfo {
            version: next,
            code_hash,
            code_size: code_size(&code),
            created_ms: ctx.now_ms,
        });
        save_in(ctx, &config)?;
        Ok(config)
    })
}

/// The function named `name`, or ResourceNotFound.
pub fn get_function(store: &Store, name: &str) -> Result<FunctionConfig> {
    check_name(name)?;
    let txn = store.read()?;
    let table = txn.open_table(FUNCTIONS)?;
    let found = table.get(name)?;
    match found {
        Some(v) => FunctionConfig::decode(v.value()),
        None => Err(not_found(store, name, None)),
    }
}

/// Every function, by name.
pub fn list_functions(store: &Store) -> Result<Vec<FunctionConfig>> {
    let txn = store.read()?;
    let table = txn.open_table(FUNCTIONS)?;
    let mut functions = Vec::new();
    for entry in table.iter()? {
        let (_, value) = entry?;
        functions.push(FunctionConfig::decode(value.value())?);
    }
    Ok(functions)
}

/// The function, the version asked for (the newest when `None`) and its code.
pub fn function_code(
    store: &Store,
    name: &str,
    version: Option<u32>,
) -> Result<(FunctionConfig, VersionInfo, Vec<u8>)> {
    check_name(name)?;
    let txn = store.read()?;
    let table = txn.open_table(FUNCTIONS)?;
    let config = match table.get(name)? {
        Some(v) => FunctionConfig::decode(v.value())?,
        None => return Err(not_found(store, name, version)),
    };
    let chosen = match version {
        Some(n) => config.version(n),
        None => config.latest(),
    };
    let chosen = chosen
        .cloned()
        .ok_or_else(|| not_found(store, name, version))?;
    let blobs = txn.open_table(FUNCTION_CODE)?;
    let bytes = code::get(&blobs, &chosen.code_hash)?;
    Ok((config, chosen, bytes))
}

/// Deletes the function and every version; code no other function uses is freed.
pub fn delete_function(store: &Store, name: &str) -> Result<()> {
    check_name(name)?;
    let missing = not_found(store, name, None);
    let name = name.to_string();
    store.write(move |ctx| {
        let removed = ctx
            .txn()
            .open_table(FUNCTIONS)?
            .remove(name.as_str())?
            .is_some();
        if !removed {
            return Err(missing);
        }
        code::collect_garbage(ctx)
    })
}
