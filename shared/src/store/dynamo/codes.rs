//! Emailed codes: one item per email and purpose, holding the code and its window.

use anyhow::Context as _;
use async_trait::async_trait;
use aws_sdk_dynamodb::types::ReturnValue;

use super::DynamoStore;
use super::client::Expr;
use super::items::{code_item, code_state, n, opt_s, s};
use super::keys;
use crate::clock::UnixTime;
use crate::config::CodeLimits;
use crate::model::{CodeState, Email, Issued, NewCode, Purpose, Redeemed, Sent};
use crate::store::CodeStore;

#[async_trait]
impl CodeStore for DynamoStore {
    async fn issue_code(
        &self,
        email: &Email,
        purpose: Purpose,
        code: NewCode,
        now: UnixTime,
        limits: &CodeLimits,
    ) -> anyhow::Result<Issued> {
        // One read and one conditional write, whatever the address's state: a send costs the
        // same round trips for an address with a code pending as for any other, so its
        // timing does not tell them apart (docs/SECURITY.md, "Enumeration"). The write is
        // conditioned on the counts read, so a concurrent send or guess makes it go round
        // again and no count is lost.
        for _ in 0..5 {
            let stored = self.get(keys::code(email, purpose), "a code").await?;
            let current = stored.as_ref().map(code_state).transpose()?;
            let next = match CodeState::issue(current.as_ref(), code.clone(), now, limits) {
                Ok(next) => next,
                Err(retry_after) => return Ok(Issued::Throttled { retry_after }),
            };
            let unchanged = match &current {
                None => Expr::only_if("attribute_not_exists(pk)"),
                Some(read) => Expr::only_if(
                    "sends = :sends AND failures = :failures AND attempts = :attempts AND last_sent_at = :last",
                )
                .value(":sends", n(read.sends))
                .value(":failures", n(read.failures))
                .value(":attempts", n(read.attempts))
                .value(":last", n(read.last_sent_at)),
            };
            if self.put(code_item(email, purpose, &next), Some(unchanged), "issuing a code").await? {
                return Ok(Issued::Issued(Sent { issued: next, previous: current }));
            }
        }
        anyhow::bail!("issuing a code: the item kept changing under contention")
    }

    async fn withdraw_code(&self, email: &Email, purpose: Purpose, sent: &Sent) -> anyhow::Result<()> {
        let hash = sent.issued.code_hash.as_deref().unwrap_or_default();
        // Only while nothing touched the item since the send: its code, its counts.
        let untouched = || {
            Expr::only_if("code_hash = :h AND sends = :sends AND failures = :failures AND attempts = :attempts")
                .value(":h", s(hash))
                .value(":sends", n(sent.issued.sends))
                .value(":failures", n(sent.issued.failures))
                .value(":attempts", n(sent.issued.attempts))
        };
        let restored = match &sent.previous {
            Some(previous) => {
                self.put(code_item(email, purpose, previous), Some(untouched()), "withdrawing a code").await?
            }
            None => self.delete(keys::code(email, purpose), Some(untouched()), "withdrawing a code").await?,
        };
        if !restored {
            let kill = Expr::update("REMOVE code_hash, context").condition("code_hash = :h").value(":h", s(hash));
            self.update(keys::code(email, purpose), kill, ReturnValue::None, "withdrawing a code").await?;
        }
        Ok(())
    }

    async fn discard_code(&self, email: &Email, purpose: Purpose) -> anyhow::Result<()> {
        let discard = Expr::update("REMOVE code_hash, context").condition("attribute_exists(pk)");
        self.update(keys::code(email, purpose), discard, ReturnValue::None, "discarding a code").await.map(|_| ())
    }

    async fn redeem_code(
        &self,
        email: &Email,
        purpose: Purpose,
        hash: &str,
        now: UnixTime,
        limits: &CodeLimits,
    ) -> anyhow::Result<Redeemed> {
        // docs/SECURITY.md, "Emailed codes": one conditional write decides; fifty racers get
        // one success.
        let redeem = Expr::update("REMOVE code_hash")
            .condition(
                "code_hash = :h AND code_expires_at > :now AND expires_at > :now \
                 AND attempts < :max AND failures < :budget",
            )
            .value(":h", s(hash))
            .value(":now", n(now))
            .value(":max", n(limits.max_attempts))
            .value(":budget", n(limits.max_failures_per_window));
        if let Some(old) =
            self.update(keys::code(email, purpose), redeem, ReturnValue::AllOld, "redeeming a code").await?
        {
            return Ok(Redeemed::Redeemed { context: opt_s(&old, "context") });
        }
        let count = Expr::update("SET attempts = attempts + :one, failures = failures + :one")
            .condition("attribute_exists(code_hash) AND code_expires_at > :now AND expires_at > :now")
            .value(":one", n(1))
            .value(":now", n(now));
        match self.update(keys::code(email, purpose), count, ReturnValue::AllNew, "counting a wrong code").await? {
            Some(item) => {
                let state = code_state(&item).context("the updated code item")?;
                Ok(state.failure_answer(now, limits))
            }
            None => Ok(Redeemed::Rejected),
        }
    }
}
