//! `eddy table ...`: DynamoDB-style tables, through the DynamoDB operations of the
//! dispatcher, and their change streams through the DynamoDB Streams operations.
//! Items and keys are DynamoDB JSON (`{"Username":{"S":"Jane Doe"}}`).

mod changes;
mod items;

use anyhow::Result;
use clap::{Subcommand, ValueEnum};
use serde_json::{Value, json};

use super::Ctx;
use crate::output;

pub use changes::ChangesFrom;

/// An example key, shown when a key argument is not a JSON object.
const KEY_EXAMPLE: &str = r#"{"Username":{"S":"Jane Doe"}}"#;

/// The ReturnValues choices of UpdateItem.
const UPDATE_RETURN_VALUES: [&str; 5] =
    ["NONE", "ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW"];

/// The `eddy table` commands.
#[derive(Debug, Subcommand)]
pub enum TableCommand {
    /// Creates a table (on-demand capacity), optionally with a change stream.
    Create {
        /// The table's name.
        name: String,
        /// The partition key: ATTR:S, ATTR:N or ATTR:B.
        #[arg(long, value_parser = parse_key_attr)]
        partition_key: KeyAttr,
        /// The sort key: ATTR:S, ATTR:N or ATTR:B.
        #[arg(long, value_parser = parse_key_attr)]
        sort_key: Option<KeyAttr>,
        /// Turns on the table's change stream with this view of each change.
        #[arg(long, value_enum)]
        stream: Option<StreamView>,
    },
    /// Puts (creates or replaces) an item. ITEM_JSON is inline, `-` or @FILE.
    Put {
        /// The table's name.
        table: String,
        /// The whole item as DynamoDB JSON (inline, `-` or @FILE), e.g.
        /// {"Username":{"S":"Jane Doe"},"Score":{"N":"100"}}.
        #[arg(value_name = "ITEM_JSON")]
        item: String,
        #[command(flatten)]
        condition: ConditionArgs,
    },
    /// Prints the item with this key as one line of DynamoDB JSON. When there is
    /// no such item, prints nothing on stdout, says so on stderr and exits 0.
    Get {
        /// The table's name.
        table: String,
        /// The item's key as DynamoDB JSON (inline, `-` or @FILE), e.g.
        /// {"Username":{"S":"Jane Doe"}}.
        #[arg(value_name = "KEY_JSON")]
        key: String,
        /// Only these attributes (a ProjectionExpression).
        #[arg(long)]
        projection: Option<String>,
        /// ExpressionAttributeNames, e.g. {"#s":"Score"}.
        #[arg(long, value_name = "JSON")]
        names: Option<String>,
    },
    /// Updates an item with an UpdateExpression (e.g. "ADD Score :v"); creates it
    /// if missing. Prints the returned attributes when --return-values asks.
    Update {
        /// The table's name.
        table: String,
        /// The item's key as DynamoDB JSON (inline, `-` or @FILE), e.g.
        /// {"Username":{"S":"Jane Doe"}}.
        #[arg(value_name = "KEY_JSON")]
        key: String,
        /// An UpdateExpression, e.g. "ADD Score :v" or "SET #n = :n".
        #[arg(long)]
        update_expression: String,
        #[command(flatten)]
        condition: ConditionArgs,
        /// Which attributes to print after the update.
        #[arg(long, value_parser = UPDATE_RETURN_VALUES)]
        return_values: Option<String>,
    },
    /// Deletes an item. With --return-values ALL_OLD, prints the deleted item.
    DeleteItem {
        /// The table's name.
        table: String,
        /// The item's key as DynamoDB JSON (inline, `-` or @FILE), e.g.
        /// {"Username":{"S":"Jane Doe"}}.
        #[arg(value_name = "KEY_JSON")]
        key: String,
        #[command(flatten)]
        condition: ConditionArgs,
        /// ALL_OLD prints the deleted item.
        #[arg(long, value_parser = ["NONE", "ALL_OLD"])]
        return_values: Option<String>,
    },
    /// Prints the items that match a KeyConditionExpression, one JSON line each,
    /// following every page unless --limit.
    Query {
        /// The table's name.
        table: String,
        /// A KeyConditionExpression, e.g. "Username = :u".
        #[arg(long)]
        key_condition: String,
        #[command(flatten)]
        read: ReadArgs,
        /// Sort-key order from highest to lowest.
        #[arg(long)]
        descending: bool,
    },
    /// Prints every item (that passes --filter), one JSON line each, following
    /// every page unless --limit.
    Scan {
        /// The table's name.
        table: String,
        #[command(flatten)]
        read: ReadArgs,
    },
    /// Lists table names.
    List,
    /// Prints the table's description.
    Describe { name: String },
    /// Deletes the table and its items.
    Delete { name: String },
    /// Prints the table's change records (its latest change stream), one JSON line
    /// each, oldest first, as DynamoDB Streams GetRecords returns them.
    Changes {
        /// The table's name.
        table: String,
        /// trim-horizon: every change still kept; latest: only changes made from
        /// now on (so nothing yet).
        #[arg(long, value_enum, default_value_t = ChangesFrom::TrimHorizon)]
        from: ChangesFrom,
        /// Stops after N change records.
        #[arg(long)]
        limit: Option<u64>,
    },
}

