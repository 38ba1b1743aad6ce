//! Primary keys of a table's items: validating them against the key schema and
//! encoding them as the byte half of the ITEMS key.

use super::meta::TableMeta;
use crate::error::{Result, StoreError};
use crate::value::keys::{check_key_element, check_key_size, check_key_value, encode_key};
use crate::value::{AttributeValue, Item};

/// "The provided key element does not match the schema".
pub(crate) fn key_mismatch() -> StoreError {
    StoreError::Validation("The provided key element does not match the schema".into())
}

/// The encoded key of an item about to be stored (PutItem's Item): every key
/// attribute present, of the schema's type, non-empty and within size limits.
pub(crate) fn key_of_item(meta: &TableMeta, item: &Item) -> Result<Vec<u8>> {
    for (index, attr) in meta.key_attrs().enumerate() {
        let Some(value) = item.get(&attr.name) else {
            return Err(StoreError::Validation(format!(
                "One or more parameter values were invalid: Missing the key {} in the item",
                attr.name
            )));
        };
        check_key_value(&attr.name, attr.key_type, value)?;
        check_key_size(index == 0, value)?;
    }
    Ok(encode(meta, item))
}

/// The encoded key named by a `Key` parameter (GetItem, UpdateItem, DeleteItem,
/// ExclusiveStartKey): exactly the key attributes, of the schema's types.
pub(crate) fn key_from_param(meta: &TableMeta, key: &Item) -> Result<Vec<u8>> {
    let expected = meta.key_attrs().count();
    if key.len() != expected {
        return Err(key_mismatch());
    }
    for (index, attr) in meta.key_attrs().enumerate() {
        let value = key.get(&attr.name).ok_or_else(key_mismatch)?;
        check_key_element(&attr.name, attr.key_type, value)?;
        check_key_size(index == 0, value)?;
    }
    Ok(encode(meta, key))
}

/// The key attributes of a (validated or stored) item.
pub(crate) fn key_attrs_of(meta: &TableMeta, item: &Item) -> Item {
    meta.key_attrs()
        .filter_map(|attr| Some((attr.name.clone(), item.get(&attr.name)?.clone())))
        .collect()
}

/// The names of the key attributes, for `Update::apply`.
pub(crate) fn key_names(meta: &TableMeta) -> Vec<&str> {
    meta.key_attrs().map(|a| a.name.as_str()).collect()
}

/// Encodes a key whose attributes were validated present.
fn encode(meta: &TableMeta, item: &Item) -> Vec<u8> {
    let null = AttributeValue::Null;
    let pk = item.get(&meta.partition_key.name).unwrap_or(&null);
    let sk = meta
        .sort_key
        .as_ref()
        .map(|attr| item.get(&attr.name).unwrap_or(&null));
    encode_key(pk, sk)
}
