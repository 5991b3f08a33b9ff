//! Users and their email claims.

use async_trait::async_trait;

use super::{MemoryStore, checked_cursor, order_key};
use crate::clock::UnixTime;
use crate::model::profile::username_key;
use crate::model::{Attribute, Email, GrantKind, MOVED_IN_LOCKED, Page, ProfileChange, User};
use crate::store::{BadCursor, Created, EmailChanged, ProfileUpdated, Reset, UserStore, page};

#[async_trait]
impl UserStore for MemoryStore {
    async fn create_user(&self, user: &User, grant_hash: &str, now: UnixTime) -> anyhow::Result<Created> {
        let mut inner = self.lock();
        if inner.users.get(&user.id).is_some_and(|u| u.email == user.email) {
            return Ok(Created::Created);
        }
        let grant_ok = inner
            .grants
            .get(grant_hash)
            .is_some_and(|g| g.kind == GrantKind::Signup && g.expires_at > now && g.email == user.email);
        if !grant_ok {
            return Ok(Created::GrantInvalid);
        }
        if inner.emails.contains_key(user.email.as_str()) || inner.users.contains_key(&user.id) {
            return Ok(Created::EmailTaken);
        }
        inner.grants.remove(grant_hash);
        inner.emails.insert(user.email.as_str().to_owned(), user.id.clone());
        inner.users.insert(user.id.clone(), user.clone());
        Ok(Created::Created)
    }

    async fn import_user(&self, user: &User, locked: bool) -> anyhow::Result<Created> {
        let mut inner = self.lock();
        if inner.emails.contains_key(user.email.as_str()) || inner.users.contains_key(&user.id) {
            return Ok(Created::EmailTaken);
        }
        let username = user.profile.get(&Attribute::PreferredUsername).map(|n| username_key(n));
        if username.as_ref().is_some_and(|n| inner.usernames.contains_key(n)) {
            return Ok(Created::UsernameTaken);
        }
        if let Some(username) = username {
            inner.usernames.insert(username, user.id.clone());
        }
        inner.emails.insert(user.email.as_str().to_owned(), user.id.clone());
        inner.users.insert(user.id.clone(), user.clone());
        if locked {
            inner.lockouts.insert(user.email.as_str().to_owned(), MOVED_IN_LOCKED);
        }
        Ok(Created::Created)
    }

    async fn user(&self, id: &str) -> anyhow::Result<Option<User>> {
        Ok(self.lock().users.get(id).cloned())
    }

    async fn user_by_email(&self, email: &Email) -> anyhow::Result<Option<User>> {
        let inner = self.lock();
        Ok(inner.emails.get(email.as_str()).and_then(|id| inner.users.get(id)).cloned())
    }

    async fn users(&self, limit: usize, cursor: Option<&str>) -> anyhow::Result<Page<User>> {
        let cursor = checked_cursor(cursor)?;
        let inner = self.lock();
        let mut users: Vec<(String, &User)> =
            inner.users.values().map(|u| (order_key(u.created_at, &u.id), u)).collect();
        users.sort_by(|a, b| b.0.cmp(&a.0));
        let after = users.into_iter().filter(|(key, _)| cursor.is_none_or(|c| key.as_str() < c));
        Ok(page(after.take(limit + 1).map(|(k, u)| (k, u.clone())).collect(), limit))
    }

    async fn record_login(&self, user_id: &str, at: UnixTime) -> anyhow::Result<()> {
        if let Some(user) = self.lock().users.get_mut(user_id) {
            user.last_login = Some(at);
        }
        Ok(())
    }

    async fn bump_token_version(&self, user_id: &str) -> anyhow::Result<Option<u64>> {
        Ok(self.lock().users.get_mut(user_id).map(|user| {
            user.token_version += 1;
            user.token_version
        }))
    }

    async fn set_password(
        &self,
        user_id: &str,
        old_hash: &str,
        new_hash: &str,
        history: &[String],
    ) -> anyhow::Result<bool> {
        Ok(self.lock().set_password(user_id, old_hash, new_hash, history))
    }

