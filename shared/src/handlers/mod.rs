//! The HTTP handlers, one per function. Each reads its request, calls the domain, and
//! returns a response or an [`ApiError`](crate::ApiError); [`crate::routes`] maps them to
//! functions and routes. A handler imports the domain and [`crate::http`], never another
//! handler: what two handlers share is a domain flow or an HTTP helper. This module holds
//! only the one view they share.

pub mod account;
pub mod admin;
pub mod authenticator;
pub mod code_resend;
pub mod devices;
pub mod google;
pub mod identity_unlink;
pub mod jwks;
pub mod login;
pub mod mail;
pub mod profile;
pub mod recovery;
pub mod refresh_logout;
pub mod signup;
pub mod web;

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::app::App;
use crate::clock::rfc3339;
use crate::model::profile::ATTRIBUTES;
use crate::model::{Attribute, Identity, User};
use crate::pictures;

/// A user as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct UserView {
    /// The user's id.
    pub id: String,
    /// The email, case-folded.
    pub email: String,
    /// The display name.
    pub name: String,
    /// Whether a second factor is active.
    pub mfa_enabled: bool,
    /// How many unused recovery codes the account has (none: the front end offers new ones).
    pub recovery_codes_left: usize,
    /// Whether the account has a password (one Google made may not: changes that ask for the
    /// password ask it for an emailed code instead).
    pub has_password: bool,
    /// `user` or `admin` (the front end shows admins their tools).
    pub role: &'static str,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339, or null before the first login.
    pub last_login: Option<String>,
    /// The Google (OpenID) identities linked to the account.
    pub identities: Vec<IdentityView>,
    /// The profile attributes.
    #[serde(flatten)]
    pub profile: ProfileView,
}

/// A user's profile attributes as the API shows them.
#[derive(Debug, Clone, Serialize)]
pub struct ProfileView {
    /// Each standard attribute (`given_name` … `zoneinfo`), null when not set.
    #[serde(flatten)]
    pub attributes: BTreeMap<&'static str, Option<String>>,
    /// Always false: no phone number is verified here (no SMS).
    pub phone_number_verified: bool,
    /// Whether `picture` is the person's upload (a URL valid for minutes, read the profile
    /// again for a new one) rather than a URL they gave.
    pub picture_uploaded: bool,
    /// The deployment's custom attributes that are set, by name.
    pub custom: BTreeMap<String, Value>,
}

impl ProfileView {
    /// `user`'s profile, with the custom attributes the deployment declares; an uploaded
    /// `picture` is shown as a short-lived URL ([`pictures::view`]).
    pub async fn of(app: &App, user: &User) -> Self {
        let declared = |name: &String| app.config.custom_attributes.iter().any(|a| a.name == *name);
        let picture = user.profile.get(&Attribute::Picture);
        let mut attributes: BTreeMap<&'static str, Option<String>> =
            ATTRIBUTES.iter().map(|(attribute, name)| (*name, user.profile.get(attribute).cloned())).collect();
        if let Some(picture) = picture {
            attributes.insert("picture", pictures::view(app, picture).await);
        }
        Self {
            attributes,
            phone_number_verified: false,
            picture_uploaded: picture.is_some_and(|p| pictures::object_key(p).is_some()),
            custom: user.custom.iter().filter(|(n, _)| declared(n)).map(|(n, v)| (n.clone(), v.to_json())).collect(),
        }
    }
}

/// A linked identity as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct IdentityView {
    /// Its id (what `POST /users/me/identities/unlink` takes).
    pub id: String,
    /// The provider's issuer.
    pub issuer: String,
    /// The email the provider verified when it was linked.
    pub email: String,
    /// RFC 3339.
    pub linked_at: String,
}

impl UserView {
    /// `user` as the API shows it (its profile as [`ProfileView::of`] shows it).
    pub async fn of(app: &App, user: &User) -> Self {
        Self {
            id: user.id.clone(),
            email: user.email.as_str().to_owned(),
            name: user.name.clone(),
            mfa_enabled: user.mfa_enabled,
            recovery_codes_left: user.recovery_codes.len(),
            has_password: user.has_password(),
            role: user.role.as_str(),
            created_at: rfc3339(user.created_at),
            last_login: user.last_login.map(rfc3339),
            identities: user.identities.iter().map(IdentityView::from).collect(),
            profile: ProfileView::of(app, user).await,
        }
    }
}

impl From<&Identity> for IdentityView {
    fn from(identity: &Identity) -> Self {
        Self {
            id: identity.id(),
            issuer: identity.issuer.clone(),
            email: identity.email.clone(),
            linked_at: rfc3339(identity.linked_at),
        }
    }
}
