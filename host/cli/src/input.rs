//! Arguments that carry data: JSON documents and raw bytes. Each can be given
//! inline, as `-` (read stdin) or as `@FILE` (read the file), since the kernel caps
//! one command-line argument at 128 KiB, below DynamoDB's item and Kinesis's
//! record limits. Every error names the argument, and comes before any request
//! is sent.

use std::io::Read;

use anyhow::{Context, Result, bail};
use serde_json::{Map, Value};

/// The bytes of an argument: inline text, `-` for stdin or `@FILE`.
fn source(arg: &str, raw: &str) -> Result<Vec<u8>> {
    if raw == "-" {
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .with_context(|| format!("{arg}: cannot read stdin"))?;
        Ok(bytes)
    } else if let Some(path) = raw.strip_prefix('@') {
        std::fs::read(path).with_context(|| format!("{arg}: cannot read the file {path}"))
    } else {
        Ok(raw.as_bytes().to_vec())
    }
}

/// Parses a JSON argument (inline, `-` or `@FILE`).
pub fn json(arg: &str, raw: &str) -> Result<Value> {
    let bytes = source(arg, raw)?;
    serde_json::from_slice(&bytes).with_context(|| format!("{arg} is not valid JSON"))
}

/// Parses a JSON argument that must be an object; `example` shows the shape.
pub fn json_object(arg: &str, raw: &str, example: &str) -> Result<Map<String, Value>> {
    match json(arg, raw)? {
        Value::Object(map) => Ok(map),
        other => bail!(
            "{arg} must be a JSON object such as {example}, not {}",
            kind(&other)
        ),
    }
}

/// Parses an optional JSON object argument.
pub fn opt_json_object(
    arg: &str,
    raw: Option<&str>,
    example: &str,
) -> Result<Option<Map<String, Value>>> {
    raw.map(|raw| json_object(arg, raw, example)).transpose()
}

/// Reads a file argument's bytes: a path, or `-` for stdin.
pub fn file_bytes(arg: &str, path: &str) -> Result<Vec<u8>> {
    if path == "-" {
        source(arg, "-")
    } else {
        std::fs::read(path).with_context(|| format!("{arg}: cannot read the file {path}"))
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_json_parses() {
        let v = json("ITEM_JSON", r#"{"a":{"S":"x"}}"#).unwrap();
        assert_eq!(v["a"]["S"], "x");
    }

    #[test]
    fn malformed_json_names_the_argument() {
        let e = json("--values", "{nope").unwrap_err();
        assert!(
            format!("{e:#}").starts_with("--values is not valid JSON: "),
            "{e:#}"
        );
    }

    #[test]
    fn a_non_object_is_refused_with_the_expected_shape() {
        let e = json_object("KEY_JSON", "[1]", "{\"id\":{\"S\":\"1\"}}").unwrap_err();
        assert_eq!(
            e.to_string(),
            "KEY_JSON must be a JSON object such as {\"id\":{\"S\":\"1\"}}, not an array"
        );
    }

    #[test]
    fn at_file_reads_the_file() {
        let dir = std::env::temp_dir().join(format!("eddy-input-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("item.json");
        std::fs::write(&path, r#"{"k":{"N":"1"}}"#).unwrap();
        let v = json("ITEM_JSON", &format!("@{}", path.display())).unwrap();
        assert_eq!(v["k"]["N"], "1");
        let e = json("ITEM_JSON", "@/nonexistent/eddy/file").unwrap_err();
        assert!(e.to_string().contains("cannot read the file"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
