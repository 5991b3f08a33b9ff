//! The DynamoDB store: one table, keys `pk` (partition) and `sk` (sort), `expires_at` as
//! the TTL attribute. Item kinds:
//!
//! | entity        | pk                | sk                 |
//! |---------------|-------------------|--------------------|
//! | user          | `USER#<id>`       | `USER`             |
//! | email claim   | `EMAIL#<email>`   | `CLAIM`            |
//! | code + window | `EMAIL#<email>`   | `CODE#<purpose>`   |
//! | grant         | `GRANT#<digest>`  | `GRANT`            |
//! | session       | `SESSION#<id>`    | `SESSION`          |
//! | lockout       | `EMAIL#<email>`   | `LOCKOUT`          |
//! | source counter| `SOURCE#<ip>`     | `<counter>#<window start>` |
//! | activity      | `USER#<id>`       | `ACT#<time>#<id>`  |
//!
//! Users also carry `gsi1pk = "USER"` and `gsi1sk = <created_at>#<id>`, so that the index
//! `by-created` lists them newest first for admins.
//!
//! Every rule is enforced by the write's condition, never by a read before it; reads
//! filter on `expires_at` because TTL deletion is cleanup, not enforcement.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::Context as _;
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, Delete, GlobalSecondaryIndex, KeySchemaElement, KeyType,
    KeysAndAttributes, Projection, ProjectionType, Put, ReturnValue, ScalarAttributeType, TimeToLiveSpecification,
    TransactWriteItem, Update,
};

use super::lockout::{LEASE_SECONDS, Lockout};
use super::{
    Activity, Attempt, CodeState, Created, Grant, GrantKind, Issued, NewCode, Page, Redeemed, Reset, Role, Rotated,
    SOURCE_WINDOW_SECONDS, Session, SourceCounter, SourceSlot, Store, Unavailable, User, activity_key, page,
    user_order_key,
};
use crate::clock::UnixTime;
use crate::codes::Purpose;
use crate::config::CodeLimits;
use crate::validate::Email;

type Item = HashMap<String, AttributeValue>;

/// The index listing users by creation time.
pub const USERS_INDEX: &str = "by-created";

/// A [`Store`] on one DynamoDB table.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

