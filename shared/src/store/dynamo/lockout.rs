//! The lockout counter of each email and the counters of each source address.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, ReturnValue};

use super::DynamoStore;
use super::client::{Expr, call_failed};
use super::items::{self, Item, get_n, lockout_item, n, s};
use super::keys;
use crate::clock::UnixTime;
use crate::model::lockout::LEASE_SECONDS;
use crate::model::{Attempt, Email, Lockout, SOURCE_WINDOW_SECONDS, SourceCounter, SourceSlot};
use crate::store::LockoutStore;

impl DynamoStore {
    /// Stores `next` in place of `current` (as read), if nobody changed it meanwhile.
    async fn replace_lockout(&self, email: &Email, current: Option<&Lockout>, next: &Lockout) -> anyhow::Result<bool> {
        let unchanged = match current {
            None => Expr::only_if("attribute_not_exists(pk)"),
            Some(current) => Expr::only_if("used = :used AND failures = :failures AND lease_until = :lease")
                .value(":used", n(current.used))
                .value(":failures", n(current.failures))
                .value(":lease", n(current.lease_until)),
        };
        self.put(lockout_item(email, next), Some(unchanged), "replacing a lockout counter").await
    }
}

#[async_trait]
impl LockoutStore for DynamoStore {
    async fn begin_attempt(&self, email: &Email, max: u32, now: UnixTime) -> anyhow::Result<Attempt> {
        // The usual case in one conditional write: a slot is free, nothing has decayed and
        // no lease has ended. Anything else is decided by the rules on what is stored.
        let take = Expr::update(
            "SET kind = :kind, used = if_not_exists(used, :zero) + :one, failures = if_not_exists(failures, :zero), \
             lease_until = :lease, expires_at = if_not_exists(expires_at, :lease)",
        )
        .condition(
            "(attribute_not_exists(used) OR used < :max) AND (attribute_not_exists(expires_at) OR expires_at > :now) \
             AND (attribute_not_exists(lease_until) OR lease_until > :now)",
        )
        .value(":kind", s("lockout"))
        .value(":zero", n(0))
        .value(":one", n(1))
        .value(":lease", n(now + LEASE_SECONDS))
        .value(":max", n(max))
        .value(":now", n(now));
        if self.update(keys::lockout(email), take, ReturnValue::None, "counting a login attempt").await?.is_some() {
            return Ok(Attempt::Allowed);
        }
        for _ in 0..3 {
            let stored = self.get(keys::lockout(email), "a lockout counter").await?;
            let current = stored.as_ref().map(items::lockout).transpose()?;
            let next = match Lockout::begin(current.as_ref(), max, now) {
                Ok(next) => next,
                Err(refused) => return Ok(refused),
            };
            if self.replace_lockout(email, current.as_ref(), &next).await? {
                return Ok(Attempt::Allowed);
            }
        }
        Ok(Attempt::Busy { retry_after: 1 })
    }

    async fn record_failure(
        &self,
        email: &Email,
        attempt: &str,
        max: u32,
        window: i64,
        now: UnixTime,
    ) -> anyhow::Result<u32> {
        // Each failure adds its attempt's id to `counted`, on condition that it is not there
        // yet: a retried write (its answer lost) counts nothing more.
        let count = |tail: &str| {
            Expr::update(format!(
                "SET kind = :kind, used = if_not_exists(used, :one), lease_until = if_not_exists(lease_until, :now){tail}"
            ))
            .value(":kind", s("lockout"))
            .value(":one", n(1))
            .value(":now", n(now))
            .value(":attempt", AttributeValue::Ss(vec![attempt.to_owned()]))
            .value(":id", s(attempt))
        };
        // Below the lock the failures decay a window after this one; the failure that
        // reaches the lock removes the expiry, so that the lock stays.
        let below = count(", expires_at = :exp ADD failures :one, counted :attempt")
            .condition("(attribute_not_exists(failures) OR failures < :last) AND NOT contains(counted, :id)")
            .value(":exp", n(now + window))
            .value(":last", n(max.saturating_sub(1)));
        let key = || keys::lockout(email);
        if let Some(counted) = self.update(key(), below, ReturnValue::UpdatedNew, "counting a failed login").await? {
            return get_n(&counted, "failures");
        }
        let locking =
            count(" ADD failures :one, counted :attempt REMOVE expires_at").condition("NOT contains(counted, :id)");
        let what = "counting the failure that locks";
        match self.update(key(), locking, ReturnValue::UpdatedNew, what).await? {
            Some(counted) => get_n(&counted, "failures"),
            // This attempt was counted already.
            None => match self.get(key(), "a lockout counter").await? {
                Some(item) => Ok(items::lockout(&item)?.failures),
                None => Ok(0),
            },
        }
    }

    async fn release_attempt(&self, email: &Email) -> anyhow::Result<()> {
        let release = Expr::update("ADD used :minus_one").condition("used > failures").value(":minus_one", n(-1));
        self.update(keys::lockout(email), release, ReturnValue::None, "releasing a login attempt").await.map(|_| ())
    }

    async fn clear_failures(&self, email: &Email) -> anyhow::Result<()> {
        self.delete(keys::lockout(email), None, "clearing login failures").await.map(|_| ())
    }

    async fn failures(&self, emails: &[Email], now: UnixTime) -> anyhow::Result<Vec<u32>> {
        let mut counts: HashMap<String, u32> = HashMap::new();
        for chunk in emails.chunks(100) {
            let mut keys: Vec<Item> = chunk.iter().map(keys::lockout).collect();
            keys.dedup();
            let mut request = KeysAndAttributes::builder().set_keys(Some(keys)).consistent_read(true).build()?;
            for _ in 0..5 {
                let output = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, request.clone())
                    .send()
                    .await
                    .map_err(|e| call_failed(e, "reading login failures"))?;
                for item in output.responses.unwrap_or_default().remove(&self.table).unwrap_or_default() {
                    if let Some(email) = keys::lockout_email(&item) {
                        counts.insert(email.to_owned(), items::lockout(&item)?.live_failures(now));
                    }
                }
                match output.unprocessed_keys.and_then(|mut u| u.remove(&self.table)) {
                    Some(rest) if !rest.keys().is_empty() => request = rest,
                    _ => break,
                }
            }
        }
        Ok(emails.iter().map(|e| counts.get(e.as_str()).copied().unwrap_or(0)).collect())
    }

    async fn take_source_slot(
        &self,
        source: &str,
        counter: SourceCounter,
        max: u32,
        now: UnixTime,
    ) -> anyhow::Result<Option<SourceSlot>> {
        let slot = SourceSlot::at(source, counter, now);
        let take = Expr::update("SET kind = :kind, expires_at = :exp ADD taken :one")
            .condition("attribute_not_exists(taken) OR taken < :max")
            .value(":kind", s("source_counter"))
            .value(":exp", n(slot.window_start + 2 * SOURCE_WINDOW_SECONDS))
            .value(":one", n(1))
            .value(":max", n(max));
        let what = "counting a request of a source address";
        Ok(self.update(keys::source(&slot), take, ReturnValue::None, what).await?.map(|_| slot))
    }

    async fn release_source_slot(&self, slot: &SourceSlot) -> anyhow::Result<()> {
        let give_back = Expr::update("ADD taken :minus_one")
            .condition("taken > :zero")
            .value(":minus_one", n(-1))
            .value(":zero", n(0));
        let what = "giving back a source address's slot";
        self.update(keys::source(slot), give_back, ReturnValue::None, what).await.map(|_| ())
    }
}
