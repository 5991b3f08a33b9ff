//! The one table of functions and routes. Each Lambda binary's `main.rs` names its function
//! and its handler in `handlers/` (`lambda::start("login", handlers::login::login)`); the
//! local server mounts [`ROUTES`]; the consistency test checks `infra/`, `events/` and
//! `functions/` (each `main.rs` included) against [`ROUTES`].

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;

use lambda_http::http::Method;
use lambda_http::{Body, Request, RequestExt, Response};

use crate::app::App;
use crate::config::AllowedOrigins;
use crate::error::ApiError;
use crate::handlers;
use crate::http::cors;

/// A boxed, sendable future.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A function's entry point: a request in, a response out (errors already rendered).
pub type Handler = for<'a> fn(&'a App, Request) -> BoxFuture<'a, Response<Body>>;

/// One function: its binary name, its API Gateway route, its handler.
#[derive(Clone)]
pub struct Route {
    /// The crate and binary name under `functions/`.
    pub function: &'static str,
    /// The HTTP method.
    pub method: Method,
    pub path: &'static str,
    /// The handler, errors rendered (for the local server).
    pub handler: Handler,
    /// The handler's path in this crate, e.g. `handlers::login::login`: what the function's
    /// `main.rs` starts.
    pub handler_path: &'static str,
}

impl std::fmt::Debug for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} ({})", self.method, self.path, self.function)
    }
}

macro_rules! routes {
    ($($function:literal $name:ident: $method:ident $($path:literal)|+ => $handle:path;)*) => {
        /// The entry point of each function for the local server, errors rendered as
        /// responses. A function serves only its own routes: any other request that reaches it
        /// gets [`find`]'s 404 or 405 (as `lambda::start` does for the binaries).
        pub mod handler {
            use super::*;
            $(
                #[doc = concat!("The `", $function, "` function: `", stringify!($method), "` ", $("`", $path, "` ",)+ ".")]
                pub fn $name(app: &App, req: Request) -> BoxFuture<'_, Response<Body>> {
                    Box::pin(respond($function, &app.config.allowed_origins, req, |req| $handle(app, req)))
                }
            )*
        }

        /// Every route, with the function that serves it (a function may serve several).
        pub const ROUTES: &[Route] = &[
            $($(Route {
                function: $function,
                method: Method::$method,
                path: $path,
                handler: handler::$name,
                handler_path: stringify!($handle),
            },)+)*
        ];

        /// [`ROUTES`] without the handlers, in the same order. A function binary looks its
        /// request up here, so that it links its own handler and no other.
        const ENDPOINTS: &[(&str, Method, &str)] = &[
            $($(($function, Method::$method, $path),)+)*
        ];
    };
}

/// A function started by an event rather than an HTTP request: its binary name, what invokes
/// it, and its handler (`async fn(&App, serde_json::Value)`).
#[derive(Debug, Clone, Copy)]
pub struct EventFunction {
    /// The crate and binary name under `functions/`.
    pub function: &'static str,
    /// What invokes it.
    pub source: &'static str,
    /// The handler: what its `main.rs` passes to `lambda::start_events`.
    pub handler: for<'a> fn(&'a App, serde_json::Value) -> BoxFuture<'a, anyhow::Result<()>>,
    /// The handler's path in this crate.
    pub handler_path: &'static str,
}

/// Every function an event starts: the template gives each its event source, and it has an
/// events/ file of that source's shape.
pub const EVENT_FUNCTIONS: &[EventFunction] = &[EventFunction {
    function: "mail-events",
    source: "SES events of the configuration set, through EventBridge",
    handler: handlers::mail::mail_events,
    handler_path: "handlers::mail::mail_events",
}];

