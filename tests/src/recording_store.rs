//! A store that records the name of every operation called on it, then delegates it to a
//! real store: a request's sequence of store operations, to compare across kinds of address
//! (docs/SECURITY.md, "Enumeration").

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use stepauth::clock::UnixTime;
use stepauth::config::CodeLimits;
use stepauth::model::{
    Activity, Attempt, DeliveryEvent, Email, Grant, GrantKind, Identity, Issued, LoginState, MailRecord, NewCode, Page,
    ProfileChange, Purpose, Redeemed, Sent, Session, SessionUse, SourceCounter, SourceSlot, User,
};
use stepauth::store::{
    ActivityStore, AuthenticatorStore, CodeStore, Created, EmailChanged, GrantStore, IdentityStore, LockoutStore,
    MailLogStore, ProfileUpdated, Reset, Rotated, SessionStore, Store, UserStore,
};

/// The recording wrapper.
#[derive(Debug)]
pub struct RecordingStore {
    inner: Arc<dyn Store>,
    calls: Mutex<Vec<&'static str>>,
}

impl RecordingStore {
    /// Records the operations called on `inner`.
    pub fn new(inner: Arc<dyn Store>) -> Self {
        Self { inner, calls: Mutex::new(Vec::new()) }
    }

    fn record(&self, name: &'static str) {
        self.calls.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(name);
    }

    /// The operations recorded since the last call, in order; starts a new recording.
    pub fn take(&self) -> Vec<&'static str> {
        std::mem::take(&mut *self.calls.lock().unwrap_or_else(std::sync::PoisonError::into_inner))
    }
}

#[async_trait]
impl UserStore for RecordingStore {
    async fn create_user(&self, user: &User, grant_hash: &str, now: UnixTime) -> anyhow::Result<Created> {
        self.record("create_user");
        self.inner.create_user(user, grant_hash, now).await
    }

    async fn user(&self, id: &str) -> anyhow::Result<Option<User>> {
        self.record("user");
        self.inner.user(id).await
    }

    async fn user_by_email(&self, email: &Email) -> anyhow::Result<Option<User>> {
        self.record("user_by_email");
        self.inner.user_by_email(email).await
    }

    async fn users(&self, limit: usize, cursor: Option<&str>) -> anyhow::Result<Page<User>> {
        self.record("users");
        self.inner.users(limit, cursor).await
    }

    async fn record_login(&self, user_id: &str, at: UnixTime) -> anyhow::Result<()> {
        self.record("record_login");
        self.inner.record_login(user_id, at).await
    }

    async fn bump_token_version(&self, user_id: &str) -> anyhow::Result<Option<u64>> {
        self.record("bump_token_version");
        self.inner.bump_token_version(user_id).await
    }

    async fn set_password(
        &self,
        user_id: &str,
        old_hash: &str,
        new_hash: &str,
        history: &[String],
    ) -> anyhow::Result<bool> {
        self.record("set_password");
        self.inner.set_password(user_id, old_hash, new_hash, history).await
    }

    async fn import_user(&self, user: &User, locked: bool) -> anyhow::Result<Created> {
        self.record("import_user");
        self.inner.import_user(user, locked).await
    }

    async fn rehash_password(&self, user_id: &str, old_hash: &str, new_hash: &str) -> anyhow::Result<bool> {
        self.record("rehash_password");
        self.inner.rehash_password(user_id, old_hash, new_hash).await
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
        self.record("reset_password");
        self.inner.reset_password(user_id, grant_hash, old_hash, new_hash, history, now).await
    }

    async fn update_profile(&self, user: &User, change: &ProfileChange) -> anyhow::Result<ProfileUpdated> {
        self.record("update_profile");
        self.inner.update_profile(user, change).await
    }

    async fn change_email(
        &self,
        user_id: &str,
        old: &Email,
        new: &Email,
        version: u64,
    ) -> anyhow::Result<EmailChanged> {
        self.record("change_email");
        self.inner.change_email(user_id, old, new, version).await
    }

    async fn delete_user(&self, user: &User) -> anyhow::Result<bool> {
        self.record("delete_user");
        self.inner.delete_user(user).await
    }

    async fn set_deactivated(&self, user: &User, deactivated: bool) -> anyhow::Result<bool> {
        self.record("set_deactivated");
        self.inner.set_deactivated(user, deactivated).await
    }

    async fn users_by_email_prefix(
        &self,
        prefix: &str,
        limit: usize,
        cursor: Option<&str>,
    ) -> anyhow::Result<Page<User>> {
        self.record("users_by_email_prefix");
        self.inner.users_by_email_prefix(prefix, limit, cursor).await
    }
}

