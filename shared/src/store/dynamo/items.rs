//! Entities to items and back. Written by hand rather than derived (`serde_dynamo`): the
//! model stays free of storage names, an item is its entity plus the key and index
//! attributes of [`super::keys`], and every attribute a condition names is spelled here
//! next to the expression that uses it in the aggregate's file.

use std::collections::HashMap;

use anyhow::Context as _;
use aws_sdk_dynamodb::types::AttributeValue;

use super::keys;
use crate::clock::UnixTime;
use crate::model::profile::ATTRIBUTES;
use crate::model::{
    Activity, CodeState, Custom, CustomValue, Email, Grant, GrantKind, Identity, Lockout, LoginState, MailRecord,
    MailStatus, Method, Purpose, Role, Session, User,
};

/// A DynamoDB item.
pub type Item = HashMap<String, AttributeValue>;

/// A user's item, with its place in the users index.
pub fn user_item(user: &User) -> Item {
    let mut item = keys::user(&user.id);
    item.extend([
        ("kind".to_owned(), s("user")),
        ("id".to_owned(), s(&user.id)),
        ("email".to_owned(), s(user.email.as_str())),
        ("name".to_owned(), s(&user.name)),
        ("password_hash".to_owned(), s(&user.password_hash)),
        ("created_at".to_owned(), n(user.created_at)),
        ("token_version".to_owned(), n(user.token_version)),
        ("mfa_enabled".to_owned(), AttributeValue::Bool(user.mfa_enabled)),
        ("deactivated".to_owned(), AttributeValue::Bool(user.deactivated)),
        ("role".to_owned(), s(user.role.as_str())),
        ("password_history".to_owned(), strings(&user.password_history)),
        ("gsi1pk".to_owned(), s(keys::users_partition(&user.id))),
        ("gsi1sk".to_owned(), s(keys::user_order(user))),
    ]);
    let optional = [
        ("totp_secret", user.totp_secret.as_ref().map(s)),
        ("totp_pending", user.totp_pending.as_ref().map(s)),
        ("totp_last_step", user.totp_last_step.map(n)),
        ("recovery_codes", (!user.recovery_codes.is_empty()).then(|| AttributeValue::Ss(user.recovery_codes.clone()))),
        ("last_login", user.last_login.map(n)),
        ("identities", (!user.identities.is_empty()).then(|| identities(&user.identities))),
    ];
    item.extend(optional.into_iter().filter_map(|(name, value)| Some((name.to_owned(), value?))));
    item.extend(user.profile.iter().map(|(attribute, value)| (attribute.as_str().to_owned(), s(value))));
    item.extend(user.custom.iter().map(|(name, value)| (custom_attribute_name(name), custom_value(value))));
    item
}

/// The item attribute that holds the custom attribute `name`.
pub fn custom_attribute_name(name: &str) -> String {
    format!("{CUSTOM_PREFIX}{name}")
}

const CUSTOM_PREFIX: &str = "custom_";

/// A custom attribute's value as an item attribute.
pub fn custom_value(value: &CustomValue) -> AttributeValue {
    match value {
        CustomValue::String(text) => s(text),
        CustomValue::Number(number) => AttributeValue::N(number.to_string()),
        CustomValue::Boolean(flag) => AttributeValue::Bool(*flag),
    }
}

fn custom(item: &Item) -> anyhow::Result<Custom> {
    let mut custom = Custom::new();
    for (key, value) in item {
        let Some(name) = key.strip_prefix(CUSTOM_PREFIX) else { continue };
        let value = match value {
            AttributeValue::S(text) => CustomValue::String(text.clone()),
            AttributeValue::N(number) => CustomValue::Number(number.parse().context("a custom number")?),
            AttributeValue::Bool(flag) => CustomValue::Boolean(*flag),
            _ => anyhow::bail!("the custom attribute {name} has a value of an unknown type"),
        };
        custom.insert(name.to_owned(), value);
    }
    Ok(custom)
}

