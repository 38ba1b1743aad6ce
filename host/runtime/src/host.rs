//! The host side of the WIT imports: `tables`, `streams` and `log`, backed by
//! the invocation's overlay over eddy-store and checked against its grants.
//! Every guest mistake (bad JSON, no grant, missing table) is a `store-error`
//! value; nothing here traps.

use eddy_store::StoreError;
use eddy_store::streams::PutRecordEntry;
use eddy_store::tables::{DeleteItemRequest, PutItemRequest, QueryRequest, UpdateItemRequest};

use crate::bindgen::eddy::trigger::{events, log, streams, tables, types};
use crate::bindgen::{self, ExpressionAttributes, Level, PutResult, QueryPage};
use crate::convert::{
    expression_maps, expression_maps_parsed, item_from_str, item_to_string, return_values,
    store_error,
};
use crate::grants::{Access, Kind};
use crate::overlay::Overlay;
use crate::sandbox::HostState;

type HostResult<T> = Result<T, bindgen::StoreError>;

impl HostState {
    /// The overlay, if `access` to `name` is granted.
    fn granted(&mut self, access: Access, kind: Kind, name: &str) -> HostResult<&mut Overlay> {
        let call = self
            .call
            .as_mut()
            .ok_or_else(|| bindgen::StoreError::Internal("no invocation is running".into()))?;
        call.grants
            .check(access, kind, name)
            .map_err(bindgen::StoreError::AccessDenied)?;
        Ok(&mut call.overlay)
    }
}

fn item_out(item: Option<eddy_store::Item>) -> Option<String> {
    item.map(|i| item_to_string(&i))
}

impl types::Host for HostState {}
impl events::Host for HostState {}

impl tables::Host for HostState {
    fn get(&mut self, table: String, key: String) -> HostResult<Option<String>> {
        let overlay = self.granted(Access::Read, Kind::Table, &table)?;
        let key = item_from_str(&key, "key").map_err(store_error)?;
        overlay.get(&table, &key).map(item_out).map_err(store_error)
    }

    fn put(
        &mut self,
        table: String,
        item: String,
        condition: Option<String>,
        attributes: ExpressionAttributes,
        rv: bindgen::ReturnValues,
    ) -> HostResult<Option<String>> {
        let overlay = self.granted(Access::Write, Kind::Table, &table)?;
        let request = (|| {
            Ok::<_, StoreError>(PutItemRequest {
                item: item_from_str(&item, "item")?,
                condition,
                expressions: expression_maps(&attributes)?,
                return_values: return_values(rv),
                table,
                return_old_on_failure: false,
            })
        })()
        .map_err(store_error)?;
        overlay.put(&request).map(item_out).map_err(store_error)
    }

    fn update(
        &mut self,
        table: String,
        key: String,
        update_expression: String,
        condition: Option<String>,
        attributes: ExpressionAttributes,
        rv: bindgen::ReturnValues,
    ) -> HostResult<Option<String>> {
        let overlay = self.granted(Access::Write, Kind::Table, &table)?;
        let (request, values) = (|| {
            let key = item_from_str(&key, "key")?;
            let (expressions, values) = expression_maps_parsed(&attributes)?;
            let request = UpdateItemRequest {
                key,
                update: Some(update_expression),
                condition,
                expressions,
                return_values: return_values(rv),
                table,
                return_old_on_failure: false,
            };
            Ok::<_, StoreError>((request, values))
        })()
        .map_err(store_error)?;
        overlay
            .update_with(&request, values)
            .map(item_out)
            .map_err(store_error)
    }

    fn delete(
        &mut self,
        table: String,
        key: String,
        condition: Option<String>,
        attributes: ExpressionAttributes,
        rv: bindgen::ReturnValues,
    ) -> HostResult<Option<String>> {
        let overlay = self.granted(Access::Write, Kind::Table, &table)?;
        let request = (|| {
            Ok::<_, StoreError>(DeleteItemRequest {
                key: item_from_str(&key, "key")?,
                condition,
                expressions: expression_maps(&attributes)?,
                return_values: return_values(rv),
                table,
                return_old_on_failure: false,
            })
        })()
        .map_err(store_error)?;
        overlay.delete(&request).map(item_out).map_err(store_error)
    }

    fn query(&mut self, table: String, request: bindgen::QueryRequest) -> HostResult<QueryPage> {
        let overlay = self.granted(Access::Read, Kind::Table, &table)?;
        let request = (|| {
            Ok::<_, StoreError>(QueryRequest {
                key_condition: request.key_condition,
                filter: request.filter,
                projection: request.projection,
                expressions: expression_maps(&request.attributes)?,
                select: None,
                limit: request.limit,
                exclusive_start_key: request
                    .exclusive_start_key
                    .as_deref()
                    .map(|k| item_from_str(k, "exclusive-start-key"))
                    .transpose()?,
                forward: request.scan_forward,
                table,
            })
        })()
        .map_err(store_error)?;
        let page = overlay.query(&request).map_err(store_error)?;
        Ok(QueryPage {
            items: page.items.iter().map(item_to_string).collect(),
            last_evaluated_key: item_out(page.last_evaluated_key),
        })
    }
}

impl streams::Host for HostState {
    fn put_record(
        &mut self,
        stream: String,
        partition_key: String,
        data: Vec<u8>,
    ) -> HostResult<PutResult> {
        let overlay = self.granted(Access::Write, Kind::Stream, &stream)?;
        let shard_id = overlay
            .put_record(&stream, PutRecordEntry::new(partition_key, data))
            .map_err(store_error)?;
        // The sequence number is assigned when the invocation commits; until
        // then it is unknown, and eddy does not make one up.
        Ok(PutResult {
            shard_id,
            sequence_number: String::new(),
        })
    }
}

impl log::Host for HostState {
    fn write(&mut self, level: Level, message: String) {
        let level = match level {
            Level::Debug => "DEBUG",
            Level::Info => "INFO",
            Level::Warn => "WARN",
            Level::Error => "ERROR",
        };
        self.log.line(format!("[{level}] {message}"));
    }
}