/// `--condition`, `--names` and `--values`, shared by the writes.
#[derive(Debug, clap::Args)]
pub struct ConditionArgs {
    /// A ConditionExpression; the write happens only if it holds.
    #[arg(long)]
    pub condition: Option<String>,
    /// ExpressionAttributeNames, e.g. {"#s":"Score"}.
    #[arg(long, value_name = "JSON")]
    pub names: Option<String>,
    /// ExpressionAttributeValues, e.g. {":v":{"N":"100"}}.
    #[arg(long, value_name = "JSON")]
    pub values: Option<String>,
}

/// The options of query and scan.
#[derive(Debug, clap::Args)]
pub struct ReadArgs {
    /// A FilterExpression, applied after the items are read.
    #[arg(long)]
    pub filter: Option<String>,
    /// Only these attributes (a ProjectionExpression).
    #[arg(long)]
    pub projection: Option<String>,
    /// ExpressionAttributeNames, e.g. {"#s":"Score"}.
    #[arg(long, value_name = "JSON")]
    pub names: Option<String>,
    /// ExpressionAttributeValues, e.g. {":v":{"N":"100"}}.
    #[arg(long, value_name = "JSON")]
    pub values: Option<String>,
    /// One request with Limit N (items read, before the filter); prints the
    /// LastEvaluatedKey on stderr if there is more.
    #[arg(long)]
    pub limit: Option<u64>,
}

/// A key attribute: its name and type (S, N or B).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyAttr {
    pub name: String,
    pub kind: &'static str,
}

fn parse_key_attr(raw: &str) -> Result<KeyAttr, String> {
    // The type is after the last ':', so attribute names may contain ':'.
    let Some((name, kind)) = raw.rsplit_once(':') else {
        return Err("expected ATTR:S, ATTR:N or ATTR:B".into());
    };
    let kind = match kind {
        "S" => "S",
        "N" => "N",
        "B" => "B",
        other => return Err(format!("the key type must be S, N or B, not {other:?}")),
    };
    if name.is_empty() {
        return Err("the attribute name before ':' is empty".into());
    }
    Ok(KeyAttr {
        name: name.to_string(),
        kind,
    })
}

/// `--stream` values: what each change record holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StreamView {
    NewImage,
    OldImage,
    NewAndOldImages,
    KeysOnly,
}

impl StreamView {
    fn aws_name(self) -> &'static str {
        match self {
            StreamView::NewImage => "NEW_IMAGE",
            StreamView::OldImage => "OLD_IMAGE",
            StreamView::NewAndOldImages => "NEW_AND_OLD_IMAGES",
            StreamView::KeysOnly => "KEYS_ONLY",
        }
    }
}