/// The user an item holds.
pub fn user(item: &Item) -> anyhow::Result<User> {
    Ok(User {
        id: get_s(item, "id")?,
        email: Email::from_stored(get_s(item, "email")?),
        name: get_s(item, "name")?,
        profile: ATTRIBUTES.iter().filter_map(|(attribute, name)| Some((*attribute, opt_s(item, name)?))).collect(),
        custom: custom(item)?,
        password_hash: get_s(item, "password_hash")?,
        created_at: get_n(item, "created_at")?,
        last_login: opt_n(item, "last_login")?,
        token_version: get_n(item, "token_version")?,
        mfa_enabled: matches!(item.get("mfa_enabled"), Some(AttributeValue::Bool(true))),
        deactivated: matches!(item.get("deactivated"), Some(AttributeValue::Bool(true))),
        role: opt_s(item, "role").map_or(Role::User, |r| Role::parse(&r)),
        password_history: match item.get("password_history") {
            Some(AttributeValue::L(values)) => values.iter().filter_map(|v| v.as_s().ok().cloned()).collect(),
            _ => Vec::new(),
        },
        totp_secret: opt_s(item, "totp_secret"),
        totp_pending: opt_s(item, "totp_pending"),
        totp_last_step: opt_n(item, "totp_last_step")?,
        recovery_codes: item.get("recovery_codes").and_then(|v| v.as_ss().ok()).cloned().unwrap_or_default(),
        identities: match item.get("identities") {
            Some(AttributeValue::L(values)) => values.iter().map(identity).collect::<anyhow::Result<_>>()?,
            _ => Vec::new(),
        },
    })
}

/// A user's identities, as the list attribute `identities` holds them.
pub fn identities(list: &[Identity]) -> AttributeValue {
    AttributeValue::L(
        list.iter()
            .map(|i| {
                AttributeValue::M(HashMap::from([
                    ("issuer".to_owned(), s(&i.issuer)),
                    ("subject".to_owned(), s(&i.subject)),
                    ("email".to_owned(), s(&i.email)),
                    ("linked_at".to_owned(), n(i.linked_at)),
                ]))
            })
            .collect(),
    )
}

fn identity(value: &AttributeValue) -> anyhow::Result<Identity> {
    let map = value.as_m().map_err(|_| anyhow::anyhow!("an identity is not a map"))?;
    Ok(Identity {
        issuer: get_s(map, "issuer")?,
        subject: get_s(map, "subject")?,
        email: get_s(map, "email")?,
        linked_at: get_n(map, "linked_at")?,
    })
}

/// The link item of an identity to a user.
pub fn identity_item(identity: &Identity, user_id: &str) -> Item {
    let mut item = keys::identity(&identity.issuer, &identity.subject);
    item.extend([("kind".to_owned(), s("identity")), ("user_id".to_owned(), s(user_id))]);
    item
}

/// A redirect flow's item.
pub fn login_state_item(state: &LoginState) -> Item {
    let mut item = keys::login_state(&state.state_hash);
    item.extend([
        ("kind".to_owned(), s("login_state")),
        ("nonce".to_owned(), s(&state.nonce)),
        ("verifier".to_owned(), s(&state.verifier)),
        ("browser_hash".to_owned(), s(&state.browser_hash)),
        ("expires_at".to_owned(), n(state.expires_at)),
    ]);
    item
}

/// The redirect flow an item holds.
pub fn login_state(state_hash: &str, item: &Item) -> anyhow::Result<LoginState> {
    Ok(LoginState {
        state_hash: state_hash.to_owned(),
        nonce: get_s(item, "nonce")?,
        verifier: get_s(item, "verifier")?,
        browser_hash: get_s(item, "browser_hash")?,
        expires_at: get_n(item, "expires_at")?,
    })
}

/// The claim item that makes `email` the user's.
pub fn email_claim_item(email: &Email, user_id: &str) -> Item {
    let mut item = keys::email_claim(email);
    item.extend([
        ("kind".to_owned(), s("email")),
        ("user_id".to_owned(), s(user_id)),
        ("gsi1pk".to_owned(), s(keys::claims_partition(email.as_str()))),
        ("gsi1sk".to_owned(), s(email.as_str())),
    ]);
    item
}

/// The claim item that makes a `preferred_username` the user's.
pub fn username_claim_item(username: &str, user_id: &str) -> Item {
    let mut item = keys::username_claim(username);
    item.extend([("kind".to_owned(), s("username")), ("user_id".to_owned(), s(user_id))]);
    item
}

/// A grant's item.
pub fn grant_item(grant: &Grant) -> Item {
    let mut item = keys::grant(&grant.token_hash);
    item.extend([
        ("kind".to_owned(), s(grant.kind.as_str())),
        ("email".to_owned(), s(grant.email.as_str())),
        ("name".to_owned(), s(&grant.name)),
        ("expires_at".to_owned(), n(grant.expires_at)),
    ]);
    let optional = [
        ("user_id", grant.user_id.as_ref().map(s)),
        ("user_version", grant.user_version.map(n)),
        ("first_factor", grant.first_factor.map(|m| s(m.as_str()))),
    ];
    item.extend(optional.into_iter().filter_map(|(name, value)| Some((name.to_owned(), value?))));
    item
}

