//! What an event source mapping is, as Lambda's EventSourceMappingConfiguration
//! describes it, in eddy's terms (a source is one of eddy's streams or tables).

use serde::{Deserialize, Serialize};

use crate::error::{Result, StoreError};
use crate::streams::validate::{check, failure, range};

/// Lambda's bounds and defaults for a stream mapping's settings.
pub mod limits {
    /// Default records per batch (Lambda: 100 for Kinesis and DynamoDB streams).
    pub const DEFAULT_BATCH_SIZE: u32 = 100;
    /// Most records per batch (Lambda: 10,000).
    pub const MAX_BATCH_SIZE: u32 = 10_000;
    /// Longest batching window, ms (Lambda: 300 s).
    pub const MAX_BATCHING_WINDOW_MS: u32 = 300_000;
    /// Most retries of a failed batch (Lambda: 10,000).
    pub const MAX_RETRIES: u32 = 10_000;
    /// Youngest finite maximum record age, s (Lambda: 60).
    pub const MIN_RECORD_AGE_SECS: u32 = 60;
    /// Oldest finite maximum record age, s (Lambda: 604,800 = 7 days).
    pub const MAX_RECORD_AGE_SECS: u32 = 604_800;
}

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

/// Lambda's mapping states. eddy changes state within the request, so the
/// transitional states (Creating, Enabling, Updating, ...) are never stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MappingState {
    Enabled,
    Disabled,
}

impl MappingState {
    /// Lambda's name of the state.
    pub fn as_str(self) -> &'static str {
        match self {
            MappingState::Enabled => "Enabled",
            MappingState::Disabled => "Disabled",
        }
    }
}

/// One event source mapping, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventSourceMapping {
    /// Lambda's UUID: the mapping's id, and its consumer name in `checkpoints`.
    pub uuid: String,
    pub function_name: String,
    pub source: Source,
    /// The ARN of the source when the mapping was created (Lambda's
    /// EventSourceArn): the stream's, or the table's change stream's (which
    /// names the stream by its label, so it stays that stream's ARN).
    #[serde(default)]
    pub source_arn: String,
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
    /// A number that increases with every mapping created (listing order).
    #[serde(default)]
    pub serial: u64,
    pub created_ms: u64,
    pub last_modified_ms: u64,
}

/// The settings a new mapping is created with (`MappingSpec::new` gives
/// Lambda's defaults).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingSpec {
    pub function_name: String,
    pub source: Source,
    pub batch_size: u32,
    pub batching_window_ms: u32,
    pub starting_position: StartingPosition,
    pub max_retries: Option<u32>,
    pub max_record_age_secs: Option<u32>,
    pub bisect_on_error: bool,
    pub on_failure: Option<Destination>,
    pub filters: Vec<String>,
    pub report_batch_item_failures: bool,
    pub enabled: bool,
}

impl MappingSpec {
    /// A mapping of `source` to `function_name` with Lambda's defaults: batches
    /// of 100, no batching window, starting at LATEST (the Lambda console's
    /// default), infinite retries and record age, no filters, enabled.
    pub fn new(function_name: impl Into<String>, source: Source) -> MappingSpec {
        MappingSpec {
            function_name: function_name.into(),
            source,
            batch_size: limits::DEFAULT_BATCH_SIZE,
            batching_window_ms: 0,
            starting_position: StartingPosition::Latest,
            max_retries: None,
            max_record_age_secs: None,
            bisect_on_error: false,
            on_failure: None,
            filters: Vec::new(),
            report_batch_item_failures: false,
            enabled: true,
        }
    }
}

/// What UpdateEventSourceMapping changes; `None` leaves a setting as it is.
/// The source and starting position cannot change (as in Lambda).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MappingChanges {
    pub function_name: Option<String>,
    pub batch_size: Option<u32>,
    pub batching_window_ms: Option<u32>,
    /// `Some(None)`: retry until the records expire.
    pub max_retries: Option<Option<u32>>,
    /// `Some(None)`: records never expire for the mapping.
    pub max_record_age_secs: Option<Option<u32>>,
    pub bisect_on_error: Option<bool>,
    /// `Some(None)`: remove the on-failure destination.
    pub on_failure: Option<Option<Destination>>,
    pub filters: Option<Vec<String>>,
    pub report_batch_item_failures: Option<bool>,
    pub enabled: Option<bool>,
}

