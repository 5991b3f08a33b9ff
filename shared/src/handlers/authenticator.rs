//! Google Authenticator: enrolment (setup → confirm), the second step of login, and turning
//! it off.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::json;

use super::UserView;
use crate::activity::{self, Event};
use crate::app::App;
use crate::error::ApiError;
use crate::http::session::{authenticate, session_response};
use crate::http::{JsonBody, json, opaque_token, origin, second_factor};
use crate::lockout::{self, LoginAttempt};
use crate::mail::templates::{Kind, Letter, To};
use crate::mailing;
use crate::model::{GrantKind, Method, SecondFactor};
use crate::password::Password;
use crate::reauth::{Factor, prove_both_factors, use_factor};
use crate::tokens::digest;
use crate::{grants, session, totp};

/// How many codes one MFA token may be tried with.
pub const MAX_MFA_ATTEMPTS: u32 = 5;

/// `POST /auth/totp/setup` with an access token and `{password}` → 200 `{qr_code_url,
/// otpauth_uri, secret}`: a fresh secret, pending until a code confirms it. Replaces a pending
/// secret, never an active one. The current password is fresh proof of the account: an
/// access token alone (stolen from a page, say) cannot put an authenticator of its holder's
/// on the account (docs/SECURITY.md, "Second factor"). Wrong passwords count toward the
/// lockout.
#[tracing::instrument(skip_all, fields(user))]
pub async fn totp_setup(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let caller = authenticate(app, &req).await?;
    let mut body = JsonBody::parse(&req)?;
    let password = body.required("password", Password::parse_existing);
    let (password,) = body.finish((password,))?;
    let user = caller.user;
    if user.mfa_enabled {
        return Err(ApiError::MfaAlreadyEnabled);
    }
    lockout::check_current_password(app, &user, password, &origin(&req)).await?;
    let secret = totp::new_secret(&*app.random);
    if !app.store.set_totp_pending(&user.id, &secret).await? {
        return Err(ApiError::MfaAlreadyEnabled);
    }
    let uri = totp::totp(&secret, &app.config.totp_issuer, user.email.as_str())?
        .to_url()
        .map_err(|e| anyhow::anyhow!("the otpauth URI: {e}"))?;
    let qr = totp::qr_png_data_url(&uri)?;
    Ok(json(StatusCode::OK, &json!({ "qr_code_url": qr, "otpauth_uri": uri, "secret": secret })))
}

/// `POST /auth/totp/confirm` with an access token and `{code}` → 200 `{recovery_codes}` and a
/// fresh session: TOTP is on, every other session ends. The codes are shown this once.
#[tracing::instrument(skip_all, fields(user))]
pub async fn totp_confirm(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let caller = authenticate(app, &req).await?;
    let mut body = JsonBody::parse(&req)?;
    let code = body.required("code", totp::parse_code);
    let (code,) = body.finish((code,))?;
    let user = &caller.user;
    if user.mfa_enabled {
        return Err(ApiError::MfaAlreadyEnabled);
    }
    let pending = user.totp_pending.clone().ok_or(ApiError::MfaSetupRequired)?;
    let totp = totp::totp(&pending, &app.config.totp_issuer, user.email.as_str())?;
    let step =
        totp::matching_step(&totp, &code, app.now()).ok_or(ApiError::InvalidAuthenticatorCode { remaining: None })?;
    let codes = totp::new_recovery_codes(&*app.random);
    let hashes: Vec<String> = codes.iter().map(|c| app.pepper.hash_recovery(&user.id, c)).collect();
    if !app.store.enable_totp(&user.id, &pending, step, &hashes).await? {
        return Err(ApiError::Conflict);
    }
    let origin = origin(&req);
    let (user, tokens) = session::restart(app, &caller, &origin).await?;
    activity::record(app, &user.id, Event::MfaEnabled, &origin).await;
    mailing::send(app, &Letter::Notice(Kind::MfaEnabled), To::user(&user)).await?;
    let body = json!({
        "message": "Google Authenticator is on. Keep these recovery codes somewhere safe: each works once.",
        "recovery_codes": codes,
    });
    session_response(StatusCode::OK, body, &tokens)
}

