//! Reading a function's settings and code out of CreateFunction and
//! UpdateFunctionCode requests, checked before anything is stored.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use eddy_runtime::grants::Grants;
use eddy_runtime::sandbox::Limits;
use eddy_store::functions::{self, FunctionSpec, limits};
use eddy_store::streams::validate::{check, range};
use eddy_store::{Store, StoreError};

use super::config::RUNTIME;
use super::errors::{invalid_parameter, lambda_error, runtime_error, store_error};
use crate::request::Request;
use crate::{Api, ApiError};

/// The largest `ZipFile` Lambda takes in a request: base64 of 50 MiB.
const MAX_ZIP_FILE_CHARS: usize = 69_905_067;
/// Lambda's limit on all environment variables together (keys and values).
const MAX_ENVIRONMENT_BYTES: usize = 4 * 1024;

/// An optional integer member that must fit in `min..=max`.
pub(super) fn opt_bounded(
    req: &Request,
    name: &str,
    min: u64,
    max: u64,
) -> Result<Option<u32>, ApiError> {
    let Some(value) = req.opt_u64(name)? else {
        return Ok(None);
    };
    check(range(value, &crate::request::lower_first(name), min, max)).map_err(store_error)?;
    u32::try_from(value)
        .map(Some)
        .map_err(|_| ApiError::validation(format!("{name} is too large")))
}

/// `Runtime` and `PackageType`: only what eddy runs.
pub(super) fn check_runtime(req: &Request) -> Result<(), ApiError> {
    if let Some(runtime) = req.opt_str("Runtime")?
        && runtime != RUNTIME
    {
        return Err(invalid_parameter(format!(
            "The runtime parameter of {runtime} is not supported: eddy runs WebAssembly \
             components of the eddy:trigger/handler world; give Runtime {RUNTIME} or omit it."
        )));
    }
    match req.opt_str("PackageType")? {
        None | Some("Zip") => Ok(()),
        Some(other) => Err(invalid_parameter(format!(
            "PackageType {other} is not supported: eddy takes the component as Code.ZipFile."
        ))),
    }
}

/// The role a request names, by name; it must exist.
pub(super) fn role_name(store: &Store, text: &str) -> Result<String, ApiError> {
    let cannot = |why: &str| {
        invalid_parameter(format!(
            "The role defined for the function cannot be assumed by Lambda: {why}"
        ))
    };
    let name = if text.starts_with("arn:") {
        let prefix = format!("arn:aws:iam::{}:role/", store.options().account);
        let Some(path) = text.strip_prefix(&prefix) else {
            return Err(cannot(&format!("{text} is not a role ARN of this account")));
        };
        // A role ARN may carry a path (`role/service-role/NAME`).
        path.rsplit('/').next().unwrap_or(path)
    } else {
        text
    };
    match functions::get_role(store, name) {
        Ok(role) => Ok(role.name),
        Err(StoreError::ResourceNotFound(_)) => Err(cannot(&format!(
            "there is no role named {name} (see `eddy role list`)."
        ))),
        Err(e) => Err(store_error(e)),
    }
}

/// `Grants`: checked as the runtime will parse them.
pub(super) fn grants(req: &Request) -> Result<Vec<String>, ApiError> {
    let Some(list) = req.opt_array("Grants")? else {
        return Ok(Vec::new());
    };
    let grants = list
        .iter()
        .map(|g| g.as_str().map(str::to_string))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| ApiError::serialization("Grants must be a list of strings"))?;
    Grants::parse(&grants).map_err(runtime_error)?;
    Ok(grants)
}

/// `Environment.Variables`, within Lambda's 4 KB.
pub(super) fn environment(req: &Request) -> Result<BTreeMap<String, String>, ApiError> {
    let Some(environment) = req.opt_object("Environment")? else {
        return Ok(BTreeMap::new());
    };
    let mut env = BTreeMap::new();
    if let Some(vars) = environment.get("Variables").filter(|v| !v.is_null()) {
        let vars = vars
            .as_object()
            .ok_or_else(|| ApiError::serialization("Environment.Variables must be an object"))?;
        for (key, value) in vars {
            let value = value.as_str().ok_or_else(|| {
                ApiError::serialization(format!("Environment.Variables.{key} must be a string"))
            })?;
            env.insert(key.clone(), value.to_string());
        }
    }
    let bytes: usize = env.iter().map(|(k, v)| k.len() + v.len()).sum();
    if bytes > MAX_ENVIRONMENT_BYTES {
        return Err(invalid_parameter(
            "Lambda was unable to configure your environment variables because the \
             environment variables you have provided exceeded the 4KB limit.",
        ));
    }
    Ok(env)
}

/// The component in a base64 `ZipFile` member, validated by the runtime
/// before anything is stored.
pub(super) fn code(api: &Api, zip_file: Option<&str>) -> Result<Vec<u8>, ApiError> {
    let Some(text) = zip_file else {
        return Err(invalid_parameter(
            "Please provide a source for function code: eddy takes the component as base64 \
             in ZipFile.",
        ));
    };
    if text.len() > MAX_ZIP_FILE_CHARS {
        return Err(lambda_error(
            "RequestTooLargeException",
            413,
            format!("Request must be smaller than {MAX_ZIP_FILE_CHARS} bytes for this operation"),
        ));
    }
    let code = STANDARD
        .decode(text)
        .map_err(|e| invalid_parameter(format!("ZipFile is not valid base64: {e}")))?;
    let functions = api.functions()?;
    functions.runtime().validate(&code).map_err(runtime_error)?;
    Ok(code)
}

pub(super) fn function_spec(
    store: &Store,
    req: &Request,
    name: String,
) -> Result<FunctionSpec, ApiError> {
    check_runtime(req)?;
    req.opt_str("Handler")?;
    req.opt_bool("Publish")?;
    let role = match req.opt_str("Role")? {
        Some(text) => Some(role_name(store, text)?),
        None => None,
    };
    let max_timeout = u64::from(limits::MAX_TIMEOUT_SECS);
    let (min_memory, max_memory) = (
        u64::from(limits::MIN_MEMORY_MIB),
        u64::from(limits::MAX_MEMORY_MIB),
    );
    Ok(FunctionSpec {
        name,
        description: req.opt_str("Description")?.unwrap_or_default().to_string(),
        timeout_secs: opt_bounded(req, "Timeout", 1, max_timeout)?
            .unwrap_or(limits::DEFAULT_TIMEOUT_SECS),
        memory_mib: opt_bounded(req, "MemorySize", min_memory, max_memory)?
            .unwrap_or(limits::DEFAULT_MEMORY_MIB),
        fuel: req.opt_u64("Fuel")?.unwrap_or(Limits::default().fuel),
        grants: grants(req)?,
        env: environment(req)?,
        role,
    })
}