routes! {
    "signup"          signup:          POST "/auth/signup"            => handlers::signup::signup;
    "signup-verify"   signup_verify:   POST "/auth/signup/verify"     => handlers::signup::signup_verify;
    "signup-complete" signup_complete: POST "/auth/signup/complete"   => handlers::signup::signup_complete;
    "login"           login:           POST "/auth/login"             => handlers::login::login;
    "token-refresh"   token_refresh:   POST "/auth/token/refresh"     => handlers::refresh_logout::token_refresh;
    "logout"          logout:          POST "/auth/logout"            => handlers::refresh_logout::logout;
    "logout-all"      logout_all:      POST "/auth/logout/all"        => handlers::refresh_logout::logout_all;
    "profile-get"     profile_get:     GET  "/users/me"               => handlers::profile::profile_get;
    "jwks"            jwks:            GET  "/.well-known/jwks.json" | "/.well-known/openid-configuration" => handlers::jwks::jwks;
    "login-code"        login_code:        POST  "/auth/login/code"         => handlers::login::login_code;
    "login-code-verify" login_code_verify: POST  "/auth/login/code/verify"  => handlers::login::login_code_verify;
    "code-resend"       code_resend:       POST  "/auth/code/resend"        => handlers::code_resend::code_resend;
    "password-forgot"   password_forgot:   POST  "/auth/password/forgot"    => handlers::recovery::password_forgot;
    "password-verify"   password_verify:   POST  "/auth/password/verify"    => handlers::recovery::password_verify;
    "password-reset"    password_reset:    POST  "/auth/password/reset"     => handlers::recovery::password_reset;
    "password-change"   password_change:   POST  "/auth/password/change"    => handlers::profile::password_change;
    "profile-update"    profile_update:    PATCH "/users/me"                => handlers::profile::profile_update;
    "activity"          activity:          GET   "/users/me/activity"       => handlers::profile::activity;
    "picture-upload"    picture_upload:    POST  "/users/me/picture"        => handlers::profile::picture_upload;
    "picture-set"       picture_set:       PUT   "/users/me/picture"        => handlers::profile::picture_set;
    "admin-unlock"      admin_unlock:      POST  "/admin/users/unlock"      => handlers::admin::admin_unlock;
    "admin-users"       admin_users:       GET   "/admin/users"             => handlers::admin::admin_users;
    "admin-mfa-reset"   admin_mfa_reset:   POST  "/admin/users/mfa/reset"   => handlers::admin::admin_mfa_reset;
    "totp-setup"        totp_setup:        POST  "/auth/totp/setup"         => handlers::authenticator::totp_setup;
    "totp-confirm"      totp_confirm:      POST  "/auth/totp/confirm"       => handlers::authenticator::totp_confirm;
    "totp-disable"      totp_disable:      POST  "/auth/totp/disable"       => handlers::authenticator::totp_disable;
    "mfa-verify"        mfa_verify:        POST  "/auth/mfa/verify"         => handlers::authenticator::mfa_verify;
    "google-start" google_start: GET "/auth/google/start" => handlers::google::google_start;
    "google-callback" google_callback: GET "/auth/google/callback" => handlers::google::google_callback;
    "google-id-token" google_id_token: POST "/auth/google/id-token" => handlers::google::google_id_token;
    "identity-unlink" identity_unlink: POST "/users/me/identities/unlink" => handlers::identity_unlink::identity_unlink;
    "totp-recovery-codes" totp_recovery_codes: POST "/auth/totp/recovery-codes" => handlers::authenticator::totp_recovery_codes;
    "sessions-list"       sessions_list:       GET    "/users/me/sessions"            => handlers::devices::sessions_list;
    "session-end"         session_end:         DELETE "/users/me/sessions/{id}"       => handlers::devices::session_end;
    "sessions-end-others" sessions_end_others: POST   "/users/me/sessions/end-others" => handlers::devices::sessions_end_others;
    "email-change"        email_change:        POST   "/users/me/email"               => handlers::account::email_change;
    "email-change-verify" email_change_verify: POST   "/users/me/email/verify"        => handlers::account::email_change_verify;
    "account-delete"      account_delete:      DELETE "/users/me"                     => handlers::account::account_delete;
    "admin-user-get"      admin_user_get:      GET    "/admin/users/{id}"             => handlers::admin::admin_user_get;
    "admin-user-delete"   admin_user_delete:   DELETE "/admin/users/{id}"             => handlers::admin::admin_user_delete;
    "admin-user-update"   admin_user_update:   PATCH  "/admin/users/{id}"             => handlers::admin::admin_user_update;
    "admin-mail-templates" admin_mail_templates: GET  "/admin/mail-templates" | "/admin/mail-templates/{kind}" => handlers::mail::admin_mail_templates;
    "admin-user-mails"    admin_user_mails:    GET    "/admin/users/{id}/mails"       => handlers::mail::admin_user_mails;
    "admin-user-activity" admin_user_activity: GET    "/admin/users/{id}/activity"    => handlers::admin::admin_user_activity;
    "admin-sessions-end"  admin_sessions_end:  POST   "/admin/users/{id}/sessions/end" => handlers::admin::admin_sessions_end;
    "admin-deactivate"    admin_deactivate:    POST   "/admin/users/{id}/deactivate"  => handlers::admin::admin_deactivate;
    "admin-reactivate"    admin_reactivate:    POST   "/admin/users/{id}/reactivate"  => handlers::admin::admin_reactivate;
    "admin-email-set"     admin_email_set:     POST   "/admin/users/{id}/email"       => handlers::admin::admin_email_set;
    "web"               web:               GET   "/" | "/app.js" | "/app.css" | "/docs" | "/docs.js" | "/docs.css" | "/openapi.json" => handlers::web::web;
}

