//! `eddy role`: named bundles of grants (like the lab's IAM execution roles)
//! that `eddy function create --role NAME` gives a function, through eddy's
//! CreateRole and ListRoles operations.

use anyhow::Result;
use clap::Subcommand;
use serde_json::{Value, json};

use super::Ctx;
use crate::output;

/// `eddy role ...`.
#[derive(Debug, Subcommand)]
pub enum RoleCommand {
    /// Creates a role giving the grants listed.
    Create {
        name: String,
        /// read:table/T, write:table/T or write:stream/S (`*` for every name).
        #[arg(long = "allow", value_name = "GRANT")]
        allow: Vec<String>,
    },
    /// Lists the roles and their grants.
    List,
}

/// A role (as CreateRole / ListRoles give it) as `eddy role` prints it.
fn role_json(role: &Value) -> Value {
    json!({"name": role.get("RoleName"), "grants": role.get("Grants")})
}

/// Runs a role command.
pub fn run(ctx: &Ctx, command: RoleCommand) -> Result<()> {
    match command {
        RoleCommand::Create { name, allow } => {
            let request = json!({ "RoleName": name, "Grants": allow });
            let created = ctx.eddy("CreateRole", &request)?;
            output::document(&role_json(created.get("Role").unwrap_or(&Value::Null)))
        }
        RoleCommand::List => {
            let listed = ctx.eddy("ListRoles", &json!({}))?;
            let roles = listed.get("Roles").and_then(Value::as_array);
            let roles: Vec<Value> = roles.into_iter().flatten().map(role_json).collect();
            output::document(&Value::Array(roles))
        }
    }
}
