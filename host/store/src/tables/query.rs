//! Query and Scan: pages of items read straight from a redb range iterator, so
//! memory is bounded by one page whatever the table's size.
//!
//! As in DynamoDB, `Limit` counts the items read (before FilterExpression),
//! a page also ends once the items read reach 1 MB, and a page that stopped
//! early carries LastEvaluatedKey (the full primary key of the last item read).
//! Scan segments split the partitions deterministically by an MD5 hash of the
//! encoded partition key, into TotalSegments contiguous hash ranges.

use std::ops::Bound;

use md5::{Digest, Md5};

use super::items::{ExpressionMaps, item_table_not_found, project};
use super::key::{key_attrs_of, key_from_param};
use super::meta::{TableMeta, load_read};
use crate::error::{Result, StoreError};
use crate::expressions::{Condition, ExpressionContext, KeyCondition, Projection, SortCondition};
use crate::schema::ITEMS;
use crate::store::Store;
use crate::value::codec::decode_item;
use crate::value::keys::{KeyType, partition_prefix, sort_key_bytes};
use crate::value::size::item_size;
use crate::value::{AttributeValue, Item};

/// A page stops once the items read add up to this many bytes.
pub const MAX_PAGE_BYTES: usize = 1 << 20;
/// The most segments a Scan may be split into (DynamoDB's limit).
pub const MAX_TOTAL_SEGMENTS: u32 = 1_000_000;

/// What a Query or Scan returns per item (Select).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Select {
    /// Whole items (the default without a ProjectionExpression).
    #[default]
    AllAttributes,
    /// The ProjectionExpression's attributes.
    SpecificAttributes,
    /// Only Count and ScannedCount.
    Count,
}

/// Query's input.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueryRequest {
    pub table: String,
    pub key_condition: String,
    pub filter: Option<String>,
    pub projection: Option<String>,
    pub expressions: ExpressionMaps,
    pub select: Option<Select>,
    /// Items to read at most (1 or more).
    pub limit: Option<u32>,
    pub exclusive_start_key: Option<Item>,
    /// ScanIndexForward: ascending sort-key order (the default).
    pub forward: bool,
}

/// Scan's input.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScanRequest {
    pub table: String,
    pub filter: Option<String>,
    pub projection: Option<String>,
    pub expressions: ExpressionMaps,
    pub select: Option<Select>,
    pub limit: Option<u32>,
    pub exclusive_start_key: Option<Item>,
    pub segment: Option<u32>,
    pub total_segments: Option<u32>,
}

/// One page of results.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Page {
    /// The matching items (empty for Select COUNT).
    pub items: Vec<Item>,
    /// How many items matched the filter.
    pub count: usize,
    /// How many items were read.
    pub scanned_count: usize,
    /// Where the next page starts, when this one stopped early.
    pub last_evaluated_key: Option<Item>,
}

/// The parsed parts shared by Query and Scan.
struct Plan {
    filter: Option<Condition>,
    projection: Option<Projection>,
    count_only: bool,
    limit: usize,
}

fn invalid(message: impl Into<String>) -> StoreError {
    StoreError::Validation(message.into())
}

/// Checks Select against the projection; true when only counts are wanted.
fn check_select(select: Option<Select>, has_projection: bool) -> Result<bool> {
    match (select, has_projection) {
        (Some(Select::SpecificAttributes), false) => Err(invalid(
            "1 validation error detected: Must specify the AttributesToGet or ProjectionExpression when choosing to get SPECIFIC_ATTRIBUTES",
        )),
        (Some(Select::AllAttributes), true) => Err(invalid(
            "1 validation error detected: Cannot specify the AttributesToGet or ProjectionExpression when choosing to get ALL_ATTRIBUTES",
        )),
        (Some(Select::Count), true) => Err(invalid(
            "1 validation error detected: Cannot specify the AttributesToGet or ProjectionExpression when choosing to get COUNT",
        )),
        (select, _) => Ok(select == Some(Select::Count)),
    }
}

fn check_limit(limit: Option<u32>) -> Result<usize> {
    match limit {
        Some(0) => Err(invalid(
            "1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1",
        )),
        Some(n) => Ok(n as usize),
        None => Ok(usize::MAX),
    }
}

