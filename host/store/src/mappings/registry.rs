//! Creating, reading, updating and deleting event source mappings. Each change
//! is one store write that checks before it writes, so a refused change leaves
//! everything as it was; creating a mapping writes its starting checkpoints in
//! the same write, so records that arrive after `create` returns are delivered
//! (under LATEST) even if no poller is running yet.

use redb::ReadableTable;

use super::config::{
    EventSourceMapping, MappingChanges, MappingSpec, MappingState, Source, StartingPosition,
    check_settings, state_of,
};
use super::sources::{self, Names};
use super::uuid;
use crate::checkpoints;
use crate::error::{Result, StoreError};
use crate::records;
use crate::schema::{FUNCTIONS, LOG_HEADS, MAPPINGS, RECORDS};
use crate::store::{Store, next_id};
use crate::writer::WriteCtx;

/// Lambda's ResourceNotFoundException for an unknown mapping UUID.
fn not_found() -> StoreError {
    StoreError::ResourceNotFound("The resource you requested does not exist.".into())
}

fn load_in(ctx: &WriteCtx<'_>, uuid: &str) -> Result<EventSourceMapping> {
    let table = ctx.txn().open_table(MAPPINGS)?;
    let found = table.get(uuid)?;
    match found {
        Some(v) => EventSourceMapping::decode(v.value()),
        None => Err(not_found()),
    }
}

fn save_in(ctx: &WriteCtx<'_>, mapping: &EventSourceMapping) -> Result<()> {
    let bytes = mapping.encode()?;
    ctx.txn()
        .open_table(MAPPINGS)?
        .insert(mapping.uuid.as_str(), bytes.as_slice())?;
    Ok(())
}

fn all_in(ctx: &WriteCtx<'_>) -> Result<Vec<EventSourceMapping>> {
    let table = ctx.txn().open_table(MAPPINGS)?;
    let mut out = Vec::new();
    for entry in table.iter()? {
        out.push(EventSourceMapping::decode(entry?.1.value())?);
    }
    Ok(out)
}

/// The function must exist: Lambda's "Function not found: ARN".
fn require_function(ctx: &WriteCtx<'_>, names: &Names, function: &str) -> Result<()> {
    if ctx.txn().open_table(FUNCTIONS)?.get(function)?.is_some() {
        return Ok(());
    }
    Err(StoreError::ResourceNotFound(format!(
        "Function not found: {}",
        names.function_arn(function)
    )))
}

/// Lambda allows one mapping per (function, source): a second is a conflict
/// (ResourceInUse here, ResourceConflictException on the Lambda API). Several
/// functions may read one source.
fn refuse_duplicate(ctx: &WriteCtx<'_>, mapping: &EventSourceMapping) -> Result<()> {
    let clash = all_in(ctx)?.into_iter().find(|m| {
        m.uuid != mapping.uuid
            && m.function_name == mapping.function_name
            && m.source == mapping.source
    });
    match clash {
        Some(existing) => Err(StoreError::ResourceInUse(format!(
            "The event source arn (\" {} \") and function (\" {} \") provided mapping already \
             exists. Please update or delete the existing mapping with UUID {}",
            mapping.source_arn, mapping.function_name, existing.uuid
        ))),
        None => Ok(()),
    }
}

/// Creates a mapping. Errors: Validation / InvalidArgument (bad settings, a
/// source or destination that does not exist, a table without an enabled
/// change stream), ResourceNotFound (no such function), ResourceInUse (this
/// function already has a mapping on this source).
pub fn create(store: &Store, spec: MappingSpec) -> Result<EventSourceMapping> {
    let names = Names::of(store);
    let uuid = uuid::new_v4();
    store.write(move |ctx| {
        let mut mapping = EventSourceMapping {
            uuid,
            function_name: spec.function_name,
            source: spec.source,
            source_arn: String::new(),
            batch_size: spec.batch_size,
            batching_window_ms: spec.batching_window_ms,
            starting_position: spec.starting_position,
            max_retries: spec.max_retries,
            max_record_age_secs: spec.max_record_age_secs,
            bisect_on_error: spec.bisect_on_error,
            on_failure: spec.on_failure,
            filters: spec.filters,
            report_batch_item_failures: spec.report_batch_item_failures,
            state: state_of(spec.enabled),
            serial: 0,
            created_ms: ctx.now_ms,
            last_modified_ms: ctx.now_ms,
        };
        check_settings(&mapping)?;
        let source = sources::resolve_in(ctx, &names, &mapping.source)?;
        mapping.source_arn = source.arn.clone();
        require_function(ctx, &names, &mapping.function_name)?;
        if let Some(destination) = &mapping.on_failure {
            sources::require_destination(ctx, &names, destination)?;
        }
        refuse_duplicate(ctx, &mapping)?;
        // Every check is done: from here on the job writes.
        mapping.serial = next_id(ctx)?;
        write_starting_checkpoints(ctx, &mapping.uuid, &source, mapping.starting_position)?;
        save_in(ctx, &mapping)?;
        Ok(mapping)
    })
}