#[async_trait]
impl CodeStore for RecordingStore {
    async fn issue_code(
        &self,
        email: &Email,
        purpose: Purpose,
        code: NewCode,
        now: UnixTime,
        limits: &CodeLimits,
    ) -> anyhow::Result<Issued> {
        self.record("issue_code");
        self.inner.issue_code(email, purpose, code, now, limits).await
    }

    async fn withdraw_code(&self, email: &Email, purpose: Purpose, sent: &Sent) -> anyhow::Result<()> {
        self.record("withdraw_code");
        self.inner.withdraw_code(email, purpose, sent).await
    }

    async fn discard_code(&self, email: &Email, purpose: Purpose) -> anyhow::Result<()> {
        self.record("discard_code");
        self.inner.discard_code(email, purpose).await
    }

    async fn redeem_code(
        &self,
        email: &Email,
        purpose: Purpose,
        hash: &str,
        now: UnixTime,
        limits: &CodeLimits,
    ) -> anyhow::Result<Redeemed> {
        self.record("redeem_code");
        self.inner.redeem_code(email, purpose, hash, now, limits).await
    }
}

#[async_trait]
impl GrantStore for RecordingStore {
    async fn put_grant(&self, grant: &Grant) -> anyhow::Result<()> {
        self.record("put_grant");
        self.inner.put_grant(grant).await
    }

    async fn grant(&self, token_hash: &str, kind: GrantKind, now: UnixTime) -> anyhow::Result<Option<Grant>> {
        self.record("grant");
        self.inner.grant(token_hash, kind, now).await
    }

    async fn attempt_grant(
        &self,
        token_hash: &str,
        kind: GrantKind,
        max: u32,
        now: UnixTime,
    ) -> anyhow::Result<Option<Grant>> {
        self.record("attempt_grant");
        self.inner.attempt_grant(token_hash, kind, max, now).await
    }

    async fn take_grant(&self, token_hash: &str) -> anyhow::Result<bool> {
        self.record("take_grant");
        self.inner.take_grant(token_hash).await
    }
}

#[async_trait]
impl SessionStore for RecordingStore {
    async fn put_session(&self, session: &Session) -> anyhow::Result<()> {
        self.record("put_session");
        self.inner.put_session(session).await
    }

    async fn session(&self, id: &str, now: UnixTime) -> anyhow::Result<Option<Session>> {
        self.record("session");
        self.inner.session(id, now).await
    }

    async fn rotate_session(&self, id: &str, old: &str, new: &str, used: &SessionUse) -> anyhow::Result<Rotated> {
        self.record("rotate_session");
        self.inner.rotate_session(id, old, new, used).await
    }

    async fn delete_session(&self, id: &str) -> anyhow::Result<()> {
        self.record("delete_session");
        self.inner.delete_session(id).await
    }

    async fn user_sessions(
        &self,
        user_id: &str,
        version: u64,
        now: UnixTime,
        limit: usize,
        cursor: Option<&str>,
    ) -> anyhow::Result<Page<Session>> {
        self.record("user_sessions");
        self.inner.user_sessions(user_id, version, now, limit, cursor).await
    }

    async fn delete_user_sessions(&self, user_id: &str) -> anyhow::Result<usize> {
        self.record("delete_user_sessions");
        self.inner.delete_user_sessions(user_id).await
    }
}

#[async_trait]
impl LockoutStore for RecordingStore {
    async fn begin_attempt(&self, email: &Email, max: u32, now: UnixTime) -> anyhow::Result<Attempt> {
        self.record("begin_attempt");
        self.inner.begin_attempt(email, max, now).await
    }

    async fn record_failure(
        &self,
        email: &Email,
        attempt: &str,
        max: u32,
        window: i64,
        now: UnixTime,
    ) -> anyhow::Result<u32> {
        self.record("record_failure");
        self.inner.record_failure(email, attempt, max, window, now).await
    }

    async fn release_attempt(&self, email: &Email) -> anyhow::Result<()> {
        self.record("release_attempt");
        self.inner.release_attempt(email).await
    }

    async fn clear_failures(&self, email: &Email) -> anyhow::Result<()> {
        self.record("clear_failures");
        self.inner.clear_failures(email).await
    }

    async fn failures(&self, emails: &[Email], now: UnixTime) -> anyhow::Result<Vec<u32>> {
        self.record("failures");
        self.inner.failures(emails, now).await
    }

    async fn take_source_slot(
        &self,
        source: &str,
        counter: SourceCounter,
        max: u32,
        now: UnixTime,
    ) -> anyhow::Result<Option<SourceSlot>> {
        self.record("take_source_slot");
        self.inner.take_source_slot(source, counter, max, now).await
    }

    async fn release_source_slot(&self, slot: &SourceSlot) -> anyhow::Result<()> {
        self.record("release_source_slot");
        self.inner.release_source_slot(slot).await
    }
}

