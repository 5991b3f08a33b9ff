//! Grants.

use async_trait::async_trait;

use super::MemoryStore;
use crate::clock::UnixTime;
use crate::model::{Grant, GrantKind};
use crate::store::GrantStore;

#[async_trait]
impl GrantStore for MemoryStore {
    async fn put_grant(&self, grant: &Grant) -> anyhow::Result<()> {
        self.lock().grants.insert(grant.token_hash.clone(), grant.clone());
        Ok(())
    }

    async fn grant(&self, token_hash: &str, kind: GrantKind, now: UnixTime) -> anyhow::Result<Option<Grant>> {
        Ok(self.lock().grants.get(token_hash).filter(|g| g.kind == kind && g.expires_at > now).cloned())
    }

    async fn attempt_grant(
        &self,
        token_hash: &str,
        kind: GrantKind,
        max: u32,
        now: UnixTime,
    ) -> anyhow::Result<Option<Grant>> {
        let mut inner = self.lock();
        let Some(grant) = inner.grants.get(token_hash).filter(|g| g.kind == kind && g.expires_at > now).cloned() else {
            return Ok(None);
        };
        let attempts = inner.grant_attempts.entry(token_hash.to_owned()).or_default();
        if *attempts >= max {
            return Ok(None);
        }
        *attempts += 1;
        Ok(Some(grant))
    }

    async fn take_grant(&self, token_hash: &str) -> anyhow::Result<bool> {
        Ok(self.lock().grants.remove(token_hash).is_some())
    }
}