/// Runs one `eddy table` command.
pub fn run(ctx: &Ctx, command: TableCommand) -> Result<()> {
    match command {
        TableCommand::Create {
            name,
            partition_key,
            sort_key,
            stream,
        } => create(ctx, &name, &partition_key, sort_key.as_ref(), stream),
        TableCommand::Put {
            table,
            item,
            condition,
        } => items::put(ctx, &table, &item, &condition),
        TableCommand::Get {
            table,
            key,
            projection,
            names,
        } => items::get(ctx, &table, &key, projection, names.as_deref()),
        TableCommand::Update {
            table,
            key,
            update_expression,
            condition,
            return_values,
        } => items::update(
            ctx,
            &table,
            &key,
            update_expression,
            &condition,
            return_values,
        ),
        TableCommand::DeleteItem {
            table,
            key,
            condition,
            return_values,
        } => items::delete(ctx, &table, &key, &condition, return_values),
        TableCommand::Query {
            table,
            key_condition,
            read,
            descending,
        } => items::query(ctx, &table, key_condition, &read, descending),
        TableCommand::Scan { table, read } => items::scan(ctx, &table, &read),
        TableCommand::List => list(ctx),
        TableCommand::Describe { name } => {
            output::document(&ctx.dynamodb("DescribeTable", &json!({"TableName": name}))?)
        }
        TableCommand::Delete { name } => {
            ctx.dynamodb("DeleteTable", &json!({"TableName": name}))?;
            output::note(&format!("deleted table {name}"));
            Ok(())
        }
        TableCommand::Changes { table, from, limit } => changes::run(ctx, &table, from, limit),
    }
}

fn create(
    ctx: &Ctx,
    name: &str,
    partition_key: &KeyAttr,
    sort_key: Option<&KeyAttr>,
    stream: Option<StreamView>,
) -> Result<()> {
    let mut key_schema = vec![json!({"AttributeName": partition_key.name, "KeyType": "HASH"})];
    let mut definitions =
        vec![json!({"AttributeName": partition_key.name, "AttributeType": partition_key.kind})];
    if let Some(sort) = sort_key {
        key_schema.push(json!({"AttributeName": sort.name, "KeyType": "RANGE"}));
        definitions.push(json!({"AttributeName": sort.name, "AttributeType": sort.kind}));
    }
    let mut request = json!({
        "TableName": name,
        "KeySchema": key_schema,
        "AttributeDefinitions": definitions,
        "BillingMode": "PAY_PER_REQUEST",
    });
    if let Some(view) = stream {
        request["StreamSpecification"] =
            json!({"StreamEnabled": true, "StreamViewType": view.aws_name()});
    }
    let response = ctx.dynamodb("CreateTable", &request)?;
    output::note(&format!("created table {name}"));
    if let Some(arn) = response["TableDescription"]["LatestStreamArn"].as_str() {
        output::note(&format!("change stream: {arn}"));
    }
    Ok(())
}

fn list(ctx: &Ctx) -> Result<()> {
    let mut names: Vec<Value> = Vec::new();
    let mut request = json!({});
    loop {
        let page = ctx.dynamodb("ListTables", &request)?;
        names.extend(page["TableNames"].as_array().cloned().unwrap_or_default());
        match page.get("LastEvaluatedTableName").filter(|v| v.is_string()) {
            Some(last) => request = json!({"ExclusiveStartTableName": last}),
            None => break,
        }
    }
    output::document(&json!({"TableNames": names}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_attributes_parse() {
        let k = parse_key_attr("Username:S").unwrap();
        assert_eq!((k.name.as_str(), k.kind), ("Username", "S"));
        let k = parse_key_attr("a:b:N").unwrap();
        assert_eq!((k.name.as_str(), k.kind), ("a:b", "N"));
        assert!(parse_key_attr("Username").is_err());
        assert!(parse_key_attr("Username:X").is_err());
        assert!(parse_key_attr(":S").is_err());
    }
}
