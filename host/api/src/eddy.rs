//! eddy's own operations (`Eddy_20261124.*`): what has no AWS API of its own —
//! roles as bundles of grants, and the built-in blueprints.
//!
//! Roles are shaped like IAM's (CreateRole, GetRole, ListRoles; `RoleName`,
//! `Arn`, `CreateDate`) with eddy's `Grants` in place of policy documents, and
//! IAM's error names: EntityAlreadyExists (409), NoSuchEntity (404),
//! MalformedPolicyDocument (a grant eddy cannot parse) and ValidationError.
//!
//! Blueprints: ListBlueprints (`Name`, `Language`, `Description`, `CodeSize`)
//! and GetBlueprint, whose `Code.ZipFile` (the component, base64) can be passed
//! to CreateFunction as it is.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use eddy_runtime::grants::Grants;
use eddy_store::functions::{self, Role};
use eddy_store::{Store, StoreError, timefmt};
use serde_json::{Value, json};

use crate::request::Request;
use crate::{Api, ApiError};

/// One embedded blueprint: code every eddy binary carries.
pub struct Blueprint {
    pub name: &'static str,
    pub language: &'static str,
    pub description: &'static str,
    pub code: &'static [u8],
}

/// Every blueprint, in the order ListBlueprints lists them.
pub const BLUEPRINTS: &[Blueprint] = &[
    Blueprint {
        name: "kinesis-process-record",
        language: "rust",
        description: "Logs each Kinesis record's decoded payload (`Decoded payload: <text>`); \
                      a Rust port of the Lambda console's Python blueprint.",
        code: eddy_runtime::guests::KINESIS_LOGGER,
    },
    Blueprint {
        name: "dynamodb-aggregate-scores",
        language: "rust",
        description: "For each table change, adds the new image's Score to GameScoresByUser \
                      keyed by Username (the lab's AggregateScoresByUser).",
        code: eddy_runtime::guests::SCORE_AGGREGATOR,
    },
];

/// Runs one eddy operation.
pub fn dispatch(api: &Api, operation: &str, request: &Value) -> Result<Value, ApiError> {
    let req = Request::new(request, "ValidationError");
    match operation {
        "CreateRole" => create_role(api.store(), &req),
        "GetRole" => {
            let role = functions::get_role(api.store(), req.str("RoleName")?).map_err(iam_error)?;
            Ok(json!({ "Role": role_json(api.store(), &role) }))
        }
        "ListRoles" => {
            let roles = functions::list_roles(api.store()).map_err(iam_error)?;
            let roles: Vec<Value> = roles.iter().map(|r| role_json(api.store(), r)).collect();
            Ok(json!({ "Roles": roles }))
        }
        "ListBlueprints" => Ok(list_blueprints()),
        "GetBlueprint" => get_blueprint(&req),
        _ => Err(ApiError::unknown_operation(&format!(
            "{}.{operation}",
            crate::EDDY
        ))),
    }
}

/// A store error under IAM's names.
fn iam_error(e: StoreError) -> ApiError {
    let (error_type, status) = match &e {
        StoreError::ResourceInUse(_) => ("EntityAlreadyExists", 409),
        StoreError::ResourceNotFound(_) => ("NoSuchEntity", 404),
        StoreError::Validation(_) => ("ValidationError", 400),
        _ => return ApiError::from(e),
    };
    let mut error = ApiError::new(error_type, e.to_string());
    error.status = status;
    error
}

/// A role as IAM shapes it, with its grants.
fn role_json(store: &Store, role: &Role) -> Value {
    json!({
        "RoleName": role.name,
        "Arn": format!("arn:aws:iam::{}:role/{}", store.options().account, role.name),
        "CreateDate": format!("{}Z", timefmt::iso_ms(role.created_ms)),
        "Grants": role.grants,
    })
}

/// CreateRole: `RoleName` and `Grants` (each checked as the runtime will parse
/// it, so a malformed grant stores nothing).
fn create_role(store: &Store, req: &Request) -> Result<Value, ApiError> {
    let name = req.str("RoleName")?;
    let grants = match req.opt_array("Grants")? {
        None => Vec::new(),
        Some(list) => list
            .iter()
            .map(|g| g.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| ApiError::serialization("Grants must be a list of strings"))?,
    };
    Grants::parse(&grants).map_err(|e| ApiError::new("MalformedPolicyDocument", e.to_string()))?;
    let role = functions::create_role(store, name, grants).map_err(iam_error)?;
    Ok(json!({ "Role": role_json(store, &role) }))
}

/// ListBlueprints: each blueprint without its code.
fn list_blueprints() -> Value {
    let list: Vec<Value> = BLUEPRINTS
        .iter()
        .map(|b| {
            json!({"Name": b.name, "Language": b.language, "Description": b.description,
                   "CodeSize": b.code.len()})
        })
        .collect();
    json!({ "Blueprints": list })
}

/// GetBlueprint: one blueprint with its component as `Code.ZipFile`.
fn get_blueprint(req: &Request) -> Result<Value, ApiError> {
    let name = req.str("Name")?;
    let Some(b) = BLUEPRINTS.iter().find(|b| b.name == name) else {
        let names: Vec<&str> = BLUEPRINTS.iter().map(|b| b.name).collect();
        let mut e = ApiError::new(
            "ResourceNotFoundException",
            format!("no blueprint named {name}; there are: {}", names.join(", ")),
        );
        e.status = 404;
        return Err(e);
    };
    Ok(json!({
        "Name": b.name,
        "Language": b.language,
        "Description": b.description,
        "CodeSize": b.code.len(),
        "Code": { "ZipFile": STANDARD.encode(b.code) },
    }))
}