impl DynamoStore {
    /// A store on `table`, through `client`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into() }
    }

    /// Creates the table as `infra/template.yaml` declares it (for tests and local runs).
    pub async fn create_table(client: &Client, table: &str) -> anyhow::Result<()> {
        let attribute = |name: &str| {
            AttributeDefinition::builder().attribute_name(name).attribute_type(ScalarAttributeType::S).build()
        };
        let key = |name: &str, key_type| KeySchemaElement::builder().attribute_name(name).key_type(key_type).build();
        client
            .create_table()
            .table_name(table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(attribute("pk")?)
            .attribute_definitions(attribute("sk")?)
            .attribute_definitions(attribute("gsi1pk")?)
            .attribute_definitions(attribute("gsi1sk")?)
            .key_schema(key("pk", KeyType::Hash)?)
            .key_schema(key("sk", KeyType::Range)?)
            .global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name(USERS_INDEX)
                    .key_schema(key("gsi1pk", KeyType::Hash)?)
                    .key_schema(key("gsi1sk", KeyType::Range)?)
                    .projection(Projection::builder().projection_type(ProjectionType::All).build())
                    .build()?,
            )
            .send()
            .await
            .with_context(|| format!("creating table {table}"))?;
        client
            .update_time_to_live()
            .table_name(table)
            .time_to_live_specification(
                TimeToLiveSpecification::builder().enabled(true).attribute_name("expires_at").build()?,
            )
            .send()
            .await
            .with_context(|| format!("enabling TTL on {table}"))?;
        Ok(())
    }

    fn key(pk: String, sk: &str) -> Item {
        HashMap::from([("pk".to_owned(), s(pk)), ("sk".to_owned(), s(sk))])
    }

    fn source_key(slot: &SourceSlot) -> Item {
        Self::key(format!("SOURCE#{}", slot.source), &format!("{}#{:012}", slot.counter.as_str(), slot.window_start))
    }

    fn lockout_key(email: &Email) -> Item {
        Self::key(format!("EMAIL#{email}"), "LOCKOUT")
    }

    /// Stores `next` in place of `current` (as read), if nobody changed it meanwhile.
    async fn replace_lockout(&self, email: &Email, current: Option<&Lockout>, next: &Lockout) -> anyhow::Result<bool> {
        let mut item = Self::lockout_key(email);
        item.extend([
            ("kind".to_owned(), s("lockout")),
            ("used".to_owned(), n(next.used)),
            ("failures".to_owned(), n(next.failures)),
            ("lease_until".to_owned(), n(next.lease_until)),
        ]);
        if let Some(at) = next.expires_at {
            item.insert("expires_at".to_owned(), n(at));
        }
        let request = self.client.put_item().table_name(&self.table).set_item(Some(item));
        let request = match current {
            None => request.condition_expression("attribute_not_exists(pk)"),
            Some(current) => request
                .condition_expression("used = :used AND failures = :failures AND lease_until = :lease")
                .expression_attribute_values(":used", n(current.used))
                .expression_attribute_values(":failures", n(current.failures))
                .expression_attribute_values(":lease", n(current.lease_until)),
        };
        match request.send().await {
            Ok(_) => Ok(true),
            Err(e) if condition_failed(&e) => Ok(false),
            Err(e) => Err(call_failed(e, "replacing a lockout counter")),
        }
    }

    fn code_key(email: &Email, purpose: Purpose) -> Item {
        Self::key(format!("EMAIL#{email}"), &format!("CODE#{}", purpose.as_str()))
    }

    async fn get(&self, key: Item, what: &str) -> anyhow::Result<Option<Item>> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| call_failed(e, format!("reading {what}")))?;
        Ok(output.item)
    }

    fn user_update(
        &self,
        user_id: &str,
    ) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
        self.client.update_item().table_name(&self.table).set_key(Some(Self::key(format!("USER#{user_id}"), "USER")))
    }

    /// `true` if a conditional write happened, `false` if its condition failed.
    fn conditional<T, E, R>(&self, result: Result<T, SdkError<E, R>>, what: &str) -> anyhow::Result<bool>
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: std::fmt::Debug + Send + Sync + 'static,
    {
        match result {
            Ok(_) => Ok(true),
            Err(e) if condition_failed(&e) => Ok(false),
            Err(e) => Err(call_failed(e, what.to_owned())),
        }
    }

    fn password_update(
        &self,
        user_id: &str,
        old_hash: &str,
        new_hash: &str,
        history: &[String],
    ) -> anyhow::Result<Update> {
        Ok(Update::builder()
            .table_name(&self.table)
            .set_key(Some(Self::key(format!("USER#{user_id}"), "USER")))
            .update_expression("SET password_hash = :new, password_history = :history ADD token_version :one")
            .condition_expression("password_hash = :old")
            .expression_attribute_values(":new", s(new_hash))
            .expression_attribute_values(":old", s(old_hash))
            .expression_attribute_values(":history", strings(history))
            .expression_attribute_values(":one", n(1))
            .build()?)
    }

    /// Runs a transaction, retrying conflicts: `None` if it committed, or the index of the
    /// first item whose condition failed.
    async fn transact(&self, items: &[TransactWriteItem], what: &str) -> anyhow::Result<Option<usize>> {
        for attempt in 1..=5u32 {
            let error = match self.client.transact_write_items().set_transact_items(Some(items.to_vec())).send().await {
                Ok(_) => return Ok(None),
                Err(error) => error,
            };
            let reasons: Vec<String> = error
                .as_service_error()
                .and_then(|e| match e {
                    TransactWriteItemsError::TransactionCanceledException(e) => e.cancellation_reasons.as_deref(),
                    _ => None,
                })
                .map(|reasons| reasons.iter().map(|r| r.code().unwrap_or("None").to_owned()).collect())
                .unwrap_or_default();
            if let Some(failed) = reasons.iter().position(|r| r == "ConditionalCheckFailed") {
                return Ok(Some(failed));
            }
            if reasons.iter().any(|r| r == "TransactionConflict") && attempt < 5 {
                // Another transaction on the same items is in flight; once it ends, the
                // conditions decide.
                tokio::time::sleep(Duration::from_millis(20 * u64::from(attempt))).await;
                continue;
            }
            return Err(call_failed(error, what.to_owned()));
        }
        anyhow::bail!("{what}: the transaction kept conflicting")
    }

    async fn read_code(&self, email: &Email, purpose: Purpose) -> anyhow::Result<Option<CodeState>> {
        self.get(Self::code_key(email, purpose), "a code").await?.map(|item| code_state(&item)).transpose()
    }
}

/// Whether an SDK error is a failed condition (an expected outcome, not a failure).
fn condition_failed<E: ProvideErrorMetadata, R>(error: &SdkError<E, R>) -> bool {
    error.as_service_error().and_then(ProvideErrorMetadata::code) == Some("ConditionalCheckFailedException")
}

/// The error for a failed call: [`Unavailable`] when retrying shortly may succeed (throttled,
/// overloaded, timed out, no connection), with the SDK's error as its cause; otherwise the
/// SDK's error with `what` as context.
fn call_failed<E, R>(error: SdkError<E, R>, what: impl Into<String>) -> anyhow::Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let transient = match &error {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => true,
        other => matches!(
            other.as_service_error().and_then(ProvideErrorMetadata::code),
            Some(
                "ProvisionedThroughputExceededException"
                    | "ThrottlingException"
                    | "RequestLimitExceeded"
                    | "InternalServerError"
                    | "ServiceUnavailable"
            )
        ),
    };
    let what = what.into();
    let error = anyhow::Error::new(error).context(what.clone());
    if transient { error.context(Unavailable { what }) } else { error }
}

