//! Shape checks on Kinesis inputs, worded as AWS words its ValidationException:
//! `Value 'x' at 'streamName' failed to satisfy constraint: ...`. Each check
//! returns the constraint failures for one member so the API can report several
//! members in one message, as AWS does.

use crate::error::StoreError;

/// The most bytes of data one record may carry (1 MiB).
pub const MAX_DATA_BYTES: usize = 1 << 20;
/// The longest partition key, in Unicode scalar values.
pub const MAX_PARTITION_KEY_CHARS: usize = 256;
/// The pattern stream names must match (AWS's own wording of it).
pub const NAME_PATTERN: &str = "[a-zA-Z0-9_.-]+";

/// One failed constraint: `Value 'v' at 'member' failed to satisfy constraint: why`.
pub fn failure(value: &str, member: &str, why: &str) -> String {
    format!("Value '{value}' at '{member}' failed to satisfy constraint: {why}")
}

/// Joins failures into AWS's ValidationException message.
pub fn message(failures: &[String]) -> String {
    let plural = if failures.len() == 1 { "" } else { "s" };
    format!(
        "{} validation error{plural} detected: {}",
        failures.len(),
        failures.join("; ")
    )
}

/// `Err(Validation)` when there are failures.
pub fn check(failures: Vec<String>) -> Result<(), StoreError> {
    if failures.is_empty() {
        Ok(())
    } else {
        Err(StoreError::Validation(message(&failures)))
    }
}

/// A stream (or shard id) name: `[a-zA-Z0-9_.-]+`, 1..=128 characters.
pub fn name(value: &str, member: &str) -> Vec<String> {
    let mut out = Vec::new();
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-');
    if value.is_empty() || !value.chars().all(allowed) {
        let why = format!("Member must satisfy regular expression pattern: {NAME_PATTERN}");
        out.push(failure(value, member, &why));
    }
    if value.is_empty() {
        out.push(failure(
            value,
            member,
            "Member must have length greater than or equal to 1",
        ));
    }
    if value.chars().count() > 128 {
        out.push(failure(
            value,
            member,
            "Member must have length less than or equal to 128",
        ));
    }
    out
}

/// A partition key: 1..=256 Unicode characters.
pub fn partition_key(value: &str, member: &str) -> Vec<String> {
    let chars = value.chars().count();
    if chars == 0 {
        vec![failure(
            value,
            member,
            "Member must have length greater than or equal to 1",
        )]
    } else if chars > MAX_PARTITION_KEY_CHARS {
        vec![failure(
            value,
            member,
            "Member must have length less than or equal to 256",
        )]
    } else {
        Vec::new()
    }
}

/// Record data: at most 1 MiB. AWS prints a blob as a Java ByteBuffer.
pub fn data(len: usize, member: &str) -> Vec<String> {
    if len > MAX_DATA_BYTES {
        let value = format!("java.nio.HeapByteBuffer[pos=0 lim={len} cap={len}]");
        vec![failure(
            &value,
            member,
            "Member must have length less than or equal to 1048576",
        )]
    } else {
        Vec::new()
    }
}

/// An integer member within `min..=max`.
pub fn range(value: u64, member: &str, min: u64, max: u64) -> Vec<String> {
    let text = value.to_string();
    if value < min {
        let why = format!("Member must have value greater than or equal to {min}");
        vec![failure(&text, member, &why)]
    } else if value > max {
        let why = format!("Member must have value less than or equal to {max}");
        vec![failure(&text, member, &why)]
    } else {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_aws_pattern() {
        assert!(name("my_stream-1.a", "streamName").is_empty());
        assert_eq!(name("", "streamName").len(), 2);
        assert_eq!(name(&"a".repeat(129), "streamName").len(), 1);
        let bad = name("a b", "streamName");
        assert_eq!(
            message(&bad),
            "1 validation error detected: Value 'a b' at 'streamName' failed to satisfy \
             constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"
        );
    }

    #[test]
    fn partition_keys_count_characters_not_bytes() {
        assert!(partition_key(&"é".repeat(256), "partitionKey").is_empty());
        assert_eq!(partition_key(&"é".repeat(257), "partitionKey").len(), 1);
        assert_eq!(partition_key("", "partitionKey").len(), 1);
    }

    #[test]
    fn data_limit_is_one_mebibyte() {
        assert!(data(MAX_DATA_BYTES, "data").is_empty());
        assert_eq!(
            data(MAX_DATA_BYTES + 1, "data")[0],
            "Value 'java.nio.HeapByteBuffer[pos=0 lim=1048577 cap=1048577]' at 'data' failed \
             to satisfy constraint: Member must have length less than or equal to 1048576"
        );
    }
}
