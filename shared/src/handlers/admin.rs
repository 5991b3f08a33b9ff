//! Admin routes: list and find accounts, see one with its activity, unlock it, remove its
//! authenticator, end its sessions, deactivate and reactivate it, set its address, delete it.
//! Only users with the admin role; every action is in the account's activity with the
//! admin's id (docs/SECURITY.md, "Admin tools").

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Serialize;
use serde_json::json;

use super::{IdentityView, ProfileView};
use crate::activity::{self, ActivityView, Event};
use crate::app::App;
use crate::clock::rfc3339;
use crate::deletion;
use crate::error::ApiError;
use crate::http::request::MAX_PAGE;
use crate::http::session::{admin, path_user};
use crate::http::{JsonBody, cursor, json, message, no_fields, origin, page_params, page_params_with, profile_change};
use crate::mail::templates::{Kind, Letter, To};
use crate::mailing;
use crate::model::{Email, Purpose, User};
use crate::profile::{self, Editor};
use crate::session::Caller;
use crate::store::EmailChanged;

/// An admin's request about one account, `{email}`: the account's user.
async fn admin_and_target(app: &App, req: &Request) -> Result<(Caller, User), ApiError> {
    let caller = admin(app, req).await?;
    let mut body = JsonBody::parse(req)?;
    let email = body.required("email", Email::parse);
    let (email,) = body.finish((email,))?;
    let user = app.store.user_by_email(&email).await?.ok_or(ApiError::UserNotFound)?;
    Ok((caller, user))
}

/// `POST /admin/users/unlock` with an admin access token and `{email}` → 200: the account's
/// failure count is reset, so it can log in again.
#[tracing::instrument(skip_all, fields(user))]
pub async fn admin_unlock(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let (caller, user) = admin_and_target(app, &req).await?;
    if user.deactivated {
        return Err(ApiError::AccountDeactivated);
    }
    app.store.clear_failures(&user.email).await?;
    activity::record_by_admin(app, &user.id, Event::Unlocked, &origin(&req), &caller.user.id).await;
    tracing::info!(account = user.id, "account unlocked");
    Ok(message(StatusCode::OK, "The account is unlocked."))
}

/// `POST /admin/users/mfa/reset` with an admin access token and `{email}` → 200: the
/// account's Google Authenticator is removed and every session (and pending MFA token) of
/// the account ends; the owner gets a mail and an activity entry. For an owner who lost the
/// phone and the recovery codes, or whose account someone else enrolled.
#[tracing::instrument(skip_all, fields(user))]
pub async fn admin_mfa_reset(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let (caller, user) = admin_and_target(app, &req).await?;
    // Its own authenticator an admin turns off as every owner does, with both factors.
    not_self(&caller, &user)?;
    if !user.mfa_enabled && user.totp_pending.is_none() {
        return Err(ApiError::MfaNotEnabled);
    }
    if !app.store.disable_totp(&user.id).await? {
        return Err(ApiError::UserNotFound);
    }
    activity::record_by_admin(app, &user.id, Event::MfaRemovedByAdmin, &origin(&req), &caller.user.id).await;
    mailing::send(app, &Letter::Notice(Kind::MfaRemovedByAdmin), To::user(&user)).await?;
    tracing::info!(account = user.id, "authenticator removed by an admin");
    Ok(message(StatusCode::OK, "Google Authenticator is removed and every session of the account has ended."))
}

/// A user as an admin sees them in the list.
#[derive(Debug, Serialize)]
struct AdminUserView {
    id: String,
    email: String,
    name: String,
    role: &'static str,
    created_at: String,
    last_login: Option<String>,
    /// Failed logins reached the lock (a deactivated account's own lock is not counted).
    locked: bool,
    mfa_enabled: bool,
    deactivated: bool,
}

fn summary(app: &App, user: User, failures: u32) -> AdminUserView {
    AdminUserView {
        locked: !user.deactivated && failures >= app.config.max_login_failures,
        deactivated: user.deactivated,
        id: user.id,
        email: user.email.as_str().to_owned(),
        name: user.name,
        role: user.role.as_str(),
        created_at: rfc3339(user.created_at),
        last_login: user.last_login.map(rfc3339),
        mfa_enabled: user.mfa_enabled,
    }
}

/// An address prefix to search by: trimmed, lower-cased, 1 to 254 characters without spaces.
fn email_prefix(text: &str) -> Result<String, String> {
    let prefix = text.trim().to_lowercase();
    let valid = (1..=254).contains(&prefix.len()) && prefix.chars().all(|c| c.is_ascii_graphic());
    if valid { Ok(prefix) } else { Err("must be 1 to 254 printable ASCII characters, no spaces".to_owned()) }
}

