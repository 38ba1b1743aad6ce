//! Function names as Lambda takes them (`NAME`, `ACCOUNT:function:NAME`,
//! `arn:aws:lambda:REGION:ACCOUNT:function:NAME`, each optionally with
//! `:QUALIFIER`), versions asked for, and ARNs.

use eddy_store::Store;

use super::errors::{invalid_member, invalid_parameter, lambda_error};
use crate::ApiError;
use crate::request::Request;

/// A function a request names: its name and the version asked for (`None`:
/// the newest).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    pub name: String,
    pub version: Option<u32>,
}

/// The function `FunctionName` names (a name, `ACCOUNT:function:NAME` or
/// `arn:aws:lambda:REGION:ACCOUNT:function:NAME`, each optionally with
/// `:QUALIFIER`), with `Qualifier` when the operation takes one.
pub(crate) fn target(store: &Store, req: &Request, qualifier: bool) -> Result<Target, ApiError> {
    let text = req.str("FunctionName")?;
    let (name, from_name) = split_function_name(store, text)?;
    let asked = if qualifier {
        req.opt_str("Qualifier")?
    } else {
        None
    };
    let chosen = match (from_name, asked) {
        (Some(a), Some(b)) if a != b => {
            return Err(invalid_parameter(
                "The derived qualifier from the function name does not match the specified qualifier.",
            ));
        }
        (a, b) => a.or(b),
    };
    let version = match chosen {
        None | Some("$LATEST") => None,
        Some(q) => Some(version_number(store, name, q)?),
    };
    Ok(Target {
        name: name.to_string(),
        version,
    })
}

/// The function an operation on the whole function names (no version).
pub(super) fn unqualified(store: &Store, req: &Request) -> Result<String, ApiError> {
    let target = target(store, req, false)?;
    if target.version.is_some() {
        return Err(invalid_parameter(
            "This operation takes an unqualified function name (no version).",
        ));
    }
    Ok(target.name)
}

/// The name and the qualifier written in a FunctionName.
pub(super) fn split_function_name<'a>(
    store: &Store,
    text: &'a str,
) -> Result<(&'a str, Option<&'a str>), ApiError> {
    let options = store.options();
    let parts: Vec<&str> = text.split(':').collect();
    let (account, name, qualifier) = match parts.as_slice() {
        [name] => (None, *name, None),
        [name, q] => (None, *name, Some(*q)),
        [
            "arn",
            "aws",
            "lambda",
            region,
            account,
            "function",
            name,
            rest @ ..,
        ] if rest.len() <= 1 && *region == options.region => {
            (Some(*account), *name, rest.first().copied())
        }
        [account, "function", name, rest @ ..] if rest.len() <= 1 => {
            (Some(*account), *name, rest.first().copied())
        }
        _ => (None, "", None),
    };
    if name.is_empty() || account.is_some_and(|a| a != options.account) {
        let why = "Member must satisfy regular expression pattern: \
                   (arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\\d{1}:)?(\\d{12}:)?\
                   (function:)?([a-zA-Z0-9-_]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?";
        return Err(invalid_member(text, "functionName", why));
    }
    Ok((name, qualifier))
}

/// A numbered version; anything else (eddy has no aliases) is not found.
pub(super) fn version_number(store: &Store, name: &str, qualifier: &str) -> Result<u32, ApiError> {
    let ok = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    if qualifier.is_empty() || !qualifier.chars().all(ok) {
        let why = "Member must satisfy regular expression pattern: (|[a-zA-Z0-9$_-]+)";
        return Err(invalid_member(qualifier, "qualifier", why));
    }
    qualifier.parse::<u32>().map_err(|_| {
        lambda_error(
            "ResourceNotFoundException",
            404,
            format!(
                "Function not found: {}:{qualifier}",
                function_arn(store, name)
            ),
        )
    })
}

/// `arn:aws:lambda:REGION:ACCOUNT:function:NAME`.
pub(crate) fn function_arn(store: &Store, name: &str) -> String {
    format!("{}function:{name}", store.arn_prefix("lambda"))
}

/// `arn:aws:iam::ACCOUNT:role/NAME` (IAM ARNs have no region).
pub(crate) fn role_arn(store: &Store, name: &str) -> String {
    format!("arn:aws:iam::{}:role/{name}", store.options().account)
}
