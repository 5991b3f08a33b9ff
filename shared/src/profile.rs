//! Changing a profile: the display name, the standard attributes and the deployment's custom
//! ones, by the person or by an admin. Owns who may write which attribute, how `name`
//! follows the given and family names, and the uniqueness of `preferred_username`
//! (docs/SECURITY.md, "Profiles").

use std::collections::BTreeMap;

use serde_json::Value;

use crate::activity::{self, Event};
use crate::app::App;
use crate::config::Writer;
use crate::error::ApiError;
use crate::invalid::Invalid;
use crate::model::profile::full_name;
use crate::model::{Attribute, CustomValue, Origin, ProfileChange, User};
use crate::pictures;
use crate::store::ProfileUpdated;

/// Who changes a profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Editor<'a> {
    /// The person, through `PATCH /users/me`.
    Owner,
    /// An admin (this id), through `PATCH /admin/users/{id}`.
    Admin(&'a str),
}

/// Checks a value given for the custom attribute `name`, as `editor` may write it: `None`
/// removes it. An attribute the deployment does not declare, or one only admins write given
/// by the person, is refused like a field that does not exist or a wrong value.
pub fn custom_value(app: &App, editor: Editor<'_>, name: &str, value: &Value) -> Result<Option<CustomValue>, Invalid> {
    let declared = app.config.custom_attributes.iter().find(|a| a.name == name);
    let Some(declared) = declared else {
        return Err("is not a recognised field".into());
    };
    if declared.writer == Writer::Admin && editor == Editor::Owner {
        return Err("may be set only by an admin".into());
    }
    match value {
        Value::Null => Ok(None),
        value => declared.parse(value).map(Some),
    }
}

/// Makes `change` to `user`'s profile: the user as it is now. When the change sets the given
/// or family name but not `name`, and `name` was what they made before (or the account has
/// none), `name` follows them (while one of them is left). A taken `preferred_username` is a field error; an account
/// changed meanwhile (its username, or deleted) is a conflict.
pub async fn update(
    app: &App,
    user: User,
    mut change: ProfileChange,
    editor: Editor<'_>,
    origin: &Origin,
) -> Result<User, ApiError> {
    let names = [Attribute::GivenName, Attribute::FamilyName];
    let names_change = change.name.is_none() && names.iter().any(|a| change.standard.contains_key(a));
    let name_follows = full_name(&user.profile).as_deref() == Some(user.name.as_str()) || user.name.is_empty();
    if names_change && name_follows {
        let mut after = user.clone();
        change.apply_to(&mut after);
        change.name = full_name(&after.profile);
    }
    if change.is_noop_for(&user) {
        return Ok(user);
    }
    let picture_before = user.profile.get(&Attribute::Picture).cloned();
    let user = match app.store.update_profile(&user, &change).await? {
        ProfileUpdated::Updated(user) => *user,
        ProfileUpdated::UsernameTaken => return Err(ApiError::field("preferred_username", "is already taken")),
        ProfileUpdated::Conflict => return Err(ApiError::Conflict),
    };
    match editor {
        Editor::Owner => activity::record(app, &user.id, Event::ProfileUpdate, origin).await,
        Editor::Admin(admin) => activity::record_by_admin(app, &user.id, Event::ProfileUpdate, origin, admin).await,
    }
    if picture_before.as_ref() != user.profile.get(&Attribute::Picture) {
        // A replaced or removed upload is deleted, not left behind.
        pictures::forget(app, picture_before.as_deref()).await;
    }
    Ok(user)
}

/// Makes the upload at `key` the person's picture (see [`pictures::adopt`]); the picture it
/// replaces, if uploaded, is deleted. When the profile cannot take it, the adopted copy goes.
pub async fn set_picture(app: &App, user: User, key: &str, origin: &Origin) -> Result<User, ApiError> {
    let picture = pictures::adopt(app, &user, key).await?;
    let change = ProfileChange {
        standard: BTreeMap::from([(Attribute::Picture, Some(picture.clone()))]),
        ..ProfileChange::default()
    };
    let updated = update(app, user, change, Editor::Owner, origin).await;
    if updated.is_err() {
        pictures::forget(app, Some(&picture)).await;
    }
    updated
}
