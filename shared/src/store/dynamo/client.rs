//! The few request shapes every DynamoDB operation of the store is made of: a consistent
//! read, a write with a condition, a transaction. Each tells a failed condition (an expected
//! outcome) from a failed call, and classifies failed calls (docs/SECURITY.md, "Source
//! limits", rule 24).

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, DeleteRequest, Put, ReturnValue, TransactWriteItem, Update, WriteRequest,
};

use super::DynamoStore;
use super::items::Item;
use crate::store::Unavailable;

/// [`crate::store::call_failed`] for a DynamoDB call.
pub(super) fn call_failed<E>(error: SdkError<E, HttpResponse>, what: impl Into<String>) -> anyhow::Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    crate::store::call_failed("DynamoDB", error, what)
}

/// The expressions of one write: what it changes, the condition it must meet, and the
/// placeholders both use.
#[derive(Debug, Clone, Default)]
pub struct Expr {
    update: Option<String>,
    condition: Option<String>,
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl Expr {
    /// A write that changes the item by `update` (an update expression).
    pub fn update(update: impl Into<String>) -> Self {
        Self { update: Some(update.into()), ..Self::default() }
    }

    /// This expression with `update` as its update expression.
    pub fn with_update(mut self, update: impl Into<String>) -> Self {
        self.update = Some(update.into());
        self
    }

    /// A write (put or delete) that happens only if `condition` holds.
    pub fn only_if(condition: impl Into<String>) -> Self {
        Self::default().condition(condition)
    }

    /// The condition the write must meet.
    pub fn condition(mut self, condition: impl Into<String>) -> Self {
        self.condition = Some(condition.into());
        self
    }

    /// Binds the value placeholder `name` (`:x`).
    pub fn value(mut self, name: &str, value: AttributeValue) -> Self {
        self.values.insert(name.to_owned(), value);
        self
    }

    /// Binds the name placeholder `placeholder` (`#x`) to an attribute name.
    pub fn name(mut self, placeholder: &str, attribute: &str) -> Self {
        self.names.insert(placeholder.to_owned(), attribute.to_owned());
        self
    }

    fn names(&self) -> Option<HashMap<String, String>> {
        (!self.names.is_empty()).then(|| self.names.clone())
    }

    fn values(&self) -> Option<HashMap<String, AttributeValue>> {
        (!self.values.is_empty()).then(|| self.values.clone())
    }
}

/// `builder` with `expr`'s condition and placeholders: every request type (a put, an
/// update, a delete, and their transaction steps) takes them the same way.
macro_rules! with_expr {
    ($builder:expr, $expr:expr) => {{
        let expr = &$expr;
        $builder
            .set_condition_expression(expr.condition.clone())
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
    }};
}

impl DynamoStore {
    /// The item at `key`, read consistently.
    pub(super) async fn get(&self, key: Item, what: &str) -> anyhow::Result<Option<Item>> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| call_failed(e, format!("reading {what}")))?;
        Ok(output.item)
    }

    /// Writes `item`, if `condition` (when given) holds: `false` if it did not.
    pub(super) async fn put(&self, item: Item, condition: Option<Expr>, what: &str) -> anyhow::Result<bool> {
        let request = self.client.put_item().table_name(&self.table).set_item(Some(item));
        let result = with_expr!(request, condition.unwrap_or_default()).send().await;
        conditional(result, what).map(|done| done.is_some())
    }

    /// Changes the item at `key` by `expr`: the attributes `returns` asks for (empty for
    /// none), or `None` if the condition did not hold.
    pub(super) async fn update(
        &self,
        key: Item,
        expr: Expr,
        returns: ReturnValue,
        what: &str,
    ) -> anyhow::Result<Option<Item>> {
        let request = self.client.update_item().table_name(&self.table).set_key(Some(key)).return_values(returns);
        let result = with_expr!(request.set_update_expression(expr.update.clone()), expr).send().await;
        conditional(result, what).map(|done| done.map(|output| output.attributes.unwrap_or_default()))
    }

    /// Deletes the item at `key`, if `condition` (when given) holds: `false` if it did not.
    pub(super) async fn delete(&self, key: Item, condition: Option<Expr>, what: &str) -> anyhow::Result<bool> {
        let request = self.client.delete_item().table_name(&self.table).set_key(Some(key));
        let result = with_expr!(request, condition.unwrap_or_default()).send().await;
        conditional(result, what).map(|done| done.is_some())
    }

    /// Deletes the item at `key` if `condition` holds: the item as it was, or `None` if the
    /// condition did not hold (so that two callers never both get it).
    pub(super) async fn delete_returning(
        &self,
        key: Item,
        condition: Expr,
        what: &str,
    ) -> anyhow::Result<Option<Item>> {
        let request =
            self.client.delete_item().table_name(&self.table).set_key(Some(key)).return_values(ReturnValue::AllOld);
        let result = with_expr!(request, condition).send().await;
        conditional(result, what).map(|done| done.map(|output| output.attributes.unwrap_or_default()))
    }

    /// The keys (`pk`, `sk`) of every item `query` finds, page after page.
    pub(super) async fn all_keys(&self, query: QueryFluentBuilder, what: &str) -> anyhow::Result<Vec<Item>> {
        let mut keys = Vec::new();
        let mut start = None;
        loop {
            let output = query
                .clone()
                .projection_expression("pk, sk")
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| call_failed(e, what))?;
            keys.extend(output.items.unwrap_or_default());
            start = output.last_evaluated_key;
            if start.is_none() {
                return Ok(keys);
            }
        }
    }

    /// The first `want` items of the [`USERS_INDEX`](super::USERS_INDEX) partitions
    /// `partitions` whose sort key meets `sort`, merged in sort-key order (descending when
    /// `newest_first`). Each partition is read concurrently, up to `want` items of its own:
    /// any item among the first `want` of all is among the first `want` of its partition, so
    /// one page of a sharded list costs one query a shard.
    pub(super) async fn query_merged(
        &self,
        partitions: Vec<String>,
        sort: SortKey,
        newest_first: bool,
        want: usize,
        what: &'static str,
    ) -> anyhow::Result<Vec<Item>> {
        let mut reads = tokio::task::JoinSet::new();
        for partition in partitions {
            let (store, sort) = (self.clone(), sort.clone());
            reads.spawn(async move { store.query_partition(partition, &sort, newest_first, want, what).await });
        }
        let mut merged = Vec::new();
        while let Some(read) = reads.join_next().await {
            merged.extend(read??);
        }
        let sort_key = |item: &Item| item.get("gsi1sk").and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
        merged.sort_by_cached_key(|item| sort_key(item));
        if newest_first {
            merged.reverse();
        }
        merged.truncate(want);
        Ok(merged)
    }

    async fn query_partition(
        &self,
        partition: String,
        sort: &SortKey,
        newest_first: bool,
        want: usize,
        what: &str,
    ) -> anyhow::Result<Vec<Item>> {
        let (condition, values) = match sort {
            SortKey::Any => ("gsi1pk = :pk", vec![]),
            SortKey::Below(key) => ("gsi1pk = :pk AND gsi1sk < :from", vec![(":from", key)]),
            SortKey::Prefix(prefix) => ("gsi1pk = :pk AND begins_with(gsi1sk, :from)", vec![(":from", prefix)]),
            SortKey::Between(from, to) => {
                ("gsi1pk = :pk AND gsi1sk BETWEEN :from AND :to", vec![(":from", from), (":to", to)])
            }
        };
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(super::USERS_INDEX)
            .key_condition_expression(condition)
            .expression_attribute_values(":pk", AttributeValue::S(partition))
            .scan_index_forward(!newest_first)
            .limit(want as i32);
        for (name, value) in values {
            query = query.expression_attribute_values(name, AttributeValue::S(value.clone()));
        }
        let mut found = Vec::new();
        let mut start = None;
        // A query stops at 1 MB: read on until `want` items or the partition's end.
        loop {
            let output = query.clone().set_exclusive_start_key(start).send().await.map_err(|e| call_failed(e, what))?;
            found.extend(output.items.unwrap_or_default());
            start = output.last_evaluated_key;
            if found.len() >= want || start.is_none() {
                found.truncate(want);
                return Ok(found);
            }
        }
    }

    /// Deletes the items at `keys`, 25 to a request (BatchWriteItem's most), retrying what
    /// DynamoDB leaves unprocessed under load.
    pub(super) async fn delete_all(&self, keys: Vec<Item>, what: &str) -> anyhow::Result<()> {
        for chunk in keys.chunks(25) {
            let mut requests: Vec<WriteRequest> = chunk
                .iter()
                .map(|key| {
                    let delete = DeleteRequest::builder().set_key(Some(key.clone())).build()?;
                    Ok(WriteRequest::builder().delete_request(delete).build())
                })
                .collect::<anyhow::Result<_>>()?;
            for attempt in 0..5u32 {
                if requests.is_empty() {
                    break;
                }
                if attempt > 0 {
                    tokio::time::sleep(Duration::from_millis(50 << attempt)).await;
                }
                let output = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, requests)
                    .send()
                    .await
                    .map_err(|e| call_failed(e, what))?;
                requests = output.unprocessed_items.and_then(|mut left| left.remove(&self.table)).unwrap_or_default();
            }
            if !requests.is_empty() {
                return Err(
                    Unavailable::fault("DynamoDB", "throttled", format!("{what}: items left unprocessed")).into()
                );
            }
        }
        Ok(())
    }

    /// A put of `item` under `condition`, as one step of a transaction.
    pub(super) fn put_step(&self, item: Item, condition: Expr) -> anyhow::Result<TransactWriteItem> {
        let put = with_expr!(Put::builder().table_name(&self.table).set_item(Some(item)), condition).build()?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// An update of the item at `key` by `expr`, as one step of a transaction.
    pub(super) fn update_step(&self, key: Item, expr: Expr) -> anyhow::Result<TransactWriteItem> {
        let update = Update::builder().table_name(&self.table).set_key(Some(key));
        let update = with_expr!(update.set_update_expression(expr.update.clone()), expr).build()?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// A delete of the item at `key` under `condition`, as one step of a transaction.
    pub(super) fn delete_step(&self, key: Item, condition: Expr) -> anyhow::Result<TransactWriteItem> {
        let delete = with_expr!(Delete::builder().table_name(&self.table).set_key(Some(key)), condition).build()?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }

    /// Runs a transaction, retrying conflicts: `None` if it committed, or the index of the
    /// first step whose condition failed.
    pub(super) async fn transact(&self, steps: &[TransactWriteItem], what: &str) -> anyhow::Result<Option<usize>> {
        let mut attempt = 1;
        loop {
            let error = match self.client.transact_write_items().set_transact_items(Some(steps.to_vec())).send().await {
                Ok(_) => return Ok(None),
                Err(error) => error,
            };
            let reasons: Vec<String> = error
                .as_service_error()
                .and_then(|e| match e {
                    TransactWriteItemsError::TransactionCanceledException(e) => e.cancellation_reasons.as_deref(),
                    _ => None,
                })
                .map(|reasons| reasons.iter().map(|r| r.code().unwrap_or("None").to_owned()).collect())
                .unwrap_or_default();
            if let Some(failed) = reasons.iter().position(|r| r == "ConditionalCheckFailed") {
                return Ok(Some(failed));
            }
            if reasons.iter().any(|r| r == "TransactionConflict") && attempt < 5 {
                // Another transaction on the same items is in flight; once it ends, the
                // conditions decide.
                tokio::time::sleep(Duration::from_millis(20 * attempt)).await;
                attempt += 1;
                continue;
            }
            // A step throttled (its item's partition is over its rate) or still conflicting
            // cancels the whole transaction: nothing was written, and a retry shortly may
            // succeed, so it is a 503, not a failed condition and not a 500.
            let busy = reasons.iter().any(|r| BUSY.contains(&r.as_str()));
            let error = call_failed(error, what);
            return Err(if busy { error.context(Unavailable::fault("DynamoDB", "throttled", what)) } else { error });
        }
    }
}

/// The cancellation reasons of a transaction that a retry shortly may get through.
const BUSY: [&str; 3] = ["ThrottlingError", "ProvisionedThroughputExceeded", "TransactionConflict"];

/// Which sort keys of an index partition a query reads.
#[derive(Debug, Clone)]
pub enum SortKey {
    /// All of them.
    Any,
    /// Those before this one (after it, newest first).
    Below(String),
    /// Those that start with this text.
    Prefix(String),
    /// Those from the first to the second, both included.
    Between(String, String),
}

/// The output of a conditional call, `None` if its condition failed (an expected outcome,
/// not a failure), or the classified error.
fn conditional<T, E>(result: Result<T, SdkError<E, HttpResponse>>, what: &str) -> anyhow::Result<Option<T>>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match result {
        Ok(output) => Ok(Some(output)),
        Err(e)
            if e.as_service_error().and_then(ProvideErrorMetadata::code) == Some("ConditionalCheckFailedException") =>
        {
            Ok(None)
        }
        Err(e) => Err(call_failed(e, what)),
    }
}
