//! Shards and the hash-key space. A stream of N shards splits [0, 2^128-1] into N
//! equal contiguous ranges (the last takes the remainder), as AWS and kinesalite
//! lay them out; a record goes to the shard whose range holds
//! MD5(partition key) read as a big-endian u128, or its ExplicitHashKey.

use md5::{Digest, Md5};

/// The hash key of a partition key: its MD5 digest as a big-endian u128.
pub fn hash_key(partition_key: &str) -> u128 {
    u128::from_be_bytes(Md5::digest(partition_key.as_bytes()).into())
}

/// Parses an ExplicitHashKey: a decimal integer in [0, 2^128-1] without sign,
/// spaces or leading zeros (AWS's pattern `0|([1-9]\d{0,38})`).
pub fn parse_hash_key(text: &str) -> Option<u128> {
    let digits_ok = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    if !digits_ok || (text.len() > 1 && text.starts_with('0')) {
        return None;
    }
    text.parse::<u128>().ok()
}

/// The width of every shard's range but the last: floor(2^128 / n), for n >= 2.
fn step(shard_count: u32) -> u128 {
    let n = u128::from(shard_count.max(2));
    // 2^128 = n*q + r + 1 where q, r are the quotient and remainder of (2^128-1)/n.
    let (q, r) = (u128::MAX / n, u128::MAX % n);
    if r == n - 1 { q + 1 } else { q }
}

/// The inclusive hash-key range of shard `index` of `shard_count` shards.
pub fn range(shard_count: u32, index: u32) -> (u128, u128) {
    if shard_count <= 1 {
        return (0, u128::MAX);
    }
    let step = step(shard_count);
    let start = step * u128::from(index.min(shard_count - 1));
    let end = if index + 1 >= shard_count {
        u128::MAX
    } else {
        start + step - 1
    };
    (start, end)
}

/// The shard of `shard_count` shards whose range holds `hash_key`.
pub fn route(shard_count: u32, hash_key: u128) -> u32 {
    if shard_count <= 1 {
        return 0;
    }
    let index = hash_key / step(shard_count);
    // index < 2^128 / step <= shard_count + 1, so it fits; the last shard takes the rest.
    u32::try_from(index)
        .unwrap_or(u32::MAX)
        .min(shard_count - 1)
}

/// `shardId-000000000007` for index 7.
pub fn shard_id(index: u32) -> String {
    format!("shardId-{index:012}")
}

/// The index in a shard id. Like AWS, accepts `shardId-000000000007` and also a
/// bare number or any prefix before the dash (`7`, `x-7`).
pub fn parse_shard_id(text: &str) -> Option<u32> {
    let digits = text.split('-').nth(1).unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse::<u32>().ok().filter(|&i| i <= i32::MAX as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// MD5 digests computed independently with Python 3:
    /// `int(hashlib.md5(k.encode("utf-8")).hexdigest(), 16)`, and the shard of 4
    /// that kinesalite's `hash * 4 >> 128` rule picks for each.
    const VECTORS: [(&str, u128, u32); 5] = [
        ("a", 0x0cc175b9c0f1b6a831c399e269772661, 0),
        ("partition-1", 0x94f940e6c2a31703d6be067b87d67968, 2),
        ("Ünïcødé", 0x17c6771af1dd7dcc258f4ed7bcdde09a, 0),
        ("", 0xd41d8cd98f00b204e9800998ecf8427e, 3),
        ("user-42", 0x7631bc07a1cc8fcd56e70fc6b2fb4a43, 1),
    ];

    #[test]
    fn hash_keys_match_independent_md5_and_route_like_aws() {
        for (key, expected, shard) in VECTORS {
            assert_eq!(hash_key(key), expected, "{key:?}");
            assert_eq!(route(4, expected), shard, "{key:?}");
        }
    }

    #[test]
    fn ranges_split_the_space_like_kinesalite() {
        // Python: s = 2**128 // 3; [(s*i, s*(i+1)-1) ...] with the last ending at 2**128-1.
        let s: u128 = 113427455640312821154458202477256070485;
        assert_eq!(range(3, 0), (0, s - 1));
        assert_eq!(range(3, 1), (s, 2 * s - 1));
        assert_eq!(range(3, 2), (2 * s, u128::MAX));
        assert_eq!(range(1, 0), (0, u128::MAX));
        assert_eq!(range(2, 0), (0, (1u128 << 127) - 1));
        assert_eq!(range(2, 1), (1u128 << 127, u128::MAX));
    }

    #[test]
    fn every_range_boundary_routes_to_its_own_shard() {
        for n in [1u32, 2, 3, 4, 7, 64, 1000, 1024] {
            let mut expected_start = 0u128;
            for i in 0..n {
                let (start, end) = range(n, i);
                assert_eq!(start, expected_start, "n={n} i={i}");
                assert_eq!(route(n, start), i);
                assert_eq!(route(n, end), i);
                expected_start = end.wrapping_add(1);
            }
            assert_eq!(range(n, n - 1).1, u128::MAX);
        }
    }

    #[test]
    fn explicit_hash_keys_parse_strictly() {
        assert_eq!(parse_hash_key("0"), Some(0));
        assert_eq!(
            parse_hash_key("340282366920938463463374607431768211455"),
            Some(u128::MAX)
        );
        assert_eq!(
            parse_hash_key("340282366920938463463374607431768211456"),
            None
        );
        for bad in ["", "-1", "01", "1.5", " 1", "abc"] {
            assert_eq!(parse_hash_key(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn shard_ids_round_trip() {
        assert_eq!(shard_id(7), "shardId-000000000007");
        assert_eq!(parse_shard_id("shardId-000000000007"), Some(7));
        assert_eq!(parse_shard_id("7"), Some(7));
        assert_eq!(parse_shard_id("shardId-"), None);
        assert_eq!(parse_shard_id("shardId-99999999999999"), None);
    }
}
