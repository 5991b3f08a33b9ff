//! A metering proxy between stepauth's DynamoDB client and moto: every request goes on to
//! moto unchanged, and is priced in on-demand read and write request units from the sizes
//! of the items it reads and writes, by DynamoDB's published rules (moto's own
//! `ConsumedCapacity` is a constant). For a write, the proxy reads the item before and after
//! (straight from moto, unpriced), so that an update is priced by the larger image, and a
//! write to an item in the index (projection `ALL`) costs the index's write too.
//! `tests/src/bin/capacity.rs` uses it to count what each route costs.

use std::sync::{Arc, Mutex};

use http_body_util::Full;
use hyper::Response;
use hyper::body::Bytes;
use hyper::http::request::Parts;
use serde_json::{Map, Value, json};

use crate::fault_proxy::{Upstream, listen};

/// One priced DynamoDB request.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// The operation, e.g. `GetItem`.
    pub operation: String,
    /// Read request units.
    pub reads: f64,
    /// Write request units, the index's included.
    pub writes: f64,
}

/// A running metering proxy.
#[derive(Debug)]
pub struct Meter {
    /// `http://127.0.0.1:<port>`: the endpoint to give the SDK.
    pub endpoint: String,
    calls: Arc<Mutex<Vec<Call>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Meter {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Meter {
    /// Starts a meter in front of `upstream`.
    pub async fn start(upstream: String) -> Self {
        let calls = Arc::new(Mutex::new(Vec::new()));
        let state = Arc::new((Upstream::new(upstream), calls.clone()));
        let (endpoint, task) = listen(move |parts, body| {
            let state = state.clone();
            async move { Some(meter(&state.0, &state.1, parts, body).await) }
        })
        .await;
        Self { endpoint, calls, task }
    }

    /// The calls priced since the last `take`.
    pub fn take(&self) -> Vec<Call> {
        std::mem::take(&mut *self.calls.lock().expect("the calls"))
    }
}

type Item = Map<String, Value>;

async fn meter(upstream: &Upstream, calls: &Mutex<Vec<Call>>, parts: Parts, body: Bytes) -> Response<Full<Bytes>> {
    let target = parts.headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let operation = target.rsplit('.').next().unwrap_or("").to_owned();
    let request: Value = serde_json::from_slice(&body).unwrap_or_default();
    let writes = written_keys(&operation, &request);
    let mut before = Vec::new();
    for (table, key) in &writes {
        before.push(current(upstream, &parts, table, key).await);
    }
    let response = upstream.pass_on(&parts, body).await;
    let answer = json_of(response.body().clone()).await;
    let mut call = Call { operation: operation.clone(), reads: 0.0, writes: 0.0 };
    let consistent = request["ConsistentRead"].as_bool().unwrap_or(false);
    match operation.as_str() {
        "GetItem" => call.reads = read_units(answer["Item"].as_object().map_or(0, item_size), consistent),
        "Query" | "Scan" => {
            let bytes: usize =
                answer["Items"].as_array().into_iter().flatten().filter_map(Value::as_object).map(item_size).sum();
            call.reads = read_units(bytes, consistent);
        }
        "BatchGetItem" => {
            let found =
                answer["Responses"].as_object().into_iter().flat_map(|t| t.values()).filter_map(Value::as_array);
            let asked: usize = request["RequestItems"]
                .as_object()
                .into_iter()
                .flat_map(|t| t.values())
                .map(|t| t["Keys"].as_array().map_or(0, Vec::len))
                .sum();
            let sizes: Vec<usize> = found.flatten().filter_map(Value::as_object).map(item_size).collect();
            let missing = asked.saturating_sub(sizes.len());
            let consistent = request["RequestItems"]
                .as_object()
                .into_iter()
                .flat_map(|t| t.values())
                .any(|t| t["ConsistentRead"].as_bool() == Some(true));
            call.reads = sizes.iter().map(|&s| read_units(s, consistent)).sum::<f64>()
                + missing as f64 * read_units(0, consistent);
        }
        _ => {}
    }
    let transactional = if operation == "TransactWriteItems" { 2.0 } else { 1.0 };
    for ((table, key), before) in writes.iter().zip(before) {
        let after = current(upstream, &parts, table, key).await;
        let (base, index) = write_units(before.as_ref(), after.as_ref());
        call.writes += base * transactional + index;
    }
    if !operation.is_empty() && !matches!(operation.as_str(), "CreateTable" | "DescribeTable" | "UpdateTimeToLive") {
        calls.lock().expect("the calls").push(call);
    }
    response
}

/// The (table, key) of every item a write request writes.
fn written_keys(operation: &str, request: &Value) -> Vec<(String, Item)> {
    let table = || request["TableName"].as_str().unwrap_or("").to_owned();
    let key_of = |item: &Value| -> Item {
        ["pk", "sk"].iter().filter_map(|k| Some(((*k).to_owned(), item.get(*k)?.clone()))).collect()
    };
    match operation {
        "PutItem" => vec![(table(), key_of(&request["Item"]))],
        "UpdateItem" | "DeleteItem" => vec![(table(), key_of(&request["Key"]))],
        "TransactWriteItems" => request["TransactItems"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|step| {
                let (kind, body) = step.as_object()?.iter().next()?;
                let key = if kind == "Put" { key_of(&body["Item"]) } else { key_of(&body["Key"]) };
                (kind != "ConditionCheck").then(|| (body["TableName"].as_str().unwrap_or("").to_owned(), key))
            })
            .collect(),
        "BatchWriteItem" => request["RequestItems"]
            .as_object()
            .into_iter()
            .flatten()
            .flat_map(|(table, requests)| {
                requests.as_array().into_iter().flatten().filter_map(move |r| {
                    let key = match (r.get("PutRequest"), r.get("DeleteRequest")) {
                        (Some(put), _) => key_of(&put["Item"]),
                        (_, Some(delete)) => key_of(&delete["Key"]),
                        _ => return None,
                    };
                    Some((table.clone(), key))
                })
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// The item at `key` now, read from moto straight (not priced).
async fn current(upstream: &Upstream, parts: &Parts, table: &str, key: &Item) -> Option<Item> {
    let mut read = parts.clone();
    read.headers.insert("x-amz-target", "DynamoDB_20120810.GetItem".parse().expect("a header"));
    let body = json!({"TableName": table, "Key": key, "ConsistentRead": true}).to_string();
    let answer = json_of(upstream.pass_on(&read, Bytes::from(body)).await.into_body()).await;
    answer["Item"].as_object().cloned()
}

/// A response body's JSON (`null` if it is none).
async fn json_of(body: Full<Bytes>) -> Value {
    let bytes = http_body_util::BodyExt::collect(body).await.map(|b| b.to_bytes()).unwrap_or_default();
    serde_json::from_slice(&bytes).unwrap_or_default()
}

/// Read units for `bytes` read: 4 KB a unit, at least one; half for an eventually
/// consistent read.
pub fn read_units(bytes: usize, consistent: bool) -> f64 {
    let units = bytes.div_ceil(4096).max(1) as f64;
    if consistent { units } else { units / 2.0 }
}

/// Write units for an item of `bytes`: 1 KB a unit, at least one.
fn units_of(bytes: usize) -> f64 {
    bytes.div_ceil(1024).max(1) as f64
}

/// The write units of changing `before` into `after` (either absent): the table's, by the
/// larger image, and the index's (projection `ALL`: any change to an item in it is a write
/// there; moving it to another index key is a delete and a put).
pub fn write_units(before: Option<&Item>, after: Option<&Item>) -> (f64, f64) {
    let size = |item: Option<&Item>| item.map_or(0, item_size);
    let base = units_of(size(before).max(size(after)));
    let index_key = |item: Option<&Item>| item.and_then(|i| Some((i.get("gsi1pk")?.clone(), i.get("gsi1sk").cloned())));
    let index = match (index_key(before), index_key(after)) {
        (None, None) => 0.0,
        (None, Some(_)) => units_of(size(after)),
        (Some(_), None) => units_of(size(before)),
        (Some(a), Some(b)) if a == b => {
            if before == after {
                0.0
            } else {
                units_of(size(after))
            }
        }
        (Some(_), Some(_)) => units_of(size(before)) + units_of(size(after)),
    };
    (base, index)
}

/// An item's size by DynamoDB's rules: each attribute's name plus its value.
pub fn item_size(item: &Item) -> usize {
    item.iter().map(|(name, value)| name.len() + value_size(value)).sum()
}

fn value_size(value: &Value) -> usize {
    let Some((kind, inner)) = value.as_object().and_then(|v| v.iter().next()) else { return 0 };
    let strings = || inner.as_array().into_iter().flatten().filter_map(Value::as_str);
    match kind.as_str() {
        "S" => inner.as_str().map_or(0, str::len),
        "N" => inner.as_str().map_or(0, number_size),
        "B" => inner.as_str().map_or(0, |b| b.len() * 3 / 4),
        "BOOL" | "NULL" => 1,
        "SS" => strings().map(str::len).sum(),
        "NS" => strings().map(number_size).sum(),
        "BS" => strings().map(|b| b.len() * 3 / 4).sum(),
        "L" => 3 + inner.as_array().into_iter().flatten().map(|v| value_size(v) + 1).sum::<usize>(),
        "M" => 3 + inner.as_object().into_iter().flatten().map(|(k, v)| k.len() + value_size(v) + 1).sum::<usize>(),
        _ => 0,
    }
}

/// A number's size: one byte, and one for every two significant digits.
fn number_size(number: &str) -> usize {
    let digits: String = number.chars().filter(char::is_ascii_digit).collect();
    let significant = digits.trim_start_matches('0').trim_end_matches('0').len().max(1);
    1 + significant.div_ceil(2)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(value: Value) -> Item {
        value.as_object().expect("an object").clone()
    }

    #[test]
    fn sizes_and_units_follow_dynamodbs_rules() {
        // "pk" and "USER#1": 8; "n" and 12345 (1 byte and one for each two of its five
        // significant digits): 1 + 4; "ok" and a boolean: 3.
        let small = item(json!({"pk": {"S": "USER#1"}, "n": {"N": "12345"}, "ok": {"BOOL": true}}));
        assert_eq!(item_size(&small), 8 + 5 + 3);
        assert_eq!(read_units(0, true), 1.0);
        assert_eq!(read_units(4097, false), 1.0);
        let indexed = item(json!({"pk": {"S": "a"}, "gsi1pk": {"S": "USERS#01"}, "gsi1sk": {"S": "1"}}));
        let changed =
            item(json!({"pk": {"S": "a"}, "gsi1pk": {"S": "USERS#01"}, "gsi1sk": {"S": "1"}, "x": {"S": "y"}}));
        assert_eq!(write_units(None, Some(&small)), (1.0, 0.0), "a put outside the index");
        assert_eq!(write_units(None, Some(&indexed)), (1.0, 1.0), "a put into the index");
        assert_eq!(write_units(Some(&indexed), Some(&indexed)), (1.0, 0.0), "a failed condition: no index write");
        assert_eq!(write_units(Some(&indexed), Some(&changed)), (1.0, 1.0));
        let big = item(json!({"pk": {"S": "x".repeat(1500)}}));
        assert_eq!(write_units(Some(&big), None), (2.0, 0.0), "a delete is priced by what was there");
    }
}
