//! What an event source mapping is, as Lambda's EventSourceMappingConfiguration
//! describes it, in eddy's terms (a source is one of eddy's streams or tables).

use serde::{Deserialize, Serialize};

/// Where a mapping's records come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Source {
    /// A Kinesis-style stream, by name.
    Stream(String),
    /// The change stream of a table, by table name.
    Table(String),
}

/// Where a batch that is given up is described (Lambda's on-failure destination).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Destination {
    /// A record is put into this stream.
    Stream(String),
    /// An item is put into this table.
    Table(String),
}

/// Where a new mapping starts reading each shard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StartingPosition {
    /// The oldest record still retained.
    TrimHorizon,
    /// Only records added after the mapping was created.
    Latest,
    /// The first record that arrived at or after this time (ms since the epoch).
    AtTimestamp(u64),
}

/// Lambda's mapping states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MappingState {
    Enabled,
    Disabled,
}

/// One event source mapping, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventSourceMapping {
    /// Lambda's UUID: the mapping's id, and its consumer name in `checkpoints`.
    pub uuid: String,
    pub function_name: String,
    pub source: Source,
    /// Most records per batch (Lambda: default 100, 1..=10,000).
    pub batch_size: u32,
    /// How long to gather records before invoking (Lambda: 0..=300 s).
    pub batching_window_ms: u32,
    pub starting_position: StartingPosition,
    /// Retries of a failed batch; `None` retries until the records expire
    /// (Lambda's -1).
    pub max_retries: Option<u32>,
    /// Records older than this are given up; `None` never (Lambda's -1).
    pub max_record_age_secs: Option<u32>,
    /// Split a failing batch in two and retry each half.
    pub bisect_on_error: bool,
    pub on_failure: Option<Destination>,
    /// Lambda filter patterns (JSON texts); a record is processed when any matches.
    pub filters: Vec<String>,
    /// The handler reports failed records (Lambda's ReportBatchItemFailures).
    pub report_batch_item_failures: bool,
    pub state: MappingState,
    pub created_ms: u64,
    pub last_modified_ms: u64,
}
