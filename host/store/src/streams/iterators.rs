//! Shard iterators: opaque tokens naming a stream (by name and log id), a shard,
//! the next sequence to read and when the token was issued. Issuing one reads
//! but never writes. A token is base64 of a small binary with an MD5 check, so a
//! mangled token is refused rather than misread. It expires five minutes after
//! issue, by the store's clock.

use crate::timefmt::amz_utc;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use md5::{Digest, Md5};
use redb::ReadableTable;

use super::meta::{self, StreamMeta};
use super::{shards, validate};
use crate::error::{Result, StoreError};
use crate::records::{self, SequenceFormat};
use crate::schema::{LOG_HEADS, RECORDS, STREAMS};
use crate::store::Store;

/// How long an iterator stays valid after it is issued.
pub const ITERATOR_TTL_MS: u64 = 300_000;
const VERSION: u8 = 1;
const CHECK_BYTES: usize = 4;

/// Where an iterator starts (GetShardIterator's ShardIteratorType and its argument).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IteratorStart {
    /// The oldest record still kept.
    TrimHorizon,
    /// Just after the newest record: only records put from now on.
    Latest,
    /// At the record with this sequence number (or the next kept one).
    AtSequence(String),
    /// Just after the record with this sequence number.
    AfterSequence(String),
    /// At the first record that arrived at or after this time (epoch ms).
    AtTimestamp(u64),
}

/// A decoded iterator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token {
    pub stream: String,
    pub log: u64,
    pub shard: u32,
    /// The first sequence the next read may return.
    pub next: u64,
    pub issued_ms: u64,
}

impl Token {
    pub(crate) fn encode(&self) -> String {
        let name = self.stream.as_bytes();
        let mut out = Vec::with_capacity(30 + name.len() + CHECK_BYTES);
        out.push(VERSION);
        out.extend_from_slice(&self.log.to_be_bytes());
        out.extend_from_slice(&self.shard.to_be_bytes());
        out.extend_from_slice(&self.next.to_be_bytes());
        out.extend_from_slice(&self.issued_ms.to_be_bytes());
        // Names are at most 128 ASCII bytes (checked before a token is made).
        out.push(name.len().min(255) as u8);
        out.extend_from_slice(name);
        let check = Md5::digest(&out);
        out.extend_from_slice(&check[..CHECK_BYTES]);
        STANDARD.encode(out)
    }

    /// Decodes a token; anything that is not one this module made is
    /// InvalidArgument "Invalid ShardIterator.".
    pub(crate) fn decode(text: &str) -> Result<Token> {
        Token::try_decode(text)
            .ok_or_else(|| StoreError::InvalidArgument("Invalid ShardIterator.".into()))
    }

    fn try_decode(text: &str) -> Option<Token> {
        let bytes = STANDARD.decode(text).ok()?;
        let split = bytes.len().checked_sub(CHECK_BYTES)?;
        let (body, check) = bytes.split_at(split);
        if Md5::digest(body)[..CHECK_BYTES] != *check || body.first() != Some(&VERSION) {
            return None;
        }
        let u64_at = |at: usize| Some(u64::from_be_bytes(body.get(at..at + 8)?.try_into().ok()?));
        let shard = u32::from_be_bytes(body.get(9..13)?.try_into().ok()?);
        let name_len = usize::from(*body.get(29)?);
        let name = body.get(30..30 + name_len)?;
        if body.len() != 30 + name_len {
            return None;
        }
        Some(Token {
            log: u64_at(1)?,
            shard,
            next: u64_at(13)?,
            issued_ms: u64_at(21)?,
            stream: String::from_utf8(name.to_vec()).ok()?,
        })
    }

    /// ExpiredIterator if the token is older than five minutes at `now_ms`.
    pub(crate) fn check_fresh(&self, now_ms: u64) -> Result<()> {
        if now_ms.saturating_sub(self.issued_ms) <= ITERATOR_TTL_MS {
            return Ok(());
        }
        Err(StoreError::ExpiredIterator(format!(
            "Iterator expired. The iterator was created at time {} while right now it is {} \
             which is further in the future than the tolerated delay of {ITERATOR_TTL_MS} \
             milliseconds.",
            amz_utc(self.issued_ms),
            amz_utc(now_ms)
        )))
    }
}

/// "Shard shardId-… in stream NAME under account ACCOUNT does not exist".
pub(crate) fn shard_not_found(account: &str, stream: &str, shard: u32) -> StoreError {
    StoreError::ResourceNotFound(format!(
        "Shard {} in stream {stream} under account {account} does not exist",
        shards::shard_id(shard)
    ))
}

