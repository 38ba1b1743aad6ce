//! Roles: named bundles of grants a function can be given with `--role`, as
//! the lab gives its functions an IAM execution role. Every data directory
//! starts with the lab's two roles.

use redb::ReadableTable;
use serde::{Deserialize, Serialize};

use crate::error::{Result, StoreError};
use crate::schema::ROLES;
use crate::store::Store;
use crate::streams::validate::{check, failure};
use crate::writer::WriteCtx;

/// The lab's role for functions that only log (no table or stream access).
pub const BASIC_EXECUTION: &str = "lambda_basic_execution";
/// The lab's role for functions that read and write every table and its
/// change stream.
pub const BASIC_EXECUTION_DYNAMODB: &str = "lambda_basic_execution_dynamodb";

/// A role: its name and the grants it gives (`read:table/T`, ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Role {
    pub name: String,
    pub grants: Vec<String>,
    pub created_ms: u64,
}

impl Role {
    fn decode(bytes: &[u8]) -> Result<Role> {
        serde_json::from_slice(bytes)
            .map_err(|e| StoreError::Storage(format!("corrupt role metadata: {e}")))
    }

    fn encode(&self) -> Result<Vec<u8>> {
        serde_json::to_vec(self).map_err(|e| StoreError::Storage(e.to_string()))
    }
}

/// The lab's roles, created in a new data directory (and in an older one
/// that lacks them) when it is opened.
pub(crate) fn seed_roles(txn: &redb::WriteTransaction) -> Result<()> {
    let mut table = txn.open_table(ROLES)?;
    let seeds: [(&str, &[&str]); 2] = [
        (BASIC_EXECUTION, &[]),
        (BASIC_EXECUTION_DYNAMODB, &["read:table/*", "write:table/*"]),
    ];
    for (name, grants) in seeds {
        if table.get(name)?.is_some() {
            continue;
        }
        let role = Role {
            name: name.to_string(),
            grants: grants.iter().map(|g| g.to_string()).collect(),
            created_ms: 0,
        };
        table.insert(name, role.encode()?.as_slice())?;
    }
    Ok(())
}

/// IAM's role-name rule: `[\w+=,.@-]+`, 1..=64 characters.
fn check_role_name(name: &str) -> Result<()> {
    let ok = |c: char| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c);
    let mut failures = Vec::new();
    if name.is_empty() || name.chars().count() > 64 {
        let why = "Member must have length less than or equal to 64 and greater than or equal to 1";
        failures.push(failure(name, "roleName", why));
    } else if !name.chars().all(ok) {
        let why = "Member must satisfy regular expression pattern: [\\w+=,.@-]+";
        failures.push(failure(name, "roleName", why));
    }
    check(failures)
}

fn no_such_role(name: &str) -> StoreError {
    StoreError::ResourceNotFound(format!("The role with name {name} cannot be found."))
}

/// ResourceNotFound unless role `name` exists (inside a write).
pub(super) fn require_in(ctx: &WriteCtx<'_>, name: &str) -> Result<()> {
    let table = ctx.txn().open_table(ROLES)?;
    if table.get(name)?.is_none() {
        return Err(no_such_role(name));
    }
    Ok(())
}

/// Creates a role giving `grants` (parsed and checked by the caller).
/// ResourceInUse when the name is taken.
pub fn create_role(store: &Store, name: &str, grants: Vec<String>) -> Result<Role> {
    check_role_name(name)?;
    let name = name.to_string();
    store.write(move |ctx| {
        let mut table = ctx.txn().open_table(ROLES)?;
        if table.get(name.as_str())?.is_some() {
            return Err(StoreError::ResourceInUse(format!(
                "Role with name {name} already exists."
            )));
        }
        let role = Role {
            name,
            grants,
            created_ms: ctx.now_ms,
        };
        table.insert(role.name.as_str(), role.encode()?.as_slice())?;
        Ok(role)
    })
}

/// The role named `name`, or ResourceNotFound.
pub fn get_role(store: &Store, name: &str) -> Result<Role> {
    let txn = store.read()?;
    let table = txn.open_table(ROLES)?;
    let found = table.get(name)?;
    match found {
        Some(v) => Role::decode(v.value()),
        None => Err(no_such_role(name)),
    }
}

/// Every role, by name.
pub fn list_roles(store: &Store) -> Result<Vec<Role>> {
    let txn = store.read()?;
    let table = txn.open_table(ROLES)?;
    let mut roles = Vec::new();
    for entry in table.iter()? {
        let (_, value) = entry?;
        roles.push(Role::decode(value.value())?);
    }
    Ok(roles)
}
