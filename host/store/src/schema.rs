//! The redb tables eddy keeps, in one place, so the on-disk layout reads at a glance.
//!
//! Metadata values are JSON (small, read rarely, easy to evolve); hot data (items,
//! records) uses compact encodings described next to their codecs.

use redb::TableDefinition;

/// Bumped when the layout changes incompatibly; checked on open. 2: change
/// records in `tables::change_format` (1 stored them as JSON, which 2 still
/// reads, so a format-1 directory is upgraded when opened; an eddy that
/// knows only format 1 then refuses it instead of failing on its records).
pub const FORMAT_VERSION: u64 = 2;
/// The oldest format this eddy opens (and upgrades to `FORMAT_VERSION`).
pub const OLDEST_FORMAT: u64 = 1;

/// "format" → FORMAT_VERSION; "next_id" → the next resource id (never reused).
pub(crate) const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
/// Kinesis stream name → `streams::StreamMeta` as JSON.
pub(crate) const STREAMS: TableDefinition<&str, &[u8]> = TableDefinition::new("streams");
/// Table name → `tables::TableMeta` as JSON.
pub(crate) const TABLES: TableDefinition<&str, &[u8]> = TableDefinition::new("tables");
/// (table id, order-preserving encoded primary key) → item (see `value::codec`).
pub(crate) const ITEMS: TableDefinition<(u64, &[u8]), &[u8]> = TableDefinition::new("items");
/// Table id → (item count, total item bytes as DynamoDB counts them).
pub(crate) const TABLE_STATS: TableDefinition<u64, (u64, u64)> =
    TableDefinition::new("table_stats");
/// (log id, shard index, sequence) → record (see `records`). A log is a Kinesis
/// stream or one table change stream; both are shards of ordered records.
pub(crate) const RECORDS: TableDefinition<(u64, u32, u64), &[u8]> = TableDefinition::new("records");
/// Table id → (deleted at, ms; its `TableMeta` as JSON, streams closed): a
/// deleted table whose change streams stay readable for 24 h, as in DynamoDB.
pub(crate) const DELETED_TABLES: TableDefinition<u64, (u64, &[u8])> =
    TableDefinition::new("deleted_tables");
/// Log id → (last sequence allocated, last arrival time in ms).
pub(crate) const LOG_HEADS: TableDefinition<u64, (u64, u64)> = TableDefinition::new("log_heads");
/// (consumer, log id, shard index) → last sequence the consumer has processed.
pub(crate) const CHECKPOINTS: TableDefinition<(&str, u64, u32), u64> =
    TableDefinition::new("checkpoints");
/// Function name → `functions::FunctionConfig` as JSON (its settings and versions).
pub(crate) const FUNCTIONS: TableDefinition<&str, &[u8]> = TableDefinition::new("functions");
/// SHA-256 of a component (hex) → its bytes, stored once however many versions use it.
pub(crate) const FUNCTION_CODE: TableDefinition<&str, &[u8]> =
    TableDefinition::new("function_code");
/// Role name → `functions::Role` as JSON (a named bundle of grants).
pub(crate) const ROLES: TableDefinition<&str, &[u8]> = TableDefinition::new("roles");
/// Event source mapping UUID → `mappings::EventSourceMapping` as JSON.
pub(crate) const MAPPINGS: TableDefinition<&str, &[u8]> = TableDefinition::new("mappings");
/// (mapping UUID, log id, shard index) → `mappings::ShardStatus` as JSON: how
/// the mapping's poller of that shard last fared, written with its checkpoint.
pub(crate) const MAPPING_STATUS: TableDefinition<(&str, u64, u32), &[u8]> =
    TableDefinition::new("mapping_status");
/// Function name → (log group creation ms, next log block sequence, stored bytes as
/// CloudWatch counts them). A function's log group `/aws/lambda/<name>` exists from
/// its first logged invocation on, as in Lambda (see `telemetry::logs`). Named `_v2`
/// since logs are stored in blocks: the counts of "log_groups" (which counted the
/// rows of "log_events", one per line) are not carried over.
pub(crate) const LOG_GROUPS: TableDefinition<&str, (u64, u64, u64)> =
    TableDefinition::new("log_groups_v2");
/// (function, first line's timestamp ms, block sequence) → (ingestion ms, function
/// version, last line's timestamp ms, CloudWatch bytes, packed lines): a block of a
/// function's log lines (see `telemetry::log_block`).
pub(crate) const LOG_BLOCKS: TableDefinition<(&str, u64, u64), LogBlock> =
    TableDefinition::new("log_blocks");
/// A `LOG_BLOCKS` value.
pub(crate) type LogBlock = (u64, u32, u64, u64, &'static [u8]);
/// (function, minute start ms) → `telemetry::MetricBucket` as JSON.
pub(crate) const METRIC_BUCKETS: TableDefinition<(&str, u64), &[u8]> =
    TableDefinition::new("metric_buckets");
