//! What a mapping's source and on-failure destination name in the store: the
//! record log and shards a source reads, and its ARN. Resolved inside a write
//! (create checks and writes checkpoints in one job) or in a read snapshot
//! (for pollers).

use redb::ReadableTable;

use super::config::{Destination, Source};
use crate::error::{Result, StoreError};
use crate::schema::{STREAMS, TABLES};
use crate::store::Store;
use crate::streams::meta as stream_meta;
use crate::tables::CHANGE_SHARD;
use crate::tables::meta as table_meta;
use crate::writer::WriteCtx;

/// The ARN prefixes a write job needs (computed before it, from the store).
#[derive(Debug, Clone)]
pub(super) struct Names {
    kinesis: String,
    lambda: String,
}

impl Names {
    pub(super) fn of(store: &Store) -> Names {
        Names {
            kinesis: store.arn_prefix("kinesis"),
            lambda: store.arn_prefix("lambda"),
        }
    }

    pub(super) fn function_arn(&self, function: &str) -> String {
        format!("{}function:{function}", self.lambda)
    }

    fn stream_arn(&self, stream: &str) -> String {
        format!("{}stream/{stream}", self.kinesis)
    }
}

/// A source as the store holds it: its record log, the shards to read, and the
/// ARN Lambda would show for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedSource {
    /// The record log id (the key of checkpoints and records).
    pub log: u64,
    /// The shard indexes of the log, in order.
    pub shards: Vec<u32>,
    /// The stream's ARN, or the table's enabled change stream's ARN.
    pub arn: String,
}

/// Lambda's InvalidParameterValueException for a source it cannot find.
fn stream_not_found(arn: &str) -> StoreError {
    StoreError::InvalidArgument(format!("Stream not found: {arn}"))
}

fn resolve<S, T>(streams: &S, tables: &T, names: &Names, source: &Source) -> Result<ResolvedSource>
where
    S: ReadableTable<&'static str, &'static [u8]>,
    T: ReadableTable<&'static str, &'static [u8]>,
{
    match source {
        Source::Stream(name) => {
            let arn = names.stream_arn(name);
            let meta = stream_meta::lookup(streams, name)?.ok_or_else(|| stream_not_found(&arn))?;
            Ok(ResolvedSource {
                log: meta.id,
                shards: (0..meta.shard_count).collect(),
                arn,
            })
        }
        Source::Table(name) => {
            let meta = table_meta::lookup(tables, name)?
                .ok_or_else(|| table_meta::table_not_found(name))?;
            let stream = meta.enabled_stream().ok_or_else(|| {
                StoreError::InvalidArgument(format!(
                    "Stream not found: table {name} has no enabled stream; enable one \
                     (UpdateTable with a StreamSpecification) before mapping it to a function"
                ))
            })?;
            Ok(ResolvedSource {
                log: stream.log,
                shards: vec![CHANGE_SHARD],
                arn: meta.stream_arn(stream),
            })
        }
    }
}

/// `source` as seen inside a write.
pub(super) fn resolve_in(
    ctx: &WriteCtx<'_>,
    names: &Names,
    source: &Source,
) -> Result<ResolvedSource> {
    let streams = ctx.txn().open_table(STREAMS)?;
    let tables = ctx.txn().open_table(TABLES)?;
    resolve(&streams, &tables, names, source)
}

/// The log, shards and ARN `source` reads now. Errors: InvalidArgument (no
/// such stream, or the table has no enabled change stream), ResourceNotFound
/// (no such table).
pub fn resolve_source(store: &Store, source: &Source) -> Result<ResolvedSource> {
    let txn = store.read()?;
    let streams = txn.open_table(STREAMS)?;
    let tables = txn.open_table(TABLES)?;
    resolve(&streams, &tables, &Names::of(store), source)
}

/// An on-failure destination must exist when it is set (Lambda checks the
/// destination ARN on create and update).
pub(super) fn require_destination(
    ctx: &WriteCtx<'_>,
    names: &Names,
    destination: &Destination,
) -> Result<()> {
    let exists = match destination {
        Destination::Stream(name) => {
            stream_meta::lookup(&ctx.txn().open_table(STREAMS)?, name)?.is_some()
        }
        Destination::Table(name) => {
            table_meta::lookup(&ctx.txn().open_table(TABLES)?, name)?.is_some()
        }
    };
    if exists {
        return Ok(());
    }
    let what = match destination {
        Destination::Stream(name) => names.stream_arn(name),
        Destination::Table(name) => format!("table {name}"),
    };
    Err(StoreError::InvalidArgument(format!(
        "The provided destination config DestinationConfig.OnFailure.Destination is invalid: \
         {what} does not exist"
    )))
}