#[async_trait]
impl Store for DynamoStore {
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
            let current = self.read_code(email, purpose).await?;
            let next = match CodeState::issue(current.as_ref(), code.clone(), now, limits) {
                Ok(next) => next,
                Err(retry_after) => return Ok(Issued::Throttled { retry_after }),
            };
            let mut item = Self::code_key(email, purpose);
            item.extend([
                ("kind".to_owned(), s("code")),
                ("code_expires_at".to_owned(), n(next.code_expires_at)),
                ("attempts".to_owned(), n(next.attempts)),
                ("window_start".to_owned(), n(next.window_start)),
                ("sends".to_owned(), n(next.sends)),
                ("failures".to_owned(), n(next.failures)),
                ("last_sent_at".to_owned(), n(next.last_sent_at)),
                ("expires_at".to_owned(), n(next.expires_at)),
            ]);
            if let Some(hash) = &next.code_hash {
                item.insert("code_hash".to_owned(), s(hash));
            }
            if let Some(context) = &next.context {
                item.insert("context".to_owned(), s(context));
            }
            let request = self.client.put_item().table_name(&self.table).set_item(Some(item));
            let request = match &current {
                None => request.condition_expression("attribute_not_exists(pk)"),
                Some(read) => request
                    .condition_expression(
                        "sends = :sends AND failures = :failures AND attempts = :attempts AND last_sent_at = :last",
                    )
                    .expression_attribute_values(":sends", n(read.sends))
                    .expression_attribute_values(":failures", n(read.failures))
                    .expression_attribute_values(":attempts", n(read.attempts))
                    .expression_attribute_values(":last", n(read.last_sent_at)),
            };
            match request.send().await {
                Ok(_) => return Ok(Issued::Issued),
                Err(e) if condition_failed(&e) => continue,
                Err(e) => return Err(call_failed(e, "issuing a code")),
            }
        }
        anyhow::bail!("issuing a code: the item kept changing under contention")
    }

    async fn redeem_code(
        &self,
        email: &Email,
        purpose: Purpose,
        hash: &str,
        now: UnixTime,
        limits: &CodeLimits,
    ) -> anyhow::Result<Redeemed> {
        // docs/SECURITY.md, rule 9: one conditional write decides; fifty racers get one success.
        let redeemed = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::code_key(email, purpose)))
            .update_expression("REMOVE code_hash")
            .condition_expression(
                "code_hash = :h AND code_expires_at > :now AND expires_at > :now \
                 AND attempts < :max AND failures < :budget",
            )
            .expression_attribute_values(":h", s(hash))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":max", n(limits.max_attempts))
            .expression_attribute_values(":budget", n(limits.max_failures_per_window))
            .return_values(ReturnValue::AllOld)
            .send()
            .await;
        match redeemed {
            Ok(output) => {
                let context = output.attributes.as_ref().and_then(|item| opt_s(item, "context"));
                return Ok(Redeemed::Redeemed { context });
            }
            Err(e) if condition_failed(&e) => {}
            Err(e) => return Err(call_failed(e, "redeeming a code")),
        }
        let failed = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::code_key(email, purpose)))
            .update_expression("SET attempts = attempts + :one, failures = failures + :one")
            .condition_expression("attribute_exists(code_hash) AND code_expires_at > :now AND expires_at > :now")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":now", n(now))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match failed {
            Ok(output) => {
                let item = output.attributes.context("the updated code item")?;
                Ok(code_state(&item)?.failure_answer(now, limits))
            }
            Err(e) if condition_failed(&e) => Ok(Redeemed::Rejected),
            Err(e) => Err(call_failed(e, "counting a wrong code")),
        }
    }

    async fn put_grant(&self, grant: &Grant) -> anyhow::Result<()> {
        let mut item = Self::key(format!("GRANT#{}", grant.token_hash), "GRANT");
        item.extend([
            ("kind".to_owned(), s(grant.kind.as_str())),
            ("email".to_owned(), s(grant.email.as_str())),
            ("name".to_owned(), s(&grant.name)),
            ("expires_at".to_owned(), n(grant.expires_at)),
        ]);
        if let Some(user_id) = &grant.user_id {
            item.insert("user_id".to_owned(), s(user_id));
        }
        if let Some(version) = grant.user_version {
            item.insert("user_version".to_owned(), n(version));
        }
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| call_failed(e, "storing a grant"))?;
        Ok(())
    }

    async fn grant(&self, token_hash: &str, kind: GrantKind, now: UnixTime) -> anyhow::Result<Option<Grant>> {
        let Some(item) = self.get(Self::key(format!("GRANT#{token_hash}"), "GRANT"), "a grant").await? else {
            return Ok(None);
        };
        if get_s(&item, "kind")? != kind.as_str() || get_n::<i64>(&item, "expires_at")? <= now {
            return Ok(None);
        }
        Ok(Some(parse_grant(token_hash, kind, &item)?))
    }

    async fn create_user(&self, user: &User, grant_hash: &str, now: UnixTime) -> anyhow::Result<Created> {
        let use_grant = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(Self::key(format!("GRANT#{grant_hash}"), "GRANT")))
            .condition_expression("attribute_exists(pk) AND expires_at > :now AND kind = :kind AND email = :email")
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":kind", s(GrantKind::Signup.as_str()))
            .expression_attribute_values(":email", s(user.email.as_str()))
            .build()?;
        let mut claim = Self::key(format!("EMAIL#{}", user.email), "CLAIM");
        claim.extend([("kind".to_owned(), s("email")), ("user_id".to_owned(), s(&user.id))]);
        let claim = Put::builder()
            .table_name(&self.table)
            .set_item(Some(claim))
            .condition_expression("attribute_not_exists(pk)")
            .build()?;
        let put_user = Put::builder()
            .table_name(&self.table)
            .set_item(Some(user_item(user)))
            .condition_expression("attribute_not_exists(pk)")
            .build()?;
        let items = [
            TransactWriteItem::builder().delete(use_grant).build(),
            TransactWriteItem::builder().put(claim).build(),
            TransactWriteItem::builder().put(put_user).build(),
        ];
        match self.transact(&items, "creating a user").await? {
            None => Ok(Created::Created),
            Some(0) => Ok(Created::GrantInvalid),
            Some(_) => Ok(Created::EmailTaken),
        }
    }

    async fn user(&self, id: &str) -> anyhow::Result<Option<User>> {
        self.get(Self::key(format!("USER#{id}"), "USER"), "a user").await?.map(|item| parse_user(&item)).transpose()
    }

    async fn user_by_email(&self, email: &Email) -> anyhow::Result<Option<User>> {
        let Some(claim) = self.get(Self::key(format!("EMAIL#{email}"), "CLAIM"), "an email claim").await? else {
            // The same two reads as for an account, so that the time taken does not tell
            // whether the address has one (docs/SECURITY.md, "Enumeration").
            self.get(Self::key("USER#none".to_owned(), "USER"), "a user").await?;
            return Ok(None);
        };
        self.user(&get_s(&claim, "user_id")?).await
    }

    async fn record_login(&self, user_id: &str, at: UnixTime) -> anyhow::Result<()> {
        let update = self
            .user_update(user_id)
            .update_expression("SET last_login = :at")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":at", n(at));
        // A user deleted meanwhile has no login to record.
        self.conditional(update.send().await, "recording a login").map(|_| ())
    }

    async fn bump_token_version(&self, user_id: &str) -> anyhow::Result<Option<u64>> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(format!("USER#{user_id}"), "USER")))
            .update_expression("ADD token_version :one")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":one", n(1))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await;
        match result {
            Ok(output) => Ok(Some(get_n(&output.attributes.unwrap_or_default(), "token_version")?)),
            Err(e) if condition_failed(&e) => Ok(None),
            Err(e) => Err(call_failed(e, "moving the token version on")),
        }
    }

    async fn put_session(&self, session: &Session) -> anyhow::Result<()> {
        let mut item = Self::key(format!("SESSION#{}", session.id), "SESSION");
        item.extend([
            ("kind".to_owned(), s("session")),
            ("user_id".to_owned(), s(&session.user_id)),
            ("token_hash".to_owned(), s(&session.token_hash)),
            ("user_version".to_owned(), n(session.user_version)),
            ("created_at".to_owned(), n(session.created_at)),
            ("expires_at".to_owned(), n(session.expires_at)),
        ]);
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .map_err(|e| call_failed(e, "storing a session"))?;
        Ok(())
    }

    async fn session(&self, id: &str, now: UnixTime) -> anyhow::Result<Option<Session>> {
        let Some(item) = self.get(Self::key(format!("SESSION#{id}"), "SESSION"), "a session").await? else {
            return Ok(None);
        };
        let session = Session {
            id: id.to_owned(),
            user_id: get_s(&item, "user_id")?,
            token_hash: get_s(&item, "token_hash")?,
            user_version: get_n(&item, "user_version")?,
            created_at: get_n(&item, "created_at")?,
            expires_at: get_n(&item, "expires_at")?,
        };
        Ok((session.expires_at > now).then_some(session))
    }

    async fn rotate_session(&self, id: &str, old: &str, new: &str, now: UnixTime) -> anyhow::Result<Rotated> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(format!("SESSION#{id}"), "SESSION")))
            .update_expression("SET token_hash = :new")
            .condition_expression("token_hash = :old AND expires_at > :now")
            .expression_attribute_values(":new", s(new))
            .expression_attribute_values(":old", s(old))
            .expression_attribute_values(":now", n(now))
            .send()
            .await;
        let rotated = self.conditional(result, "rotating a refresh token")?;
        Ok(if rotated { Rotated::Rotated } else { Rotated::Stale })
    }

    async fn delete_session(&self, id: &str) -> anyhow::Result<()> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(format!("SESSION#{id}"), "SESSION")))
            .send()
            .await
            .map_err(|e| call_failed(e, "deleting a session"))?;
        Ok(())
    }

    async fn begin_attempt(&self, email: &Email, max: u32, now: UnixTime) -> anyhow::Result<Attempt> {
        let lease = now + LEASE_SECONDS;
        // The usual case in one conditional write: a slot is free, nothing has decayed and
        // no lease has ended. Anything else is decided by the rules on what is stored.
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::lockout_key(email)))
            .update_expression(
                "SET kind = :kind, used = if_not_exists(used, :zero) + :one, failures = if_not_exists(failures, :zero), \
                 lease_until = :lease, expires_at = if_not_exists(expires_at, :lease)",
            )
            .condition_expression(
                "(attribute_not_exists(used) OR used < :max) AND (attribute_not_exists(expires_at) OR expires_at > :now) \
                 AND (attribute_not_exists(lease_until) OR lease_until > :now)",
            )
            .expression_attribute_values(":kind", s("lockout"))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":lease", n(lease))
            .expression_attribute_values(":max", n(max))
            .expression_attribute_values(":now", n(now))
            .send()
            .await;
        match result {
            Ok(_) => return Ok(Attempt::Allowed),
            Err(e) if condition_failed(&e) => {}
            Err(e) => return Err(call_failed(e, "counting a login attempt")),
        }
        for _ in 0..3 {
            let stored = self.get(Self::lockout_key(email), "a lockout counter").await?;
            let current = stored.as_ref().map(parse_lockout).transpose()?;
            let next = match Lockout::begin(current.as_ref(), max, now) {
                Ok(next) => next,
                Err(refused) => return Ok(refused),
            };
            if self.replace_lockout(email, current.as_ref(), &next).await? {
                return Ok(Attempt::Allowed);
            }
        }
        Ok(Attempt::Busy { retry_after: 1 })
    }

    async fn record_failure(&self, email: &Email, max: u32, window: i64, now: UnixTime) -> anyhow::Result<u32> {
        let update = |tail: &str| {
            self.client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(Self::lockout_key(email)))
                .update_expression(format!(
                    "SET kind = :kind, used = if_not_exists(used, :one), lease_until = if_not_exists(lease_until, :now){tail}"
                ))
                .expression_attribute_values(":kind", s("lockout"))
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":now", n(now))
                .return_values(ReturnValue::UpdatedNew)
        };
        // Below the lock the failures decay a window after this one; the failure that
        // reaches the lock removes the expiry, so that the lock stays.
        let below = update(", expires_at = :exp ADD failures :one")
            .condition_expression("attribute_not_exists(failures) OR failures < :last")
            .expression_attribute_values(":exp", n(now + window))
            .expression_attribute_values(":last", n(max.saturating_sub(1)))
            .send()
            .await;
        let output = match below {
            Ok(output) => output,
            Err(e) if condition_failed(&e) => update(" ADD failures :one REMOVE expires_at")
                .send()
                .await
                .map_err(|e| call_failed(e, "counting the failure that locks"))?,
            Err(e) => return Err(call_failed(e, "counting a failed login")),
        };
        get_n(&output.attributes.unwrap_or_default(), "failures")
    }

    async fn release_attempt(&self, email: &Email) -> anyhow::Result<()> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::lockout_key(email)))
            .update_expression("ADD used :minus_one")
            .condition_expression("used > failures")
            .expression_attribute_values(":minus_one", n(-1))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if condition_failed(&e) => Ok(()),
            Err(e) => Err(call_failed(e, "releasing a login attempt")),
        }
    }

    async fn take_source_slot(
        &self,
        source: &str,
        counter: SourceCounter,
        max: u32,
        now: UnixTime,
    ) -> anyhow::Result<Option<SourceSlot>> {
        let slot = SourceSlot::at(source, counter, now);
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::source_key(&slot)))
            .update_expression("SET kind = :kind, expires_at = :exp ADD taken :one")
            .condition_expression("attribute_not_exists(taken) OR taken < :max")
            .expression_attribute_values(":kind", s("source_counter"))
            .expression_attribute_values(":exp", n(slot.window_start + 2 * SOURCE_WINDOW_SECONDS))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":max", n(max))
            .send()
            .await;
        match result {
            Ok(_) => Ok(Some(slot)),
            Err(e) if condition_failed(&e) => Ok(None),
            Err(e) => Err(call_failed(e, "counting a request of a source address")),
        }
    }

    async fn release_source_slot(&self, slot: &SourceSlot) -> anyhow::Result<()> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::source_key(slot)))
            .update_expression("ADD taken :minus_one")
            .condition_expression("taken > :zero")
            .expression_attribute_values(":minus_one", n(-1))
            .expression_attribute_values(":zero", n(0))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if condition_failed(&e) => Ok(()),
            Err(e) => Err(call_failed(e, "giving back a source address's slot")),
        }
    }

    async fn clear_failures(&self, email: &Email) -> anyhow::Result<()> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(Self::lockout_key(email)))
            .send()
            .await
            .map_err(|e| call_failed(e, "clearing login failures"))?;
        Ok(())
    }

    async fn failures(&self, emails: &[Email], now: UnixTime) -> anyhow::Result<Vec<u32>> {
        let mut counts: HashMap<String, u32> = HashMap::new();
        for chunk in emails.chunks(100) {
            let mut keys: Vec<Item> = chunk.iter().map(|e| Self::key(format!("EMAIL#{e}"), "LOCKOUT")).collect();
            keys.dedup();
            let mut request = KeysAndAttributes::builder().set_keys(Some(keys)).consistent_read(true).build()?;
            for _ in 0..5 {
                let output = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, request.clone())
                    .send()
                    .await
                    .map_err(|e| call_failed(e, "reading login failures"))?;
                for item in output.responses.unwrap_or_default().remove(&self.table).unwrap_or_default() {
                    let email = get_s(&item, "pk")?.trim_start_matches("EMAIL#").to_owned();
                    counts.insert(email, parse_lockout(&item)?.live_failures(now));
                }
                match output.unprocessed_keys.and_then(|mut u| u.remove(&self.table)) {
                    Some(rest) if !rest.keys().is_empty() => request = rest,
                    _ => break,
                }
            }
        }
        Ok(emails.iter().map(|e| counts.get(e.as_str()).copied().unwrap_or(0)).collect())
    }

    async fn set_password(
        &self,
        user_id: &str,
        old_hash: &str,
        new_hash: &str,
        history: &[String],
    ) -> anyhow::Result<bool> {
        let update = self.password_update(user_id, old_hash, new_hash, history)?;
        let result = self
            .user_update(user_id)
            .update_expression(update.update_expression)
            .set_condition_expression(update.condition_expression)
            .set_expression_attribute_values(update.expression_attribute_values)
            .send()
            .await;
        self.conditional(result, "setting a password")
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
        let use_grant = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(Self::key(format!("GRANT#{grant_hash}"), "GRANT")))
            .condition_expression("attribute_exists(pk) AND expires_at > :now AND kind = :kind AND user_id = :uid")
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":kind", s(GrantKind::PasswordReset.as_str()))
            .expression_attribute_values(":uid", s(user_id))
            .build()?;
        let items = [
            TransactWriteItem::builder().delete(use_grant).build(),
            TransactWriteItem::builder().update(self.password_update(user_id, old_hash, new_hash, history)?).build(),
        ];
        match self.transact(&items, "resetting a password").await? {
            None => Ok(Reset::Reset),
            Some(0) => Ok(Reset::GrantInvalid),
            Some(_) => Ok(Reset::Conflict),
        }
    }

    async fn set_name(&self, user_id: &str, name: &str) -> anyhow::Result<Option<User>> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(format!("USER#{user_id}"), "USER")))
            .update_expression("SET #name = :name")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#name", "name")
            .expression_attribute_values(":name", s(name))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(output) => Ok(Some(parse_user(&output.attributes.unwrap_or_default())?)),
            Err(e) if condition_failed(&e) => Ok(None),
            Err(e) => Err(call_failed(e, "setting a name")),
        }
    }

    async fn record_activity(&self, user_id: &str, activity: &Activity, expires_at: UnixTime) -> anyhow::Result<()> {
        let mut item = Self::key(format!("USER#{user_id}"), &activity_key(activity));
        item.extend([
            ("kind".to_owned(), s("activity")),
            ("id".to_owned(), s(&activity.id)),
            ("at".to_owned(), n(activity.at)),
            ("event".to_owned(), s(&activity.event)),
            ("expires_at".to_owned(), n(expires_at)),
        ]);
        if let Some(ip) = &activity.source_ip {
            item.insert("source_ip".to_owned(), s(ip));
        }
        if let Some(agent) = &activity.user_agent {
            item.insert("user_agent".to_owned(), s(agent));
        }
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| call_failed(e, "recording activity"))?;
        Ok(())
    }

    async fn activity(
        &self,
        user_id: &str,
        now: UnixTime,
        limit: usize,
        cursor: Option<&str>,
    ) -> anyhow::Result<Page<Activity>> {
        let pk = format!("USER#{user_id}");
        let mut items = Vec::new();
        let mut start = cursor.map(|sk| Self::key(pk.clone(), sk));
        // Expired entries are filtered after DynamoDB's limit applies, so read until the page
        // is full or the log is exhausted.
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND begins_with(sk, :act)")
                .filter_expression("expires_at > :now")
                .expression_attribute_values(":pk", s(&pk))
                .expression_attribute_values(":act", s("ACT#"))
                .expression_attribute_values(":now", n(now))
                .scan_index_forward(false)
                .limit((limit + 1) as i32)
                .set_exclusive_start_key(start)
                .consistent_read(true)
                .send()
                .await
                .map_err(|e| call_failed(e, "reading activity"))?;
            for item in output.items.unwrap_or_default() {
                items.push((get_s(&item, "sk")?, parse_activity(&item)?));
            }
            start = output.last_evaluated_key;
            if items.len() > limit || start.is_none() {
                break;
            }
        }
        Ok(page(items, limit))
    }

    async fn users(&self, limit: usize, cursor: Option<&str>) -> anyhow::Result<Page<User>> {
        let start = match cursor {
            Some(order) => {
                let id = order.split_once('#').map(|(_, id)| id).context("a user cursor")?;
                let mut key = Self::key(format!("USER#{id}"), "USER");
                key.extend([("gsi1pk".to_owned(), s("USER")), ("gsi1sk".to_owned(), s(order))]);
                Some(key)
            }
            None => None,
        };
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(USERS_INDEX)
            .key_condition_expression("gsi1pk = :users")
            .expression_attribute_values(":users", s("USER"))
            .scan_index_forward(false)
            .limit((limit + 1) as i32)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| call_failed(e, "listing users"))?;
        let users = output
            .items
            .unwrap_or_default()
            .iter()
            .map(|item| Ok((get_s(item, "gsi1sk")?, parse_user(item)?)))
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(page(users, limit))
    }

    async fn set_totp_pending(&self, user_id: &str, secret: &str) -> anyhow::Result<bool> {
        let update = self
            .user_update(user_id)
            .update_expression("SET totp_pending = :secret")
            .condition_expression("attribute_exists(pk) AND mfa_enabled <> :true")
            .expression_attribute_values(":secret", s(secret))
            .expression_attribute_values(":true", AttributeValue::Bool(true));
        self.conditional(update.send().await, "storing a pending TOTP secret")
    }

    async fn enable_totp(&self, user_id: &str, secret: &str, step: u64, recovery: &[String]) -> anyhow::Result<bool> {
        let update = self
            .user_update(user_id)
            .update_expression(
                "SET totp_secret = :secret, mfa_enabled = :true, totp_last_step = :step, recovery_codes = :codes \
                 REMOVE totp_pending ADD token_version :one",
            )
            .condition_expression("totp_pending = :secret AND mfa_enabled <> :true")
            .expression_attribute_values(":secret", s(secret))
            .expression_attribute_values(":true", AttributeValue::Bool(true))
            .expression_attribute_values(":step", n(step))
            .expression_attribute_values(":codes", AttributeValue::Ss(recovery.to_vec()))
            .expression_attribute_values(":one", n(1));
        self.conditional(update.send().await, "enabling TOTP")
    }

    async fn accept_totp_step(&self, user_id: &str, step: u64) -> anyhow::Result<bool> {
        let update = self
            .user_update(user_id)
            .update_expression("SET totp_last_step = :step")
            .condition_expression(
                "mfa_enabled = :true AND (attribute_not_exists(totp_last_step) OR totp_last_step < :step)",
            )
            .expression_attribute_values(":true", AttributeValue::Bool(true))
            .expression_attribute_values(":step", n(step));
        self.conditional(update.send().await, "accepting a TOTP step")
    }

    async fn use_recovery_code(&self, user_id: &str, hash: &str) -> anyhow::Result<bool> {
        let update = self
            .user_update(user_id)
            .update_expression("DELETE recovery_codes :codes")
            .condition_expression("mfa_enabled = :true AND contains(recovery_codes, :code)")
            .expression_attribute_values(":true", AttributeValue::Bool(true))
            .expression_attribute_values(":codes", AttributeValue::Ss(vec![hash.to_owned()]))
            .expression_attribute_values(":code", s(hash));
        self.conditional(update.send().await, "using a recovery code")
    }

    async fn disable_totp(&self, user_id: &str) -> anyhow::Result<bool> {
        let update = self
            .user_update(user_id)
            .update_expression(
                "SET mfa_enabled = :false ADD token_version :one \
                 REMOVE totp_secret, totp_pending, totp_last_step, recovery_codes",
            )
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":false", AttributeValue::Bool(false))
            .expression_attribute_values(":one", n(1));
        self.conditional(update.send().await, "disabling TOTP")
    }

    async fn attempt_grant(
        &self,
        token_hash: &str,
        kind: GrantKind,
        max: u32,
        now: UnixTime,
    ) -> anyhow::Result<Option<Grant>> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(format!("GRANT#{token_hash}"), "GRANT")))
            .update_expression("ADD attempts :one")
            .condition_expression(
                "attribute_exists(pk) AND kind = :kind AND expires_at > :now \
                 AND (attribute_not_exists(attempts) OR attempts < :max)",
            )
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":kind", s(kind.as_str()))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":max", n(max))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(output) => Ok(Some(parse_grant(token_hash, kind, &output.attributes.unwrap_or_default())?)),
            Err(e) if condition_failed(&e) => Ok(None),
            Err(e) => Err(call_failed(e, "counting a grant use")),
        }
    }

    async fn take_grant(&self, token_hash: &str) -> anyhow::Result<bool> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(format!("GRANT#{token_hash}"), "GRANT")))
            .condition_expression("attribute_exists(pk)")
            .send()
            .await;
        self.conditional(result, "using a grant")
    }
}

