//! Lambda's function operations (CreateFunction, GetFunction,
//! GetFunctionConfiguration, ListFunctions, UpdateFunctionCode,
//! ListVersionsByFunction, DeleteFunction), and what Invoke and the event
//! source mappings share with them: Lambda's error names and HTTP statuses,
//! function names (plain, partial ARN or ARN, with a qualifier) and the
//! FunctionConfiguration shape.
//!
//! Where eddy differs from Lambda, on purpose:
//! - Every code upload is published: CreateFunction makes version 1 and each
//!   UpdateFunctionCode the next; there is no separate, mutable `$LATEST`. An
//!   unqualified name (or Qualifier `$LATEST`) means the newest version, and
//!   responses name the concrete version (`"Version": "2"`), so a caller always
//!   knows which code ran. `Publish` is accepted and changes nothing.
//! - Settings (timeout, memory, fuel, grants, environment, role) belong to the
//!   function, not to a version: every version runs with the current ones.
//! - `Runtime` is `wasm32-wasip2`: the code is a WebAssembly component (WASI
//!   0.2) of the eddy:trigger/handler world, built from any language. Omitting
//!   it means the same; any other runtime is refused. `Handler` is accepted and
//!   ignored (the component's `handle` export is the handler).
//! - `Role` (a role name or `arn:aws:iam::<account>:role/<name>`) is optional:
//!   a function without one has only its own grants.
//! - eddy's extensions, in requests and in every FunctionConfiguration:
//!   `Grants` (`read:table/T`, `write:table/T`, `write:stream/S`, `*` for every
//!   name) and `Fuel` (the per-invocation instruction budget).
//! - GetFunction has no `Code.Location`: there is no download URL (keep your
//!   component file, or `eddy blueprints export`).
//! - DeleteFunction deletes the whole function; a Qualifier is refused.

mod config;
mod errors;
mod names;
mod settings;

use eddy_store::functions::{self, FunctionConfig, VersionInfo};
use eddy_store::{Store, StoreError};
use serde_json::{Map, Value, json};

pub use config::RUNTIME;
pub(crate) use config::configuration;
pub(crate) use errors::{
    invalid_member, invalid_parameter, lambda_error, runtime_error, store_error,
};
pub(crate) use names::{Target, target};

use names::unqualified;
use settings::{code, function_spec, opt_bounded};

use crate::request::Request;
use crate::{Api, ApiError};

/// ListFunctions / ListVersionsByFunction page size: default and largest.
const DEFAULT_MAX_ITEMS: u64 = 50;
const MAX_MAX_ITEMS: u64 = 10_000;

/// The version `target` asks for, or Lambda's not-found error.
fn chosen(store: &Store, target: &Target) -> Result<(FunctionConfig, VersionInfo), ApiError> {
    let f = functions::get_function(store, &target.name).map_err(store_error)?;
    let v = match target.version {
        Some(n) => f.version(n),
        None => f.latest(),
    };
    match v.cloned() {
        Some(v) => Ok((f, v)),
        None => {
            // The store words the not-found error (with the qualifier) as Lambda does.
            functions::function_code(store, &target.name, target.version).map_err(store_error)?;
            Err(lambda_error(
                "ServiceException",
                500,
                format!("{} has no code", target.name),
            ))
        }
    }
}

/// The configuration a qualified or unqualified request gets.
fn target_configuration(store: &Store, target: &Target) -> Result<Value, ApiError> {
    let (f, v) = chosen(store, target)?;
    Ok(configuration(store, &f, &v, target.version.is_some()))
}

fn lambda_request(request: &Value) -> Request<'_> {
    Request::new(request, "ValidationException")
}

/// CreateFunction: version 1 of a new function. Checks the settings, then
/// that the name is free and the role exists, then validates the code —
/// so refused input compiles nothing it need not and stores nothing.
pub(crate) fn create_function(api: &Api, request: &Value) -> Result<Value, ApiError> {
    let store = api.store();
    let req = lambda_request(request);
    let spec = function_spec(store, &req, unqualified(store, &req)?)?;
    match functions::get_function(store, &spec.name) {
        Ok(_) => {
            return Err(store_error(StoreError::ResourceInUse(format!(
                "Function already exist: {}",
                spec.name
            ))));
        }
        Err(StoreError::ResourceNotFound(_)) => {}
        Err(e) => return Err(store_error(e)),
    }
    let code_member = req.object("Code")?;
    let zip_file = match code_member.get("ZipFile").filter(|v| !v.is_null()) {
        None => None,
        Some(Value::String(s)) => Some(s.as_str()),
        Some(_) => return Err(ApiError::serialization("Code.ZipFile must be a string")),
    };
    let code = code(api, zip_file)?;
    let f = functions::create_function(store, spec, code).map_err(store_error)?;
    latest_configuration(store, &f)
}

fn latest_configuration(store: &Store, f: &FunctionConfig) -> Result<Value, ApiError> {
    let v = f
        .latest()
        .ok_or_else(|| lambda_error("ServiceException", 500, format!("{} has no code", f.name)))?;
    Ok(configuration(store, f, v, false))
}

