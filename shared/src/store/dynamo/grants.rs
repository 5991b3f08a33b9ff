//! Grants: one item per token digest.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::ReturnValue;

use super::DynamoStore;
use super::client::Expr;
use super::items::{self, get_n, get_s, grant_item, n, s};
use super::keys;
use crate::clock::UnixTime;
use crate::model::{Grant, GrantKind};
use crate::store::GrantStore;

#[async_trait]
impl GrantStore for DynamoStore {
    async fn put_grant(&self, grant: &Grant) -> anyhow::Result<()> {
        self.put(grant_item(grant), None, "storing a grant").await.map(|_| ())
    }

    async fn grant(&self, token_hash: &str, kind: GrantKind, now: UnixTime) -> anyhow::Result<Option<Grant>> {
        let Some(item) = self.get(keys::grant(token_hash), "a grant").await? else {
            return Ok(None);
        };
        if get_s(&item, "kind")? != kind.as_str() || get_n::<i64>(&item, "expires_at")? <= now {
            return Ok(None);
        }
        Ok(Some(items::grant(token_hash, kind, &item)?))
    }

    async fn attempt_grant(
        &self,
        token_hash: &str,
        kind: GrantKind,
        max: u32,
        now: UnixTime,
    ) -> anyhow::Result<Option<Grant>> {
        let count = Expr::update("ADD attempts :one")
            .condition(
                "attribute_exists(pk) AND kind = :kind AND expires_at > :now \
                 AND (attribute_not_exists(attempts) OR attempts < :max)",
            )
            .value(":one", n(1))
            .value(":kind", s(kind.as_str()))
            .value(":now", n(now))
            .value(":max", n(max));
        match self.update(keys::grant(token_hash), count, ReturnValue::AllNew, "counting a grant use").await? {
            Some(item) => Ok(Some(items::grant(token_hash, kind, &item)?)),
            None => Ok(None),
        }
    }

    async fn take_grant(&self, token_hash: &str) -> anyhow::Result<bool> {
        self.delete(keys::grant(token_hash), Some(Expr::only_if("attribute_exists(pk)")), "using a grant").await
    }
}
