//! The mail log and the suppressed addresses.

use async_trait::async_trait;

use super::{MemoryStore, checked_cursor, order_key};
use crate::clock::UnixTime;
use crate::model::{DeliveryEvent, MailRecord, Page};
use crate::store::{MailLogStore, page};

#[async_trait]
impl MailLogStore for MemoryStore {
    async fn record_mail(&self, record: &MailRecord, expires_at: UnixTime) -> anyhow::Result<()> {
        self.lock().mails.insert(record.message_id.clone(), (record.clone(), expires_at));
        Ok(())
    }

    async fn record_delivery(&self, event: &DeliveryEvent, now: UnixTime) -> anyhow::Result<Option<MailRecord>> {
        let mut inner = self.lock();
        let Some((record, _)) = inner.mails.get_mut(&event.message_id).filter(|(_, expires_at)| *expires_at > now)
        else {
            return Ok(None);
        };
        if record.status.rank() <= event.status.rank() {
            record.status = event.status;
            record.status_at = event.at;
            record.detail.clone_from(&event.detail);
        }
        Ok(Some(record.clone()))
    }

    async fn suppress(&self, address: &str, reason: &str, _at: UnixTime) -> anyhow::Result<()> {
        self.lock().suppressed.insert(address.to_owned(), reason.to_owned());
        Ok(())
    }

    async fn is_suppressed(&self, address: &str) -> anyhow::Result<bool> {
        Ok(self.lock().suppressed.contains_key(address))
    }

    async fn mails(
        &self,
        user_id: &str,
        address: &str,
        now: UnixTime,
        limit: usize,
        cursor: Option<&str>,
    ) -> anyhow::Result<Page<MailRecord>> {
        let cursor = checked_cursor(cursor)?;
        let inner = self.lock();
        let ours = |r: &MailRecord| match &r.user_id {
            Some(id) => id == user_id,
            None => r.to == address,
        };
        let mut found: Vec<(String, MailRecord)> = inner
            .mails
            .values()
            .filter(|(r, expires_at)| *expires_at > now && ours(r))
            .map(|(r, _)| (order_key(r.sent_at, &format!("{:020}", r.sent_nanos)), r.clone()))
            .filter(|(key, _)| cursor.is_none_or(|c| key.as_str() < c))
            .collect();
        found.sort_by(|a, b| b.0.cmp(&a.0));
        found.truncate(limit + 1);
        Ok(page(found, limit))
    }

    async fn delete_mails(&self, user_id: &str) -> anyhow::Result<()> {
        self.lock().mails.retain(|_, (r, _)| r.user_id.as_deref() != Some(user_id));
        Ok(())
    }
}