/// What every function does with a request, in the local server and in its Lambda binary: a
/// CORS preflight is answered here, for any route of the API (API Gateway sends preflights to
/// the `$default` route's function); anything else must be one of the function's routes
/// ([`serves`]) and goes to `handle`. The answer gets the CORS headers when its `Origin` is
/// allowed ([`cors::decorate`]), and the route it reached as an extension ([`Matched`]).
pub async fn respond<F, Fut>(function: &str, allowed: &AllowedOrigins, req: Request, handle: F) -> Response<Body>
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = Result<Response<Body>, ApiError>>,
{
    if cors::is_preflight(&req) {
        return preflight(&req, allowed);
    }
    let origin = cors::origin(&req).map(str::to_owned);
    let response = match serves(function, &req) {
        Ok(template) => {
            // The path's parameters, as API Gateway would give them, from the route's template:
            // the same in the local server and in a Lambda binary.
            let parameters = path_parameters(template, req.uri().path()).unwrap_or_default();
            let matched = Matched { method: req.method().clone(), template };
            let mut response =
                handle(req.with_path_parameters(parameters)).await.unwrap_or_else(ApiError::into_response);
            response.extensions_mut().insert(matched);
            response
        }
        Err(error) => error.into_response(),
    };
    cors::decorate(origin.as_deref(), allowed, response)
}

/// The route a request reached, kept on its response (an extension, never sent) for the log
/// line: its method and template (`DELETE /users/me/sessions/{id}`), never the path's values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matched {
    /// The route's method.
    pub method: Method,
    /// The route's path template.
    pub template: &'static str,
}

impl std::fmt::Display for Matched {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.method, self.template)
    }
}

/// The answer to a CORS preflight for the request's path ([`cors::preflight`], with the
/// methods the path's routes take).
pub fn preflight(req: &Request, allowed: &AllowedOrigins) -> Response<Body> {
    let path = req.uri().path();
    let methods: Vec<&str> = ENDPOINTS
        .iter()
        .filter(|(_, _, route)| path_parameters(route, path).is_some())
        .map(|(_, method, _)| method.as_str())
        .collect();
    cors::preflight(req, allowed, &methods)
}

/// Whether `function` serves `req`: the route's path (a template, `/users/me/sessions/{id}`),
/// or [`find`]'s 404 or 405 if no route has the request's method and path, 404 if the route
/// is another function's.
pub fn serves(function: &str, req: &Request) -> Result<&'static str, ApiError> {
    let (owner, _, template) = ENDPOINTS[position(req.method(), req.uri().path())?];
    if owner == function { Ok(template) } else { Err(ApiError::NotFound) }
}

/// The parameters of `path` if it matches `template`: each `{name}` segment of the template
/// matches one non-empty segment of the path; every other segment must be equal.
pub fn path_parameters(template: &str, path: &str) -> Option<HashMap<String, String>> {
    let (mut names, mut values) = (template.split('/'), path.split('/'));
    let mut parameters = HashMap::new();
    loop {
        match (names.next(), values.next()) {
            (None, None) => return Some(parameters),
            (Some(name), Some(value)) => match name.strip_prefix('{').and_then(|n| n.strip_suffix('}')) {
                Some(name) if !value.is_empty() => {
                    parameters.insert(name.to_owned(), value.to_owned());
                }
                None if name == value => {}
                _ => return None,
            },
            _ => return None,
        }
    }
}

/// The route for `method` and `path`: `NotFound` if no route has the path,
/// `MethodNotAllowed` if none has it with this method.
pub fn find(method: &Method, path: &str) -> Result<&'static Route, ApiError> {
    position(method, path).map(|i| &ROUTES[i])
}

