//! Sign-in with Google (docs/SECURITY.md, "Google sign-in"): the redirect flow (state, nonce
//! and PKCE kept in the table, bound to the browser by a cookie, taken once) and the ID-token
//! flow of Google Identity Services, both ending in [`sign_in`]: an identity keyed by issuer
//! and subject; a new account for a verified email nobody has, a link (and a mail to the
//! owner) for one an account has; a pending sign-up for the address discarded, never linked.

use crate::activity::{self, Event};
use crate::app::App;
use crate::error::ApiError;
use crate::mail::templates::{Kind, Letter, To};
use crate::mailing;
use crate::model::{Email, Identity, LoginState, Method, Origin, Purpose, Role, User};
use crate::oidc::{IdClaims, Provider, Refused, pkce_challenge};
use crate::session::{self, Tokens};
use crate::store::Created;
use crate::tokens::{digest, sha256_hex};
use crate::{grants, lockout, random};

/// How a Google sign-in ended.
#[derive(Debug)]
pub enum SignedIn {
    /// A session started.
    Session(Box<User>, Tokens),
    /// The account has an authenticator: an MFA token for `POST /auth/mfa/verify` instead.
    SecondFactor(grants::Issued),
}

/// A redirect flow begun: where the browser goes, and the value of the cookie that binds the
/// flow to this browser.
#[derive(Debug)]
pub struct Started {
    /// The provider's authorization URL.
    pub location: String,
    /// The browser-binding cookie's value.
    pub browser: String,
}

fn provider(app: &App) -> Result<&Provider, ApiError> {
    app.google.as_ref().ok_or(ApiError::GoogleSignInOff)
}

fn refused(reason: Refused) -> ApiError {
    tracing::info!(%reason, "a Google sign-in was refused");
    match reason {
        Refused::EmailNotVerified => ApiError::EmailNotVerified,
        Refused::HostedDomain => ApiError::HostedDomainNotAllowed,
        _ => ApiError::InvalidIdToken,
    }
}

/// Begins a redirect flow: a fresh state, nonce, PKCE verifier and browser binding, kept for
/// the flow's lifetime.
pub async fn start(app: &App) -> Result<Started, ApiError> {
    let provider = provider(app)?;
    let state = random::token::<32>(&*app.random);
    let browser = random::token::<32>(&*app.random);
    let flow = LoginState {
        state_hash: digest(&state),
        nonce: random::token::<32>(&*app.random),
        verifier: random::token::<32>(&*app.random),
        browser_hash: digest(&browser),
        expires_at: app.now() + provider.config().flow_lifetime.as_secs() as i64,
    };
    // The provider first: when it cannot be reached, nothing is stored.
    let location = provider.authorization_url(&state, &flow.nonce, &pkce_challenge(&flow.verifier)).await?;
    app.store.put_login_state(&flow).await?;
    Ok(Started { location, browser })
}

/// Ends a redirect flow: the state must be live, unused and this browser's; the code is
/// exchanged with the flow's verifier; the ID token must carry the flow's nonce.
pub async fn finish(
    app: &App,
    code: &str,
    state: &str,
    browser: Option<&str>,
    origin: &Origin,
) -> Result<SignedIn, ApiError> {
    let provider = provider(app)?;
    // Taken first, whatever else is wrong: a state is good for one try.
    let flow = app.store.take_login_state(&digest(state), app.now()).await?.ok_or(ApiError::InvalidSignInState)?;
    if browser.map(digest).as_deref() != Some(flow.browser_hash.as_str()) {
        return Err(ApiError::InvalidSignInState);
    }
    let token = provider.exchange(code, &flow.verifier).await?.map_err(refused)?;
    let claims = provider.verify(&token, app.now()).await?.map_err(refused)?;
    if claims.nonce.as_deref() != Some(flow.nonce.as_str()) {
        return Err(refused(Refused::Nonce));
    }
    sign_in(app, &token, claims, origin).await
}

/// Signs in with an ID token the client obtained itself (Google Identity Services, a native
/// app). When the token carries a nonce, the client must give the one it used (or Google's
/// hex SHA-256 of it).
pub async fn with_id_token(app: &App, token: &str, nonce: Option<&str>, origin: &Origin) -> Result<SignedIn, ApiError> {
    let provider = provider(app)?;
    let claims = provider.verify(token, app.now()).await?.map_err(refused)?;
    let hashed = nonce.map(sha256_hex);
    let matches = match (&claims.nonce, nonce) {
        (Some(carried), Some(given)) => carried == given || Some(carried) == hashed.as_ref(),
        (None, None) => true,
        _ => false,
    };
    if !matches {
        return Err(refused(Refused::Nonce));
    }
    sign_in(app, token, claims, origin).await
}