/// The FilterExpression and ProjectionExpression Query and Scan share.
fn filter_and_projection(
    cx: &mut ExpressionContext,
    filter: Option<&str>,
    projection: Option<&str>,
) -> Result<(Option<Condition>, Option<Projection>)> {
    let filter = filter
        .map(|t| cx.parse_condition(t, "FilterExpression"))
        .transpose()?;
    let projection = projection.map(|t| cx.parse_projection(t)).transpose()?;
    Ok((filter, projection))
}

/// Query: the items of one partition in sort-key order.
pub fn query(store: &Store, request: &QueryRequest) -> Result<Page> {
    let count_only = check_select(request.select, request.projection.is_some())?;
    let limit = check_limit(request.limit)?;
    let txn = store.read()?;
    let meta = load_read(&txn, &request.table, item_table_not_found)?;
    let mut cx = request.expressions.context()?;
    let sk_name = meta.sort_key.as_ref().map(|a| a.name.as_str());
    let key_condition =
        cx.parse_key_condition(&request.key_condition, &meta.partition_key.name, sk_name)?;
    let (filter, projection) = filter_and_projection(
        &mut cx,
        request.filter.as_deref(),
        request.projection.as_deref(),
    )?;
    cx.finish()?;
    check_key_condition_types(&meta, &key_condition)?;
    let prefix = partition_prefix(&key_condition.partition);
    let (mut lower, mut upper) = sort_bounds(&prefix, key_condition.sort.as_ref());
    if let Some(start) = &request.exclusive_start_key {
        let start = start_key(&meta, start, "The provided starting key is invalid")?;
        if !start.starts_with(&prefix) {
            return Err(invalid(
                "The provided starting key is outside query boundaries based on provided conditions",
            ));
        }
        if request.forward {
            lower = Bound::Excluded(start);
        } else {
            upper = Bound::Excluded(start);
        }
    }
    let plan = Plan {
        filter,
        projection,
        count_only,
        limit,
    };
    let items = txn.open_table(ITEMS)?;
    let range = items.range::<(u64, &[u8])>(table_bounds(meta.id, &lower, &upper))?;
    let sort = key_condition.sort.as_ref();
    let in_range = |item: &Item| match (sort, meta.sort_key.as_ref()) {
        (Some(cond), Some(attr)) => item.get(&attr.name).is_some_and(|v| cond.matches(v)),
        _ => true,
    };
    if request.forward {
        read_page(&meta, &plan, range, in_range)
    } else {
        read_page(&meta, &plan, range.rev(), in_range)
    }
}

/// Scan: every item of the table (or of one segment) in key order.
pub fn scan(store: &Store, request: &ScanRequest) -> Result<Page> {
    let count_only = check_select(request.select, request.projection.is_some())?;
    let limit = check_limit(request.limit)?;
    let segment = check_segments(request.segment, request.total_segments)?;
    let mut cx = request.expressions.context()?;
    let (filter, projection) = filter_and_projection(
        &mut cx,
        request.filter.as_deref(),
        request.projection.as_deref(),
    )?;
    cx.finish()?;
    let txn = store.read()?;
    let meta = load_read(&txn, &request.table, item_table_not_found)?;
    let lower = match &request.exclusive_start_key {
        Some(start) => Bound::Excluded(start_key(
            &meta,
            start,
            "The provided starting key is invalid: The provided key element does not match the schema",
        )?),
        None => Bound::Unbounded,
    };
    let plan = Plan {
        filter,
        projection,
        count_only,
        limit,
    };
    let items = txn.open_table(ITEMS)?;
    let range = items.range::<(u64, &[u8])>(table_bounds(meta.id, &lower, &Bound::Unbounded))?;
    let pk_name = meta.partition_key.name.clone();
    read_page(&meta, &plan, range, |item: &Item| match segment {
        Some((segment, total)) => item
            .get(&pk_name)
            .is_some_and(|pk| segment_of(pk, total) == segment),
        None => true,
    })
}