/// The grant of `kind` an item holds.
pub fn grant(token_hash: &str, kind: GrantKind, item: &Item) -> anyhow::Result<Grant> {
    Ok(Grant {
        token_hash: token_hash.to_owned(),
        kind,
        email: Email::from_stored(get_s(item, "email")?),
        name: get_s(item, "name")?,
        user_id: opt_s(item, "user_id"),
        user_version: opt_n(item, "user_version")?,
        expires_at: get_n(item, "expires_at")?,
        first_factor: opt_s(item, "first_factor").as_deref().and_then(Method::parse),
    })
}

/// A session's item.
pub fn session_item(session: &Session) -> Item {
    let mut item = keys::session(&session.id);
    item.extend([
        ("kind".to_owned(), s("session")),
        ("user_id".to_owned(), s(&session.user_id)),
        ("token_hash".to_owned(), s(&session.token_hash)),
        ("user_version".to_owned(), n(session.user_version)),
        ("created_at".to_owned(), n(session.created_at)),
        ("expires_at".to_owned(), n(session.expires_at)),
        ("last_used_at".to_owned(), n(session.last_used_at)),
        ("gsi1pk".to_owned(), s(keys::sessions_partition(&session.user_id))),
        ("gsi1sk".to_owned(), s(keys::session_order(session))),
    ]);
    let optional = [
        ("method", &session.method),
        ("first_ip", &session.first_ip),
        ("last_ip", &session.last_ip),
        ("user_agent", &session.user_agent),
    ];
    item.extend(optional.into_iter().filter_map(|(name, value)| Some((name.to_owned(), s(value.as_ref()?)))));
    item
}

/// The session `id` an item holds.
pub fn session(id: &str, item: &Item) -> anyhow::Result<Session> {
    let created_at = get_n(item, "created_at")?;
    Ok(Session {
        id: id.to_owned(),
        user_id: get_s(item, "user_id")?,
        token_hash: get_s(item, "token_hash")?,
        user_version: get_n(item, "user_version")?,
        created_at,
        expires_at: get_n(item, "expires_at")?,
        method: opt_s(item, "method"),
        last_used_at: opt_n(item, "last_used_at")?.unwrap_or(created_at),
        first_ip: opt_s(item, "first_ip"),
        last_ip: opt_s(item, "last_ip"),
        user_agent: opt_s(item, "user_agent"),
    })
}

/// The session an index item holds (its id from its key).
pub fn indexed_session(item: &Item) -> anyhow::Result<Session> {
    let pk = get_s(item, "pk")?;
    let id = pk.strip_prefix("SESSION#").ok_or_else(|| anyhow::anyhow!("{pk} is not a session's key"))?;
    session(id, item)
}

/// The item of an email's code state for one purpose.
pub fn code_item(email: &Email, purpose: Purpose, state: &CodeState) -> Item {
    let mut item = keys::code(email, purpose);
    item.extend([
        ("kind".to_owned(), s("code")),
        ("code_expires_at".to_owned(), n(state.code_expires_at)),
        ("attempts".to_owned(), n(state.attempts)),
        ("window_start".to_owned(), n(state.window_start)),
        ("sends".to_owned(), n(state.sends)),
        ("failures".to_owned(), n(state.failures)),
        ("last_sent_at".to_owned(), n(state.last_sent_at)),
        ("expires_at".to_owned(), n(state.expires_at)),
    ]);
    let optional = [("code_hash", state.code_hash.as_ref().map(s)), ("context", state.context.as_ref().map(s))];
    item.extend(optional.into_iter().filter_map(|(name, value)| Some((name.to_owned(), value?))));
    item
}

