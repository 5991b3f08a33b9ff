//! Activity: one item per entry, in the user's partition.

use async_trait::async_trait;

use super::DynamoStore;
use super::client::call_failed;
use super::items::{self, activity_item, n, s};
use super::keys;
use crate::clock::UnixTime;
use crate::model::{Activity, Page};
use crate::store::{ActivityStore, BadCursor, page};

#[async_trait]
impl ActivityStore for DynamoStore {
    async fn record_activity(&self, user_id: &str, activity: &Activity, expires_at: UnixTime) -> anyhow::Result<()> {
        self.put(activity_item(user_id, activity, expires_at), None, "recording activity").await.map(|_| ())
    }

    async fn activity(
        &self,
        user_id: &str,
        now: UnixTime,
        limit: usize,
        cursor: Option<&str>,
    ) -> anyhow::Result<Page<Activity>> {
        let mut start = cursor.map(|c| keys::activity_cursor(user_id, c).ok_or(BadCursor)).transpose()?;
        let mut entries = Vec::new();
        // Expired entries are filtered after DynamoDB's limit applies, so read until the page
        // is full or the log is exhausted.
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND begins_with(sk, :act)")
                .filter_expression("expires_at > :now")
                .expression_attribute_values(":pk", s(keys::activity_partition(user_id)))
                .expression_attribute_values(":act", s(keys::ACTIVITY_PREFIX))
                .expression_attribute_values(":now", n(now))
                .scan_index_forward(false)
                .limit((limit + 1) as i32)
                .set_exclusive_start_key(start)
                .consistent_read(true)
                .send()
                .await
                .map_err(|e| call_failed(e, "reading activity"))?;
            for item in output.items.unwrap_or_default() {
                let entry = items::activity(&item)?;
                entries.push((keys::activity_cursor_of(&entry), entry));
            }
            start = output.last_evaluated_key;
            if entries.len() > limit || start.is_none() {
                break;
            }
        }
        Ok(page(entries, limit))
    }

    async fn delete_activity(&self, user_id: &str) -> anyhow::Result<()> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :act)")
            .expression_attribute_values(":pk", s(keys::activity_partition(user_id)))
            .expression_attribute_values(":act", s(keys::ACTIVITY_PREFIX));
        let found = self.all_keys(query, "listing activity").await?;
        self.delete_all(found, "deleting activity").await
    }
}