#[async_trait]
impl ActivityStore for RecordingStore {
    async fn record_activity(&self, user_id: &str, activity: &Activity, expires_at: UnixTime) -> anyhow::Result<()> {
        self.record("record_activity");
        self.inner.record_activity(user_id, activity, expires_at).await
    }

    async fn activity(
        &self,
        user_id: &str,
        now: UnixTime,
        limit: usize,
        cursor: Option<&str>,
    ) -> anyhow::Result<Page<Activity>> {
        self.record("activity");
        self.inner.activity(user_id, now, limit, cursor).await
    }

    async fn delete_activity(&self, user_id: &str) -> anyhow::Result<()> {
        self.record("delete_activity");
        self.inner.delete_activity(user_id).await
    }
}

#[async_trait]
impl MailLogStore for RecordingStore {
    async fn record_mail(&self, record: &MailRecord, expires_at: UnixTime) -> anyhow::Result<()> {
        self.record("record_mail");
        self.inner.record_mail(record, expires_at).await
    }

    async fn record_delivery(&self, event: &DeliveryEvent, now: UnixTime) -> anyhow::Result<Option<MailRecord>> {
        self.record("record_delivery");
        self.inner.record_delivery(event, now).await
    }

    async fn suppress(&self, address: &str, reason: &str, at: UnixTime) -> anyhow::Result<()> {
        self.record("suppress");
        self.inner.suppress(address, reason, at).await
    }

    async fn is_suppressed(&self, address: &str) -> anyhow::Result<bool> {
        self.record("is_suppressed");
        self.inner.is_suppressed(address).await
    }

    async fn mails(
        &self,
        user_id: &str,
        address: &str,
        now: UnixTime,
        limit: usize,
        cursor: Option<&str>,
    ) -> anyhow::Result<Page<MailRecord>> {
        self.record("mails");
        self.inner.mails(user_id, address, now, limit, cursor).await
    }

    async fn delete_mails(&self, user_id: &str) -> anyhow::Result<()> {
        self.record("delete_mails");
        self.inner.delete_mails(user_id).await
    }
}

#[async_trait]
impl AuthenticatorStore for RecordingStore {
    async fn set_totp_pending(&self, user_id: &str, secret: &str) -> anyhow::Result<bool> {
        self.record("set_totp_pending");
        self.inner.set_totp_pending(user_id, secret).await
    }

    async fn enable_totp(&self, user_id: &str, secret: &str, step: u64, recovery: &[String]) -> anyhow::Result<bool> {
        self.record("enable_totp");
        self.inner.enable_totp(user_id, secret, step, recovery).await
    }

    async fn accept_totp_step(&self, user_id: &str, step: u64) -> anyhow::Result<bool> {
        self.record("accept_totp_step");
        self.inner.accept_totp_step(user_id, step).await
    }

    async fn use_recovery_code(&self, user_id: &str, hash: &str) -> anyhow::Result<bool> {
        self.record("use_recovery_code");
        self.inner.use_recovery_code(user_id, hash).await
    }

    async fn replace_recovery_codes(&self, user_id: &str, hashes: &[String]) -> anyhow::Result<bool> {
        self.record("replace_recovery_codes");
        self.inner.replace_recovery_codes(user_id, hashes).await
    }

    async fn disable_totp(&self, user_id: &str) -> anyhow::Result<bool> {
        self.record("disable_totp");
        self.inner.disable_totp(user_id).await
    }
}

#[async_trait]
impl IdentityStore for RecordingStore {
    async fn put_login_state(&self, state: &LoginState) -> anyhow::Result<()> {
        self.record("put_login_state");
        self.inner.put_login_state(state).await
    }

    async fn take_login_state(&self, state_hash: &str, now: UnixTime) -> anyhow::Result<Option<LoginState>> {
        self.record("take_login_state");
        self.inner.take_login_state(state_hash, now).await
    }

    async fn use_nonce(&self, nonce_hash: &str, expires_at: UnixTime, now: UnixTime) -> anyhow::Result<bool> {
        self.record("use_nonce");
        self.inner.use_nonce(nonce_hash, expires_at, now).await
    }

    async fn user_by_identity(&self, issuer: &str, subject: &str) -> anyhow::Result<Option<User>> {
        self.record("user_by_identity");
        self.inner.user_by_identity(issuer, subject).await
    }

    async fn create_user_with_identity(&self, user: &User, identity: &Identity) -> anyhow::Result<Created> {
        self.record("create_user_with_identity");
        self.inner.create_user_with_identity(user, identity).await
    }

    async fn link_identity(&self, user_id: &str, identity: &Identity) -> anyhow::Result<bool> {
        self.record("link_identity");
        self.inner.link_identity(user_id, identity).await
    }

    async fn unlink_identity(&self, user_id: &str, identity: &Identity, position: usize) -> anyhow::Result<bool> {
        self.record("unlink_identity");
        self.inner.unlink_identity(user_id, identity, position).await
    }
}
