//! `eddy role`: named bundles of grants (like the lab's IAM execution roles)
//! that `eddy function create --role NAME` gives a function.

use anyhow::Result;
use clap::Subcommand;
use eddy_runtime::grants::Grants;
use eddy_store::functions::{self, Role};
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

/// A role as JSON.
pub fn role_json(role: &Role) -> Value {
    json!({"name": role.name, "grants": role.grants})
}

/// Runs a role command.
pub fn run(ctx: &Ctx, command: RoleCommand) -> Result<()> {
    match command {
        RoleCommand::Create { name, allow } => {
            // Refuse a malformed grant before anything is stored.
            Grants::parse(&allow)?;
            let role = functions::create_role(ctx.store()?, &name, allow)?;
            output::document(&role_json(&role))
        }
        RoleCommand::List => {
            let roles = functions::list_roles(ctx.store()?)?;
            output::document(&Value::Array(roles.iter().map(role_json).collect()))
        }
    }
}