/// GetShardIterator: a token for reading `shard_id` of `stream` from `start`.
pub fn get_shard_iterator(
    store: &Store,
    stream: &str,
    shard_id: &str,
    start: IteratorStart,
) -> Result<String> {
    let mut failures = validate::name(stream, "streamName");
    failures.extend(validate::name(shard_id, "shardId"));
    validate::check(failures)?;
    let account = store.options().account.as_str();
    let Some(shard) = shards::parse_shard_id(shard_id) else {
        return Err(StoreError::ResourceNotFound(format!(
            "Could not find shard {shard_id} in stream {stream} under account {account}."
        )));
    };
    let now_ms = store.now_ms();
    let txn = store.read()?;
    let meta = meta::lookup(&txn.open_table(STREAMS)?, stream)?
        .filter(|m| shard < m.shard_count)
        .ok_or_else(|| shard_not_found(account, stream, shard))?;
    let head = records::head(&txn.open_table(LOG_HEADS)?, meta.id)?;
    let records_table = txn.open_table(RECORDS)?;
    let next = match start {
        IteratorStart::TrimHorizon => meta.first_sequence.saturating_add(1),
        IteratorStart::Latest => head.saturating_add(1),
        IteratorStart::AtSequence(text) => {
            check_sequence(&records_table, &meta, account, shard, head, &text)?
        }
        IteratorStart::AfterSequence(text) => {
            check_sequence(&records_table, &meta, account, shard, head, &text)?.saturating_add(1)
        }
        IteratorStart::AtTimestamp(ms) => {
            if ms > now_ms {
                return Err(StoreError::InvalidArgument(format!(
                    "The timestampInMillis parameter cannot be greater than the \
                     currentTimestampInMillis. timestampInMillis: {ms}, \
                     currentTimestampInMillis: {now_ms}"
                )));
            }
            records::first_at_or_after_time(&records_table, meta.id, shard, ms)?
                .unwrap_or(head.saturating_add(1))
        }
    };
    let token = Token {
        stream: meta.name,
        log: meta.id,
        shard,
        next,
        issued_ms: now_ms,
    };
    Ok(token.encode())
}

/// Parses a StartingSequenceNumber and checks it belongs to this shard of this
/// stream, with AWS's messages. A number whose record was trimmed is accepted
/// (reading then starts at the oldest record kept after it).
fn check_sequence<T: ReadableTable<(u64, u32, u64), &'static [u8]>>(
    records_table: &T,
    meta: &StreamMeta,
    account: &str,
    shard: u32,
    head: u64,
    text: &str,
) -> Result<u64> {
    let shard_id = shards::shard_id(shard);
    let stream = &meta.name;
    let Some(sequence) = SequenceFormat::Kinesis.parse(text) else {
        return Err(StoreError::InvalidArgument(format!(
            "StartingSequenceNumber {text} used in GetShardIterator on shard {shard_id} in \
             stream {stream} under account {account} is invalid."
        )));
    };
    if !meta.owns_sequence(sequence, head) {
        return Err(StoreError::InvalidArgument(format!(
            "StartingSequenceNumber {text} used in GetShardIterator on shard {shard_id} in \
             stream {stream} under account {account} is invalid because it did not come from \
             this stream."
        )));
    }
    if records_table.get((meta.id, shard, sequence))?.is_some() {
        return Ok(sequence);
    }
    for other in (0..meta.shard_count).filter(|&s| s != shard) {
        if records_table.get((meta.id, other, sequence))?.is_some() {
            return Err(StoreError::InvalidArgument(format!(
                "Invalid StartingSequenceNumber. It encodes {}, while it was used in a call to \
                 a shard with {shard_id}",
                shards::shard_id(other)
            )));
        }
    }
    Ok(sequence)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_reject_tampering() {
        let token = Token {
            stream: "my.stream-1".into(),
            log: 7,
            shard: 3,
            next: 7_000_000_000_042,
            issued_ms: 1_700_000_000_123,
        };
        let text = token.encode();
        assert_eq!(Token::decode(&text).unwrap(), token);
        assert!(text.len() <= 512);
        let mut bytes = STANDARD.decode(&text).unwrap();
        bytes[5] ^= 1;
        assert!(matches!(
            Token::decode(&STANDARD.encode(&bytes)),
            Err(StoreError::InvalidArgument(m)) if m == "Invalid ShardIterator."
        ));
        for bad in ["", "abc", "!!!!", &text[..text.len() - 4]] {
            assert!(Token::decode(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn expiry_message_matches_aws() {
        let token = Token {
            stream: "s".into(),
            log: 1,
            shard: 0,
            next: 1,
            issued_ms: 1_421_889_722_000,
        };
        assert!(
            token
                .check_fresh(1_421_889_722_000 + ITERATOR_TTL_MS)
                .is_ok()
        );
        let err = token
            .check_fresh(1_421_889_722_000 + ITERATOR_TTL_MS + 1)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Iterator expired. The iterator was created at time Thu Jan 22 01:22:02 UTC 2015 \
             while right now it is Thu Jan 22 01:27:02 UTC 2015 which is further in the future \
             than the tolerated delay of 300000 milliseconds."
        );
    }

    #[test]
    fn dates_format_like_java() {
        assert_eq!(amz_utc(0), "Thu Jan 01 00:00:00 UTC 1970");
        // 2024-02-29T23:59:59Z, a leap day (date -u -d @1709251199).
        assert_eq!(amz_utc(1_709_251_199_000), "Thu Feb 29 23:59:59 UTC 2024");
    }
}