/// (Segment, TotalSegments) after DynamoDB's checks.
fn check_segments(segment: Option<u32>, total: Option<u32>) -> Result<Option<(u32, u32)>> {
    match (segment, total) {
        (None, None) => Ok(None),
        (Some(_), None) => Err(invalid(
            "The TotalSegments parameter is required but was not present in the request when Segment parameter is present",
        )),
        (None, Some(_)) => Err(invalid(
            "The Segment parameter is required but was not present in the request when parameter TotalSegments is present",
        )),
        (Some(_), Some(total)) if total == 0 || total > MAX_TOTAL_SEGMENTS => {
            Err(invalid(format!(
                "1 validation error detected: Value '{total}' at 'totalSegments' failed to satisfy constraint: Member must have value {} {MAX_TOTAL_SEGMENTS}",
                if total == 0 {
                    "greater than or equal to 1, less than or equal to"
                } else {
                    "less than or equal to"
                }
            )))
        }
        (Some(segment), Some(total)) if segment >= total => Err(invalid(format!(
            "The Segment parameter is zero-based and must be less than parameter TotalSegments: Segment: {segment} is not less than TotalSegments: {total}"
        ))),
        (Some(segment), Some(total)) => Ok(Some((segment, total))),
    }
}

/// The segment (of `total`) a partition key belongs to: its MD5 hash's place
/// in `total` equal ranges of the 64-bit hash space.
pub fn segment_of(pk: &AttributeValue, total: u32) -> u32 {
    let digest = Md5::digest(partition_prefix(pk));
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    let hash = u64::from_be_bytes(first);
    ((u128::from(hash) * u128::from(total)) >> 64) as u32
}

/// "Condition parameter type does not match schema type" when a key value's
/// type differs from the key schema's.
fn check_key_condition_types(meta: &TableMeta, key: &KeyCondition) -> Result<()> {
    let mismatch = || {
        invalid(
            "One or more parameter values were invalid: Condition parameter type does not match schema type",
        )
    };
    if KeyType::of(&key.partition) != Some(meta.partition_key.key_type) {
        return Err(mismatch());
    }
    let (Some(sort), Some(attr)) = (&key.sort, &meta.sort_key) else {
        return Ok(());
    };
    let values: Vec<&AttributeValue> = match sort {
        SortCondition::Eq(v)
        | SortCondition::Lt(v)
        | SortCondition::Le(v)
        | SortCondition::Gt(v)
        | SortCondition::Ge(v)
        | SortCondition::BeginsWith(v) => vec![v],
        SortCondition::Between(a, b) => vec![a, b],
    };
    if values.iter().any(|v| KeyType::of(v) != Some(attr.key_type)) {
        return Err(mismatch());
    }
    if matches!(sort, SortCondition::BeginsWith(_)) && attr.key_type == KeyType::N {
        return Err(invalid(
            "Invalid KeyConditionExpression: Incorrect operand type for operator or function; operator or function: begins_with, operand type: N",
        ));
    }
    Ok(())
}

/// Byte bounds (within the table) of the keys a sort condition selects in the
/// partition whose keys start with `prefix`.
fn sort_bounds(prefix: &[u8], sort: Option<&SortCondition>) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
    let at = |v: &AttributeValue| {
        let mut key = prefix.to_vec();
        key.extend_from_slice(&sort_key_bytes(v));
        key
    };
    let start = Bound::Included(prefix.to_vec());
    let end = prefix_end(prefix);
    match sort {
        None => (start, end),
        Some(SortCondition::Eq(v)) => (Bound::Included(at(v)), Bound::Included(at(v))),
        Some(SortCondition::Lt(v)) => (start, Bound::Excluded(at(v))),
        Some(SortCondition::Le(v)) => (start, Bound::Included(at(v))),
        Some(SortCondition::Gt(v)) => (Bound::Excluded(at(v)), end),
        Some(SortCondition::Ge(v)) => (Bound::Included(at(v)), end),
        Some(SortCondition::Between(a, b)) => (Bound::Included(at(a)), Bound::Included(at(b))),
        Some(SortCondition::BeginsWith(v)) => (Bound::Included(at(v)), prefix_end(&at(v))),
    }
}

/// The exclusive upper bound of all byte strings starting with `prefix`
/// (Unbounded if there is none, i.e. the prefix is all 0xFF).
fn prefix_end(prefix: &[u8]) -> Bound<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return Bound::Excluded(end);
        }
    }
    Bound::Unbounded
}