fn user_item(user: &User) -> Item {
    let mut item = DynamoStore::key(format!("USER#{}", user.id), "USER");
    item.extend([
        ("kind".to_owned(), s("user")),
        ("id".to_owned(), s(&user.id)),
        ("email".to_owned(), s(user.email.as_str())),
        ("name".to_owned(), s(&user.name)),
        ("password_hash".to_owned(), s(&user.password_hash)),
        ("created_at".to_owned(), n(user.created_at)),
        ("token_version".to_owned(), n(user.token_version)),
        ("mfa_enabled".to_owned(), AttributeValue::Bool(user.mfa_enabled)),
        ("role".to_owned(), s(user.role.as_str())),
        ("password_history".to_owned(), strings(&user.password_history)),
        ("gsi1pk".to_owned(), s("USER")),
        ("gsi1sk".to_owned(), s(user_order_key(user))),
    ]);
    let optional = [
        ("totp_secret", user.totp_secret.as_ref().map(s)),
        ("totp_pending", user.totp_pending.as_ref().map(s)),
        ("totp_last_step", user.totp_last_step.map(n)),
        ("recovery_codes", (!user.recovery_codes.is_empty()).then(|| AttributeValue::Ss(user.recovery_codes.clone()))),
    ];
    item.extend(optional.into_iter().filter_map(|(name, value)| Some((name.to_owned(), value?))));
    if let Some(at) = user.last_login {
        item.insert("last_login".to_owned(), n(at));
    }
    item
}