/// Saves where each shard of `source` starts for a new consumer `uuid`. The
/// checkpoint is the last sequence already processed, so a poller reads the
/// records above it; no checkpoint means "from the oldest record retained".
fn write_starting_checkpoints(
    ctx: &WriteCtx<'_>,
    uuid: &str,
    source: &sources::ResolvedSource,
    position: StartingPosition,
) -> Result<()> {
    let head = records::head(&ctx.txn().open_table(LOG_HEADS)?, source.log)?;
    let records_table = ctx.txn().open_table(RECORDS)?;
    for &shard in &source.shards {
        let start = match position {
            StartingPosition::TrimHorizon => continue,
            // Sequences are unique across a log and increase in every shard, so
            // the log head is past every record any shard holds now.
            StartingPosition::Latest => head,
            // Arrival times never go backwards within a log: every record
            // before the first one at/after `ms` arrived earlier. With none yet,
            // every record to come arrives later, so start at the head.
            StartingPosition::AtTimestamp(ms) => {
                records::first_at_or_after_time(&records_table, source.log, shard, ms)?
                    .map_or(head, |first| first.saturating_sub(1))
            }
        };
        checkpoints::save(ctx, uuid, source.log, shard, start)?;
    }
    Ok(())
}

/// The mapping with this UUID, or ResourceNotFound.
pub fn get(store: &Store, uuid: &str) -> Result<EventSourceMapping> {
    let txn = store.read()?;
    let table = txn.open_table(MAPPINGS)?;
    let found = table.get(uuid)?;
    match found {
        Some(v) => EventSourceMapping::decode(v.value()),
        None => Err(not_found()),
    }
}

/// Every mapping, oldest first, so a listing pages stably.
pub fn list(store: &Store) -> Result<Vec<EventSourceMapping>> {
    let txn = store.read()?;
    let table = txn.open_table(MAPPINGS)?;
    let mut out = Vec::new();
    for entry in table.iter()? {
        out.push(EventSourceMapping::decode(entry?.1.value())?);
    }
    out.sort_by_key(|m| m.serial);
    Ok(out)
}

/// The mappings of one function and/or one source (`None`: any), oldest first.
pub fn list_for(
    store: &Store,
    function: Option<&str>,
    source: Option<&Source>,
) -> Result<Vec<EventSourceMapping>> {
    let mut all = list(store)?;
    all.retain(|m| {
        function.is_none_or(|f| m.function_name == f) && source.is_none_or(|s| &m.source == s)
    });
    Ok(all)
}

/// Changes a mapping's settings (and state, if `changes.enabled` says so).
/// The checkpoints stay: an updated mapping carries on where it was.
pub fn update(store: &Store, uuid: &str, changes: MappingChanges) -> Result<EventSourceMapping> {
    let names = Names::of(store);
    let uuid = uuid.to_string();
    store.write(move |ctx| {
        let mut mapping = load_in(ctx, &uuid)?;
        let new_function = changes.function_name.is_some();
        let new_destination = changes.on_failure.is_some();
        mapping.apply(changes);
        check_settings(&mapping)?;
        if new_function {
            require_function(ctx, &names, &mapping.function_name)?;
            refuse_duplicate(ctx, &mapping)?;
        }
        if let (true, Some(destination)) = (new_destination, &mapping.on_failure) {
            sources::require_destination(ctx, &names, destination)?;
        }
        mapping.last_modified_ms = ctx.now_ms;
        save_in(ctx, &mapping)?;
        Ok(mapping)
    })
}

/// Enables or disables a mapping. A disabled mapping keeps its checkpoints,
/// so enabling it again resumes where it stopped (records still retained).
pub fn set_state(store: &Store, uuid: &str, state: MappingState) -> Result<EventSourceMapping> {
    let changes = MappingChanges {
        enabled: Some(state == MappingState::Enabled),
        ..MappingChanges::default()
    };
    update(store, uuid, changes)
}

/// Deletes a mapping, its checkpoints and its pollers' status in one write; returns it as it was.
pub fn delete(store: &Store, uuid: &str) -> Result<EventSourceMapping> {
    let uuid = uuid.to_string();
    store.write(move |ctx| {
        let mapping = load_in(ctx, &uuid)?;
        ctx.txn().open_table(MAPPINGS)?.remove(uuid.as_str())?;
        checkpoints::remove_consumer(ctx, &uuid)?;
        super::status::remove_status_in(ctx, &uuid)?;
        Ok(mapping)
    })
}
