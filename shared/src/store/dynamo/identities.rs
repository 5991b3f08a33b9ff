//! Google sign-in: identity links, redirect flows, used nonces.

use async_trait::async_trait;

use super::DynamoStore;
use super::client::Expr;
use super::items::{self, email_claim_item, get_s, identities, identity_item, login_state_item, n, user_item};
use super::keys;
use crate::clock::UnixTime;
use crate::model::{Identity, LoginState, User};
use crate::store::{Created, IdentityStore, UserStore};

#[async_trait]
impl IdentityStore for DynamoStore {
    async fn put_login_state(&self, state: &LoginState) -> anyhow::Result<()> {
        let new = Expr::only_if("attribute_not_exists(pk)");
        if self.put(login_state_item(state), Some(new), "storing a sign-in flow").await? {
            Ok(())
        } else {
            anyhow::bail!("storing a sign-in flow: its state is taken")
        }
    }

    async fn take_login_state(&self, state_hash: &str, now: UnixTime) -> anyhow::Result<Option<LoginState>> {
        let live = Expr::only_if("expires_at > :now").value(":now", n(now));
        let taken = self.delete_returning(keys::login_state(state_hash), live, "taking a sign-in flow").await?;
        taken.map(|item| items::login_state(state_hash, &item)).transpose()
    }

    async fn use_nonce(&self, nonce_hash: &str, expires_at: UnixTime, now: UnixTime) -> anyhow::Result<bool> {
        let mut item = keys::nonce(nonce_hash);
        item.extend([("kind".to_owned(), items::s("nonce")), ("expires_at".to_owned(), n(expires_at))]);
        let unused = Expr::only_if("attribute_not_exists(pk) OR expires_at <= :now").value(":now", n(now));
        self.put(item, Some(unused), "recording a nonce").await
    }

    async fn user_by_identity(&self, issuer: &str, subject: &str) -> anyhow::Result<Option<User>> {
        let Some(link) = self.get(keys::identity(issuer, subject), "an identity").await? else {
            return Ok(None);
        };
        self.user(&get_s(&link, "user_id")?).await
    }

    async fn create_user_with_identity(&self, user: &User, identity: &Identity) -> anyhow::Result<Created> {
        let new = || Expr::only_if("attribute_not_exists(pk)");
        let steps = [
            self.put_step(identity_item(identity, &user.id), new())?,
            self.put_step(email_claim_item(&user.email, &user.id), new())?,
            self.put_step(user_item(user), new())?,
        ];
        match self.transact(&steps, "creating a user with an identity").await? {
            None => Ok(Created::Created),
            Some(0) => Ok(Created::IdentityTaken),
            Some(_) => Ok(Created::EmailTaken),
        }
    }

    async fn link_identity(&self, user_id: &str, identity: &Identity) -> anyhow::Result<bool> {
        let append = Expr::update("SET identities = list_append(if_not_exists(identities, :none), :new)")
            .condition("attribute_exists(pk)")
            .value(":none", identities(&[]))
            .value(":new", identities(std::slice::from_ref(identity)));
        let steps = [
            self.put_step(identity_item(identity, user_id), Expr::only_if("attribute_not_exists(pk)"))?,
            self.update_step(keys::user(user_id), append)?,
        ];
        Ok(self.transact(&steps, "linking an identity").await?.is_none())
    }

    async fn unlink_identity(&self, user_id: &str, identity: &Identity, position: usize) -> anyhow::Result<bool> {
        let remove = Expr::update(format!("REMOVE identities[{position}]"))
            .condition(format!(
                "identities[{position}].issuer = :issuer AND identities[{position}].subject = :subject \
                 AND password_hash <> :none"
            ))
            .value(":issuer", items::s(&identity.issuer))
            .value(":subject", items::s(&identity.subject))
            .value(":none", items::s(""));
        let linked_here = Expr::only_if("user_id = :user").value(":user", items::s(user_id));
        let steps = [
            self.delete_step(keys::identity(&identity.issuer, &identity.subject), linked_here)?,
            self.update_step(keys::user(user_id), remove)?,
        ];
        Ok(self.transact(&steps, "unlinking an identity").await?.is_none())
    }
}