/// As API Gateway chooses: of the routes with the request's method whose path matches, the
/// one without parameters first (`POST /users/me/sessions/end-others` before `DELETE
/// /users/me/sessions/{id}`, which a DELETE of that path reaches). A 405's `Allow` names the
/// methods of the resource the document describes at that path: the exact one if there is one.
fn position(method: &Method, path: &str) -> Result<usize, ApiError> {
    let (mut exact, mut templated) = (Vec::new(), Vec::new());
    let mut found = None;
    for (i, (_, route_method, route_path)) in ENDPOINTS.iter().enumerate() {
        if path_parameters(route_path, path).is_some() {
            if route_method == method && (found.is_none() || *route_path == path) {
                found = Some(i);
            }
            if *route_path == path { &mut exact } else { &mut templated }.push(route_method.as_str());
        }
    }
    let allow = if exact.is_empty() { templated } else { exact };
    match found {
        Some(i) => Ok(i),
        None if allow.is_empty() => Err(ApiError::NotFound),
        None => Err(ApiError::MethodNotAllowed { allow: allow.join(", ") }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_routes_and_tells_missing_from_wrong_method() {
        assert_eq!(find(&Method::POST, "/auth/login").map(|r| r.function).ok(), Some("login"));
        assert!(
            matches!(find(&Method::GET, "/auth/login"), Err(ApiError::MethodNotAllowed { allow }) if allow == "POST")
        );
        assert!(
            matches!(find(&Method::PUT, "/users/me"), Err(ApiError::MethodNotAllowed { allow }) if allow == "GET, PATCH, DELETE")
        );
        assert_eq!(find(&Method::PATCH, "/users/me").map(|r| r.function).ok(), Some("profile-update"));
        assert!(matches!(find(&Method::GET, "/nowhere"), Err(ApiError::NotFound)));
    }

    #[test]
    fn templates_match_one_segment_and_exact_paths_come_first() {
        let id = |path: &str| path_parameters("/users/me/sessions/{id}", path).map(|p| p["id"].clone());
        assert_eq!(id("/users/me/sessions/abc").as_deref(), Some("abc"));
        assert_eq!(id("/users/me/sessions/"), None);
        assert_eq!(id("/users/me/sessions/a/b"), None);
        assert_eq!(id("/users/me/sessions"), None);
        assert_eq!(
            find(&Method::POST, "/users/me/sessions/end-others").map(|r| r.function).ok(),
            Some("sessions-end-others")
        );
        assert_eq!(
            find(&Method::DELETE, "/users/me/sessions/end-others").map(|r| r.function).ok(),
            Some("session-end")
        );
        assert_eq!(find(&Method::DELETE, "/users/me/sessions/x1").map(|r| r.function).ok(), Some("session-end"));
        assert!(
            matches!(find(&Method::GET, "/users/me/sessions/x1"), Err(ApiError::MethodNotAllowed { allow }) if allow == "DELETE")
        );
        assert!(
            matches!(find(&Method::GET, "/users/me/sessions/end-others"), Err(ApiError::MethodNotAllowed { allow }) if allow == "POST")
        );
    }

    #[test]
    fn the_endpoints_are_the_routes_in_the_same_order() {
        assert_eq!(ENDPOINTS.len(), ROUTES.len());
        for ((function, method, path), route) in ENDPOINTS.iter().zip(ROUTES) {
            assert_eq!((*function, method, *path), (route.function, &route.method, route.path));
        }
    }

    #[test]
    fn routes_are_unique_and_only_the_listed_functions_have_several() {
        let mut routes: Vec<_> = ROUTES.iter().map(|r| (r.method.as_str(), r.path)).collect();
        routes.sort_unstable();
        routes.dedup();
        assert_eq!(routes.len(), ROUTES.len());
        // The front end's page and assets, the API reference and its document; the keys and
        // the discovery document naming them; the mail templates' list and one template.
        let several = ["web", "jwks", "admin-mail-templates"];
        let mut functions: Vec<_> = ROUTES.iter().map(|r| r.function).filter(|f| !several.contains(f)).collect();
        let total = functions.len();
        functions.dedup();
        assert_eq!(functions.len(), total, "one route per API function");
        assert_eq!(ROUTES.iter().filter(|r| r.function == "web").count(), 7);
        assert_eq!(ROUTES.iter().filter(|r| r.function == "jwks").count(), 2);
        assert_eq!(ROUTES.iter().filter(|r| r.function == "admin-mail-templates").count(), 2);
    }
}
