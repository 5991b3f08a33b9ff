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
    AttributeDefinition, AttributeValue, BillingMode, Delete, KeySchemaElement, KeyType, Put,
    ReturnValue, ScalarAttributeType, TimeToLiveSpecification, TransactWriteItem,
};

use super::{
    CodeState, Created, Grant, GrantKind, Issued, NewCode, Redeemed, Rotated, Session, Store, User,
};
use crate::clock::UnixTime;
use crate::codes::Purpose;
use crate::config::CodeLimits;
use crate::validate::Email;

type Item = HashMap<String, AttributeValue>;

/// A [`Store`] on one DynamoDB table.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

impl DynamoStore {
    /// A store on `table`, through `client`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// Creates the table as `infra/template.yaml` declares it (for tests and local runs).
    pub async fn create_table(client: &Client, table: &str) -> anyhow::Result<()> {
        let attribute = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
        };
        let key = |name: &str, key_type| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(key_type)
                .build()
        };
        client
            .create_table()
            .table_name(table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(attribute("pk")?)
            .attribute_definitions(attribute("sk")?)
            .key_schema(key("pk", KeyType::Hash)?)
            .key_schema(key("sk", KeyType::Range)?)
            .send()
            .await
            .with_context(|| format!("creating table {table}"))?;
        client
            .update_time_to_live()
            .table_name(table)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .enabled(true)
                    .attribute_name("expires_at")
                    .build()?,
            )
            .send()
            .await
            .with_context(|| format!("enabling TTL on {table}"))?;
        Ok(())
    }

    fn key(pk: String, sk: &str) -> Item {
        HashMap::from([("pk".to_owned(), s(pk)), ("sk".to_owned(), s(sk))])
    }

    fn code_key(email: &Email, purpose: Purpose) -> Item {
        Self::key(
            format!("EMAIL#{email}"),
            &format!("CODE#{}", purpose.as_str()),
        )
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
            .with_context(|| format!("reading {what}"))?;
        Ok(output.item)
    }

    async fn read_code(
        &self,
        email: &Email,
        purpose: Purpose,
    ) -> anyhow::Result<Option<CodeState>> {
        self.get(Self::code_key(email, purpose), "a code")
            .await?
            .map(|item| code_state(&item))
            .transpose()
    }
}