fn parse_user(item: &Item) -> anyhow::Result<User> {
    Ok(User {
        id: get_s(item, "id")?,
        email: Email::from_stored(get_s(item, "email")?),
        name: get_s(item, "name")?,
        password_hash: get_s(item, "password_hash")?,
        created_at: get_n(item, "created_at")?,
        last_login: opt_n(item, "last_login")?,
        token_version: get_n(item, "token_version")?,
        mfa_enabled: matches!(item.get("mfa_enabled"), Some(AttributeValue::Bool(true))),
        role: opt_s(item, "role").map_or(Role::User, |r| Role::parse(&r)),
        password_history: match item.get("password_history") {
            Some(AttributeValue::L(values)) => values.iter().filter_map(|v| v.as_s().ok().cloned()).collect(),
            _ => Vec::new(),
        },
        totp_secret: opt_s(item, "totp_secret"),
        totp_pending: opt_s(item, "totp_pending"),
        totp_last_step: opt_n(item, "totp_last_step")?,
        recovery_codes: item.get("recovery_codes").and_then(|v| v.as_ss().ok()).cloned().unwrap_or_default(),
    })
}

fn parse_grant(token_hash: &str, kind: GrantKind, item: &Item) -> anyhow::Result<Grant> {
    Ok(Grant {
        token_hash: token_hash.to_owned(),
        kind,
        email: Email::from_stored(get_s(item, "email")?),
        name: get_s(item, "name")?,
        user_id: opt_s(item, "user_id"),
        user_version: item.contains_key("user_version").then(|| get_n(item, "user_version")).transpose()?,
        expires_at: get_n(item, "expires_at")?,
    })
}