/// The code state an item holds.
pub fn code_state(item: &Item) -> anyhow::Result<CodeState> {
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

/// The item of an email's lockout counter.
pub fn lockout_item(email: &Email, lockout: &Lockout) -> Item {
    let mut item = keys::lockout(email);
    item.extend([
        ("kind".to_owned(), s("lockout")),
        ("used".to_owned(), n(lockout.used)),
        ("failures".to_owned(), n(lockout.failures)),
        ("lease_until".to_owned(), n(lockout.lease_until)),
    ]);
    if let Some(at) = lockout.expires_at {
        item.insert("expires_at".to_owned(), n(at));
    }
    item
}

/// The lockout counter an item holds.
pub fn lockout(item: &Item) -> anyhow::Result<Lockout> {
    Ok(Lockout {
        used: opt_n(item, "used")?.unwrap_or(0),
        failures: opt_n(item, "failures")?.unwrap_or(0),
        lease_until: opt_n(item, "lease_until")?.unwrap_or(0),
        expires_at: opt_n(item, "expires_at")?,
    })
}

/// An activity entry's item, forgotten after `expires_at`.
pub fn activity_item(user_id: &str, entry: &Activity, expires_at: UnixTime) -> Item {
    let mut item = keys::activity(user_id, entry);
    item.extend([
        ("kind".to_owned(), s("activity")),
        ("id".to_owned(), s(&entry.id)),
        ("at".to_owned(), n(entry.at)),
        ("event".to_owned(), s(&entry.event)),
        ("expires_at".to_owned(), n(expires_at)),
    ]);
    let optional = [
        ("method", entry.method.as_ref().map(s)),
        ("source_ip", entry.source_ip.as_ref().map(s)),
        ("user_agent", entry.user_agent.as_ref().map(s)),
        ("actor", entry.actor.as_ref().map(s)),
    ];
    item.extend(optional.into_iter().filter_map(|(name, value)| Some((name.to_owned(), value?))));
    item
}

/// A mail record's item, in its partition ([`keys::mail_partition`]).
pub fn mail_item(record: &MailRecord, expires_at: UnixTime) -> Item {
    let pk = keys::mail_partition(record.user_id.as_deref(), &record.to);
    let mut item = HashMap::from([
        ("pk".to_owned(), s(pk)),
        ("sk".to_owned(), s(keys::mail_sort_key(record))),
        ("kind".to_owned(), s("mail")),
        ("message_id".to_owned(), s(&record.message_id)),
        ("mail_kind".to_owned(), s(&record.kind)),
        ("to".to_owned(), s(&record.to)),
        ("sent_at".to_owned(), n(record.sent_at)),
        ("sent_nanos".to_owned(), n(record.sent_nanos)),
        ("status".to_owned(), s(record.status.as_str())),
        ("status_rank".to_owned(), n(record.status.rank())),
        ("status_at".to_owned(), n(record.status_at)),
        ("expires_at".to_owned(), n(expires_at)),
    ]);
    let optional = [("user_id", record.user_id.as_ref().map(s)), ("detail", record.detail.as_ref().map(s))];
    item.extend(optional.into_iter().filter_map(|(name, value)| Some((name.to_owned(), value?))));
    item
}

/// The mail record an item holds.
pub fn mail(item: &Item) -> anyhow::Result<MailRecord> {
    let status = get_s(item, "status")?;
    Ok(MailRecord {
        message_id: get_s(item, "message_id")?,
        kind: get_s(item, "mail_kind")?,
        to: get_s(item, "to")?,
        user_id: opt_s(item, "user_id"),
        sent_at: get_n(item, "sent_at")?,
        sent_nanos: get_n(item, "sent_nanos")?,
        status: MailStatus::named(&status).with_context(|| format!("a mail status {status:?}"))?,
        status_at: get_n(item, "status_at")?,
        detail: opt_s(item, "detail").filter(|detail| !detail.is_empty()),
    })
}

/// The activity entry an item holds.
pub fn activity(item: &Item) -> anyhow::Result<Activity> {
    Ok(Activity {
        id: get_s(item, "id")?,
        at: get_n(item, "at")?,
        event: get_s(item, "event")?,
        method: opt_s(item, "method"),
        source_ip: opt_s(item, "source_ip"),
        user_agent: opt_s(item, "user_agent"),
        actor: opt_s(item, "actor"),
    })
}

/// A list of strings (a password history keeps its order, so not a string set).
pub fn strings(values: &[String]) -> AttributeValue {
    AttributeValue::L(values.iter().map(s).collect())
}

/// A string attribute.
pub fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

/// A number attribute.
pub fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// A string attribute that must be there.
pub fn get_s(item: &Item, name: &str) -> anyhow::Result<String> {
    opt_s(item, name).with_context(|| format!("item attribute {name} is missing or not a string"))
}

/// A string attribute, if there.
pub fn opt_s(item: &Item, name: &str) -> Option<String> {
    item.get(name).and_then(|v| v.as_s().ok()).cloned()
}

/// A number attribute that must be there.
pub fn get_n<T: std::str::FromStr>(item: &Item, name: &str) -> anyhow::Result<T> {
    opt_n(item, name)?.with_context(|| format!("item attribute {name} is missing"))
}

/// A number attribute, if there.
pub fn opt_n<T: std::str::FromStr>(item: &Item, name: &str) -> anyhow::Result<Option<T>> {
    match item.get(name) {
        None => Ok(None),
        Some(value) => {
            let text = value.as_n().map_err(|_| anyhow::anyhow!("item attribute {name} is not a number"))?;
            let parsed = text.parse().map_err(|_| anyhow::anyhow!("item attribute {name} is out of range"))?;
            Ok(Some(parsed))
        }
    }
}