impl MappingSpec {
    /// Applies `changes` to a spec before it is created (the same settings an
    /// update can change; `create` checks them).
    pub fn apply(&mut self, changes: MappingChanges) {
        let MappingChanges {
            function_name,
            batch_size,
            batching_window_ms,
            max_retries,
            max_record_age_secs,
            bisect_on_error,
            on_failure,
            filters,
            report_batch_item_failures,
            enabled,
        } = changes;
        set(&mut self.function_name, function_name);
        set(&mut self.batch_size, batch_size);
        set(&mut self.batching_window_ms, batching_window_ms);
        set(&mut self.max_retries, max_retries);
        set(&mut self.max_record_age_secs, max_record_age_secs);
        set(&mut self.bisect_on_error, bisect_on_error);
        set(&mut self.on_failure, on_failure);
        set(&mut self.filters, filters);
        set(
            &mut self.report_batch_item_failures,
            report_batch_item_failures,
        );
        set(&mut self.enabled, enabled);
    }
}

impl EventSourceMapping {
    /// Applies `changes` (unchecked; `check_settings` follows).
    pub(super) fn apply(&mut self, changes: MappingChanges) {
        let MappingChanges {
            function_name,
            batch_size,
            batching_window_ms,
            max_retries,
            max_record_age_secs,
            bisect_on_error,
            on_failure,
            filters,
            report_batch_item_failures,
            enabled,
        } = changes;
        set(&mut self.function_name, function_name);
        set(&mut self.batch_size, batch_size);
        set(&mut self.batching_window_ms, batching_window_ms);
        set(&mut self.max_retries, max_retries);
        set(&mut self.max_record_age_secs, max_record_age_secs);
        set(&mut self.bisect_on_error, bisect_on_error);
        set(&mut self.on_failure, on_failure);
        set(&mut self.filters, filters);
        set(
            &mut self.report_batch_item_failures,
            report_batch_item_failures,
        );
        if let Some(enabled) = enabled {
            self.state = state_of(enabled);
        }
    }

    pub(super) fn decode(bytes: &[u8]) -> Result<EventSourceMapping> {
        serde_json::from_slice(bytes)
            .map_err(|e| StoreError::Storage(format!("corrupt event source mapping: {e}")))
    }

    pub(super) fn encode(&self) -> Result<Vec<u8>> {
        serde_json::to_vec(self).map_err(|e| StoreError::Storage(e.to_string()))
    }
}

fn set<T>(slot: &mut T, value: Option<T>) {
    if let Some(value) = value {
        *slot = value;
    }
}

/// Enabled or Disabled.
pub(super) fn state_of(enabled: bool) -> MappingState {
    if enabled {
        MappingState::Enabled
    } else {
        MappingState::Disabled
    }
}

/// Checks every bounded setting, reporting the constraint failures together
/// (ValidationException, as Lambda's request validation words them), then the
/// rules Lambda checks after that (InvalidArgument, which the Lambda API
/// reports as InvalidParameterValueException).
pub(super) fn check_settings(m: &EventSourceMapping) -> Result<()> {
    let mut failures = range(
        u64::from(m.batch_size),
        "batchSize",
        1,
        u64::from(limits::MAX_BATCH_SIZE),
    );
    if m.batching_window_ms > limits::MAX_BATCHING_WINDOW_MS {
        let why = "Member must have value less than or equal to 300";
        let seconds = (m.batching_window_ms / 1000).to_string();
        failures.push(failure(&seconds, "maximumBatchingWindowInSeconds", why));
    }
    if let Some(retries) = m.max_retries {
        failures.extend(range(
            u64::from(retries),
            "maximumRetryAttempts",
            0,
            u64::from(limits::MAX_RETRIES),
        ));
    }
    if let Some(age) = m.max_record_age_secs {
        failures.extend(range(
            u64::from(age),
            "maximumRecordAgeInSeconds",
            0,
            u64::from(limits::MAX_RECORD_AGE_SECS),
        ));
    }
    check(failures)?;
    if m.max_record_age_secs
        .is_some_and(|age| age < limits::MIN_RECORD_AGE_SECS)
    {
        return Err(StoreError::InvalidArgument(
            "MaximumRecordAgeInSeconds must be -1 (infinite) or between 60 and 604800 seconds"
                .into(),
        ));
    }
    Ok(())
}