/// The sign-in a verified ID token asks for. Each token works once.
async fn sign_in(app: &App, token: &str, claims: IdClaims, origin: &Origin) -> Result<SignedIn, ApiError> {
    if !app.store.use_nonce(&digest(token), claims.expires_at, app.now()).await? {
        return Err(refused(Refused::Nonce));
    }
    let email = Email::parse(&claims.email).map_err(|_| ApiError::InvalidIdToken)?;
    // A locked address stays locked, whatever the way in (docs/SECURITY.md, "Lockout"):
    // checked before anything is linked, created or mailed.
    if lockout::is_locked(app, &email).await? {
        return Err(ApiError::AccountLocked);
    }
    let user = account(app, &claims, &email, origin).await?;
    crate::telemetry::user(&user.id);
    if user.mfa_enabled {
        let grant = grants::issue_mfa(app, &user, Method::Google).await?;
        return Ok(SignedIn::SecondFactor(grant));
    }
    let (user, tokens) = session::log_in(app, user, origin, Event::LoginSuccess(Method::Google, None)).await?;
    Ok(SignedIn::Session(Box::new(user), tokens))
}

/// Unlinks the user's identity with this id (docs/SECURITY.md, "Google sign-in"): only while
/// the account has a password, so that it keeps a way in; the owner is told by mail. A later
/// sign-in with that Google account links it again, as the first one did (and mails again).
pub async fn unlink(app: &App, user: User, id: &str, origin: &Origin) -> Result<User, ApiError> {
    let position = user.identities.iter().position(|i| i.id() == id).ok_or(ApiError::IdentityNotFound)?;
    if !user.has_password() {
        return Err(ApiError::PasswordRequired);
    }
    let identity = user.identities[position].clone();
    if !app.store.unlink_identity(&user.id, &identity, position).await? {
        // The list or the password changed since the account was read: nothing was written.
        return Err(ApiError::Conflict);
    }
    activity::record(app, &user.id, Event::GoogleUnlinked, origin).await;
    mailing::send(app, &Letter::Notice(Kind::GoogleUnlinked), To::user(&user)).await?;
    let mut user = user;
    user.identities.remove(position);
    Ok(user)
}

/// The account of a verified Google identity: the one it is linked to; else the account of
/// its email, linked now (and its owner told); else a new one.
async fn account(app: &App, claims: &IdClaims, email: &Email, origin: &Origin) -> Result<User, ApiError> {
    let identity = Identity {
        issuer: claims.issuer.clone(),
        subject: claims.subject.clone(),
        email: email.as_str().to_owned(),
        linked_at: app.now(),
    };
    // Two rounds: a concurrent sign-in of the same identity or email may win the first.
    for _ in 0..2 {
        if let Some(user) = app.store.user_by_identity(&identity.issuer, &identity.subject).await? {
            return Ok(user);
        }
        if let Some(user) = app.store.user_by_email(email).await? {
            if app.store.link_identity(&user.id, &identity).await? {
                activity::record(app, &user.id, Event::GoogleLinked, origin).await;
                mailing::send(app, &Letter::Notice(Kind::GoogleLinked), To::user(&user).at(email.as_str())).await?;
                return Ok(User { identities: [user.identities, vec![identity]].concat(), ..user });
            }
            continue;
        }
        // Someone may have typed this address at sign-up without proving it: that sign-up is
        // discarded, never linked (its code dies; a token it already got finds the email
        // taken).
        app.store.discard_code(email, Purpose::Signup).await?;
        let now = app.now();
        let name = claims.name.clone().filter(|n| !n.trim().is_empty());
        let name = name.unwrap_or_else(|| email.as_str().split('@').next().unwrap_or_default().to_owned());
        let admin = app.config.admin_emails.iter().any(|e| e == email.as_str());
        let user = User {
            role: if admin { Role::Admin } else { Role::User },
            identities: vec![identity.clone()],
            ..User::new(random::uuid_v4(&*app.random), email.clone(), name, String::new(), now)
        };
        match app.store.create_user_with_identity(&user, &identity).await? {
            Created::Created => {
                tracing::info!(user = user.id, "user created by Google sign-in");
                activity::record(app, &user.id, Event::SignupCompleted(Method::Google), origin).await;
                return Ok(user);
            }
            Created::EmailTaken | Created::IdentityTaken | Created::UsernameTaken | Created::GrantInvalid => continue,
        }
    }
    Err(ApiError::Conflict)
}
