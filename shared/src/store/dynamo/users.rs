//! Users and the email claims that keep their addresses unique.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};

use super::DynamoStore;
use super::client::{Expr, SortKey};
use super::items::{self, email_claim_item, get_n, get_s, lockout_item, n, s, strings, user_item, username_claim_item};
use super::keys;
use crate::clock::UnixTime;
use crate::model::profile::username_key;
use crate::model::{Attribute, Email, GrantKind, MOVED_IN_LOCKED, Page, ProfileChange, User};
use crate::store::{BadCursor, Created, EmailChanged, ProfileUpdated, Reset, UserStore, page};

/// The update that makes `change`: every value set, every one removed.
fn profile_update(change: &ProfileChange) -> Expr {
    let mut set = Vec::new();
    let mut remove = Vec::new();
    let mut expr = Expr::default();
    if let Some(name) = &change.name {
        set.push("#name = :name".to_owned());
        expr = expr.name("#name", "name").value(":name", s(name));
    }
    let standard = change.standard.iter().map(|(a, v)| (a.as_str().to_owned(), v.as_ref().map(s)));
    let custom =
        change.custom.iter().map(|(n, v)| (items::custom_attribute_name(n), v.as_ref().map(items::custom_value)));
    for (i, (attribute, value)) in standard.chain(custom).enumerate() {
        expr = expr.name(&format!("#a{i}"), &attribute);
        match value {
            Some(value) => {
                set.push(format!("#a{i} = :a{i}"));
                expr = expr.value(&format!(":a{i}"), value);
            }
            None => remove.push(format!("#a{i}")),
        }
    }
    let mut update = String::new();
    if !set.is_empty() {
        update = format!("SET {}", set.join(", "));
    }
    if !remove.is_empty() {
        update = format!("{update} REMOVE {}", remove.join(", "));
    }
    expr.with_update(update.trim_start())
}

/// The condition that `user`'s `picture` is still what it was read as, when `change` sets or
/// removes it (so that the upload it replaces is the one deleted), added to `expr`; and the
/// condition's text, to join to the write's own (`""` when the picture is not changed).
fn picture_guard(user: &User, change: &ProfileChange, expr: Expr) -> (Expr, &'static str) {
    if !change.standard.contains_key(&Attribute::Picture) {
        return (expr, "");
    }
    let expr = expr.name("#picture_was", Attribute::Picture.as_str());
    match user.profile.get(&Attribute::Picture) {
        Some(old) => (expr.value(":picture_was", s(old)), " AND #picture_was = :picture_was"),
        None => (expr, " AND attribute_not_exists(#picture_was)"),
    }
}

/// A new password in place of `old_hash`, the history kept, and the token version moved on.
fn password_change(old_hash: &str, new_hash: &str, history: &[String]) -> Expr {
    Expr::update("SET password_hash = :new, password_history = :history ADD token_version :one")
        .condition("password_hash = :old")
        .value(":new", s(new_hash))
        .value(":old", s(old_hash))
        .value(":history", strings(history))
        .value(":one", n(1))
}

#[async_trait]
impl UserStore for DynamoStore {
    async fn create_user(&self, user: &User, grant_hash: &str, now: UnixTime) -> anyhow::Result<Created> {
        let use_grant = Expr::only_if("attribute_exists(pk) AND expires_at > :now AND kind = :kind AND email = :email")
            .value(":now", n(now))
            .value(":kind", s(GrantKind::Signup.as_str()))
            .value(":email", s(user.email.as_str()));
        let new = || Expr::only_if("attribute_not_exists(pk)");
        let steps = [
            self.delete_step(keys::grant(grant_hash), use_grant)?,
            self.put_step(email_claim_item(&user.email, &user.id), new())?,
            self.put_step(user_item(user), new())?,
        ];
        let failed = self.transact(&steps, "creating a user").await?;
        if failed.is_some() && self.user(&user.id).await?.is_some_and(|u| u.email == user.email) {
            // This transaction was written before (its answer lost, the call retried, on a
            // table that ignores the SDK's idempotency token): the user is this one.
            return Ok(Created::Created);
        }
        match failed {
            None => Ok(Created::Created),
            Some(0) => Ok(Created::GrantInvalid),
            Some(_) => Ok(Created::EmailTaken),
        }
    }

    async fn import_user(&self, user: &User, locked: bool) -> anyhow::Result<Created> {
        let new = || Expr::only_if("attribute_not_exists(pk)");
        let mut steps = vec![
            self.put_step(email_claim_item(&user.email, &user.id), new())?,
            self.put_step(user_item(user), new())?,
        ];
        let username = user.profile.get(&Attribute::PreferredUsername);
        if let Some(username) = username {
            steps.push(self.put_step(username_claim_item(username, &user.id), new())?);
        }
        if locked {
            steps.push(self.put_step(lockout_item(&user.email, &MOVED_IN_LOCKED), Expr::default())?);
        }
        match self.transact(&steps, "importing a user").await? {
            None => Ok(Created::Created),
            Some(2) if username.is_some() => Ok(Created::UsernameTaken),
            Some(_) => Ok(Created::EmailTaken),
        }
    }

