//! The embedded store of the local server: everything in one map behind one lock, so each
//! operation is trivially atomic. Forgets everything on restart.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;

use super::{
    ActivityStore, AuthenticatorStore, BadCursor, CodeStore, Created, GrantStore, LockoutStore, Reset, Rotated,
    SessionStore, UserStore, page,
};
use crate::clock::UnixTime;
use crate::config::CodeLimits;
use crate::model::{
    Activity, Attempt, CodeState, Email, Grant, GrantKind, Issued, Lockout, NewCode, Page, Purpose, Redeemed,
    SOURCE_WINDOW_SECONDS, Session, SourceCounter, SourceSlot, User,
};

/// An in-memory [`super::Store`].
#[derive(Debug, Default)]
pub struct MemoryStore(Mutex<Inner>);

#[derive(Debug, Default)]
struct Inner {
    users: HashMap<String, User>,
    /// Email → user id: the uniqueness claim.
    emails: HashMap<String, String>,
    codes: HashMap<(String, Purpose), CodeState>,
    grants: HashMap<String, Grant>,
    /// Grant hash → uses counted.
    grant_attempts: HashMap<String, u32>,
    sessions: HashMap<String, Session>,
    /// Email → its lockout counter.
    lockouts: HashMap<String, Lockout>,
    /// (source, counter, window start) → slots taken.
    sources: HashMap<(String, SourceCounter, UnixTime), u32>,
    /// User id → activity by sort key, with each entry's expiry.
    activity: HashMap<String, BTreeMap<String, (Activity, UnixTime)>>,
}

impl Inner {
    fn set_password(&mut self, user_id: &str, old_hash: &str, new_hash: &str, history: &[String]) -> bool {
        match self.users.get_mut(user_id) {
            Some(user) if user.password_hash == old_hash => {
                user.password_hash = new_hash.to_owned();
                user.password_history = history.to_vec();
                user.token_version += 1;
                true
            }
            _ => false,
        }
    }
}

/// Where an entry of a list sorts, newest last: its time, then its id. Also the list's
/// cursor, which [`checked_cursor`] checks.
fn order_key(at: UnixTime, id: &str) -> String {
    format!("{at:012}#{id}")
}

/// A cursor this store gave out, or [`BadCursor`].
fn checked_cursor(text: Option<&str>) -> Result<Option<&str>, BadCursor> {
    let Some(text) = text else { return Ok(None) };
    let valid = text.split_once('#').is_some_and(|(at, id)| {
        at.len() == 12 && at.bytes().all(|b| b.is_ascii_digit()) && !id.is_empty() && id.len() <= 64
    });
    if valid { Ok(Some(text)) } else { Err(BadCursor) }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave a half-applied operation: every
        // operation computes its result before it writes.
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait]
impl UserStore for MemoryStore {
    async fn create_user(&self, user: &User, grant_hash: &str, now: UnixTime) -> anyhow::Result<Created> {
        let mut inner = self.lock();
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

    async fn set_name(&self, user_id: &str, name: &str) -> anyhow::Result<Option<User>> {
        Ok(self.lock().users.get_mut(user_id).map(|user| {
            user.name = name.to_owned();
            user.clone()
        }))
    }
}

#[async_trait]
impl CodeStore for MemoryStore {
    async fn issue_code(
        &self,
        email: &Email,
        purpose: Purpose,
        code: NewCode,
        now: UnixTime,
        limits: &CodeLimits,
    ) -> anyhow::Result<Issued> {
        let mut inner = self.lock();
        let key = (email.as_str().to_owned(), purpose);
        match CodeState::issue(inner.codes.get(&key), code, now, limits) {
            Ok(state) => {
                inner.codes.insert(key, state);
                Ok(Issued::Issued)
            }
            Err(retry_after) => Ok(Issued::Throttled { retry_after }),
        }
    }