/// UpdateFunctionCode: publishes `ZipFile` as the next version. Refused code
/// stores nothing and the previous versions keep serving.
pub(crate) fn update_function_code(api: &Api, request: &Value) -> Result<Value, ApiError> {
    let store = api.store();
    let req = lambda_request(request);
    let name = unqualified(store, &req)?;
    req.opt_bool("Publish")?;
    // The function must exist before its code is worth compiling.
    functions::get_function(store, &name).map_err(store_error)?;
    let code = code(api, req.opt_str("ZipFile")?)?;
    let f = functions::update_function_code(store, &name, code).map_err(store_error)?;
    latest_configuration(store, &f)
}

/// GetFunction: `{"Configuration": FunctionConfiguration}` (see the module
/// docs for why there is no `Code.Location`).
pub(crate) fn get_function(api: &Api, request: &Value) -> Result<Value, ApiError> {
    let store = api.store();
    let target = target(store, &lambda_request(request), true)?;
    Ok(json!({ "Configuration": target_configuration(store, &target)? }))
}

/// GetFunctionConfiguration: the FunctionConfiguration itself.
pub(crate) fn get_function_configuration(api: &Api, request: &Value) -> Result<Value, ApiError> {
    let store = api.store();
    target_configuration(store, &target(store, &lambda_request(request), true)?)
}

/// `MaxItems` (1..=10000, default 50) and `Marker` (where the last page ended).
fn page<'a>(req: &Request<'a>) -> Result<(usize, Option<&'a str>), ApiError> {
    let max = opt_bounded(req, "MaxItems", 1, MAX_MAX_ITEMS)?.map_or(DEFAULT_MAX_ITEMS, u64::from);
    let max = usize::try_from(max).unwrap_or(usize::MAX);
    Ok((max, req.opt_str("Marker")?))
}

/// One page of `items` (each with its marker), and the marker of the next page.
fn paged(items: Vec<(String, Value)>, max: usize) -> (Vec<Value>, Option<String>) {
    let more = items.len() > max;
    let page: Vec<(String, Value)> = items.into_iter().take(max).collect();
    let next = if more {
        page.last().map(|(marker, _)| marker.clone())
    } else {
        None
    };
    (page.into_iter().map(|(_, v)| v).collect(), next)
}

fn listing(member: &str, items: Vec<Value>, next: Option<String>) -> Value {
    let mut out = Map::new();
    out.insert(member.into(), Value::Array(items));
    if let Some(next) = next {
        out.insert("NextMarker".into(), json!(next));
    }
    Value::Object(out)
}

/// ListFunctions: every function's newest version, by name, a page at a time;
/// `FunctionVersion: "ALL"` lists every version. The marker is the last name
/// (and version) of the previous page.
pub(crate) fn list_functions(api: &Api, request: &Value) -> Result<Value, ApiError> {
    let store = api.store();
    let req = lambda_request(request);
    let (max, marker) = page(&req)?;
    let all = match req.opt_str("FunctionVersion")? {
        None => false,
        Some("ALL") => true,
        Some(other) => {
            let why = "Member must satisfy enum value set: [ALL]";
            return Err(invalid_member(other, "functionVersion", why));
        }
    };
    let mut items = Vec::new();
    for f in functions::list_functions(store).map_err(store_error)? {
        if all {
            for v in &f.versions {
                let key = format!("{}:{:010}", f.name, v.version);
                items.push((key, configuration(store, &f, v, true)));
            }
        } else if let Some(v) = f.latest() {
            items.push((f.name.clone(), configuration(store, &f, v, false)));
        }
    }
    items.retain(|(key, _)| marker.is_none_or(|m| key.as_str() > m));
    let (page, next) = paged(items, max);
    Ok(listing("Functions", page, next))
}

/// ListVersionsByFunction: every published version, oldest first, a page at
/// a time (the marker is the last version of the previous page).
pub(crate) fn list_versions_by_function(api: &Api, request: &Value) -> Result<Value, ApiError> {
    let store = api.store();
    let req = lambda_request(request);
    let name = unqualified(store, &req)?;
    let (max, marker) = page(&req)?;
    let after = marker.and_then(|m| m.parse::<u32>().ok()).unwrap_or(0);
    let f = functions::get_function(store, &name).map_err(store_error)?;
    let items = f
        .versions
        .iter()
        .filter(|v| v.version > after)
        .map(|v| (v.version.to_string(), configuration(store, &f, v, true)))
        .collect();
    let (page, next) = paged(items, max);
    Ok(listing("Versions", page, next))
}

/// DeleteFunction: the function and every version.
pub(crate) fn delete_function(api: &Api, request: &Value) -> Result<Value, ApiError> {
    let store = api.store();
    let req = lambda_request(request);
    let target = target(store, &req, true)?;
    if req.opt_str("Qualifier")?.is_some() || target.version.is_some() {
        return Err(invalid_parameter(
            "eddy deletes whole functions: omit the Qualifier to delete the function and \
             every version.",
        ));
    }
    functions::delete_function(store, &target.name).map_err(store_error)?;
    Ok(json!({}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_end_with_the_marker_of_their_last_item() {
        let items: Vec<(String, Value)> = (1..=3).map(|i| (i.to_string(), json!(i))).collect();
        assert_eq!(
            paged(items.clone(), 2),
            (vec![json!(1), json!(2)], Some("2".into()))
        );
        assert_eq!(paged(items, 3).1, None);
    }
}