    async fn user(&self, id: &str) -> anyhow::Result<Option<User>> {
        self.get(keys::user(id), "a user").await?.map(|item| items::user(&item)).transpose()
    }

    async fn user_by_email(&self, email: &Email) -> anyhow::Result<Option<User>> {
        let Some(claim) = self.get(keys::email_claim(email), "an email claim").await? else {
            // The same two reads as for an account, so that the time taken does not tell
            // whether the address has one (docs/SECURITY.md, "Enumeration").
            self.get(keys::user("none"), "a user").await?;
            return Ok(None);
        };
        self.user(&get_s(&claim, "user_id")?).await
    }

    async fn users(&self, limit: usize, cursor: Option<&str>) -> anyhow::Result<Page<User>> {
        let sort = match cursor {
            Some(cursor) => SortKey::Below(keys::user_cursor(cursor).ok_or(BadCursor)?.to_owned()),
            None => SortKey::Any,
        };
        let found = self.query_merged(keys::users_partitions(), sort, true, limit + 1, "listing users").await?;
        let users = found
            .iter()
            .map(|item| items::user(item).map(|user| (keys::user_order(&user), user)))
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(page(users, limit))
    }

    async fn record_login(&self, user_id: &str, at: UnixTime) -> anyhow::Result<()> {
        // A user deleted meanwhile has no login to record.
        let record = Expr::update("SET last_login = :at").condition("attribute_exists(pk)").value(":at", n(at));
        self.update(keys::user(user_id), record, ReturnValue::None, "recording a login").await.map(|_| ())
    }

    async fn bump_token_version(&self, user_id: &str) -> anyhow::Result<Option<u64>> {
        let bump = Expr::update("ADD token_version :one").condition("attribute_exists(pk)").value(":one", n(1));
        match self.update(keys::user(user_id), bump, ReturnValue::UpdatedNew, "moving the token version on").await? {
            Some(new) => Ok(Some(get_n(&new, "token_version")?)),
            None => Ok(None),
        }
    }

    async fn set_password(
        &self,
        user_id: &str,
        old_hash: &str,
        new_hash: &str,
        history: &[String],
    ) -> anyhow::Result<bool> {
        let change = password_change(old_hash, new_hash, history);
        Ok(self.update(keys::user(user_id), change, ReturnValue::None, "setting a password").await?.is_some())
    }

    async fn rehash_password(&self, user_id: &str, old_hash: &str, new_hash: &str) -> anyhow::Result<bool> {
        let rehash = Expr::update("SET password_hash = :new")
            .condition("password_hash = :old")
            .value(":new", s(new_hash))
            .value(":old", s(old_hash));
        Ok(self.update(keys::user(user_id), rehash, ReturnValue::None, "rehashing a password").await?.is_some())
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
        let use_grant = Expr::only_if("attribute_exists(pk) AND expires_at > :now AND kind = :kind AND user_id = :uid")
            .value(":now", n(now))
            .value(":kind", s(GrantKind::PasswordReset.as_str()))
            .value(":uid", s(user_id));
        let steps = [
            self.delete_step(keys::grant(grant_hash), use_grant)?,
            self.update_step(keys::user(user_id), password_change(old_hash, new_hash, history))?,
        ];
        match self.transact(&steps, "resetting a password").await? {
            None => Ok(Reset::Reset),
            Some(0) => Ok(Reset::GrantInvalid),
            Some(_) => Ok(Reset::Conflict),
        }
    }

