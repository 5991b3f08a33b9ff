//! Sessions.

use async_trait::async_trait;

use super::MemoryStore;
use crate::clock::UnixTime;
use crate::model::Session;
use crate::store::{Rotated, SessionStore};

#[async_trait]
impl SessionStore for MemoryStore {
    async fn put_session(&self, session: &Session) -> anyhow::Result<()> {
        self.lock().sessions.insert(session.id.clone(), session.clone());
        Ok(())
    }

    async fn session(&self, id: &str, now: UnixTime) -> anyhow::Result<Option<Session>> {
        Ok(self.lock().sessions.get(id).filter(|s| s.expires_at > now).cloned())
    }

    async fn rotate_session(&self, id: &str, old: &str, new: &str, now: UnixTime) -> anyhow::Result<Rotated> {
        let mut inner = self.lock();
        match inner.sessions.get_mut(id) {
            Some(session) if session.expires_at > now && session.token_hash == old => {
                session.token_hash = new.to_owned();
                Ok(Rotated::Rotated)
            }
            _ => Ok(Rotated::Stale),
        }
    }

    async fn delete_session(&self, id: &str) -> anyhow::Result<()> {
        self.lock().sessions.remove(id);
        Ok(())
    }
}