fn parse_lockout(item: &Item) -> anyhow::Result<Lockout> {
    Ok(Lockout {
        used: opt_n(item, "used")?.unwrap_or(0),
        failures: opt_n(item, "failures")?.unwrap_or(0),
        lease_until: opt_n(item, "lease_until")?.unwrap_or(0),
        expires_at: opt_n(item, "expires_at")?,
    })
}

fn parse_activity(item: &Item) -> anyhow::Result<Activity> {
    Ok(Activity {
        id: get_s(item, "id")?,
        at: get_n(item, "at")?,
        event: get_s(item, "event")?,
        source_ip: opt_s(item, "source_ip"),
        user_agent: opt_s(item, "user_agent"),
    })
}

fn code_state(item: &Item) -> anyhow::Result<CodeState> {
    Ok(CodeState {
        code_hash: opt_s(item, "code_hash"),
        code_expires_at: get_n(item, "code_expires_at")?,
        attempts: get_n(item, "attempts")?,
        window_start: get_n(item, "window_start")?,
        sends: get_n(item, "sends")?,
        failures: get_n(item, "failures")?,
        last_sent_at: get_n(item, "last_sent_at")?,
        context: opt_s(item, "context"),
        expires_at: get_n(item, "expires_at")?,
    })
}

fn strings(values: &[String]) -> AttributeValue {
    AttributeValue::L(values.iter().map(s).collect())
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn get_s(item: &Item, name: &str) -> anyhow::Result<String> {
    opt_s(item, name).with_context(|| format!("item attribute {name} is missing or not a string"))
}

fn opt_s(item: &Item, name: &str) -> Option<String> {
    item.get(name).and_then(|v| v.as_s().ok()).cloned()
}

fn get_n<T: std::str::FromStr>(item: &Item, name: &str) -> anyhow::Result<T> {
    opt_n(item, name)?.with_context(|| format!("item attribute {name} is missing"))
}

fn opt_n<T: std::str::FromStr>(item: &Item, name: &str) -> anyhow::Result<Option<T>> {
    match item.get(name) {
        None => Ok(None),
        Some(value) => {
            let text = value.as_n().map_err(|_| anyhow::anyhow!("item attribute {name} is not a number"))?;
            let parsed = text.parse().map_err(|_| anyhow::anyhow!("item attribute {name} is out of range"))?;
            Ok(Some(parsed))
        }
    }
}
