//! One shard of a mapping's source, as a poller reads it: a Kinesis-style
//! stream shard (read straight from the record log) or a table's change
//! stream (its one shard).

use eddy_store::mappings::{self, EventSourceMapping, ResolvedSource, Source};
use eddy_store::records::SequenceFormat;
use eddy_store::tables::change_streams;
use eddy_store::{Store, StoreError};

/// Lambda's limit on an invocation payload (6 MB): a batch stops growing
/// before its records' bytes pass this (it always holds at least one record).
pub(crate) const MAX_BATCH_BYTES: usize = 6 << 20;

/// One record read from a shard.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SourceRecord {
    pub sequence: u64,
    pub arrival_ms: u64,
    pub body: Body,
}

/// What a record carries.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Body {
    /// A stream record.
    Stream {
        partition_key: String,
        data: Vec<u8>,
    },
    /// A change record, as the store keeps it (see
    /// `eddy_store::tables::change_format`).
    Change(Vec<u8>),
}

/// Which kind of log the shard belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A Kinesis-style stream, by name.
    Stream(String),
    /// A table's change stream, with its view type (`NEW_IMAGE`, ...).
    Change { view_type: String },
}

/// One shard of a mapping's source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ShardSource {
    pub kind: Kind,
    pub log: u64,
    pub shard: u32,
    /// `shardId-000000000000` (streams) or the change stream's shard id.
    pub shard_id: String,
    /// The stream's or change stream's ARN (Lambda's eventSourceARN).
    pub arn: String,
}

impl ShardSource {
    /// Shard `shard` of `resolved`, the source of `mapping` now.
    pub(crate) fn new(
        store: &Store,
        mapping: &EventSourceMapping,
        resolved: &ResolvedSource,
        shard: u32,
    ) -> Result<ShardSource, StoreError> {
        let (kind, shard_id) = match &mapping.source {
            Source::Stream(name) => (
                Kind::Stream(name.clone()),
                eddy_store::streams::shards::shard_id(shard),
            ),
            Source::Table(name) => {
                let log = change_streams::change_log(store, name)?
                    .filter(|l| l.log == resolved.log)
                    .ok_or_else(|| gone(&resolved.arn))?;
                let described = change_streams::describe_stream(store, &log.stream_arn)?;
                let view_type = log.view_type.as_str().to_string();
                (Kind::Change { view_type }, described.shard.shard_id)
            }
        };
        Ok(ShardSource {
            kind,
            log: resolved.log,
            shard,
            shard_id,
            arn: resolved.arn.clone(),
        })
    }

    /// How clients see sequence numbers of this source.
    pub(crate) fn format(&self) -> SequenceFormat {
        match self.kind {
            Kind::Stream(_) => SequenceFormat::Kinesis,
            Kind::Change { .. } => SequenceFormat::DynamoDb,
        }
    }

    /// Up to `limit` records after sequence `after`, oldest first, skipping
    /// records past retention. Errors: ResourceNotFound when the stream was
    /// deleted (or deleted and re-created: that is another log).
    pub(crate) fn read(
        &self,
        store: &Store,
        after: u64,
        limit: usize,
    ) -> Result<Vec<SourceRecord>, StoreError> {
        match &self.kind {
            Kind::Stream(name) => {
                let page =
                    mappings::read_stream(store, name, self.shard, after, limit, MAX_BATCH_BYTES)?;
                if page.meta.id != self.log {
                    return Err(gone(&self.arn));
                }
                Ok(page
                    .records
                    .into_iter()
                    .map(|r| SourceRecord {
                        sequence: r.sequence,
                        arrival_ms: r.arrival_ms,
                        body: Body::Stream {
                            partition_key: r.partition_key,
                            data: r.data,
                        },
                    })
                    .collect())
            }
            Kind::Change { .. } => {
                let changes = change_streams::read_change_records(store, self.log, after, limit)?;
                Ok(changes
                    .into_iter()
                    .map(|c| SourceRecord {
                        sequence: c.sequence,
                        arrival_ms: c.arrival_ms,
                        body: Body::Change(c.data),
                    })
                    .collect())
            }
        }
    }
}

/// The source a mapping reads is gone (deleted, or its stream disabled).
pub(crate) fn gone(arn: &str) -> StoreError {
    StoreError::ResourceNotFound(format!("Stream not found: {arn}"))
}