    async fn update_profile(&self, user: &User, change: &ProfileChange) -> anyhow::Result<ProfileUpdated> {
        let (update, guard) = picture_guard(user, change, profile_update(change));
        let Some((old, new)) = change.username_move(user) else {
            let update = update.condition(format!("attribute_exists(pk){guard}"));
            return Ok(
                match self.update(keys::user(&user.id), update, ReturnValue::AllNew, "updating a profile").await? {
                    Some(item) => ProfileUpdated::Updated(Box::new(items::user(&item)?)),
                    None => ProfileUpdated::Conflict,
                },
            );
        };
        let still = match old {
            Some(old) => update.condition(format!("#username = :old_username{guard}")).value(":old_username", s(old)),
            None => update.condition(format!("attribute_exists(pk) AND attribute_not_exists(#username){guard}")),
        };
        let owned = || Expr::only_if("user_id = :user").value(":user", s(&user.id));
        let mut steps = vec![self.update_step(keys::user(&user.id), still.name("#username", "preferred_username"))?];
        // The same name in another case keeps its claim: it is the same key.
        let same_key = old.zip(new).is_some_and(|(old, new)| username_key(old) == username_key(new));
        if let Some(new) = new.filter(|_| !same_key) {
            let free = Expr::only_if("attribute_not_exists(pk) OR user_id = :user").value(":user", s(&user.id));
            steps.push(self.put_step(username_claim_item(new, &user.id), free)?);
        }
        if let Some(old) = old.filter(|_| !same_key) {
            steps.push(self.delete_step(keys::username_claim(old), owned())?);
        }
        match self.transact(&steps, "changing a username").await? {
            None => Ok(self
                .user(&user.id)
                .await?
                .map_or(ProfileUpdated::Conflict, |u| ProfileUpdated::Updated(Box::new(u)))),
            Some(1) if new.is_some() && !same_key => Ok(ProfileUpdated::UsernameTaken),
            Some(_) => Ok(ProfileUpdated::Conflict),
        }
    }

    async fn change_email(
        &self,
        user_id: &str,
        old: &Email,
        new: &Email,
        version: u64,
    ) -> anyhow::Result<EmailChanged> {
        let move_user = Expr::update("SET email = :new ADD token_version :one")
            .condition("email = :old AND token_version = :version")
            .value(":new", s(new.as_str()))
            .value(":old", s(old.as_str()))
            .value(":version", n(version))
            .value(":one", n(1));
        let release = Expr::only_if("user_id = :user").value(":user", s(user_id));
        let steps = [
            self.update_step(keys::user(user_id), move_user)?,
            self.delete_step(keys::email_claim(old), release)?,
            self.put_step(email_claim_item(new, user_id), Expr::only_if("attribute_not_exists(pk)"))?,
        ];
        match self.transact(&steps, "changing an email").await? {
            None => Ok(EmailChanged::Changed),
            Some(2) => Ok(EmailChanged::EmailTaken),
            Some(_) => Ok(EmailChanged::Conflict),
        }
    }

    async fn delete_user(&self, user: &User) -> anyhow::Result<bool> {
        let unchanged = Expr::only_if("email = :email AND token_version = :version")
            .value(":email", s(user.email.as_str()))
            .value(":version", n(user.token_version));
        let owned = || Expr::only_if("user_id = :user").value(":user", s(&user.id));
        let mut steps = vec![
            self.delete_step(keys::user(&user.id), unchanged)?,
            self.delete_step(keys::email_claim(&user.email), owned())?,
        ];
        for identity in &user.identities {
            steps.push(self.delete_step(keys::identity(&identity.issuer, &identity.subject), owned())?);
        }
        if let Some(username) = user.profile.get(&Attribute::PreferredUsername) {
            steps.push(self.delete_step(keys::username_claim(username), owned())?);
        }
        Ok(self.transact(&steps, "deleting a user").await?.is_none())
    }

    async fn set_deactivated(&self, user: &User, deactivated: bool) -> anyhow::Result<bool> {
        let mark = if deactivated {
            Expr::update("SET deactivated = :mark ADD token_version :one").value(":one", n(1))
        } else {
            Expr::update("SET deactivated = :mark")
        };
        let mark = mark
            .condition("email = :email")
            .value(":mark", AttributeValue::Bool(deactivated))
            .value(":email", s(user.email.as_str()));
        let lock = if deactivated {
            self.put_step(lockout_item(&user.email, &MOVED_IN_LOCKED), Expr::default())?
        } else {
            self.delete_step(keys::lockout(&user.email), Expr::default())?
        };
        let steps = [self.update_step(keys::user(&user.id), mark)?, lock];
        Ok(self.transact(&steps, "deactivating or reactivating a user").await?.is_none())
    }

    async fn users_by_email_prefix(
        &self,
        prefix: &str,
        limit: usize,
        cursor: Option<&str>,
    ) -> anyhow::Result<Page<User>> {
        let sort = match cursor {
            Some(cursor) => {
                let (from, to) = keys::claims_after(prefix, cursor).ok_or(BadCursor)?;
                SortKey::Between(from, to)
            }
            None => SortKey::Prefix(prefix.to_owned()),
        };
        let partitions = keys::claims_partitions(prefix);
        let found = self.query_merged(partitions, sort, false, limit + 1, "finding users by address").await?;
        let mut users = Vec::new();
        for claim in found {
            // A claim the index shows may have gone since (an address changed or deleted).
            if let Some(user) = self.user(&get_s(&claim, "user_id")?).await? {
                users.push((get_s(&claim, "gsi1sk")?, user));
            }
        }
        Ok(page(users, limit))
    }
}
