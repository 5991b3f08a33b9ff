//! The second factor, kept on the user's item.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};

use super::DynamoStore;
use super::client::Expr;
use super::items::{n, s};
use super::keys;
use crate::store::AuthenticatorStore;

impl DynamoStore {
    /// Changes the user's item by `expr`: `false` if its condition did not hold.
    async fn change_user(&self, user_id: &str, expr: Expr, what: &str) -> anyhow::Result<bool> {
        Ok(self.update(keys::user(user_id), expr, ReturnValue::None, what).await?.is_some())
    }
}

#[async_trait]
impl AuthenticatorStore for DynamoStore {
    async fn set_totp_pending(&self, user_id: &str, secret: &str) -> anyhow::Result<bool> {
        let pending = Expr::update("SET totp_pending = :secret")
            .condition("attribute_exists(pk) AND mfa_enabled <> :true")
            .value(":secret", s(secret))
            .value(":true", AttributeValue::Bool(true));
        self.change_user(user_id, pending, "storing a pending TOTP secret").await
    }

    async fn enable_totp(&self, user_id: &str, secret: &str, step: u64, recovery: &[String]) -> anyhow::Result<bool> {
        let enable = Expr::update(
            "SET totp_secret = :secret, mfa_enabled = :true, totp_last_step = :step, recovery_codes = :codes \
             REMOVE totp_pending ADD token_version :one",
        )
        .condition("totp_pending = :secret AND mfa_enabled <> :true")
        .value(":secret", s(secret))
        .value(":true", AttributeValue::Bool(true))
        .value(":step", n(step))
        .value(":codes", AttributeValue::Ss(recovery.to_vec()))
        .value(":one", n(1));
        self.change_user(user_id, enable, "enabling TOTP").await
    }

    async fn accept_totp_step(&self, user_id: &str, step: u64) -> anyhow::Result<bool> {
        let accept = Expr::update("SET totp_last_step = :step")
            .condition("mfa_enabled = :true AND (attribute_not_exists(totp_last_step) OR totp_last_step < :step)")
            .value(":true", AttributeValue::Bool(true))
            .value(":step", n(step));
        self.change_user(user_id, accept, "accepting a TOTP step").await
    }

    async fn use_recovery_code(&self, user_id: &str, hash: &str) -> anyhow::Result<bool> {
        let take = Expr::update("DELETE recovery_codes :codes")
            .condition("mfa_enabled = :true AND contains(recovery_codes, :code)")
            .value(":true", AttributeValue::Bool(true))
            .value(":codes", AttributeValue::Ss(vec![hash.to_owned()]))
            .value(":code", s(hash));
        self.change_user(user_id, take, "using a recovery code").await
    }

    async fn replace_recovery_codes(&self, user_id: &str, hashes: &[String]) -> anyhow::Result<bool> {
        let replace = Expr::update("SET recovery_codes = :codes")
            .condition("mfa_enabled = :true")
            .value(":true", AttributeValue::Bool(true))
            .value(":codes", AttributeValue::Ss(hashes.to_vec()));
        self.change_user(user_id, replace, "replacing the recovery codes").await
    }

    async fn disable_totp(&self, user_id: &str) -> anyhow::Result<bool> {
        let disable = Expr::update(
            "SET mfa_enabled = :false ADD token_version :one \
             REMOVE totp_secret, totp_pending, totp_last_step, recovery_codes",
        )
        .condition("attribute_exists(pk)")
        .value(":false", AttributeValue::Bool(false))
        .value(":one", n(1));
        self.change_user(user_id, disable, "disabling TOTP").await
    }
}