    async fn redeem_code(
        &self,
        email: &Email,
        purpose: Purpose,
        hash: &str,
        now: UnixTime,
        limits: &CodeLimits,
    ) -> anyhow::Result<Redeemed> {
        let mut inner = self.lock();
        let key = (email.as_str().to_owned(), purpose);
        let Some(state) = inner.codes.get(&key) else {
            return Ok(Redeemed::Rejected);
        };
        let (next, answer) = state.redeem(hash, now, limits);
        if let Some(next) = next {
            inner.codes.insert(key, next);
        }
        Ok(answer)
    }
}

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

    async fn record_failure(&self, email: &Email, max: u32, window: i64, now: UnixTime) -> anyhow::Result<u32> {
        let mut inner = self.lock();
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
        self.lock().lockouts.remove(email.as_str());
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

#[async_trait]
impl ActivityStore for MemoryStore {
    async fn record_activity(&self, user_id: &str, activity: &Activity, expires_at: UnixTime) -> anyhow::Result<()> {
        let mut inner = self.lock();
        let log = inner.activity.entry(user_id.to_owned()).or_default();
        log.insert(order_key(activity.at, &activity.id), (activity.clone(), expires_at));
        Ok(())
    }

    async fn activity(
        &self,
        user_id: &str,
        now: UnixTime,
        limit: usize,
        cursor: Option<&str>,
    ) -> anyhow::Result<Page<Activity>> {
        let cursor = checked_cursor(cursor)?;
        let inner = self.lock();
        let Some(log) = inner.activity.get(user_id) else {
            return Ok(Page { items: Vec::new(), next: None });
        };
        let before = cursor.map_or(std::ops::Bound::Unbounded, |c| std::ops::Bound::Excluded(c.to_owned()));
        let entries =
            log.range((std::ops::Bound::Unbounded, before)).rev().filter(|(_, (_, expires_at))| *expires_at > now);
        let items = entries.take(limit + 1).map(|(key, (activity, _))| (key.clone(), activity.clone()));
        Ok(page(items.collect(), limit))
    }
}

#[async_trait]
impl AuthenticatorStore for MemoryStore {
    async fn set_totp_pending(&self, user_id: &str, secret: &str) -> anyhow::Result<bool> {
        Ok(match self.lock().users.get_mut(user_id) {
            Some(user) if !user.mfa_enabled => {
                user.totp_pending = Some(secret.to_owned());
                true
            }
            _ => false,
        })
    }

    async fn enable_totp(&self, user_id: &str, secret: &str, step: u64, recovery: &[String]) -> anyhow::Result<bool> {
        Ok(match self.lock().users.get_mut(user_id) {
            Some(user) if !user.mfa_enabled && user.totp_pending.as_deref() == Some(secret) => {
                user.totp_secret = user.totp_pending.take();
                user.mfa_enabled = true;
                user.totp_last_step = Some(step);
                user.recovery_codes = recovery.to_vec();
                user.token_version += 1;
                true
            }
            _ => false,
        })
    }

    async fn accept_totp_step(&self, user_id: &str, step: u64) -> anyhow::Result<bool> {
        Ok(match self.lock().users.get_mut(user_id) {
            Some(user) if user.mfa_enabled && user.totp_last_step.is_none_or(|last| last < step) => {
                user.totp_last_step = Some(step);
                true
            }
            _ => false,
        })
    }

    async fn use_recovery_code(&self, user_id: &str, hash: &str) -> anyhow::Result<bool> {
        Ok(match self.lock().users.get_mut(user_id) {
            Some(user) if user.mfa_enabled => {
                let before = user.recovery_codes.len();
                user.recovery_codes.retain(|h| h != hash);
                user.recovery_codes.len() < before
            }
            _ => false,
        })
    }

    async fn disable_totp(&self, user_id: &str) -> anyhow::Result<bool> {
        Ok(self
            .lock()
            .users
            .get_mut(user_id)
            .map(|user| {
                user.mfa_enabled = false;
                user.totp_secret = None;
                user.totp_pending = None;
                user.totp_last_step = None;
                user.recovery_codes.clear();
                user.token_version += 1;
            })
            .is_some())
    }
}