/// `POST /auth/totp/disable` with an access token and `{password, code}` (or
/// `{password, recovery_code}`) → 200 with a fresh session for this client: every other
/// session (and pending MFA token) ends and a mail tells the owner. Wrong answers count
/// toward the lockout.
#[tracing::instrument(skip_all, fields(user))]
pub async fn totp_disable(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let caller = authenticate(app, &req).await?;
    let mut body = JsonBody::parse(&req)?;
    let password = body.required("password", Password::parse_existing);
    let factor = second_factor(&mut body);
    let (password, factor) = body.finish((password, factor))?;
    let user = &caller.user;
    let origin = origin(&req);
    prove_both_factors(app, user, password, &factor, &origin).await?;
    if !app.store.disable_totp(&user.id).await? {
        return Err(ApiError::InvalidToken);
    }
    let (user, tokens) = session::restart(app, &caller, &origin).await?;
    activity::record(app, &user.id, Event::MfaDisabled, &origin).await;
    mailing::send(app, &Letter::Notice(Kind::MfaDisabled), To::user(&user)).await?;
    let body = json!({ "message": "Google Authenticator is off. Other sessions were logged out." });
    session_response(StatusCode::OK, body, &tokens)
}

/// `POST /auth/totp/recovery-codes` with an access token and `{password, code}` (a current
/// authenticator code) → 200 `{recovery_codes}`: ten fresh codes, shown this once; the old
/// ones stop working and a mail tells the owner. For accounts that have none (an
/// authenticator moved in from Django) or have used or lost theirs. Wrong answers count
/// toward the lockout, as at login.
#[tracing::instrument(skip_all, fields(user))]
pub async fn totp_recovery_codes(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let caller = authenticate(app, &req).await?;
    let mut body = JsonBody::parse(&req)?;
    let password = body.required("password", Password::parse_existing);
    let code = body.required("code", totp::parse_code);
    let (password, code) = body.finish((password, code))?;
    let user = &caller.user;
    let origin = origin(&req);
    prove_both_factors(app, user, password, &Factor::Code(code), &origin).await?;
    let codes = totp::new_recovery_codes(&*app.random);
    let hashes: Vec<String> = codes.iter().map(|c| app.pepper.hash_recovery(&user.id, c)).collect();
    if !app.store.replace_recovery_codes(&user.id, &hashes).await? {
        return Err(ApiError::MfaNotEnabled);
    }
    activity::record(app, &user.id, Event::RecoveryCodesRenewed, &origin).await;
    mailing::send(app, &Letter::Notice(Kind::RecoveryCodesRenewed), To::user(user)).await?;
    let body = json!({
        "message": "New recovery codes. Keep them somewhere safe: each works once, and the earlier ones no longer do.",
        "recovery_codes": codes,
    });
    Ok(json(StatusCode::OK, &body))
}

/// `POST /auth/mfa/verify` `{mfa_token, code}` or `{mfa_token, recovery_code}` → a session.
/// The token allows a few tries; wrong codes also count toward the lockout.
#[tracing::instrument(skip_all, fields(user))]
pub async fn mfa_verify(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let mut body = JsonBody::parse(&req)?;
    let token = body.required("mfa_token", opaque_token);
    let factor = second_factor(&mut body);
    let (token, factor) = body.finish((token, factor))?;
    let origin = origin(&req);

    let token_hash = digest(&token);
    let grant = app.store.attempt_grant(&token_hash, GrantKind::Mfa, MAX_MFA_ATTEMPTS, app.now()).await?;
    let grant = grant.ok_or(ApiError::InvalidMfaToken)?;
    // The token dies with everything that ends sessions (docs/SECURITY.md, "Issued tokens").
    let user = grants::holder(app, &grant).await?.filter(|u| u.mfa_enabled).ok_or(ApiError::InvalidMfaToken)?;
    crate::telemetry::user(&user.id);
    let attempt = LoginAttempt::begin(app, &user.email, &origin).await?;
    if !attempt.check(app, use_factor(app, &user, &factor)).await? {
        let wrong = |remaining| ApiError::InvalidAuthenticatorCode { remaining };
        return Err(attempt.failed(app, Some(&user), &origin, wrong).await);
    }
    if !attempt.check(app, app.store.take_grant(&token_hash)).await? {
        attempt.abandoned(app).await?;
        return Err(ApiError::InvalidMfaToken);
    }
    attempt.succeeded(app).await?;
    if matches!(factor, Factor::Recovery(_)) {
        activity::record(app, &user.id, Event::RecoveryCodeUsed, &origin).await;
        let left = user.recovery_codes.len().saturating_sub(1);
        mailing::send(app, &Letter::RecoveryCodeUsed(left), To::user(&user)).await?;
    }
    let second = match factor {
        Factor::Code(_) => SecondFactor::Authenticator,
        Factor::Recovery(_) => SecondFactor::RecoveryCode,
    };
    // A grant stored before grants noted their first factor came from a password login.
    let first = grant.first_factor.unwrap_or(Method::Password);
    let (user, tokens) = session::log_in(app, user, &origin, Event::LoginSuccess(first, Some(second))).await?;
    session_response(StatusCode::OK, json!({ "user": UserView::of(app, &user).await }), &tokens)
}
