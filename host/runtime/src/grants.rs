//! What a function may touch (least privilege, like the lab's execution
//! roles). A grant is written `ACCESS:KIND/NAME`:
//!
//! - `read:table/T` — get and query table T;
//! - `write:table/T` — put, update and delete in table T;
//! - `write:stream/S` — put records into stream S;
//! - `*` as NAME means every table (or stream), e.g. `write:table/*`.
//!
//! Logging needs no grant. A call without a grant gets `access-denied`.

use std::fmt;
use std::str::FromStr;

use crate::error::RuntimeError;

/// Reading or writing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Access {
    Read,
    Write,
}

/// A table or a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Table,
    Stream,
}

/// One permission.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Grant {
    pub access: Access,
    pub kind: Kind,
    /// The resource's name, or `None` for every resource of `kind` (`*`).
    pub name: Option<String>,
}

impl Grant {
    fn allows(&self, access: Access, kind: Kind, name: &str) -> bool {
        self.access == access && self.kind == kind && self.name.as_deref().is_none_or(|n| n == name)
    }
}

impl FromStr for Grant {
    type Err = RuntimeError;

    fn from_str(text: &str) -> Result<Grant, RuntimeError> {
        let bad = || {
            RuntimeError::InvalidGrant(format!(
                "invalid grant '{text}': expected read:table/NAME, write:table/NAME or \
                 write:stream/NAME (NAME may be * for all)"
            ))
        };
        let (access, rest) = text.split_once(':').ok_or_else(bad)?;
        let (kind, name) = rest.split_once('/').ok_or_else(bad)?;
        let access = match access {
            "read" => Access::Read,
            "write" => Access::Write,
            _ => return Err(bad()),
        };
        let kind = match kind {
            "table" => Kind::Table,
            "stream" => Kind::Stream,
            _ => return Err(bad()),
        };
        if (kind, access) == (Kind::Stream, Access::Read) || name.is_empty() {
            return Err(bad());
        }
        let name = (name != "*").then(|| name.to_string());
        Ok(Grant { access, kind, name })
    }
}

impl fmt::Display for Grant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let access = match self.access {
            Access::Read => "read",
            Access::Write => "write",
        };
        let kind = match self.kind {
            Kind::Table => "table",
            Kind::Stream => "stream",
        };
        write!(f, "{access}:{kind}/{}", self.name.as_deref().unwrap_or("*"))
    }
}

/// The grants of one function.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    grants: Vec<Grant>,
}

impl Grants {
    /// No grants: the function may only log.
    pub fn none() -> Grants {
        Grants::default()
    }

    /// Parses grants written as `read:table/T` etc.
    pub fn parse<S: AsRef<str>>(texts: &[S]) -> Result<Grants, RuntimeError> {
        let grants = texts
            .iter()
            .map(|t| t.as_ref().parse())
            .collect::<Result<Vec<Grant>, _>>()?;
        Ok(Grants { grants })
    }

    /// The grants, as given.
    pub fn iter(&self) -> impl Iterator<Item = &Grant> {
        self.grants.iter()
    }

    /// `Ok` if some grant allows it, else the access-denied message.
    pub fn check(&self, access: Access, kind: Kind, name: &str) -> Result<(), String> {
        if self.grants.iter().any(|g| g.allows(access, kind, name)) {
            return Ok(());
        }
        let wanted = Grant {
            access,
            kind,
            name: Some(name.to_string()),
        };
        Err(format!(
            "the function has no grant {wanted}; give it with `--allow {wanted}`"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_parse_and_check() {
        let g = Grants::parse(&["read:table/Users", "write:table/*", "write:stream/s1"]).unwrap();
        assert!(g.check(Access::Read, Kind::Table, "Users").is_ok());
        assert!(g.check(Access::Read, Kind::Table, "Other").is_err());
        assert!(g.check(Access::Write, Kind::Table, "Other").is_ok());
        assert!(g.check(Access::Write, Kind::Stream, "s1").is_ok());
        assert!(g.check(Access::Write, Kind::Stream, "s2").is_err());
        let denied = Grants::none()
            .check(Access::Write, Kind::Table, "T")
            .unwrap_err();
        assert!(denied.contains("write:table/T"), "{denied}");
    }

    #[test]
    fn bad_grants_are_refused() {
        for bad in [
            "",
            "read",
            "read:table",
            "read:table/",
            "delete:table/T",
            "read:stream/S",
            "write:queue/Q",
        ] {
            assert!(bad.parse::<Grant>().is_err(), "{bad}");
        }
        assert_eq!(
            "write:table/*".parse::<Grant>().unwrap().to_string(),
            "write:table/*"
        );
    }
}
