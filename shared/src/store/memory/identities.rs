//! Google sign-in: identities, redirect flows, nonces.

use async_trait::async_trait;

use super::MemoryStore;
use crate::clock::UnixTime;
use crate::model::{Identity, LoginState, User};
use crate::store::{Created, IdentityStore};

#[async_trait]
impl IdentityStore for MemoryStore {
    async fn put_login_state(&self, state: &LoginState) -> anyhow::Result<()> {
        self.lock().login_states.insert(state.state_hash.clone(), state.clone());
        Ok(())
    }

    async fn take_login_state(&self, state_hash: &str, now: UnixTime) -> anyhow::Result<Option<LoginState>> {
        Ok(self.lock().login_states.remove(state_hash).filter(|s| s.expires_at > now))
    }

    async fn use_nonce(&self, nonce_hash: &str, expires_at: UnixTime, now: UnixTime) -> anyhow::Result<bool> {
        let mut inner = self.lock();
        if inner.nonces.get(nonce_hash).is_some_and(|until| *until > now) {
            return Ok(false);
        }
        inner.nonces.insert(nonce_hash.to_owned(), expires_at);
        Ok(true)
    }

    async fn user_by_identity(&self, issuer: &str, subject: &str) -> anyhow::Result<Option<User>> {
        let inner = self.lock();
        let key = (issuer.to_owned(), subject.to_owned());
        Ok(inner.identities.get(&key).and_then(|id| inner.users.get(id)).cloned())
    }

    async fn create_user_with_identity(&self, user: &User, identity: &Identity) -> anyhow::Result<Created> {
        let mut inner = self.lock();
        let key = (identity.issuer.clone(), identity.subject.clone());
        if inner.identities.contains_key(&key) {
            return Ok(Created::IdentityTaken);
        }
        if inner.emails.contains_key(user.email.as_str()) || inner.users.contains_key(&user.id) {
            return Ok(Created::EmailTaken);
        }
        inner.emails.insert(user.email.as_str().to_owned(), user.id.clone());
        inner.users.insert(user.id.clone(), user.clone());
        inner.identities.insert(key, user.id.clone());
        Ok(Created::Created)
    }

    async fn link_identity(&self, user_id: &str, identity: &Identity) -> anyhow::Result<bool> {
        let mut inner = self.lock();
        let key = (identity.issuer.clone(), identity.subject.clone());
        if inner.identities.contains_key(&key) || !inner.users.contains_key(user_id) {
            return Ok(false);
        }
        inner.identities.insert(key, user_id.to_owned());
        if let Some(user) = inner.users.get_mut(user_id) {
            user.identities.push(identity.clone());
        }
        Ok(true)
    }

    async fn unlink_identity(&self, user_id: &str, identity: &Identity, position: usize) -> anyhow::Result<bool> {
        let mut inner = self.lock();
        let Some(user) = inner.users.get_mut(user_id) else { return Ok(false) };
        let listed =
            user.identities.get(position).is_some_and(|i| i.issuer == identity.issuer && i.subject == identity.subject);
        if !listed || !user.has_password() {
            return Ok(false);
        }
        user.identities.remove(position);
        inner.identities.remove(&(identity.issuer.clone(), identity.subject.clone()));
        Ok(true)
    }
}
