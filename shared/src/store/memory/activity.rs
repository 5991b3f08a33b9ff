//! Activity logs.

use async_trait::async_trait;

use super::{MemoryStore, checked_cursor, order_key};
use crate::clock::UnixTime;
use crate::model::{Activity, Page};
use crate::store::{ActivityStore, page};

#[async_trait]
impl ActivityStore for MemoryStore {
    async fn record_activity(&self, user_id: &str, activity: &Activity, expires_at: UnixTime) -> anyhow::Result<()> {
        let mut inner = self.lock();
        let log = inner.activity.entry(user_id.to_owned()).or_default();
        log.insert(order_key(activity.at, &activity.id), (activity.clone(), expires_at));
        Ok(())
    }

    async fn activity(
        &self,
        user_id: &str,
        now: UnixTime,
        limit: usize,
        cursor: Option<&str>,
    ) -> anyhow::Result<Page<Activity>> {
        let cursor = checked_cursor(cursor)?;
        let inner = self.lock();
        let Some(log) = inner.activity.get(user_id) else {
            return Ok(Page { items: Vec::new(), next: None });
        };
        let before = cursor.map_or(std::ops::Bound::Unbounded, |c| std::ops::Bound::Excluded(c.to_owned()));
        let entries =
            log.range((std::ops::Bound::Unbounded, before)).rev().filter(|(_, (_, expires_at))| *expires_at > now);
        let items = entries.take(limit + 1).map(|(key, (activity, _))| (key.clone(), activity.clone()));
        Ok(page(items.collect(), limit))
    }

    async fn delete_activity(&self, user_id: &str) -> anyhow::Result<()> {
        self.lock().activity.remove(user_id);
        Ok(())
    }
}
