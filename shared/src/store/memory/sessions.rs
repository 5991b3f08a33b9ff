//! Sessions.

use async_trait::async_trait;

use super::{MemoryStore, checked_cursor, order_key};
use crate::clock::UnixTime;
use crate::model::{Page, Session, SessionUse};
use crate::store::{Rotated, SessionStore, page};

#[async_trait]
impl SessionStore for MemoryStore {
    async fn put_session(&self, session: &Session) -> anyhow::Result<()> {
        self.lock().sessions.insert(session.id.clone(), session.clone());
        Ok(())
    }

    async fn session(&self, id: &str, now: UnixTime) -> anyhow::Result<Option<Session>> {
        Ok(self.lock().sessions.get(id).filter(|s| s.expires_at > now).cloned())
    }

    async fn rotate_session(&self, id: &str, old: &str, new: &str, used: &SessionUse) -> anyhow::Result<Rotated> {
        let mut inner = self.lock();
        match inner.sessions.get_mut(id) {
            Some(session)
                if session.expires_at > used.at && (session.token_hash == old || session.token_hash == new) =>
            {
                session.token_hash = new.to_owned();
                session.last_used_at = used.at;
                session.last_ip.clone_from(&used.source_ip);
                session.user_agent.clone_from(&used.user_agent);
                Ok(Rotated::Rotated)
            }
            _ => Ok(Rotated::Stale),
        }
    }

    async fn delete_session(&self, id: &str) -> anyhow::Result<()> {
        self.lock().sessions.remove(id);
        Ok(())
    }

    async fn user_sessions(
        &self,
        user_id: &str,
        version: u64,
        now: UnixTime,
        limit: usize,
        cursor: Option<&str>,
    ) -> anyhow::Result<Page<Session>> {
        let cursor = checked_cursor(cursor)?;
        let inner = self.lock();
        let mut sessions: Vec<(String, Session)> = inner
            .sessions
            .values()
            .filter(|s| s.user_id == user_id && s.user_version == version && s.expires_at > now)
            .map(|s| (order_key(s.created_at, &s.id), s.clone()))
            .filter(|(key, _)| cursor.is_none_or(|c| key.as_str() < c))
            .collect();
        sessions.sort_unstable_by(|a, b| b.0.cmp(&a.0));
        sessions.truncate(limit + 1);
        Ok(page(sessions, limit))
    }

    async fn delete_user_sessions(&self, user_id: &str) -> anyhow::Result<usize> {
        let mut inner = self.lock();
        let before = inner.sessions.len();
        inner.sessions.retain(|_, s| s.user_id != user_id);
        Ok(before - inner.sessions.len())
    }
}
