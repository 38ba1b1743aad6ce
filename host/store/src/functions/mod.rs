//! The function registry: trigger functions (their settings and every version
//! of their code), the code itself stored once per content hash, and roles
//! (named bundles of grants, like the lab's execution roles).
//!
//! The store does not look inside the code: the runtime validates a component
//! before the CLI or API stores it, so a refused upload changes nothing here.
//! Grants are kept as the text the user wrote (`read:table/T`, ...); the
//! runtime parses and enforces them.

mod code;
mod config;
mod registry;
mod roles;

pub use code::code_sha256;
pub use config::{FunctionConfig, FunctionSpec, VersionInfo, limits};
pub use registry::{
    create_function, delete_function, function_code, get_function, list_functions,
    update_function_code,
};
pub(crate) use roles::seed_roles;
pub use roles::{
    BASIC_EXECUTION, BASIC_EXECUTION_DYNAMODB, Role, create_role, get_role, list_roles,
};

#[cfg(test)]
mod tests;