/// `GET /admin/users?limit=&cursor=&email_prefix=` with an admin access token → 200
/// `{items, next_cursor}`: newest first, or, with `email_prefix`, the accounts whose address
/// starts with it, by address.
#[tracing::instrument(skip_all, fields(user))]
pub async fn admin_users(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    admin(app, &req).await?;
    let (limit, start, prefix) = page_params_with(&req, Some(("email_prefix", email_prefix)))?;
    let page = match prefix {
        Some(prefix) => app.store.users_by_email_prefix(&prefix, limit, start.as_deref()).await?,
        None => app.store.users(limit, start.as_deref()).await?,
    };
    let emails: Vec<Email> = page.items.iter().map(|u| u.email.clone()).collect();
    let failures = app.store.failures(&emails, app.now()).await?;
    let items: Vec<AdminUserView> =
        page.items.into_iter().zip(failures).map(|(user, failures)| summary(app, user, failures)).collect();
    Ok(json(StatusCode::OK, &json!({ "items": items, "next_cursor": cursor(page.next) })))
}

/// Refuses an admin tool on the admin's own account where it could take every admin's access
/// away (deactivation, deletion) or skip the proofs an owner is asked (the address, the
/// authenticator): docs/SECURITY.md, "Admin tools".
fn not_self(caller: &Caller, user: &User) -> Result<(), ApiError> {
    if caller.user.id == user.id { Err(ApiError::OwnAdminAccount) } else { Ok(()) }
}

/// One account as an admin sees it.
#[derive(Debug, Serialize)]
struct AdminUserDetail {
    #[serde(flatten)]
    summary: AdminUserView,
    deactivated: bool,
    identities: Vec<IdentityView>,
    /// Live sessions.
    session_count: usize,
    #[serde(flatten)]
    profile: ProfileView,
}

/// `GET /admin/users/{id}` with an admin access token → 200: the account as an admin sees it
/// (role, locked, deactivated, authenticator on, linked identities, live sessions, profile).
#[tracing::instrument(skip_all, fields(user))]
pub async fn admin_user_get(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let caller = admin(app, &req).await?;
    let user = path_user(app, &req, &caller).await?;
    Ok(json(StatusCode::OK, &detail(app, user).await?))
}

/// `PATCH /admin/users/{id}` with an admin access token and a partial profile (as `PATCH
/// /users/me` takes it, custom attributes only admins write included) → 200 with the account
/// as `GET` shows it; the change is in the account's activity with the admin's id.
#[tracing::instrument(skip_all, fields(user))]
pub async fn admin_user_update(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let caller = admin(app, &req).await?;
    let mut body = JsonBody::parse(&req)?;
    let editor = Editor::Admin(&caller.user.id);
    let change = profile_change(app, &mut body, editor);
    body.finish(())?;
    let user = path_user(app, &req, &caller).await?;
    let user = profile::update(app, user, change, editor, &origin(&req)).await?;
    Ok(json(StatusCode::OK, &detail(app, user).await?))
}