/// Whether an SDK error is a failed condition (an expected outcome, not a failure).
fn condition_failed<E: ProvideErrorMetadata, R>(error: &SdkError<E, R>) -> bool {
    error
        .as_service_error()
        .and_then(ProvideErrorMetadata::code)
        == Some("ConditionalCheckFailedException")
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
        let window = limits.window.as_secs() as i64;
        let values = |extra: &[(&str, AttributeValue)]| {
            let mut values: Item = HashMap::from([
                (":h".to_owned(), s(&code.hash)),
                (":ce".to_owned(), n(now + limits.ttl.as_secs() as i64)),
                (":zero".to_owned(), n(0)),
                (":one".to_owned(), n(1)),
                (":now".to_owned(), n(now)),
                (":exp".to_owned(), n(now + window)),
                (":kind".to_owned(), s("code")),
            ]);
            if let Some(context) = &code.context {
                values.insert(":ctx".to_owned(), s(context));
            }
            values.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
            values
        };
        let set = "SET code_hash = :h, code_expires_at = :ce, attempts = :zero, last_sent_at = :now, \
                   expires_at = :exp, kind = :kind";
        // The previous context is kept unless a new one is given; a fresh window starts clean.
        let (context_continue, context_fresh) = match code.context {
            Some(_) => (", context = :ctx", ", context = :ctx"),
            None => ("", " REMOVE context"),
        };
        for _ in 0..3 {
            let continued = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(Self::code_key(email, purpose)))
                .update_expression(format!("{set}, sends = sends + :one{context_continue}"))
                .condition_expression(
                    "expires_at > :now AND window_start > :floor AND last_sent_at <= :cool AND sends < :cap",
                )
                .set_expression_attribute_values(Some(values(&[
                    (":floor", n(now - window)),
                    (":cool", n(now - limits.cooldown.as_secs() as i64)),
                    (":cap", n(limits.max_sends_per_window)),
                ])))
                .send()
                .await;
            match continued {
                Ok(_) => return Ok(Issued::Issued),
                Err(e) if condition_failed(&e) => {}
                Err(e) => return Err(e).context("issuing a code"),
            }
            let fresh = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(Self::code_key(email, purpose)))
                .update_expression(format!(
                    "{set}, window_start = :now, sends = :one, failures = :zero{context_fresh}"
                ))
                .condition_expression(
                    "attribute_not_exists(pk) OR expires_at <= :now OR window_start <= :floor",
                )
                .set_expression_attribute_values(Some(values(&[(":floor", n(now - window))])))
                .send()
                .await;
            match fresh {
                Ok(_) => return Ok(Issued::Issued),
                Err(e) if condition_failed(&e) => {}
                Err(e) => return Err(e).context("issuing a code"),
            }
            // Neither condition held: the window is live and a limit applies, unless another
            // request changed the item in between, in which case go round again.
            let current = self.read_code(email, purpose).await?;
            let probe = NewCode {
                hash: String::new(),
                context: None,
            };
            if let Err(retry_after) = CodeState::issue(current.as_ref(), probe, now, limits) {
                return Ok(Issued::Throttled { retry_after });
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
        // SECURITY.md item 9: one conditional write decides; fifty racers get one success.
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
                let context = output
                    .attributes
                    .as_ref()
                    .and_then(|item| opt_s(item, "context"));
                return Ok(Redeemed::Redeemed { context });
            }
            Err(e) if condition_failed(&e) => {}
            Err(e) => return Err(e).context("redeeming a code"),
        }
        let failed = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::code_key(email, purpose)))
            .update_expression("SET attempts = attempts + :one, failures = failures + :one")
            .condition_expression(
                "attribute_exists(code_hash) AND code_expires_at > :now AND expires_at > :now",
            )
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
            Err(e) => Err(e).context("counting a wrong code"),
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
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .context("storing a grant")?;
        Ok(())
    }

    async fn grant(
        &self,
        token_hash: &str,
        kind: GrantKind,
        now: UnixTime,
    ) -> anyhow::Result<Option<Grant>> {
        let Some(item) = self
            .get(Self::key(format!("GRANT#{token_hash}"), "GRANT"), "a grant")
            .await?
        else {
            return Ok(None);
        };
        if get_s(&item, "kind")? != kind.as_str() || get_n::<i64>(&item, "expires_at")? <= now {
            return Ok(None);
        }
        Ok(Some(Grant {
            token_hash: token_hash.to_owned(),
            kind,
            email: Email::from_stored(get_s(&item, "email")?),
            name: get_s(&item, "name")?,
            expires_at: get_n(&item, "expires_at")?,
        }))
    }

    async fn create_user(
        &self,
        user: &User,
        grant_hash: &str,
        now: UnixTime,
    ) -> anyhow::Result<Created> {
        let use_grant = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(Self::key(format!("GRANT#{grant_hash}"), "GRANT")))
            .condition_expression(
                "attribute_exists(pk) AND expires_at > :now AND kind = :kind AND email = :email",
            )
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":kind", s(GrantKind::Signup.as_str()))
            .expression_attribute_values(":email", s(user.email.as_str()))
            .build()?;
        let mut claim = Self::key(format!("EMAIL#{}", user.email), "CLAIM");
        claim.extend([
            ("kind".to_owned(), s("email")),
            ("user_id".to_owned(), s(&user.id)),
        ]);
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
        for attempt in 1..=5u32 {
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.to_vec()))
                .send()
                .await;
            let error = match result {
                Ok(_) => return Ok(Created::Created),
                Err(error) => error,
            };
            let reasons: Vec<String> = error
                .as_service_error()
                .and_then(|e| match e {
                    TransactWriteItemsError::TransactionCanceledException(e) => {
                        e.cancellation_reasons.as_deref()
                    }
                    _ => None,
                })
                .map(|reasons| {
                    reasons
                        .iter()
                        .map(|r| r.code().unwrap_or("None").to_owned())
                        .collect()
                })
                .unwrap_or_default();
            let failed =
                |i: usize| reasons.get(i).map(String::as_str) == Some("ConditionalCheckFailed");
            if failed(0) {
                return Ok(Created::GrantInvalid);
            }
            if failed(1) || failed(2) {
                return Ok(Created::EmailTaken);
            }
            if reasons.iter().any(|r| r == "TransactionConflict") && attempt < 5 {
                // Another transaction on the same items is in flight; once it ends, the
                // conditions decide.
                tokio::time::sleep(Duration::from_millis(20 * u64::from(attempt))).await;
                continue;
            }
            return Err(error).context("creating a user");
        }
        anyhow::bail!("creating a user: the transaction kept conflicting")
    }

    async fn user(&self, id: &str) -> anyhow::Result<Option<User>> {
        self.get(Self::key(format!("USER#{id}"), "USER"), "a user")
            .await?
            .map(|item| parse_user(&item))
            .transpose()
    }

    async fn user_by_email(&self, email: &Email) -> anyhow::Result<Option<User>> {
        let Some(claim) = self
            .get(
                Self::key(format!("EMAIL#{email}"), "CLAIM"),
                "an email claim",
            )
            .await?
        else {
            return Ok(None);
        };
        self.user(&get_s(&claim, "user_id")?).await
    }

    async fn record_login(&self, user_id: &str, at: UnixTime) -> anyhow::Result<()> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(format!("USER#{user_id}"), "USER")))
            .update_expression("SET last_login = :at")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":at", n(at))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if condition_failed(&e) => Ok(()),
            Err(e) => Err(e).context("recording a login"),
        }
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
            Ok(output) => Ok(Some(get_n(
                &output.attributes.unwrap_or_default(),
                "token_version",
            )?)),
            Err(e) if condition_failed(&e) => Ok(None),
            Err(e) => Err(e).context("moving the token version on"),
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
            .context("storing a session")?;
        Ok(())
    }

    async fn session(&self, id: &str, now: UnixTime) -> anyhow::Result<Option<Session>> {
        let Some(item) = self
            .get(Self::key(format!("SESSION#{id}"), "SESSION"), "a session")
            .await?
        else {
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

    async fn rotate_session(
        &self,
        id: &str,
        old: &str,
        new: &str,
        now: UnixTime,
    ) -> anyhow::Result<Rotated> {
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
        match result {
            Ok(_) => Ok(Rotated::Rotated),
            Err(e) if condition_failed(&e) => Ok(Rotated::Stale),
            Err(e) => Err(e).context("rotating a refresh token"),
        }
    }

    async fn delete_session(&self, id: &str) -> anyhow::Result<()> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(format!("SESSION#{id}"), "SESSION")))
            .send()
            .await
            .context("deleting a session")?;
        Ok(())
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
        (
            "mfa_enabled".to_owned(),
            AttributeValue::Bool(user.mfa_enabled),
        ),
    ]);
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
            let text = value
                .as_n()
                .map_err(|_| anyhow::anyhow!("item attribute {name} is not a number"))?;
            let parsed = text
                .parse()
                .map_err(|_| anyhow::anyhow!("item attribute {name} is out of range"))?;
            Ok(Some(parsed))
        }
    }
}
