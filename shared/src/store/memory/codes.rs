//! Emailed codes.

use async_trait::async_trait;

use super::MemoryStore;
use crate::clock::UnixTime;
use crate::config::CodeLimits;
use crate::model::{CodeState, Email, Issued, NewCode, Purpose, Redeemed, Sent};
use crate::store::CodeStore;

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
        let previous = inner.codes.get(&key).cloned();
        match CodeState::issue(previous.as_ref(), code, now, limits) {
            Ok(state) => {
                inner.codes.insert(key, state.clone());
                Ok(Issued::Issued(Sent { issued: state, previous }))
            }
            Err(retry_after) => Ok(Issued::Throttled { retry_after }),
        }
    }

    async fn withdraw_code(&self, email: &Email, purpose: Purpose, sent: &Sent) -> anyhow::Result<()> {
        let mut inner = self.lock();
        let key = (email.as_str().to_owned(), purpose);
        let Some(current) = inner.codes.get_mut(&key) else { return Ok(()) };
        if *current == sent.issued {
            match &sent.previous {
                Some(previous) => *current = previous.clone(),
                None => {
                    inner.codes.remove(&key);
                }
            }
        } else if current.code_hash == sent.issued.code_hash {
            current.code_hash = None;
            current.context = None;
        }
        Ok(())
    }

    async fn discard_code(&self, email: &Email, purpose: Purpose) -> anyhow::Result<()> {
        if let Some(state) = self.lock().codes.get_mut(&(email.as_str().to_owned(), purpose)) {
            state.code_hash = None;
            state.context = None;
        }
        Ok(())
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