async fn detail(app: &App, user: User) -> Result<AdminUserDetail, ApiError> {
    let failures = app.store.failures(std::slice::from_ref(&user.email), app.now()).await?;
    let mut session_count = 0;
    let mut cursor = None;
    loop {
        let page =
            app.store.user_sessions(&user.id, user.token_version, app.now(), MAX_PAGE, cursor.as_deref()).await?;
        session_count += page.items.len();
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    Ok(AdminUserDetail {
        deactivated: user.deactivated,
        identities: user.identities.iter().map(IdentityView::from).collect(),
        session_count,
        profile: ProfileView::of(app, &user).await,
        summary: summary(app, user, failures.first().copied().unwrap_or(0)),
    })
}

/// `GET /admin/users/{id}/activity?limit=&cursor=` with an admin access token → 200 `{items,
/// next_cursor}`: the account's activity, newest first, admins' actions with their id.
#[tracing::instrument(skip_all, fields(user))]
pub async fn admin_user_activity(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let caller = admin(app, &req).await?;
    let (limit, start) = page_params(&req)?;
    let user = path_user(app, &req, &caller).await?;
    let page = app.store.activity(&user.id, app.now(), limit, start.as_deref()).await?;
    let items: Vec<ActivityView> = page.items.into_iter().map(ActivityView::from).collect();
    Ok(json(StatusCode::OK, &json!({ "items": items, "next_cursor": cursor(page.next) })))
}

/// `POST /admin/users/{id}/sessions/end` with an admin access token → 200 `{message, ended}`:
/// every session of the account, and every access token and pending MFA or reset token
/// issued to it, ends.
#[tracing::instrument(skip_all, fields(user))]
pub async fn admin_sessions_end(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let caller = admin(app, &req).await?;
    no_fields(&req)?;
    let user = path_user(app, &req, &caller).await?;
    app.store.bump_token_version(&user.id).await?.ok_or(ApiError::UserNotFound)?;
    let ended = app.store.delete_user_sessions(&user.id).await?;
    activity::record_by_admin(app, &user.id, Event::SessionsEndedByAdmin, &origin(&req), &caller.user.id).await;
    Ok(json(StatusCode::OK, &json!({ "message": "Every session of the account has ended.", "ended": ended })))
}

/// `POST /admin/users/{id}/deactivate` with an admin access token → 200: the account cannot
/// sign in by any path (it answers as a locked account does) until reactivated; every session
/// and pending token ends; the owner is told. Not one's own account.
#[tracing::instrument(skip_all, fields(user))]
pub async fn admin_deactivate(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let caller = admin(app, &req).await?;
    no_fields(&req)?;
    let user = path_user(app, &req, &caller).await?;
    not_self(&caller, &user)?;
    if !user.deactivated {
        if !app.store.set_deactivated(&user, true).await? {
            return Err(ApiError::Conflict);
        }
        app.store.delete_user_sessions(&user.id).await?;
        activity::record_by_admin(app, &user.id, Event::Deactivated, &origin(&req), &caller.user.id).await;
        mailing::send(app, &Letter::Notice(Kind::AccountDeactivated), To::user(&user)).await?;
    }
    Ok(message(StatusCode::OK, "The account is deactivated."))
}

/// `POST /admin/users/{id}/reactivate` with an admin access token → 200: the account can sign
/// in again (its lockout counter starts over).
#[tracing::instrument(skip_all, fields(user))]
pub async fn admin_reactivate(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let caller = admin(app, &req).await?;
    no_fields(&req)?;
    let user = path_user(app, &req, &caller).await?;
    if user.deactivated {
        if !app.store.set_deactivated(&user, false).await? {
            return Err(ApiError::Conflict);
        }
        activity::record_by_admin(app, &user.id, Event::Reactivated, &origin(&req), &caller.user.id).await;
    }
    Ok(message(StatusCode::OK, "The account is active."))
}

/// `POST /admin/users/{id}/email` with an admin access token and `{email}` → 200 with the
/// account: its address is set (putting back one changed against the owner's will), every
/// session ends, both addresses are told.
#[tracing::instrument(skip_all, fields(user))]
pub async fn admin_email_set(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let caller = admin(app, &req).await?;
    let mut body = JsonBody::parse(&req)?;
    let email = body.required("email", Email::parse);
    let (email,) = body.finish((email,))?;
    let user = path_user(app, &req, &caller).await?;
    // Its own address an admin changes as every owner does: with the password and a code.
    not_self(&caller, &user)?;
    if email == user.email {
        return Err(ApiError::field("email", "is already the account's address"));
    }
    match app.store.change_email(&user.id, &user.email, &email, user.token_version).await? {
        EmailChanged::Changed => {}
        EmailChanged::EmailTaken => return Err(ApiError::EmailTaken),
        EmailChanged::Conflict => return Err(ApiError::Conflict),
    }
    app.store.discard_code(&email, Purpose::Signup).await?;
    app.store.delete_user_sessions(&user.id).await?;
    activity::record_by_admin(app, &user.id, Event::EmailSetByAdmin, &origin(&req), &caller.user.id).await;
    mailing::send(app, &Letter::EmailChanged(email.as_str()), To::user(&user)).await?;
    mailing::send(app, &Letter::Notice(Kind::EmailSetByAdmin), To::user(&user).at(email.as_str())).await?;
    let user = app.store.user(&user.id).await?.ok_or(ApiError::UserNotFound)?;
    let failures = app.store.failures(std::slice::from_ref(&user.email), app.now()).await?;
    Ok(json(StatusCode::OK, &summary(app, user, failures.first().copied().unwrap_or(0))))
}

/// `DELETE /admin/users/{id}` with an admin access token → 200: the account and everything
/// kept with it are gone (as its owner's own deletion does), and a mail tells the owner. Not
/// one's own account.
#[tracing::instrument(skip_all, fields(user))]
pub async fn admin_user_delete(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let caller = admin(app, &req).await?;
    no_fields(&req)?;
    let user = path_user(app, &req, &caller).await?;
    not_self(&caller, &user)?;
    deletion::erase(app, &user).await?;
    tracing::info!(admin = caller.user.id, account = user.id, "an admin deleted an account");
    Ok(message(StatusCode::OK, "The account is deleted."))
}
