//! The API's OpenAPI 3.1 document, built from the code: the operations from [`ROUTES`]
//! (a route without a description here fails the build of the document), each error's code
//! and status from [`ApiError`] itself, the limits and patterns from what the parsers
//! accept (the character classes of a name are computed from the same Unicode tables
//! [`display_name`](crate::model::user::display_name) checks), the cookies and headers from
//! the constants that set them. `docs/openapi.json` is [`document`], committed; the `web`
//! function serves it at `GET /openapi.json`, and `GET /docs` renders it.
//!
//! The handlers read their bodies field by field ([`crate::http::JsonBody`], so that every
//! problem is reported at once) rather than deserialising into types, so there are no request
//! types to derive a schema from: each route's fields are described here, next to the parser
//! that checks each one, and schemathesis (`scripts/fuzz-api`) holds the two to each other.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::error::ApiError;
use crate::handlers::jwks::{DISCOVERY_PATH, JWKS_PATH};
use crate::http::fields::MAX_TOKEN_CHARS;
use crate::http::request::{DEFAULT_PAGE, MAX_BODY_BYTES, MAX_PAGE};
use crate::http::response::STRICT_TRANSPORT_SECURITY;
use crate::http::session::{ACCESS_COOKIE, REFRESH_COOKIE};
use crate::mail::templates::KINDS;
use crate::model::Attribute;
use crate::model::delivery::MAIL_STATUSES;
use crate::model::profile::{ATTRIBUTES, MAX_URL_CHARS, ZONES};
use crate::model::user::MAX_NAME_CHARS;
use crate::password::{MAX_CHARS, MIN_CHARS};
use crate::pictures;
use crate::routes::{ROUTES, Route};

/// Where the document is committed, relative to the workspace.
pub const COMMITTED: &str = "docs/openapi.json";

/// The document, as `docs/openapi.json` holds it (pretty-printed, a final newline).
pub fn document_text() -> String {
    let mut text = serde_json::to_string_pretty(&document()).unwrap_or_default();
    text.push('\n');
    text
}

/// The whole document.
pub fn document() -> Value {
    let mut paths: BTreeMap<&str, Map<String, Value>> = BTreeMap::new();
    for route in ROUTES {
        let operation = operation(route);
        paths.entry(route.path).or_default().insert(route.method.as_str().to_ascii_lowercase(), operation);
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "stepauth",
            "version": env!("CARGO_PKG_VERSION"),
            "summary": "Sign-up, login, sessions, Google Authenticator and sign-in with Google, one Lambda function per route.",
            "description": "Every route is one AWS Lambda function behind API Gateway, and the same route on the local server. \
                Bodies are JSON, at most 16 KiB; unknown fields are refused. Every JSON answer carries `Cache-Control: no-store` \
                (the keys and the discovery document may be cached five minutes) and `Strict-Transport-Security`. \
                The flows, rules and their reasons are in docs/API.md and docs/SECURITY.md.",
            "license": { "name": "MIT", "identifier": "MIT" },
        },
        "servers": [{ "url": "/", "description": "The origin this document is served from" }],
        "tags": TAGS.iter().map(|(name, description)| json!({ "name": name, "description": description })).collect::<Vec<_>>(),
        "paths": paths,
        "components": components(),
    })
}

const TAGS: [(&str, &str); 8] = [
    ("sign-up", "Creating an account: a code by mail, then a password."),
    ("login", "Starting a session: a password, a code by mail, or Google; then the authenticator when it is on."),
    ("session", "Refreshing and ending sessions."),
    ("password", "Forgotten and changed passwords."),
    ("account", "The signed-in user's profile, activity and linked identities."),
    ("authenticator", "Google Authenticator (TOTP) and its recovery codes."),
    ("admin", "Routes for accounts whose role is admin."),
    ("public", "The keys, the discovery document, this document and the front end."),
];

/// What one route takes and answers.
struct Spec {
    id: &'static str,
    tag: &'static str,
    summary: &'static str,
    auth: Auth,
    body: Option<Body>,
    /// The query and path parameters.
    parameters: Vec<Value>,
    /// The success answers: status, description, JSON schema (or a non-JSON answer).
    success: Vec<Success>,
    /// The error codes the route can answer (their statuses come from [`ApiError`]).
    errors: Vec<&'static str>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Auth {
    /// No credentials.
    Public,
    /// A bearer access token or the access cookie.
    Access,
    /// An access token of an account whose role is admin.
    Admin,
    /// The refresh token, in the body or its cookie.
    Refresh,
    /// Any of the session's credentials, or none (logout is idempotent).
    Optional,
}

