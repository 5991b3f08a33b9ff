//! The mail log: a record a mail in its user's partition (or its address's), a pointer from
//! its message id for the delivery events, and the suppression mark in the address's.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::ReturnValue;

use super::DynamoStore;
use super::client::{Expr, call_failed};
use super::items::{self, Item, get_s, mail_item, n, s};
use super::keys::{self, MAIL_PREFIX};
use crate::clock::UnixTime;
use crate::model::{DeliveryEvent, MailRecord, Page};
use crate::store::{BadCursor, MailLogStore, page};

#[async_trait]
impl MailLogStore for DynamoStore {
    async fn record_mail(&self, record: &MailRecord, expires_at: UnixTime) -> anyhow::Result<()> {
        let item = mail_item(record, expires_at);
        let mut pointer = keys::mail_pointer(&record.message_id);
        for name in ["pk", "sk"] {
            pointer.insert(format!("record_{name}"), item[name].clone());
        }
        pointer.extend([("kind".to_owned(), s("mail_pointer")), ("expires_at".to_owned(), n(expires_at))]);
        tokio::try_join!(self.put(pointer, None, "recording a mail"), self.put(item, None, "recording a mail"))?;
        Ok(())
    }

    async fn record_delivery(&self, event: &DeliveryEvent, now: UnixTime) -> anyhow::Result<Option<MailRecord>> {
        let Some(pointer) = self.get(keys::mail_pointer(&event.message_id), "a mail's pointer").await? else {
            return Ok(None);
        };
        let key = Item::from([
            ("pk".to_owned(), s(get_s(&pointer, "record_pk")?)),
            ("sk".to_owned(), s(get_s(&pointer, "record_sk")?)),
        ]);
        // No detail is stored as the empty string, which reads back as none.
        let update = Expr::update("SET #status = :status, status_rank = :rank, status_at = :at, detail = :detail")
            .condition("attribute_exists(pk) AND expires_at > :now AND status_rank <= :rank")
            .name("#status", "status")
            .value(":status", s(event.status.as_str()))
            .value(":rank", n(event.status.rank()))
            .value(":at", n(event.at))
            .value(":now", n(now))
            .value(":detail", s(event.detail.as_deref().unwrap_or("")));
        if let Some(item) = self.update(key.clone(), update, ReturnValue::AllNew, "recording a delivery event").await? {
            return Ok(Some(items::mail(&item)?));
        }
        // A late event (the mail is further on), or a record gone: as it is, if it is.
        let current = self.get(key, "a mail record").await?;
        current
            .filter(|item| items::get_n(item, "expires_at").is_ok_and(|at: i64| at > now))
            .map(|i| items::mail(&i))
            .transpose()
    }

    async fn suppress(&self, address: &str, reason: &str, at: UnixTime) -> anyhow::Result<()> {
        let mut item = keys::suppression(address);
        item.extend([
            ("kind".to_owned(), s("suppression")),
            ("reason".to_owned(), s(reason)),
            ("at".to_owned(), n(at)),
        ]);
        self.put(item, None, "stopping mail to an address").await.map(|_| ())
    }

    async fn is_suppressed(&self, address: &str) -> anyhow::Result<bool> {
        Ok(self.get(keys::suppression(address), "an address's suppression").await?.is_some())
    }

    async fn mails(
        &self,
        user_id: &str,
        address: &str,
        now: UnixTime,
        limit: usize,
        cursor: Option<&str>,
    ) -> anyhow::Result<Page<MailRecord>> {
        let below = cursor.map(|c| keys::mail_cursor(c).ok_or(BadCursor)).transpose()?;
        let partitions = [keys::mail_partition(Some(user_id), address), keys::mail_partition(None, address)];
        let mut found = Vec::new();
        for partition in partitions {
            let mut start = None;
            let mut taken = 0;
            loop {
                let condition = match below {
                    Some(_) => "pk = :pk AND sk BETWEEN :prefix AND :below",
                    None => "pk = :pk AND begins_with(sk, :prefix)",
                };
                let mut query = self
                    .client
                    .query()
                    .table_name(&self.table)
                    .key_condition_expression(condition)
                    .filter_expression("expires_at > :now")
                    .expression_attribute_values(":pk", s(&partition))
                    .expression_attribute_values(":prefix", s(MAIL_PREFIX))
                    .expression_attribute_values(":now", n(now))
                    .scan_index_forward(false)
                    .limit((limit + 1) as i32)
                    .set_exclusive_start_key(start)
                    .consistent_read(true);
                if let Some(below) = below {
                    // BETWEEN is inclusive: the cursor's own record is dropped below.
                    query = query.expression_attribute_values(":below", s(below));
                }
                let output = query.send().await.map_err(|e| call_failed(e, "reading the mail log"))?;
                for item in output.items.unwrap_or_default() {
                    let sort = get_s(&item, "sk")?;
                    if below.is_some_and(|below| sort.as_str() >= below) {
                        continue;
                    }
                    found.push((sort, items::mail(&item)?));
                    taken += 1;
                }
                start = output.last_evaluated_key;
                if taken > limit || start.is_none() {
                    break;
                }
            }
        }
        found.sort_by(|a, b| b.0.cmp(&a.0));
        found.truncate(limit + 1);
        Ok(page(found, limit))
    }

    async fn delete_mails(&self, user_id: &str) -> anyhow::Result<()> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :mail)")
            .expression_attribute_values(":pk", s(keys::mail_partition(Some(user_id), "")))
            .expression_attribute_values(":mail", s(MAIL_PREFIX));
        let found = self.all_keys(query, "listing the mail log").await?;
        self.delete_all(found, "deleting the mail log").await
    }
}