/// A range of ITEMS' (table id, key) keys.
type ItemBounds<'a> = (Bound<(u64, &'a [u8])>, Bound<(u64, &'a [u8])>);

/// Bounds over ITEMS' (table id, key) keys for key bounds within table `id`.
fn table_bounds<'a>(
    id: u64,
    lower: &'a Bound<Vec<u8>>,
    upper: &'a Bound<Vec<u8>>,
) -> ItemBounds<'a> {
    let lower = match lower {
        Bound::Included(k) => Bound::Included((id, k.as_slice())),
        Bound::Excluded(k) => Bound::Excluded((id, k.as_slice())),
        Bound::Unbounded => Bound::Included((id, &[][..])),
    };
    let upper = match upper {
        Bound::Included(k) => Bound::Included((id, k.as_slice())),
        Bound::Excluded(k) => Bound::Excluded((id, k.as_slice())),
        Bound::Unbounded => match id.checked_add(1) {
            Some(next) => Bound::Excluded((next, &[][..])),
            None => Bound::Unbounded,
        },
    };
    (lower, upper)
}

/// Reads one page from `entries`, counting items `wanted` accepts.
fn read_page<'t, I>(
    meta: &TableMeta,
    plan: &Plan,
    entries: I,
    wanted: impl Fn(&Item) -> bool,
) -> Result<Page>
where
    I: Iterator<
        Item = std::result::Result<
            (
                redb::AccessGuard<'t, (u64, &'static [u8])>,
                redb::AccessGuard<'t, &'static [u8]>,
            ),
            redb::StorageError,
        >,
    >,
{
    let mut page = Page::default();
    let mut bytes = 0usize;
    for entry in entries {
        let (_, value) = entry?;
        let item = decode_item(value.value())?;
        if !wanted(&item) {
            continue;
        }
        page.scanned_count += 1;
        bytes = bytes.saturating_add(item_size(&item));
        // The key is copied out only for the item that ends the page, not for
        // every item read (that copy was a large part of a Scan's cost).
        let full = page.scanned_count >= plan.limit || bytes >= MAX_PAGE_BYTES;
        let last_key = full.then(|| key_attrs_of(meta, &item));
        let matched = match &plan.filter {
            Some(filter) => filter.evaluate(Some(&item))?,
            None => true,
        };
        if matched {
            page.count += 1;
            if !plan.count_only {
                page.items.push(project(plan.projection.as_ref(), item));
            }
        }
        if last_key.is_some() {
            page.last_evaluated_key = last_key;
            break;
        }
    }
    Ok(page)
}

/// ExclusiveStartKey as a stored key. DynamoDB words a bad one differently from a
/// bad Key: "The provided starting key is invalid" (Query), with the schema
/// detail appended (Scan).
fn start_key(meta: &TableMeta, start: &Item, message: &str) -> Result<Vec<u8>> {
    key_from_param(meta, start).map_err(|e| match e {
        StoreError::Validation(_) => StoreError::Validation(message.to_string()),
        other => other,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_ends_bound_exactly_the_prefixed_keys() {
        assert_eq!(prefix_end(b"ab"), Bound::Excluded(b"ac".to_vec()));
        assert_eq!(prefix_end(&[1, 0xFF]), Bound::Excluded(vec![2]));
        assert_eq!(prefix_end(&[0xFF, 0xFF]), Bound::Unbounded);
    }

    #[test]
    fn segments_cover_every_partition_once() {
        for total in [1u32, 2, 3, 7] {
            for n in 0..50 {
                let pk = AttributeValue::S(format!("k{n}"));
                assert!(segment_of(&pk, total) < total);
            }
        }
        let seen: std::collections::BTreeSet<u32> = (0..200)
            .map(|n| segment_of(&AttributeValue::S(format!("k{n}")), 4))
            .collect();
        assert_eq!(seen.len(), 4, "200 keys should land in all 4 segments");
    }

    #[test]
    fn segment_checks() {
        assert!(check_segments(Some(0), None).is_err());
        assert!(check_segments(None, Some(1)).is_err());
        assert!(check_segments(Some(1), Some(1)).is_err());
        assert!(check_segments(Some(0), Some(0)).is_err());
        assert_eq!(check_segments(Some(1), Some(2)).unwrap(), Some((1, 2)));
    }
}