struct Body {
    required: bool,
    fields: Vec<(&'static str, bool, Value)>,
    example: Value,
    /// Extra schema keywords (e.g. `oneOf` between alternative fields).
    extra: Value,
}

enum Success {
    Json { status: u16, description: &'static str, schema: Value, session: bool, cache: &'static str },
    Redirect { description: &'static str, cookies: &'static str },
    Asset { media: &'static str, description: &'static str },
}

fn fields(required: bool, fields: Vec<(&'static str, bool, Value)>, example: Value) -> Option<Body> {
    Some(Body { required, fields, example, extra: Value::Null })
}

fn ok(description: &'static str, schema: Value) -> Vec<Success> {
    vec![Success::Json { status: 200, description, schema, session: false, cache: "no-store" }]
}

fn with_session(status: u16, description: &'static str, schema: Value) -> Vec<Success> {
    vec![Success::Json { status, description, schema, session: true, cache: "no-store" }]
}

fn accepted() -> Vec<Success> {
    vec![Success::Json {
        status: 202,
        description: "The same answer whether or not the address has an account.",
        schema: reference("Message"),
        session: false,
        cache: "no-store",
    }]
}

/// The errors of any route with a JSON body.
const BODY_ERRORS: [&str; 4] = ["invalid_json", "validation_failed", "payload_too_large", "unsupported_media_type"];
/// The errors of any route that checks an access token (a cookie-borne one from another site
/// included).
const ACCESS_ERRORS: [&str; 3] = ["authentication_required", "invalid_token", "cross_site_request"];
/// The errors of any route that uses the table.
const STORE_ERRORS: [&str; 2] = ["service_unavailable", "internal_error"];
/// The errors of a route that counts failed logins.
const LOCKOUT_ERRORS: [&str; 3] = ["invalid_credentials", "account_locked", "too_many_requests"];

fn errors(groups: &[&[&'static str]]) -> Vec<&'static str> {
    groups.iter().flat_map(|group| group.iter().copied()).collect()
}

/// The description of each route, by its function and path.
fn spec(route: &Route) -> Spec {
    let session_user = || object(&[("user", reference("User"))], &[]).merge_session();
    let mfa_or_session = || {
        json!({ "oneOf": [
            object(&[("user", reference("User"))], &[]).merge_session(),
            reference("MfaRequired"),
        ]})
    };
    match (route.function, route.path) {
        ("signup", _) => Spec {
            id: "signup",
            tag: "sign-up",
            summary: "Start a sign-up: mails a 6-digit code (or, to an address that has an account, says so)",
            auth: Auth::Public,
            body: fields(
                true,
                vec![("name", true, reference("Name")), ("email", true, reference("Email"))],
                json!({ "name": "Ann Example", "email": "ann@example.com" }),
            ),
            parameters: vec![],
            success: accepted(),
            errors: errors(&[&BODY_ERRORS, &["too_many_requests"], &STORE_ERRORS]),
        },
        ("signup-verify", _) => Spec {
            id: "signup-verify",
            tag: "sign-up",
            summary: "Check the sign-up code: a sign-up token (15 minutes, one use)",
            auth: Auth::Public,
            body: fields(
                true,
                vec![("email", true, reference("Email")), ("code", true, reference("MailCode"))],
                json!({ "email": "ann@example.com", "code": "490761" }),
            ),
            parameters: vec![],
            success: ok("The code was right.", grant("signup_token")),
            errors: errors(&[&BODY_ERRORS, &["invalid_code", "too_many_requests"], &STORE_ERRORS]),
        },
        ("signup-complete", _) => Spec {
            id: "signup-complete",
            tag: "sign-up",
            summary: "Finish the sign-up with a password: the account and a session",
            auth: Auth::Public,
            body: fields(
                true,
                vec![
                    ("signup_token", true, token("The `signup_token` of `POST /auth/signup/verify`.")),
                    ("password", true, reference("NewPassword")),
                    ("confirm_password", true, confirmation()),
                ],
                json!({ "signup_token": "U3kp3Kkf-ADmK164Qb5CIPilcwVFtbTuvhU576Qg444", "password": "Correct-Horse-7-Battery", "confirm_password": "Correct-Horse-7-Battery" }),
            ),
            parameters: vec![],
            success: with_session(
                201,
                "The account is made and signed in.",
                object(&[("message", string()), ("user", reference("User"))], &[]).merge_session(),
            ),
            errors: errors(&[&BODY_ERRORS, &["invalid_signup_token", "email_taken"], &STORE_ERRORS]),
        },
        ("login", _) => Spec {
            id: "login",
            tag: "login",
            summary: "Log in with email and password: a session, or the authenticator step",
            auth: Auth::Public,
            body: fields(
                true,
                vec![("email", true, reference("Email")), ("password", true, reference("Password"))],
                json!({ "email": "ann@example.com", "password": "Correct-Horse-7-Battery" }),
            ),
            parameters: vec![],
            success: with_session(200, "Signed in, or (with Google Authenticator on) the MFA step.", mfa_or_session()),
            errors: errors(&[&BODY_ERRORS, &LOCKOUT_ERRORS, &STORE_ERRORS]),
        },
        ("token-refresh", _) => Spec {
            id: "token-refresh",
            tag: "session",
            summary: "Rotate the refresh token: new tokens (a refresh token used twice ends its session)",
            auth: Auth::Refresh,
            body: fields(
                false,
                vec![("refresh_token", false, token("The refresh token; or leave it out and send the cookie."))],
                json!({ "refresh_token": "SYBJvXh_YrC3YMujZJn6ZQ.8sjDynE38h20Qso2j783d5X" }),
            ),
            parameters: vec![],
            success: with_session(200, "New tokens.", object(&[], &[]).merge_session()),
            errors: errors(&[
                &BODY_ERRORS,
                &["authentication_required", "invalid_token", "cross_site_request"],
                &STORE_ERRORS,
            ]),
        },
        ("logout", _) => Spec {
            id: "logout",
            tag: "session",
            summary: "End this session (idempotent); the cookies are cleared",
            auth: Auth::Optional,
            body: fields(
                false,
                vec![(
                    "refresh_token",
                    false,
                    token("The session's refresh token; or its cookie, or an access token of it."),
                )],
                json!({ "refresh_token": "SYBJvXh_YrC3YMujZJn6ZQ.nxdrBz25DhplueLQSnDNRFsvtwIr5L" }),
            ),
            parameters: vec![],
            success: clears_cookies("Logged out."),
            errors: errors(&[&BODY_ERRORS, &["cross_site_request"], &STORE_ERRORS]),
        },
        ("logout-all", _) => Spec {
            id: "logout-all",
            tag: "session",
            summary: "End every session of the account",
            auth: Auth::Access,
            body: no_body(),
            parameters: vec![],
            success: clears_cookies("Every session has ended."),
            errors: errors(&[&BODY_ERRORS, &ACCESS_ERRORS, &STORE_ERRORS]),
        },
        ("profile-get", _) => Spec {
            id: "profile-get",
            tag: "account",
            summary: "The signed-in user's profile",
            auth: Auth::Access,
            body: None,
            parameters: vec![],
            success: ok("The profile.", reference("User")),
            errors: errors(&[&ACCESS_ERRORS, &STORE_ERRORS]),
        },
        ("profile-update", _) => Spec {
            id: "profile-update",
            tag: "account",
            summary: "Change the display name and profile attributes",
            auth: Auth::Access,
            body: fields(
                true,
                profile_fields(),
                json!({ "given_name": "Ann", "family_name": "Example", "preferred_username": "ann.example", "nickname": null }),
            ),
            parameters: vec![],
            success: ok("The profile, changed.", reference("User")),
            errors: errors(&[&BODY_ERRORS, &ACCESS_ERRORS, &["conflict"], &STORE_ERRORS]),
        },
        ("picture-upload", _) => Spec {
            id: "picture-upload",
            tag: "account",
            summary: "A presigned POST that uploads one profile picture straight to S3",
            auth: Auth::Access,
            body: fields(
                true,
                vec![("content_type", true, json!({ "enum": pictures::TYPES }))],
                json!({ "content_type": "image/png" }),
            ),
            parameters: vec![],
            success: ok(
                "Post `fields`, then the file as `file` (the last part), to `url` as `multipart/form-data`; S3 refuses another type, a file over `max_bytes` and a form past `expires_at`. Then hand `key` to `PUT /users/me/picture`.",
                reference("PictureUpload"),
            ),
            errors: errors(&[&BODY_ERRORS, &ACCESS_ERRORS, &["pictures_off"], &STORE_ERRORS]),
        },
        ("picture-set", _) => Spec {
            id: "picture-set",
            tag: "account",
            summary: "Make an uploaded picture the profile's (the one it replaces is deleted)",
            auth: Auth::Access,
            body: fields(
                true,
                vec![("key", true, token("The `key` `POST /users/me/picture` gave."))],
                json!({ "key": "uploads/2b4c1d6e-8f3a-4c5b-9d7e-1a2b3c4d5e6f/q3Xw9Lk2PzR7tY1uVb8nMg" }),
            ),
            parameters: vec![],
            success: ok("The profile, its `picture` a link to the upload.", reference("User")),
            errors: errors(&[
                &BODY_ERRORS,
                &ACCESS_ERRORS,
                &["pictures_off", "picture_not_found", "conflict"],
                &STORE_ERRORS,
            ]),
        },
        ("jwks", JWKS_PATH) => Spec {
            id: "jwks",
            tag: "public",
            summary: "The public keys that verify access tokens (JWKS)",
            auth: Auth::Public,
            body: None,
            parameters: vec![],
            success: vec![Success::Json {
                status: 200,
                description: "The keys.",
                schema: reference("Jwks"),
                session: false,
                cache: "public, max-age=300",
            }],
            errors: vec![],
        },
        ("jwks", DISCOVERY_PATH) => Spec {
            id: "openid-configuration",
            tag: "public",
            summary: "The discovery document: the issuer and where its keys are",
            auth: Auth::Public,
            body: None,
            parameters: vec![],
            success: vec![Success::Json {
                status: 200,
                description: "The discovery document, for verifiers that start from a token's `iss`.",
                schema: reference("Discovery"),
                session: false,
                cache: "public, max-age=300",
            }],
            errors: vec![],
        },
        ("login-code", _) => Spec {
            id: "login-code",
            tag: "login",
            summary: "Mail a login code",
            auth: Auth::Public,
            body: fields(true, vec![("email", true, reference("Email"))], json!({ "email": "ann@example.com" })),
            parameters: vec![],
            success: accepted(),
            errors: errors(&[&BODY_ERRORS, &["too_many_requests"], &STORE_ERRORS]),
        },
        ("login-code-verify", _) => Spec {
            id: "login-code-verify",
            tag: "login",
            summary: "Log in with the mailed code: a session, or the authenticator step",
            auth: Auth::Public,
            body: fields(
                true,
                vec![("email", true, reference("Email")), ("code", true, reference("MailCode"))],
                json!({ "email": "ann@example.com", "code": "051157" }),
            ),
            parameters: vec![],
            success: with_session(200, "Signed in, or (with Google Authenticator on) the MFA step.", mfa_or_session()),
            errors: errors(&[&BODY_ERRORS, &["invalid_code", "account_locked", "too_many_requests"], &STORE_ERRORS]),
        },
        ("code-resend", _) => Spec {
            id: "code-resend",
            tag: "sign-up",
            summary: "Mail a new code of a purpose, replacing the previous one",
            auth: Auth::Public,
            body: fields(
                true,
                vec![
                    ("email", true, reference("Email")),
                    ("purpose", true, json!({ "type": "string", "enum": ["signup", "login", "password_reset"] })),
                ],
                json!({ "email": "ann@example.com", "purpose": "login" }),
            ),
            parameters: vec![],
            success: accepted(),
            errors: errors(&[&BODY_ERRORS, &["too_many_requests"], &STORE_ERRORS]),
        },
        ("password-forgot", _) => Spec {
            id: "password-forgot",
            tag: "password",
            summary: "Mail a password-reset code",
            auth: Auth::Public,
            body: fields(true, vec![("email", true, reference("Email"))], json!({ "email": "ann@example.com" })),
            parameters: vec![],
            success: accepted(),
            errors: errors(&[&BODY_ERRORS, &["too_many_requests"], &STORE_ERRORS]),
        },
        ("password-verify", _) => Spec {
            id: "password-verify",
            tag: "password",
            summary: "Check the reset code: a reset token (15 minutes, one use)",
            auth: Auth::Public,
            body: fields(
                true,
                vec![("email", true, reference("Email")), ("code", true, reference("MailCode"))],
                json!({ "email": "ann@example.com", "code": "483863" }),
            ),
            parameters: vec![],
            success: ok("The code was right.", grant("reset_token")),
            errors: errors(&[&BODY_ERRORS, &["invalid_code", "account_locked", "too_many_requests"], &STORE_ERRORS]),
        },
        ("password-reset", _) => Spec {
            id: "password-reset",
            tag: "password",
            summary: "Set a new password with the reset token; every session ends",
            auth: Auth::Public,
            body: fields(
                true,
                vec![
                    ("reset_token", true, token("The `reset_token` of `POST /auth/password/verify`.")),
                    ("password", true, reference("NewPassword")),
                    ("confirm_password", true, confirmation()),
                ],
                json!({ "reset_token": "lQNA3VLMK_FswB9EHauVttHb2dkR5-HSREMpAMHtbQA", "password": "Another-Horse-8-Battery", "confirm_password": "Another-Horse-8-Battery" }),
            ),
            parameters: vec![],
            success: ok("The password is changed; log in with it.", reference("Message")),
            errors: errors(&[&BODY_ERRORS, &["invalid_reset_token", "account_locked", "conflict"], &STORE_ERRORS]),
        },
        ("password-change", _) => Spec {
            id: "password-change",
            tag: "password",
            summary: "Change the password: a new session here, every other one ends",
            auth: Auth::Access,
            body: fields(
                true,
                vec![
                    ("current_password", true, reference("Password")),
                    ("password", true, reference("NewPassword")),
                    ("confirm_password", true, confirmation()),
                ],
                json!({ "current_password": "Another-Horse-8-Battery", "password": "Third-Horse-9-Battery", "confirm_password": "Third-Horse-9-Battery" }),
            ),
            parameters: vec![],
            success: with_session(200, "Changed.", object(&[("message", string())], &[]).merge_session()),
            errors: errors(&[&BODY_ERRORS, &ACCESS_ERRORS, &LOCKOUT_ERRORS, &["conflict"], &STORE_ERRORS]),
        },
        ("activity", _) => Spec {
            id: "activity",
            tag: "account",
            summary: "The account's sign-in activity, newest first (90 days)",
            auth: Auth::Access,
            body: None,
            parameters: page_parameters(),
            success: ok("A page of events.", page(reference("Activity"))),
            errors: errors(&[&["validation_failed", "invalid_cursor"], &ACCESS_ERRORS, &STORE_ERRORS]),
        },
        ("sessions-list", _) => Spec {
            id: "sessions-list",
            tag: "session",
            summary: "The account's devices: every live session, newest first",
            auth: Auth::Access,
            body: None,
            parameters: page_parameters(),
            success: ok("A page of sessions; the request's own is `current`.", page(reference("Device"))),
            errors: errors(&[&["validation_failed", "invalid_cursor"], &ACCESS_ERRORS, &STORE_ERRORS]),
        },
        ("session-end", _) => Spec {
            id: "session-end",
            tag: "session",
            summary: "Sign out one device: end a session by its id",
            auth: Auth::Access,
            body: no_body(),
            parameters: vec![path_parameter(
                "id",
                "A session's `id` from `GET /users/me/sessions`.",
                json!({ "type": "string", "minLength": 1 }),
            )],
            success: clears_cookies("The session has ended (the cookies are cleared when it was this one)."),
            errors: errors(&[&BODY_ERRORS, &ACCESS_ERRORS, &["session_not_found"], &STORE_ERRORS]),
        },
        ("sessions-end-others", _) => Spec {
            id: "sessions-end-others",
            tag: "session",
            summary: "Sign out every other device",
            auth: Auth::Access,
            body: no_body(),
            parameters: vec![],
            success: ok(
                "Every other session has ended.",
                object(&[("message", string()), ("ended", json!({ "type": "integer", "minimum": 0 }))], &[]),
            ),
            errors: errors(&[&BODY_ERRORS, &ACCESS_ERRORS, &STORE_ERRORS]),
        },
        ("email-change", _) => Spec {
            id: "email-change",
            tag: "account",
            summary: "Ask to change the account's email address: a code goes to the new one",
            auth: Auth::Access,
            body: Some(Body {
                required: true,
                fields: vec![
                    ("new_email", true, reference("Email")),
                    ("password", false, reference("Password")),
                    ("code", false, reference("AuthenticatorCode")),
                    ("recovery_code", false, reference("RecoveryCode")),
                ],
                example: json!({ "new_email": "ann.new@example.com", "password": "Correct-Horse-7-Battery" }),
                extra: at_most_one_of("code", "recovery_code"),
            }),
            parameters: vec![],
            success: accepted(),
            errors: errors(&[&BODY_ERRORS, &ACCESS_ERRORS, &LOCKOUT_ERRORS, &STORE_ERRORS]),
        },
        ("email-change-verify", _) => Spec {
            id: "email-change-verify",
            tag: "account",
            summary: "Change the address with the code mailed to it: a new session here, every other one ends",
            auth: Auth::Access,
            body: fields(
                true,
                vec![
                    ("new_email", true, reference("Email")),
                    ("code", true, reference("MailCode")),
                    ("current_code", false, reference("MailCode")),
                ],
                json!({ "new_email": "ann.new@example.com", "code": "483863" }),
            ),
            parameters: vec![],
            success: with_session(
                200,
                "Changed.",
                object(&[("message", string()), ("user", reference("User"))], &[]).merge_session(),
            ),
            errors: errors(&[
                &BODY_ERRORS,
                &ACCESS_ERRORS,
                &["invalid_code", "too_many_requests", "email_taken", "conflict"],
                &STORE_ERRORS,
            ]),
        },
        ("account-delete", _) => Spec {
            id: "account-delete",
            tag: "account",
            summary: "Delete the account and everything kept with it",
            auth: Auth::Access,
            body: Some(Body {
                required: true,
                fields: vec![
                    ("password", false, reference("Password")),
                    ("code", false, reference("AuthenticatorCode")),
                    ("recovery_code", false, reference("RecoveryCode")),
                    ("email_code", false, reference("MailCode")),
                ],
                example: json!({ "password": "Correct-Horse-7-Battery" }),
                extra: at_most_one_of("code", "recovery_code"),
            }),
            parameters: vec![],
            success: vec![
                Success::Json {
                    status: 200,
                    description: "Deleted; the cookies are cleared.",
                    schema: reference("Message"),
                    session: true,
                    cache: "no-store",
                },
                Success::Json {
                    status: 202,
                    description: "An account without a password: a code went to its address; send it as `email_code`.",
                    schema: reference("Message"),
                    session: false,
                    cache: "no-store",
                },
            ],
            errors: errors(&[
                &BODY_ERRORS,
                &ACCESS_ERRORS,
                &LOCKOUT_ERRORS,
                &["invalid_code", "conflict", "own_admin_account"],
                &STORE_ERRORS,
            ]),
        },
        ("admin-user-get", _) => Spec {
            id: "admin-user-get",
            tag: "admin",
            summary: "One account as an admin sees it",
            auth: Auth::Admin,
            body: None,
            parameters: vec![user_id()],
            success: ok("The account.", reference("AdminUserDetail")),
            errors: errors(&[&ACCESS_ERRORS, &["forbidden", "user_not_found"], &STORE_ERRORS]),
        },
        ("admin-mail-templates", "/admin/mail-templates") => Spec {
            id: "admin-mail-templates",
            tag: "admin",
            summary: "Every mail's kind, and the languages its templates are written in",
            auth: Auth::Admin,
            body: None,
            parameters: vec![],
            success: ok(
                "The kinds and the locales.",
                object(
                    &[
                        ("kinds", json!({ "type": "array", "items": mail_kind() })),
                        (
                            "locales",
                            json!({ "type": "array", "items": { "type": "string" }, "description": "`en` and every language of the deployment's templates." }),
                        ),
                    ],
                    &[],
                ),
            ),
            errors: errors(&[&["validation_failed"], &ACCESS_ERRORS, &["forbidden"], &STORE_ERRORS]),
        },
        ("admin-mail-templates", _) => Spec {
            id: "admin-mail-template-preview",
            tag: "admin",
            summary: "One mail as the deployment's templates make it, with sample values",
            auth: Auth::Admin,
            body: None,
            parameters: vec![
                path_parameter("kind", "The mail's kind.", mail_kind()),
                query_parameter(
                    "locale",
                    "The language to render it in (its language, then English, where it has no template of its own).",
                    attribute_schema(Attribute::Locale),
                ),
            ],
            success: ok(
                "The mail.",
                object(
                    &[
                        ("kind", mail_kind()),
                        ("locale", nullable(string())),
                        ("subject", string()),
                        ("text", string()),
                        ("html", string()),
                    ],
                    &[],
                ),
            ),
            errors: errors(&[
                &["validation_failed", "mail_template_not_found"],
                &ACCESS_ERRORS,
                &["forbidden"],
                &STORE_ERRORS,
            ]),
        },
        ("admin-user-update", _) => Spec {
            id: "admin-user-update",
            tag: "admin",
            summary: "Change an account's profile, custom attributes only admins write included",
            auth: Auth::Admin,
            body: fields(
                true,
                profile_fields(),
                json!({ "family_name": "Example-Lee", "custom": { "plan": "enterprise" } }),
            ),
            parameters: vec![user_id()],
            success: ok("The account, changed.", reference("AdminUserDetail")),
            errors: errors(&[
                &BODY_ERRORS,
                &ACCESS_ERRORS,
                &["forbidden", "user_not_found", "conflict"],
                &STORE_ERRORS,
            ]),
        },
        ("admin-user-delete", _) => Spec {
            id: "admin-user-delete",
            tag: "admin",
            summary: "Delete an account and everything kept with it (not one's own)",
            auth: Auth::Admin,
            body: no_body(),
            parameters: vec![user_id()],
            success: ok("Deleted.", reference("Message")),
            errors: errors(&[
                &BODY_ERRORS,
                &ACCESS_ERRORS,
                &["forbidden", "user_not_found", "own_admin_account", "conflict"],
                &STORE_ERRORS,
            ]),
        },
        ("admin-user-mails", _) => Spec {
            id: "admin-user-mails",
            tag: "admin",
            summary: "The mails sent to an account in the last 90 days, newest first, with what SES said of each",
            auth: Auth::Admin,
            body: None,
            parameters: [vec![user_id()], page_parameters()].concat(),
            success: ok("A page of mails.", page(reference("Mail"))),
            errors: errors(&[
                &["validation_failed", "invalid_cursor"],
                &ACCESS_ERRORS,
                &["forbidden", "user_not_found"],
                &STORE_ERRORS,
            ]),
        },
        ("admin-user-activity", _) => Spec {
            id: "admin-user-activity",
            tag: "admin",
            summary: "An account's activity, newest first",
            auth: Auth::Admin,
            body: None,
            parameters: [vec![user_id()], page_parameters()].concat(),
            success: ok("A page of events.", page(reference("Activity"))),
            errors: errors(&[
                &["validation_failed", "invalid_cursor"],
                &ACCESS_ERRORS,
                &["forbidden", "user_not_found"],
                &STORE_ERRORS,
            ]),
        },
        ("admin-sessions-end", _) => Spec {
            id: "admin-sessions-end",
            tag: "admin",
            summary: "End every session of an account",
            auth: Auth::Admin,
            body: no_body(),
            parameters: vec![user_id()],
            success: ok(
                "Every session has ended.",
                object(&[("message", string()), ("ended", json!({ "type": "integer", "minimum": 0 }))], &[]),
            ),
            errors: errors(&[&BODY_ERRORS, &ACCESS_ERRORS, &["forbidden", "user_not_found"], &STORE_ERRORS]),
        },
        ("admin-deactivate", _) => Spec {
            id: "admin-deactivate",
            tag: "admin",
            summary: "Deactivate an account: no way in until reactivated (not one's own)",
            auth: Auth::Admin,
            body: no_body(),
            parameters: vec![user_id()],
            success: ok("Deactivated (or already so).", reference("Message")),
            errors: errors(&[
                &BODY_ERRORS,
                &ACCESS_ERRORS,
                &["forbidden", "user_not_found", "own_admin_account", "conflict"],
                &STORE_ERRORS,
            ]),
        },
        ("admin-reactivate", _) => Spec {
            id: "admin-reactivate",
            tag: "admin",
            summary: "Reactivate a deactivated account",
            auth: Auth::Admin,
            body: no_body(),
            parameters: vec![user_id()],
            success: ok("Active (or already so).", reference("Message")),
            errors: errors(&[
                &BODY_ERRORS,
                &ACCESS_ERRORS,
                &["forbidden", "user_not_found", "conflict"],
                &STORE_ERRORS,
            ]),
        },
        ("admin-email-set", _) => Spec {
            id: "admin-email-set",
            tag: "admin",
            summary: "Set an account's address (put back one changed against its owner's will)",
            auth: Auth::Admin,
            body: fields(true, vec![("email", true, reference("Email"))], json!({ "email": "ann@example.com" })),
            parameters: vec![user_id()],
            success: ok("The account, at its address; every session has ended.", reference("AdminUser")),
            errors: errors(&[
                &BODY_ERRORS,
                &ACCESS_ERRORS,
                &["forbidden", "user_not_found", "email_taken", "conflict", "own_admin_account"],
                &STORE_ERRORS,
            ]),
        },
        ("admin-unlock", _) => Spec {
            id: "admin-unlock",
            tag: "admin",
            summary: "Unlock an account locked by failed logins",
            auth: Auth::Admin,
            body: fields(true, vec![("email", true, reference("Email"))], json!({ "email": "ann@example.com" })),
            parameters: vec![],
            success: ok("Unlocked.", reference("Message")),
            errors: errors(&[
                &BODY_ERRORS,
                &ACCESS_ERRORS,
                &["forbidden", "user_not_found", "account_deactivated"],
                &STORE_ERRORS,
            ]),
        },
        ("admin-users", _) => Spec {
            id: "admin-users",
            tag: "admin",
            summary: "Every account, newest first; or those whose address starts with a prefix",
            auth: Auth::Admin,
            body: None,
            parameters: [
                page_parameters(),
                vec![query_parameter(
                    "email_prefix",
                    "Only the accounts whose address starts with this (by address, not newest first).",
                    json!({ "type": "string", "minLength": 1, "maxLength": 254, "pattern": "^[!-~]+$" }),
                )],
            ]
            .concat(),
            success: ok("A page of accounts.", page(reference("AdminUser"))),
            errors: errors(&[&["validation_failed", "invalid_cursor"], &ACCESS_ERRORS, &["forbidden"], &STORE_ERRORS]),
        },
        ("admin-mfa-reset", _) => Spec {
            id: "admin-mfa-reset",
            tag: "admin",
            summary: "Remove an account's Google Authenticator; every session of it ends",
            auth: Auth::Admin,
            body: fields(true, vec![("email", true, reference("Email"))], json!({ "email": "ann@example.com" })),
            parameters: vec![],
            success: ok("Removed.", reference("Message")),
            errors: errors(&[
                &BODY_ERRORS,
                &ACCESS_ERRORS,
                &["forbidden", "user_not_found", "mfa_not_enabled", "own_admin_account"],
                &STORE_ERRORS,
            ]),
        },
        ("totp-setup", _) => Spec {
            id: "totp-setup",
            tag: "authenticator",
            summary: "Start setting up Google Authenticator: the secret and its QR code",
            auth: Auth::Access,
            body: fields(
                true,
                vec![("password", true, reference("Password"))],
                json!({ "password": "Third-Horse-9-Battery" }),
            ),
            parameters: vec![],
            success: ok("Pending until confirmed with a code.", reference("TotpSetup")),
            errors: errors(&[&BODY_ERRORS, &ACCESS_ERRORS, &LOCKOUT_ERRORS, &["mfa_already_enabled"], &STORE_ERRORS]),
        },
        ("totp-confirm", _) => Spec {
            id: "totp-confirm",
            tag: "authenticator",
            summary: "Turn Google Authenticator on with a first code: ten recovery codes and a new session",
            auth: Auth::Access,
            body: fields(true, vec![("code", true, reference("AuthenticatorCode"))], json!({ "code": "272584" })),
            parameters: vec![],
            success: with_session(
                200,
                "On. The recovery codes are shown this once.",
                object(&[("message", string()), ("recovery_codes", recovery_codes())], &[]).merge_session(),
            ),
            errors: errors(&[
                &BODY_ERRORS,
                &ACCESS_ERRORS,
                &["invalid_code", "mfa_already_enabled", "mfa_setup_required", "conflict"],
                &STORE_ERRORS,
            ]),
        },
        ("totp-disable", _) => Spec {
            id: "totp-disable",
            tag: "authenticator",
            summary: "Turn Google Authenticator off (password and a code or a recovery code)",
            auth: Auth::Access,
            body: Some(Body {
                required: true,
                fields: vec![
                    ("password", true, reference("Password")),
                    ("code", false, reference("AuthenticatorCode")),
                    ("recovery_code", false, reference("RecoveryCode")),
                ],
                example: json!({ "password": "Third-Horse-9-Battery", "code": "272584" }),
                extra: one_of_fields("code", "recovery_code"),
            }),
            parameters: vec![],
            success: with_session(200, "Off.", object(&[("message", string())], &[]).merge_session()),
            errors: errors(&[
                &BODY_ERRORS,
                &ACCESS_ERRORS,
                &LOCKOUT_ERRORS,
                &["invalid_code", "mfa_not_enabled"],
                &STORE_ERRORS,
            ]),
        },
        ("totp-recovery-codes", _) => Spec {
            id: "totp-recovery-codes",
            tag: "authenticator",
            summary: "New recovery codes (password and a current authenticator code); the earlier ones stop working",
            auth: Auth::Access,
            body: fields(
                true,
                vec![("password", true, reference("Password")), ("code", true, reference("AuthenticatorCode"))],
                json!({ "password": "Third-Horse-9-Battery", "code": "272584" }),
            ),
            parameters: vec![],
            success: ok(
                "The codes, shown this once.",
                object(&[("message", string()), ("recovery_codes", recovery_codes())], &[]),
            ),
            errors: errors(&[
                &BODY_ERRORS,
                &ACCESS_ERRORS,
                &LOCKOUT_ERRORS,
                &["invalid_code", "mfa_not_enabled"],
                &STORE_ERRORS,
            ]),
        },
        ("mfa-verify", _) => Spec {
            id: "mfa-verify",
            tag: "login",
            summary: "The authenticator step of a login: a session",
            auth: Auth::Public,
            body: Some(Body {
                required: true,
                fields: vec![
                    ("mfa_token", true, token("The `mfa_token` the first factor answered with.")),
                    ("code", false, reference("AuthenticatorCode")),
                    ("recovery_code", false, reference("RecoveryCode")),
                ],
                example: json!({ "mfa_token": "U87JbQB3b-rZRheIXtPwG0f6UnGfHtGgeONyISqUF_w", "code": "272584" }),
                extra: one_of_fields("code", "recovery_code"),
            }),
            parameters: vec![],
            success: with_session(200, "Signed in.", session_user()),
            errors: errors(&[&BODY_ERRORS, &["invalid_mfa_token", "invalid_code"], &LOCKOUT_ERRORS, &STORE_ERRORS]),
        },
        ("google-start", _) => Spec {
            id: "google-start",
            tag: "login",
            summary: "Start signing in with Google: a redirect to Google's sign-in page",
            auth: Auth::Public,
            body: None,
            parameters: vec![],
            success: vec![Success::Redirect {
                description: "To the provider, with `state`, `nonce` and a PKCE S256 `code_challenge`; the cookie binds the flow to this browser (10 minutes).",
                cookies: "The flow's binding cookie, `__Host-stepauth_google`.",
            }],
            errors: errors(&[&["google_sign_in_off"], &STORE_ERRORS]),
        },
        ("google-callback", _) => Spec {
            id: "google-callback",
            tag: "login",
            summary: "Google's redirect back: a redirect to the front end, signed in or with the error's code",
            auth: Auth::Public,
            body: None,
            parameters: vec![
                query_parameter("code", "The authorization code.", string()),
                query_parameter("state", "The flow's state.", string()),
                query_parameter("error", "The provider's error, when the person declined.", string()),
            ],
            success: vec![Success::Redirect {
                description: "To the front end: `#signed_in=google` with the session cookies, `#mfa_token=…&expires_in=…`, or `#google_error=<code>`.",
                cookies: "The session cookies when signed in; the flow's cookie, cleared.",
            }],
            errors: vec![],
        },
        ("google-id-token", _) => Spec {
            id: "google-id-token",
            tag: "login",
            summary: "Sign in with a Google ID token (Google Identity Services, native apps)",
            auth: Auth::Public,
            body: Some(Body {
                required: true,
                fields: vec![
                    ("id_token", false, token("Google's ID token.")),
                    ("credential", false, token("The same, as Google Identity Services names it.")),
                    ("nonce", false, sized_token("The nonce the client used, raw or as hex SHA-256.", 512)),
                    (
                        "g_csrf_token",
                        false,
                        sized_token("Google Identity Services' double-submit value; its cookie must match.", 512),
                    ),
                ],
                example: json!({ "id_token": "eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.eyJpc3MiOiJodHRwczovL2FjY291bnRzLmdvb2dsZS5jb20ifQ.c2ln" }),
                extra: one_of_fields("id_token", "credential"),
            }),
            parameters: vec![],
            success: with_session(200, "Signed in, or (with Google Authenticator on) the MFA step.", mfa_or_session()),
            errors: errors(&[
                &BODY_ERRORS,
                &[
                    "google_sign_in_off",
                    "invalid_id_token",
                    "email_not_verified",
                    "hosted_domain_not_allowed",
                    "csrf_token_mismatch",
                    "account_locked",
                    "conflict",
                    "too_many_requests",
                ],
                &STORE_ERRORS,
            ]),
        },
        ("identity-unlink", _) => Spec {
            id: "identity-unlink",
            tag: "account",
            summary: "Unlink a Google identity from the account",
            auth: Auth::Access,
            body: fields(
                true,
                vec![("id", true, token("An identity's `id` from `GET /users/me`."))],
                json!({ "id": "aHR0cHM6Ly9hY2NvdW50cy5nb29nbGUuY29tIDEwMDAx" }),
            ),
            parameters: vec![],
            success: ok("The profile, the identity gone.", reference("User")),
            errors: errors(&[
                &BODY_ERRORS,
                &ACCESS_ERRORS,
                &["identity_not_found", "password_required", "conflict"],
                &STORE_ERRORS,
            ]),
        },
        ("web", path) => web_spec(path),
        (function, path) => panic!("{function} serves {path}, which src/openapi.rs does not describe"),
    }
}

fn web_spec(path: &str) -> Spec {
    let (id, summary, success) = match path {
        "/" => (
            "page",
            "A sample host page that opens the login modal",
            Success::Asset { media: "text/html", description: "The page." },
        ),
        "/app.js" => (
            "page-script",
            "The login modal's script, for any page to include",
            Success::Asset { media: "text/javascript", description: "The script." },
        ),
        "/app.css" => {
            ("page-style", "The login modal's styles", Success::Asset { media: "text/css", description: "The styles." })
        }
        "/docs" => {
            ("reference", "This reference, rendered", Success::Asset { media: "text/html", description: "The page." })
        }
        "/docs.js" => (
            "reference-script",
            "The reference's script",
            Success::Asset { media: "text/javascript", description: "The script." },
        ),
        "/docs.css" => (
            "reference-style",
            "The reference's styles",
            Success::Asset { media: "text/css", description: "The styles." },
        ),
        "/openapi.json" => (
            "openapi",
            "This document",
            Success::Json {
                status: 200,
                description: "The OpenAPI document.",
                schema: json!({ "type": "object" }),
                session: false,
                cache: "no-cache",
            },
        ),
        other => panic!("the web function serves {other}, which src/openapi.rs does not describe"),
    };
    Spec {
        id,
        tag: "public",
        summary,
        auth: Auth::Public,
        body: None,
        parameters: vec![],
        success: vec![success],
        errors: vec![],
    }
}

fn no_body() -> Option<Body> {
    Some(Body { required: false, fields: vec![], example: json!({}), extra: Value::Null })
}

fn clears_cookies(description: &'static str) -> Vec<Success> {
    vec![Success::Json { status: 200, description, schema: reference("Message"), session: true, cache: "no-store" }]
}

/// One operation of the document.
fn operation(route: &Route) -> Value {
    let spec = spec(route);
    let mut responses = Map::new();
    for success in &spec.success {
        let (status, response) = success_response(success);
        responses.insert(status.to_string(), response);
    }
    for (status, codes) in by_status(&spec.errors) {
        responses.insert(status.to_string(), error_response(status, &codes));
    }
    let mut operation = json!({
        "operationId": spec.id,
        "summary": spec.summary,
        "description": format!("Served by the `{}` function.", route.function),
        "tags": [spec.tag],
        "responses": responses,
    });
    let security = match spec.auth {
        Auth::Public => json!([]),
        Auth::Access | Auth::Admin => json!([{ "bearer": [] }, { "accessCookie": [] }]),
        Auth::Refresh => json!([{ "refreshCookie": [] }, {}]),
        Auth::Optional => json!([{ "refreshCookie": [] }, { "bearer": [] }, { "accessCookie": [] }, {}]),
    };
    operation["security"] = security;
    if spec.auth == Auth::Admin {
        operation["description"] =
            json!(format!("Served by the `{}` function. The account's role must be admin.", route.function));
    }
    if !spec.parameters.is_empty() {
        operation["parameters"] = json!(spec.parameters);
    }
    if let Some(body) = spec.body {
        operation["requestBody"] = request_body(body);
    }
    operation
}

fn success_response(success: &Success) -> (u16, Value) {
    match success {
        Success::Json { status, description, schema, session, cache } => {
            let mut headers = json_headers(cache);
            if *session {
                headers.insert(
                    "Set-Cookie".into(),
                    json!({
                        "description": format!(
                            "The session cookies `{ACCESS_COOKIE}` and `{REFRESH_COOKIE}` (set, or cleared on logout): Secure, HttpOnly, SameSite=Strict. \
                             Absent when a login answers with the MFA step."
                        ),
                        "schema": { "type": "string" },
                    }),
                );
            }
            (
                *status,
                json!({ "description": description, "headers": headers, "content": { "application/json": { "schema": schema } } }),
            )
        }
        Success::Redirect { description, cookies } => (
            302,
            json!({
                "description": description,
                "headers": {
                    "Location": { "required": true, "description": "Where to go.", "schema": { "type": "string" } },
                    "Set-Cookie": { "description": cookies, "schema": { "type": "string" } },
                    "Cache-Control": { "$ref": "#/components/headers/NoStore" },
                    "Strict-Transport-Security": { "$ref": "#/components/headers/StrictTransportSecurity" },
                },
            }),
        ),
        Success::Asset { media, description } => (
            200,
            json!({
                "description": description,
                "headers": {
                    "Cache-Control": { "required": true, "description": "Revalidated on every use.", "schema": { "const": "no-cache" } },
                    "Content-Security-Policy": { "required": true, "description": "Everything from this origin only; no framing.", "schema": { "type": "string" } },
                    "Strict-Transport-Security": { "$ref": "#/components/headers/StrictTransportSecurity" },
                },
                "content": { (*media): { "schema": { "type": "string" } } },
            }),
        ),
    }
}

fn json_headers(cache: &str) -> Map<String, Value> {
    let mut headers = Map::new();
    let cache_header = if cache == "no-store" {
        json!({ "$ref": "#/components/headers/NoStore" })
    } else {
        json!({ "required": true, "description": "May be cached this long.", "schema": { "const": cache } })
    };
    headers.insert("Cache-Control".into(), cache_header);
    headers
        .insert("Strict-Transport-Security".into(), json!({ "$ref": "#/components/headers/StrictTransportSecurity" }));
    headers
}

/// An error answer: the `Error` object with `error` narrowed to the codes of this status.
fn error_response(status: u16, codes: &[&'static str]) -> Value {
    let mut headers = json_headers("no-store");
    if matches!(status, 429 | 503) {
        headers.insert("Retry-After".into(), json!({ "$ref": "#/components/headers/RetryAfter" }));
    }
    if status == 401 {
        headers.insert(
            "WWW-Authenticate".into(),
            json!({ "description": "`Bearer`, when an access token was missing or did not verify.", "schema": { "const": "Bearer" } }),
        );
    }
    let described: Vec<String> = codes.iter().map(|code| format!("`{code}`")).collect();
    json!({
        "description": described.join(", "),
        "headers": headers,
        "content": { "application/json": { "schema": {
            "allOf": [
                { "$ref": "#/components/schemas/Error" },
                { "properties": { "error": { "enum": codes } } },
            ],
        }}},
    })
}

/// The route's error codes grouped by their status.
fn by_status(codes: &[&'static str]) -> BTreeMap<u16, Vec<&'static str>> {
    let catalogue = catalogue();
    let mut grouped: BTreeMap<u16, Vec<&'static str>> = BTreeMap::new();
    for code in codes {
        let (status, _) = catalogue.get(code).unwrap_or_else(|| panic!("{code} is no error code of ApiError"));
        grouped.entry(*status).or_default().push(code);
    }
    grouped
}

/// Every error: its code, its status and when it is answered (the variant's message).
fn catalogue() -> BTreeMap<&'static str, (u16, String)> {
    every_error().into_iter().map(|error| (error.code(), (error.status().as_u16(), error.to_string()))).collect()
}

/// One of each [`ApiError`]; the match makes a new variant a compile error here until it is
/// listed.
pub fn every_error() -> Vec<ApiError> {
    let all = vec![
        ApiError::InvalidJson("The request body is not valid JSON."),
        ApiError::PayloadTooLarge { limit: MAX_BODY_BYTES },
        ApiError::UnsupportedMediaType,
        ApiError::field("email", "is required"),
        ApiError::NotFound,
        ApiError::MethodNotAllowed { allow: "POST".into() },
        ApiError::InvalidCode { remaining: None },
        ApiError::InvalidResetToken,
        ApiError::InvalidSignupToken,
        ApiError::AuthenticationRequired,
        ApiError::InvalidToken,
        ApiError::InvalidCredentials { remaining: None },
        ApiError::AccountLocked,
        ApiError::InvalidMfaToken,
        ApiError::MfaAlreadyEnabled,
        ApiError::MfaSetupRequired,
        ApiError::MfaNotEnabled,
        ApiError::Forbidden,
        ApiError::CrossSiteRequest,
        ApiError::OriginNotAllowed,
        ApiError::GoogleSignInOff,
        ApiError::InvalidIdToken,
        ApiError::EmailNotVerified,
        ApiError::HostedDomainNotAllowed,
        ApiError::InvalidSignInState,
        ApiError::CsrfTokenMismatch,
        ApiError::IdentityNotFound,
        ApiError::PasswordRequired,
        ApiError::SessionNotFound,
        ApiError::AccountDeactivated,
        ApiError::OwnAdminAccount,
        ApiError::UserNotFound,
        ApiError::MailTemplateNotFound,
        ApiError::PicturesOff,
        ApiError::PictureNotFound,
        ApiError::InvalidCursor,
        ApiError::Conflict,
        ApiError::EmailTaken,
        ApiError::TooManyRequests { retry_after: 1 },
        ApiError::Unavailable { retry_after: 1 },
        ApiError::Unexpected(anyhow::anyhow!("unexpected")),
    ];
    for error in &all {
        match error {
            ApiError::InvalidJson(_)
            | ApiError::PayloadTooLarge { .. }
            | ApiError::UnsupportedMediaType
            | ApiError::Validation { .. }
            | ApiError::NotFound
            | ApiError::MethodNotAllowed { .. }
            | ApiError::InvalidCode { .. }
            | ApiError::InvalidAuthenticatorCode { .. }
            | ApiError::InvalidResetToken
            | ApiError::InvalidSignupToken
            | ApiError::AuthenticationRequired
            | ApiError::InvalidToken
            | ApiError::InvalidCredentials { .. }
            | ApiError::AccountLocked
            | ApiError::InvalidMfaToken
            | ApiError::MfaAlreadyEnabled
            | ApiError::MfaSetupRequired
            | ApiError::MfaNotEnabled
            | ApiError::Forbidden
            | ApiError::CrossSiteRequest
            | ApiError::OriginNotAllowed
            | ApiError::GoogleSignInOff
            | ApiError::InvalidIdToken
            | ApiError::EmailNotVerified
            | ApiError::HostedDomainNotAllowed
            | ApiError::InvalidSignInState
            | ApiError::CsrfTokenMismatch
            | ApiError::IdentityNotFound
            | ApiError::PasswordRequired
            | ApiError::SessionNotFound
            | ApiError::AccountDeactivated
            | ApiError::OwnAdminAccount
            | ApiError::UserNotFound
            | ApiError::MailTemplateNotFound
            | ApiError::PicturesOff
            | ApiError::PictureNotFound
            | ApiError::InvalidCursor
            | ApiError::Conflict
            | ApiError::EmailTaken
            | ApiError::TooManyRequests { .. }
            | ApiError::Unavailable { .. }
            | ApiError::Unexpected(_) => {}
        }
    }
    all
}

/// A body: its fields, required or optional. An optional field may be null, which the API
/// reads as absent ([`JsonBody::optional`](crate::http::JsonBody::optional)).
fn request_body(body: Body) -> Value {
    let required: Vec<&str> =
        body.fields.iter().filter(|(_, required, _)| *required).map(|(name, _, _)| *name).collect();
    let nullable_if_optional = |(name, required, schema): (&str, bool, Value)| {
        let schema = if required { schema } else { json!({ "anyOf": [schema, { "type": "null" }] }) };
        (name.to_owned(), schema)
    };
    let properties: Map<String, Value> = body.fields.into_iter().map(nullable_if_optional).collect();
    let mut schema = json!({ "type": "object", "properties": properties, "additionalProperties": false });
    if !required.is_empty() {
        schema["required"] = json!(required);
    }
    if let Value::Object(extra) = body.extra {
        for (key, value) in extra {
            schema[key] = value;
        }
    }
    json!({
        "required": body.required,
        "content": { "application/json": { "schema": schema, "example": body.example } },
    })
}

/// At most one of two optional fields is given (a string; null is absent).
fn at_most_one_of(a: &str, b: &str) -> Value {
    let given = |name: &str| json!({ "properties": { name: { "type": "string" } }, "required": [name] });
    json!({ "not": { "allOf": [given(a), given(b)] } })
}

/// Exactly one of two optional fields is given (a string; null is absent).
fn one_of_fields(a: &str, b: &str) -> Value {
    let only = |this: &str, other: &str| {
        json!({
            "properties": { this: { "type": "string" } },
            "required": [this],
            "not": { "properties": { other: { "type": "string" } }, "required": [other] },
        })
    };
    json!({ "oneOf": [only(a, b), only(b, a)] })
}

fn user_id() -> Value {
    path_parameter(
        "id",
        "An account's `id` (from `GET /admin/users`).",
        json!({ "type": "string", "minLength": 1, "maxLength": 64 }),
    )
}

fn path_parameter(name: &str, description: &str, schema: Value) -> Value {
    json!({ "name": name, "in": "path", "required": true, "description": description, "schema": schema })
}

fn query_parameter(name: &str, description: &str, schema: Value) -> Value {
    json!({ "name": name, "in": "query", "required": false, "description": description, "schema": schema })
}

fn page_parameters() -> Vec<Value> {
    vec![
        query_parameter(
            "limit",
            "How many items (default 20).",
            json!({ "type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": DEFAULT_PAGE }),
        ),
        query_parameter(
            "cursor",
            "The `next_cursor` of the previous page.",
            json!({ "type": "string", "minLength": 1, "pattern": "^[A-Za-z0-9_-]+$" }),
        ),
    ]
}

fn page(item: Value) -> Value {
    object(&[("items", json!({ "type": "array", "items": item })), ("next_cursor", nullable(string()))], &[])
}

/// A closed object whose listed properties are all required.
fn object(required: &[(&str, Value)], optional: &[(&str, Value)]) -> Value {
    let mut properties = Map::new();
    for (name, schema) in required.iter().chain(optional) {
        properties.insert((*name).to_owned(), schema.clone());
    }
    let names: Vec<&str> = required.iter().map(|(name, _)| *name).collect();
    json!({ "type": "object", "properties": properties, "required": names, "additionalProperties": false })
}

/// Adds the session's token fields to an object schema.
trait MergeSession {
    fn merge_session(self) -> Value;
}

impl MergeSession for Value {
    fn merge_session(mut self) -> Value {
        let tokens = [
            ("access_token", json!({ "type": "string", "description": "An RS256 JWT, 10 minutes." })),
            ("refresh_token", json!({ "type": "string", "description": "Opaque, rotated at each use." })),
            ("token_type", json!({ "const": "Bearer" })),
            ("expires_in", json!({ "type": "integer", "description": "The access token's life, in seconds." })),
        ];
        for (name, schema) in tokens {
            self["properties"][name] = schema;
            if let Some(required) = self["required"].as_array_mut() {
                required.push(json!(name));
            }
        }
        self
    }
}

fn reference(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn string() -> Value {
    json!({ "type": "string" })
}

fn nullable(mut schema: Value) -> Value {
    if let Some(kind) = schema.get("type").cloned() {
        schema["type"] = json!([kind, "null"]);
    }
    if let Some(Value::Array(values)) = schema.get_mut("enum") {
        values.push(Value::Null);
    }
    schema
}

fn grant(token: &str) -> Value {
    object(
        &[
            (token, json!({ "type": "string", "description": "Opaque; one use." })),
            ("expires_in", json!({ "type": "integer", "description": "Seconds." })),
        ],
        &[],
    )
}

fn recovery_codes() -> Value {
    json!({ "type": "array", "items": { "type": "string", "pattern": "^[a-z0-9]{5}-[a-z0-9]{5}$" }, "minItems": 10, "maxItems": 10 })
}

/// How much white space the document allows around a value (the API trims any amount; the
/// bound keeps every body the document allows within [`MAX_BODY_BYTES`]).
const PADDING: &str = "{0,32}";

/// The characters Rust's `str::trim` takes off (Unicode White_Space), as a class body.
fn whitespace() -> String {
    class_body(char::is_whitespace, u32::from(char::MAX))
}

/// A character class body (without brackets) of the characters up to `last` that `matches`,
/// as ranges of `\uXXXX` escapes that ECMA-262 and Python's `re` both read.
fn class_body(matches: impl Fn(char) -> bool, last: u32) -> String {
    let mut ranges: Vec<(u32, u32)> = Vec::new();
    for c in (0..=last).filter_map(char::from_u32).filter(|c| matches(*c)) {
        let c = u32::from(c);
        match ranges.last_mut() {
            Some((_, end)) if *end + 1 == c => *end = c,
            _ => ranges.push((c, c)),
        }
    }
    let escape = |c: u32| if c > 0xFFFF { String::new() } else { format!("\\u{c:04x}") };
    ranges
        .into_iter()
        .filter(|(start, _)| *start <= 0xFFFF)
        .map(|(start, end)| {
            let end = end.min(0xFFFF);
            if start == end { escape(start) } else { format!("{}-{}", escape(start), escape(end)) }
        })
        .collect()
}

/// An email address, as [`Email::parse`](crate::model::Email::parse) takes it in its common
/// form: trimmed, ASCII, a dot-atom local part, two to five domain labels, a top-level label
/// of letters. The API takes more (a local part of up to 64 characters with any number of
/// dots, any top-level label that is not all digits, 254 characters in all), which the
/// description says: a pattern with the exact bounds needs lookaheads, which hypothesis (what
/// schemathesis generates with) can only meet by filtering, and it found none in 459 tries.
fn email() -> Value {
    let ws = whitespace();
    let atext = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]";
    let label = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,20}[A-Za-z0-9])?";
    let pattern = format!(
        "^[{ws}]{PADDING}{atext}{{1,32}}(?:\\.{atext}{{1,15}}){{0,2}}@(?:{label}\\.){{1,4}}[A-Za-z]{{2,10}}[{ws}]{PADDING}$"
    );
    json!({
        "type": "string",
        "pattern": pattern,
        "description": "An email address (ASCII); trimmed and lower-cased before anything else. Any dot-atom address of at most \
            254 characters (64 before the @) whose top-level label is not all digits is taken; the pattern gives the common form.",
        "examples": ["ann@example.com"],
    })
}

/// A display name as [`display_name`](crate::model::user::display_name) takes it: trimmed,
/// 1 to 100 characters, no control, format or line/paragraph separator characters. (The
/// pattern lists the Basic Multilingual Plane's; the few format characters above it, such
/// as tags U+E0020–E007F, are refused too.)
fn name() -> Value {
    text_of_at_most(MAX_NAME_CHARS, "Ann Example")
}

/// A mail's kind.
fn mail_kind() -> Value {
    json!({ "enum": KINDS.iter().map(|(_, name)| *name).collect::<Vec<_>>() })
}

/// The fields of a profile change: `name`, each standard attribute, `custom`. An attribute
/// given as null is removed.
fn profile_fields() -> Vec<(&'static str, bool, Value)> {
    let mut fields = vec![("name", false, reference("Name"))];
    fields.extend(ATTRIBUTES.iter().map(|(attribute, name)| (*name, false, attribute_schema(*attribute))));
    fields.push((
        "custom",
        false,
        json!({
            "type": "object",
            "description": "The deployment's custom attributes (`STEPAUTH_CUSTOM_ATTRIBUTES`), each of its declared type; null removes one.",
            "additionalProperties": { "type": ["string", "number", "boolean", "null"] },
        }),
    ));
    fields
}

/// The profile attributes of a user as the API shows them: each standard one (null when not
/// set), `phone_number_verified` and `custom`.
fn profile_properties() -> Vec<(&'static str, Value)> {
    let shown = |attribute: Attribute| match attribute {
        // An upload is shown as a presigned GET, longer than a URL the person may give.
        Attribute::Picture => json!({
            "type": ["string", "null"],
            "format": "uri",
            "description": "The URL the person gave, or a link to their uploaded picture valid for 15 minutes (`picture_uploaded`).",
        }),
        attribute => nullable(attribute_schema(attribute)),
    };
    let mut properties: Vec<(&str, Value)> =
        ATTRIBUTES.iter().map(|(attribute, name)| (*name, shown(*attribute))).collect();
    properties.push((
        "phone_number_verified",
        json!({ "const": false, "description": "No phone number is verified here (no SMS)." }),
    ));
    properties.push((
        "picture_uploaded",
        json!({ "type": "boolean", "description": "Whether `picture` is the person's upload rather than a URL they gave." }),
    ));
    properties.push((
        "custom",
        json!({ "type": "object", "additionalProperties": { "type": ["string", "number", "boolean"] }, "description": "The deployment's custom attributes that are set." }),
    ));
    properties
}

/// What a standard attribute takes, as [`Attribute::parse`] checks it. What no pattern says
/// (a username that is reserved or taken, a phone number no country hands out, a date not in
/// the past or before 1900, or not on the calendar) is said in the description.
fn attribute_schema(attribute: Attribute) -> Value {
    let exact = |pattern: &str, description: &str, example: &str| json!({ "type": "string", "pattern": pattern, "description": description, "examples": [example] });
    match attribute {
        Attribute::GivenName => text_of_at_most(MAX_NAME_CHARS, "Ann"),
        Attribute::FamilyName => text_of_at_most(MAX_NAME_CHARS, "Example"),
        Attribute::Nickname => text_of_at_most(50, "Annie"),
        Attribute::Gender => text_of_at_most(50, "female"),
        Attribute::PreferredUsername => exact(
            "^[A-Za-z0-9][A-Za-z0-9._-]{1,28}[A-Za-z0-9]$",
            "3 to 30 ASCII letters, digits, `.`, `_`, `-`, starting and ending with a letter or digit; unique case-insensitively; names such as `admin` or `support` are reserved.",
            "ann.example",
        ),
        Attribute::PhoneNumber => exact(
            "^\\+[0-9][0-9 ().-]{5,30}$",
            "International form: `+`, the country code and the number (spaces, `-`, `.`, `(`, `)` allowed); it must be a number the country hands out (libphonenumber's metadata) and is kept in E.164. Never verified here.",
            "+442079460958",
        ),
        Attribute::Birthdate => exact(
            "^[0-9]{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)|02-(?:0[1-9]|[12][0-9]))$",
            "`YYYY-MM-DD`: a real date (29 February only in a leap year) from 1900-01-01 to yesterday.",
            "1990-04-01",
        ),
        Attribute::Picture => json!({
            "type": "string",
            "maxLength": MAX_URL_CHARS,
            "pattern": "^https://[!\"$-.0->A-~]+(?:[/?#][!-~]*)?$",
            "description": "An `https` URL of a picture of the person, without a user name or password in it. An uploaded picture is set through `PUT /users/me/picture` instead.",
            "examples": ["https://example.com/ann.png"],
        }),
        Attribute::Locale => json!({
            "type": "string",
            "maxLength": 35,
            "pattern": "^[A-Za-z]{2,3}(?:[-_](?:[A-Za-z]{2}|[A-Za-z0-9]{3,8}))*$",
            "description": "A BCP 47 language tag (`_` is read as `-`); kept as `ll-Ssss-RR`. The language of the person's mail.",
            "examples": ["de-AT"],
        }),
        Attribute::Zoneinfo => json!({
            "type": "string",
            "enum": ZONES.lines().collect::<Vec<_>>(),
            "description": "An IANA time zone.",
            "examples": ["Europe/Vienna"],
        }),
    }
}

/// Text under the rules of a name, of at most `max` characters once trimmed.
fn text_of_at_most(max: usize, example: &str) -> Value {
    use unicode_properties::{GeneralCategory as G, UnicodeGeneralCategory as _};
    let forbidden = class_body(
        |c| matches!(c.general_category(), G::Control | G::Format | G::LineSeparator | G::ParagraphSeparator),
        0xFFFF,
    );
    let ws = whitespace();
    let inner = max - 2;
    let pattern =
        format!("^[{ws}]{PADDING}[^{ws}{forbidden}](?:[^{forbidden}]{{0,{inner}}}[^{ws}{forbidden}])?[{ws}]{PADDING}$");
    json!({
        "type": "string",
        "pattern": pattern,
        "description": format!("Any script, 1 to {max} characters once trimmed; no control (Cc) or format (Cf) characters, no line or paragraph separators."),
        "examples": [example],
    })
}

fn existing_password() -> Value {
    json!({ "type": "string", "minLength": 1, "maxLength": MAX_CHARS, "description": "As typed." })
}

/// A new password: the length in the schema; the rest of the policy (a letter of each case,
/// a digit, a symbol, not a common password) in the pattern as far as ASCII goes.
fn new_password() -> Value {
    json!({
        "type": "string",
        "minLength": MIN_CHARS,
        "maxLength": MAX_CHARS,
        "pattern": "^(?=.*[A-Z])(?=.*[a-z])(?=.*[0-9])(?=.*[!-/:-@\\[-`{-~])",
        "description": format!(
            "{MIN_CHARS} to {MAX_CHARS} characters with an upper-case and a lower-case letter, a digit and a symbol (any script's letters and digits count), \
             not one of the 10,000 most common passwords. A refused one answers `validation_failed` with `password_rules`."
        ),
        "examples": ["Correct-Horse-7-Battery"],
    })
}

fn confirmation() -> Value {
    json!({ "type": "string", "description": "The same password again." })
}

/// A mailed code: six digits, trimmed.
fn mail_code() -> Value {
    let ws = whitespace();
    json!({ "type": "string", "pattern": format!("^[{ws}]{PADDING}[0-9]{{6}}[{ws}]{PADDING}$"), "description": "The 6-digit code from the mail.", "examples": ["490761"] })
}

/// An authenticator code: six digits, white space anywhere ignored.
fn totp_code() -> Value {
    let ws = whitespace();
    json!({ "type": "string", "pattern": format!("^[{ws}]{PADDING}(?:[0-9][{ws}]{{0,4}}){{6}}$"), "description": "The 6-digit code from the authenticator app.", "examples": ["272584"] })
}

/// A recovery code: ten letters or digits; case, white space and dashes ignored.
fn recovery_code() -> Value {
    let ws = whitespace();
    json!({
        "type": "string",
        "pattern": format!("^[{ws}-]{{0,4}}(?:[A-Za-z0-9][{ws}-]{{0,4}}){{10}}$"),
        "description": "One of the recovery codes (`xxxxx-xxxxx`).",
        "examples": ["k3j9d-2mx8q"],
    })
}

/// An opaque token the API issued (or Google's ID token), as
/// [`opaque_token`](crate::http::opaque_token) takes it: printable ASCII.
fn token(description: &str) -> Value {
    sized_token(description, MAX_TOKEN_CHARS)
}

/// A token of at most `max` characters: the nonce and the CSRF value are short, so that
/// every body the document allows fits in [`MAX_BODY_BYTES`].
fn sized_token(description: &str, max: usize) -> Value {
    json!({ "type": "string", "minLength": 1, "maxLength": max, "pattern": "^[!-~]+$", "description": description })
}

/// Each error code, its status and its message, as a Markdown table.
fn error_table() -> String {
    let mut table = String::from("Stable; what a program checks.\n\n| code | status | message |\n|---|---|---|\n");
    for (code, (status, message)) in catalogue() {
        table.push_str(&format!("| `{code}` | {status} | {message} |\n"));
    }
    table
}

fn components() -> Value {
    let codes: Vec<&str> = catalogue().into_keys().collect();
    json!({
        "securitySchemes": {
            "bearer": { "type": "http", "scheme": "bearer", "bearerFormat": "JWT", "description": "The access token, `Authorization: Bearer …`." },
            "accessCookie": { "type": "apiKey", "in": "cookie", "name": ACCESS_COOKIE, "description": "The access token's cookie, as the front end sends it. A state change it authorises must come from this origin (`Origin`, `Sec-Fetch-Site`)." },
            "refreshCookie": { "type": "apiKey", "in": "cookie", "name": REFRESH_COOKIE, "description": "The refresh token's cookie (sent only to `/auth/token/refresh` and `/auth/logout`)." },
        },
        "headers": {
            "NoStore": { "required": true, "description": "No cache may keep the answer.", "schema": { "const": "no-store" } },
            "StrictTransportSecurity": { "required": true, "description": "HTTPS only, two years.", "schema": { "const": STRICT_TRANSPORT_SECURITY } },
            "RetryAfter": { "required": true, "description": "Seconds until a retry can succeed.", "schema": { "type": "string", "pattern": "^[0-9]+$" } },
        },
        "schemas": {
            "Email": email(),
            "Name": name(),
            "Password": existing_password(),
            "NewPassword": new_password(),
            "MailCode": mail_code(),
            "AuthenticatorCode": totp_code(),
            "RecoveryCode": recovery_code(),
            "Error": {
                "type": "object",
                "required": ["error", "message"],
                "additionalProperties": false,
                "properties": {
                    "error": { "type": "string", "enum": codes, "description": error_table() },
                    "message": { "type": "string", "description": "For people." },
                    "fields": { "type": "object", "additionalProperties": { "type": "array", "items": { "type": "string" } }, "description": "What is wrong with each field (`validation_failed`)." },
                    "password_rules": { "type": "array", "items": { "enum": ["min_length", "max_length", "uppercase", "lowercase", "digit", "symbol", "not_common", "not_reused"] }, "description": "The password rules that failed." },
                    "attempts_remaining": { "type": "integer", "description": "Tries left before the account locks." },
                },
            },
            "Message": object(&[("message", string())], &[]),
            "PictureUpload": object(
                &[
                    ("url", json!({ "type": "string", "format": "uri", "description": "The bucket's URL." })),
                    ("fields", json!({ "type": "object", "additionalProperties": { "type": "string" }, "description": "The form's fields, its policy and signature among them, to post as they are." })),
                    ("key", json!({ "type": "string", "description": "The upload's key, for `PUT /users/me/picture`." })),
                    ("max_bytes", json!({ "const": pictures::MAX_BYTES })),
                    ("expires_at", json!({ "type": "string", "format": "date-time" })),
                ],
                &[],
            ),
            "MfaRequired": object(
                &[
                    ("mfa_required", json!({ "const": true })),
                    ("mfa_token", json!({ "type": "string", "description": "For `POST /auth/mfa/verify`: five minutes, five tries." })),
                    ("expires_in", json!({ "type": "integer" })),
                ],
                &[],
            ),
            "User": object(
                &[
                    ("id", string()),
                    ("email", string()),
                    ("name", string()),
                    ("mfa_enabled", json!({ "type": "boolean" })),
                    ("recovery_codes_left", json!({ "type": "integer", "minimum": 0 })),
                    ("has_password", json!({ "type": "boolean" })),
                    ("role", json!({ "enum": ["user", "admin"] })),
                    ("created_at", json!({ "type": "string", "format": "date-time" })),
                    ("last_login", json!({ "type": ["string", "null"], "format": "date-time" })),
                    ("identities", json!({ "type": "array", "items": reference("Identity") })),
                ]
                .into_iter()
                .chain(profile_properties())
                .collect::<Vec<_>>(),
                &[],
            ),
            "Identity": object(
                &[
                    ("id", string()),
                    ("issuer", string()),
                    ("email", string()),
                    ("linked_at", json!({ "type": "string", "format": "date-time" })),
                ],
                &[],
            ),
            "Mail": object(
                &[
                    ("message_id", json!({ "type": "string", "description": "SES's message id (a suppressed mail's is ours: it never reached SES)." })),
                    ("kind", mail_kind()),
                    ("to", string()),
                    ("sent_at", json!({ "type": "string", "format": "date-time" })),
                    ("status", json!({ "enum": MAIL_STATUSES.iter().map(|(_, name)| *name).collect::<Vec<_>>() })),
                    ("status_at", json!({ "type": "string", "format": "date-time" })),
                    ("detail", json!({ "type": ["string", "null"], "description": "What SES said with the last event: a bounce's type and subtype, a complaint's kind, a rejection's reason." })),
                ],
                &[],
            ),
            "Activity": object(
                &[
                    ("at", json!({ "type": "string", "format": "date-time" })),
                    ("event", string()),
                    ("method", nullable(string())),
                    ("source_ip", nullable(string())),
                    ("user_agent", nullable(string())),
                    ("by_admin", nullable(string())),
                ],
                &[],
            ),
            "Device": object(
                &[
                    ("id", string()),
                    ("current", json!({ "type": "boolean" })),
                    ("created_at", json!({ "type": "string", "format": "date-time" })),
                    ("last_used_at", json!({ "type": "string", "format": "date-time" })),
                    ("expires_at", json!({ "type": "string", "format": "date-time" })),
                    ("first_ip", nullable(string())),
                    ("last_ip", nullable(string())),
                    ("user_agent", nullable(string())),
                    ("label", string()),
                    ("method", nullable(string())),
                ],
                &[],
            ),
            "AdminUser": object(
                &[
                    ("id", string()),
                    ("email", string()),
                    ("name", string()),
                    ("role", json!({ "enum": ["user", "admin"] })),
                    ("created_at", json!({ "type": "string", "format": "date-time" })),
                    ("last_login", json!({ "type": ["string", "null"], "format": "date-time" })),
                    ("locked", json!({ "type": "boolean" })),
                    ("mfa_enabled", json!({ "type": "boolean" })),
                    ("deactivated", json!({ "type": "boolean" })),
                ],
                &[],
            ),
            "AdminUserDetail": object(
                &[
                    ("id", string()),
                    ("email", string()),
                    ("name", string()),
                    ("role", json!({ "enum": ["user", "admin"] })),
                    ("created_at", json!({ "type": "string", "format": "date-time" })),
                    ("last_login", json!({ "type": ["string", "null"], "format": "date-time" })),
                    ("locked", json!({ "type": "boolean" })),
                    ("mfa_enabled", json!({ "type": "boolean" })),
                    ("deactivated", json!({ "type": "boolean" })),
                    ("identities", json!({ "type": "array", "items": reference("Identity") })),
                    ("session_count", json!({ "type": "integer", "minimum": 0 })),
                ]
                .into_iter()
                .chain(profile_properties())
                .collect::<Vec<_>>(),
                &[],
            ),
            "TotpSetup": object(
                &[
                    ("qr_code_url", json!({ "type": "string", "pattern": "^data:image/png;base64," })),
                    ("otpauth_uri", json!({ "type": "string", "pattern": "^otpauth://totp/" })),
                    ("secret", json!({ "type": "string", "description": "Base32, for typing in." })),
                ],
                &[],
            ),
            "Jwks": {
                "type": "object",
                "required": ["keys"],
                "properties": { "keys": { "type": "array", "items": {
                    "type": "object",
                    "required": ["kty", "kid", "n", "e"],
                    "properties": {
                        "kty": { "const": "RSA" }, "use": { "const": "sig" }, "alg": { "const": "RS256" },
                        "kid": string(), "n": string(), "e": string(),
                    },
                }}},
            },
            "Discovery": {
                "type": "object",
                "required": ["issuer", "jwks_uri", "id_token_signing_alg_values_supported"],
                "properties": {
                    "issuer": string(),
                    "jwks_uri": json!({ "type": "string", "format": "uri" }),
                    "id_token_signing_alg_values_supported": { "type": "array", "items": { "const": "RS256" } },
                    "subject_types_supported": { "type": "array", "items": string() },
                    "claims_supported": { "type": "array", "items": string() },
                },
            },
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `docs/openapi.json` is what the code describes; `STEPAUTH_WRITE_OPENAPI=1` rewrites it.
    #[test]
    fn the_committed_document_is_what_the_code_describes() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(COMMITTED);
        let generated = document_text();
        if std::env::var_os("STEPAUTH_WRITE_OPENAPI").is_some() {
            std::fs::write(&path, &generated).expect("docs/openapi.json is writable");
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == generated,
            "{COMMITTED} differs from what the code describes. Regenerate it:\n\
             \n    STEPAUTH_WRITE_OPENAPI=1 cargo test -p stepauth --lib openapi\n\nand commit the result."
        );
    }

    #[test]
    fn every_route_is_one_operation_with_a_unique_id() {
        let document = document();
        let mut ids: Vec<String> = Vec::new();
        for route in ROUTES {
            let operation = &document["paths"][route.path][route.method.as_str().to_ascii_lowercase()];
            ids.push(operation["operationId"].as_str().expect("an operation id").to_owned());
        }
        let total = ids.len();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), total);
    }

    #[test]
    fn every_error_code_is_listed_with_its_status() {
        let catalogue = catalogue();
        assert_eq!(catalogue["validation_failed"].0, 400);
        assert_eq!(catalogue["account_locked"].0, 423);
        assert_eq!(catalogue["service_unavailable"].0, 503);
        let listed = document()["components"]["schemas"]["Error"]["properties"]["error"]["enum"].clone();
        assert_eq!(listed.as_array().map(Vec::len), Some(catalogue.len()));
    }

    #[test]
    fn the_name_pattern_is_what_display_name_accepts() {
        let pattern = name()["pattern"].as_str().expect("a pattern").to_owned();
        // Spot checks of the computed classes: U+200E (a direction mark, Cf) and U+0085
        // (NEL, Cc and white space) are in them; U+00E9 is not.
        assert!(pattern.contains("\\u200e") || pattern.contains("-\\u200f"), "{pattern}");
        assert!(pattern.contains("\\u0085"), "{pattern}");
        assert!(!pattern.contains("\\u00e9"));
    }
}
