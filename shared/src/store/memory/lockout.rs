//! Lockout and source counters.

use async_trait::async_trait;

use super::MemoryStore;
use crate::clock::UnixTime;
use crate::model::{Attempt, Email, Lockout, SOURCE_WINDOW_SECONDS, SourceCounter, SourceSlot};
use crate::store::LockoutStore;

#[async_trait]
impl LockoutStore for MemoryStore {
    async fn begin_attempt(&self, email: &Email, max: u32, now: UnixTime) -> anyhow::Result<Attempt> {
        let mut inner = self.lock();
        match Lockout::begin(inner.lockouts.get(email.as_str()), max, now) {
            Ok(next) => {
                inner.lockouts.insert(email.as_str().to_owned(), next);
                Ok(Attempt::Allowed)
            }
            Err(refused) => Ok(refused),
        }
    }

    async fn record_failure(
        &self,
        email: &Email,
        attempt: &str,
        max: u32,
        window: i64,
        now: UnixTime,
    ) -> anyhow::Result<u32> {
        let mut inner = self.lock();
        let counted = inner.counted_attempts.entry(email.as_str().to_owned()).or_default();
        if !counted.insert(attempt.to_owned()) {
            return Ok(inner.lockouts.get(email.as_str()).map_or(0, |l| l.failures));
        }
        let next = Lockout::fail(inner.lockouts.get(email.as_str()), max, window, now);
        inner.lockouts.insert(email.as_str().to_owned(), next);
        Ok(next.failures)
    }

    async fn release_attempt(&self, email: &Email) -> anyhow::Result<()> {
        if let Some(lockout) = self.lock().lockouts.get_mut(email.as_str()) {
            *lockout = lockout.release();
        }
        Ok(())
    }

    async fn clear_failures(&self, email: &Email) -> anyhow::Result<()> {
        let mut inner = self.lock();
        inner.lockouts.remove(email.as_str());
        inner.counted_attempts.remove(email.as_str());
        Ok(())
    }

    async fn failures(&self, emails: &[Email], now: UnixTime) -> anyhow::Result<Vec<u32>> {
        let inner = self.lock();
        Ok(emails.iter().map(|e| inner.lockouts.get(e.as_str()).map_or(0, |l| l.live_failures(now))).collect())
    }

    async fn take_source_slot(
        &self,
        source: &str,
        counter: SourceCounter,
        max: u32,
        now: UnixTime,
    ) -> anyhow::Result<Option<SourceSlot>> {
        let slot = SourceSlot::at(source, counter, now);
        let mut inner = self.lock();
        inner.sources.retain(|(_, _, start), _| start + 2 * SOURCE_WINDOW_SECONDS > now);
        let taken = inner.sources.entry((slot.source.clone(), counter, slot.window_start)).or_default();
        if *taken >= max {
            return Ok(None);
        }
        *taken += 1;
        Ok(Some(slot))
    }

    async fn release_source_slot(&self, slot: &SourceSlot) -> anyhow::Result<()> {
        let key = (slot.source.clone(), slot.counter, slot.window_start);
        if let Some(taken) = self.lock().sources.get_mut(&key) {
            *taken = taken.saturating_sub(1);
        }
        Ok(())
    }
}
