//! Sessions: one item per refresh-token family, in the index by user.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::ReturnValue;

use super::DynamoStore;
use super::client::{Expr, call_failed};
use super::items::{self, n, s, session_item};
use super::keys;
use crate::clock::UnixTime;
use crate::model::{Page, Session, SessionUse};
use crate::store::{BadCursor, Rotated, SessionStore, page};

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

    async fn rotate_session(&self, id: &str, old: &str, new: &str, used: &SessionUse) -> anyhow::Result<Rotated> {
        // An absent address or User-Agent is removed, so that the item never shows an older
        // use's as this one's.
        let mut set = vec!["token_hash = :new", "last_used_at = :now"];
        let mut remove = Vec::new();
        let mut values = vec![(":new", s(new)), (":old", s(old)), (":now", n(used.at))];
        for (attribute, assign, placeholder, value) in [
            ("last_ip", "last_ip = :ip", ":ip", &used.source_ip),
            ("user_agent", "user_agent = :ua", ":ua", &used.user_agent),
        ] {
            match value {
                Some(value) => {
                    set.push(assign);
                    values.push((placeholder, s(value)));
                }
                None => remove.push(attribute),
            }
        }
        let mut update = format!("SET {}", set.join(", "));
        if !remove.is_empty() {
            update.push_str(" REMOVE ");
            update.push_str(&remove.join(", "));
        }
        let rotate = values
            .into_iter()
            .fold(Expr::update(update), |expr, (name, value)| expr.value(name, value))
            .condition("token_hash IN (:old, :new) AND expires_at > :now");
        match self.update(keys::session(id), rotate, ReturnValue::None, "rotating a refresh token").await? {
            Some(_) => Ok(Rotated::Rotated),
            None => Ok(Rotated::Stale),
        }
    }

    async fn delete_session(&self, id: &str) -> anyhow::Result<()> {
        self.delete(keys::session(id), None, "deleting a session").await.map(|_| ())
    }

    async fn user_sessions(
        &self,
        user_id: &str,
        version: u64,
        now: UnixTime,
        limit: usize,
        cursor: Option<&str>,
    ) -> anyhow::Result<Page<Session>> {
        let mut start = cursor.map(|c| keys::session_cursor(user_id, c).ok_or(BadCursor)).transpose()?;
        let mut sessions = Vec::new();
        // Dead sessions are filtered after DynamoDB's limit applies, so read until the page
        // is full or the partition is exhausted.
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(keys::USERS_INDEX)
                .key_condition_expression("gsi1pk = :sessions")
                .filter_expression("expires_at > :now AND user_version = :version")
                .expression_attribute_values(":sessions", s(keys::sessions_partition(user_id)))
                .expression_attribute_values(":now", n(now))
                .expression_attribute_values(":version", n(version))
                .scan_index_forward(false)
                .limit((limit + 1) as i32)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| call_failed(e, "listing sessions"))?;
            for item in output.items.unwrap_or_default() {
                let session = items::indexed_session(&item)?;
                sessions.push((keys::session_order(&session), session));
            }
            start = output.last_evaluated_key;
            if sessions.len() > limit || start.is_none() {
                break;
            }
        }
        Ok(page(sessions, limit))
    }

    async fn delete_user_sessions(&self, user_id: &str) -> anyhow::Result<usize> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(keys::USERS_INDEX)
            .key_condition_expression("gsi1pk = :sessions")
            .expression_attribute_values(":sessions", s(keys::sessions_partition(user_id)));
        let found = self.all_keys(query, "listing a user's sessions").await?;
        let count = found.len();
        self.delete_all(found, "deleting a user's sessions").await?;
        Ok(count)
    }
}
