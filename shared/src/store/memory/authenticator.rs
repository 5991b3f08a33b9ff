//! The second factor.

use async_trait::async_trait;

use super::MemoryStore;
use crate::store::AuthenticatorStore;

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

    async fn replace_recovery_codes(&self, user_id: &str, hashes: &[String]) -> anyhow::Result<bool> {
        Ok(match self.lock().users.get_mut(user_id) {
            Some(user) if user.mfa_enabled => {
                user.recovery_codes = hashes.to_vec();
                true
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