    async fn rehash_password(&self, user_id: &str, old_hash: &str, new_hash: &str) -> anyhow::Result<bool> {
        let mut inner = self.lock();
        match inner.users.get_mut(user_id) {
            Some(user) if user.password_hash == old_hash => {
                new_hash.clone_into(&mut user.password_hash);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn reset_password(
        &self,
        user_id: &str,
        grant_hash: &str,
        old_hash: &str,
        new_hash: &str,
        history: &[String],
        now: UnixTime,
    ) -> anyhow::Result<Reset> {
        let mut inner = self.lock();
        let grant_ok = inner.grants.get(grant_hash).is_some_and(|g| {
            g.kind == GrantKind::PasswordReset && g.expires_at > now && g.user_id.as_deref() == Some(user_id)
        });
        if !grant_ok {
            return Ok(Reset::GrantInvalid);
        }
        if !inner.set_password(user_id, old_hash, new_hash, history) {
            return Ok(Reset::Conflict);
        }
        inner.grants.remove(grant_hash);
        Ok(Reset::Reset)
    }

    async fn update_profile(&self, user: &User, change: &ProfileChange) -> anyhow::Result<ProfileUpdated> {
        let mut inner = self.lock();
        let username = |u: &User| u.profile.get(&Attribute::PreferredUsername).map(|n| username_key(n));
        let Some(stored) = inner.users.get(&user.id) else { return Ok(ProfileUpdated::Conflict) };
        let picture = |u: &User| u.profile.get(&Attribute::Picture).cloned();
        if change.standard.contains_key(&Attribute::Picture) && picture(stored) != picture(user) {
            return Ok(ProfileUpdated::Conflict);
        }
        if let Some((old, new)) = change.username_move(user) {
            if username(stored) != old.map(username_key) {
                return Ok(ProfileUpdated::Conflict);
            }
            if new.is_some_and(|new| inner.usernames.get(&username_key(new)).is_some_and(|holder| *holder != user.id)) {
                return Ok(ProfileUpdated::UsernameTaken);
            }
            if let Some(old) = old {
                inner.usernames.remove(&username_key(old));
            }
            if let Some(new) = new {
                inner.usernames.insert(username_key(new), user.id.clone());
            }
        }
        let Some(stored) = inner.users.get_mut(&user.id) else { return Ok(ProfileUpdated::Conflict) };
        change.apply_to(stored);
        Ok(ProfileUpdated::Updated(Box::new(stored.clone())))
    }

    async fn change_email(
        &self,
        user_id: &str,
        old: &Email,
        new: &Email,
        version: u64,
    ) -> anyhow::Result<EmailChanged> {
        let mut inner = self.lock();
        let current = inner.users.get(user_id).is_some_and(|u| u.email == *old && u.token_version == version)
            && inner.emails.get(old.as_str()).is_some_and(|holder| holder == user_id);
        if !current {
            return Ok(EmailChanged::Conflict);
        }
        if inner.emails.contains_key(new.as_str()) {
            return Ok(EmailChanged::EmailTaken);
        }
        inner.emails.remove(old.as_str());
        inner.emails.insert(new.as_str().to_owned(), user_id.to_owned());
        if let Some(user) = inner.users.get_mut(user_id) {
            user.email = new.clone();
            user.token_version += 1;
        }
        Ok(EmailChanged::Changed)
    }

    async fn delete_user(&self, user: &User) -> anyhow::Result<bool> {
        let mut inner = self.lock();
        let unchanged =
            inner.users.get(&user.id).is_some_and(|u| u.email == user.email && u.token_version == user.token_version)
                && inner.emails.get(user.email.as_str()).is_some_and(|holder| *holder == user.id);
        if !unchanged {
            return Ok(false);
        }
        inner.users.remove(&user.id);
        inner.emails.remove(user.email.as_str());
        if let Some(username) = user.profile.get(&Attribute::PreferredUsername) {
            inner.usernames.remove(&username_key(username));
        }
        for identity in &user.identities {
            let key = (identity.issuer.clone(), identity.subject.clone());
            if inner.identities.get(&key).is_some_and(|holder| *holder == user.id) {
                inner.identities.remove(&key);
            }
        }
        Ok(true)
    }

    async fn set_deactivated(&self, user: &User, deactivated: bool) -> anyhow::Result<bool> {
        let mut inner = self.lock();
        let Some(stored) = inner.users.get_mut(&user.id).filter(|u| u.email == user.email) else {
            return Ok(false);
        };
        stored.deactivated = deactivated;
        if deactivated {
            stored.token_version += 1;
            inner.lockouts.insert(user.email.as_str().to_owned(), MOVED_IN_LOCKED);
        } else {
            inner.lockouts.remove(user.email.as_str());
        }
        Ok(true)
    }

    async fn users_by_email_prefix(
        &self,
        prefix: &str,
        limit: usize,
        cursor: Option<&str>,
    ) -> anyhow::Result<Page<User>> {
        let valid = cursor.is_none_or(|c| c.starts_with(prefix) && Email::parse(c).is_ok_and(|e| e.as_str() == c));
        if !valid {
            return Err(BadCursor.into());
        }
        let inner = self.lock();
        let mut found: Vec<(String, User)> = inner
            .emails
            .iter()
            .filter(|(email, _)| email.starts_with(prefix) && cursor.is_none_or(|c| email.as_str() > c))
            .filter_map(|(email, id)| Some((email.clone(), inner.users.get(id)?.clone())))
            .collect();
        found.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        found.truncate(limit + 1);
        Ok(page(found, limit))
    }
}
