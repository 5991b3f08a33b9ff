//! Sessions: one item per refresh-token family.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::ReturnValue;

use super::DynamoStore;
use super::client::Expr;
use super::items::{self, n, s, session_item};
use super::keys;
use crate::clock::UnixTime;
use crate::model::Session;
use crate::store::{Rotated, SessionStore};

#[async_trait]
impl SessionStore for DynamoStore {
    async fn put_session(&self, session: &Session) -> anyhow::Result<()> {
        let new = Expr::only_if("attribute_not_exists(pk)");
        if self.put(session_item(session), Some(new), "storing a session").await? {
            Ok(())
        } else {
            anyhow::bail!("storing a session: its id is taken")
        }
    }

    async fn session(&self, id: &str, now: UnixTime) -> anyhow::Result<Option<Session>> {
        let Some(item) = self.get(keys::session(id), "a session").await? else {
            return Ok(None);
        };
        let session = items::session(id, &item)?;
        Ok((session.expires_at > now).then_some(session))
    }

    async fn rotate_session(&self, id: &str, old: &str, new: &str, now: UnixTime) -> anyhow::Result<Rotated> {
        let rotate = Expr::update("SET token_hash = :new")
            .condition("token_hash = :old AND expires_at > :now")
            .value(":new", s(new))
            .value(":old", s(old))
            .value(":now", n(now));
        match self.update(keys::session(id), rotate, ReturnValue::None, "rotating a refresh token").await? {
            Some(_) => Ok(Rotated::Rotated),
            None => Ok(Rotated::Stale),
        }
    }

    async fn delete_session(&self, id: &str) -> anyhow::Result<()> {
        self.delete(keys::session(id), None, "deleting a session").await.map(|_| ())
    }
}
