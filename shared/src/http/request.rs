//! Reading requests: JSON bodies field by field (so that every problem is reported at
//! once), list parameters, cookies, bearer tokens and the request's origin.

use std::collections::BTreeMap;

use lambda_http::http::header;
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt as _};
use serde_json::{Map, Value};

use crate::config::AllowedOrigins;
use crate::error::{ApiError, FieldErrors};
use crate::invalid::Invalid;
use crate::model::Origin;
use crate::password::Rule;

/// The largest request body any route accepts. Every request is a handful of short fields.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// What is wrong with one field's value.
#[derive(Debug, PartialEq, Eq)]
pub enum Problem {
    /// One message.
    Message(String),
    /// Password rules that failed, each of which becomes a message.
    PasswordRules(Vec<Rule>),
}

impl From<&str> for Problem {
    fn from(message: &str) -> Self {
        Self::Message(message.to_owned())
    }
}

impl From<Invalid> for Problem {
    fn from(Invalid(message): Invalid) -> Self {
        Self::Message(message)
    }
}

impl From<Vec<Rule>> for Problem {
    fn from(rules: Vec<Rule>) -> Self {
        Self::PasswordRules(rules)
    }
}

/// A JSON object body, read one field at a time.
///
/// Each read records what is wrong instead of failing, so that [`JsonBody::finish`] reports
/// every missing, mistyped, invalid and unknown field in one answer.
#[derive(Debug)]
pub struct JsonBody {
    fields: Map<String, Value>,
    errors: FieldErrors,
    password_rules: Vec<&'static str>,
}

impl JsonBody {
    /// Reads the body, which must be a JSON object of at most [`MAX_BODY_BYTES`].
    pub fn parse(req: &Request) -> Result<Self, ApiError> {
        Self::parse_optional(req)?.ok_or(ApiError::InvalidJson("The request body must be a JSON object."))
    }

    /// Like [`JsonBody::parse`], but an empty body is `None` rather than an error.
    pub fn parse_optional(req: &Request) -> Result<Option<Self>, ApiError> {
        let bytes = req.body().as_ref();
        if bytes.len() > MAX_BODY_BYTES {
            return Err(ApiError::PayloadTooLarge { limit: MAX_BODY_BYTES });
        }
        if bytes.iter().all(u8::is_ascii_whitespace) {
            // A body-less POST typed as a form or as text is what a cross-site HTML form
            // sends: never an API call (docs/SECURITY.md, "Cross-site requests").
            if is_form_or_text(req) {
                return Err(ApiError::UnsupportedMediaType);
            }
            return Ok(None);
        }
        if !is_json(req) {
            return Err(ApiError::UnsupportedMediaType);
        }
        match serde_json::from_slice(bytes) {
            Ok(Value::Object(fields)) => Ok(Some(Self { fields, errors: BTreeMap::new(), password_rules: Vec::new() })),
            Ok(_) => Err(ApiError::InvalidJson("The request body must be a JSON object.")),
            Err(_) => Err(ApiError::InvalidJson("The request body is not valid JSON.")),
        }
    }

    /// A required string field, checked by `parse`.
    pub fn required<T, E: Into<Problem>>(&mut self, name: &str, parse: impl FnOnce(&str) -> Result<T, E>) -> Option<T> {
        match self.fields.remove(name) {
            None | Some(Value::Null) => self.error(name, "is required"),
            Some(value) => self.string(name, value, parse),
        }
    }

    /// An optional string field: absent or null is `None`, anything else is checked.
    pub fn optional<T, E: Into<Problem>>(&mut self, name: &str, parse: impl FnOnce(&str) -> Result<T, E>) -> Option<T> {
        match self.fields.remove(name) {
            None | Some(Value::Null) => None,
            Some(value) => self.string(name, value, parse),
        }
    }

    /// A field of a partial update: absent is `None` (unchanged), null is `Some(None)`
    /// (removed), a string is checked.
    pub fn patch<T, E: Into<Problem>>(
        &mut self,
        name: &str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Option<Option<T>> {
        match self.fields.remove(name)? {
            Value::Null => Some(None),
            value => self.string(name, value, parse).map(Some),
        }
    }

    /// A field's JSON value as it is, for a caller that checks it itself (recording any
    /// problem with [`JsonBody::error`]).
    pub fn take(&mut self, name: &str) -> Option<Value> {
        self.fields.remove(name)
    }

    fn string<T, E: Into<Problem>>(
        &mut self,
        name: &str,
        value: Value,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Option<T> {
        let Value::String(text) = value else {
            return self.error(name, "must be a string");
        };
        match parse(&text).map_err(Into::into) {
            Ok(parsed) => Some(parsed),
            Err(Problem::Message(message)) => self.error(name, message),
            Err(Problem::PasswordRules(rules)) => {
                for rule in rules {
                    self.password_rules.push(rule.code());
                    self.error::<()>(name, rule.message());
                }
                None
            }
        }
    }

    /// Records a problem with a field that a cross-field check found.
    pub fn error<T>(&mut self, name: &str, message: impl Into<String>) -> Option<T> {
        self.errors.entry(name.to_owned()).or_default().push(message.into());
        None
    }

    /// Ends the reading: any problem so far, or any field not read, is a validation error;
    /// otherwise every value read is present and returned.
    pub fn finish<V: Complete>(mut self, values: V) -> Result<V::Output, ApiError> {
        let unknown: Vec<String> = std::mem::take(&mut self.fields).into_iter().map(|(k, _)| k).collect();
        for unknown in unknown {
            self.error::<()>(&unknown, "is not a recognised field");
        }
        if !self.errors.is_empty() {
            return Err(ApiError::Validation { fields: self.errors, password_rules: self.password_rules });
        }
        values.complete().ok_or_else(|| anyhow::anyhow!("a field read without error is absent").into())
    }
}

/// A tuple of values read from a [`JsonBody`]: all present once no field had a problem.
pub trait Complete {
    /// The values, unwrapped.
    type Output;
    /// The values, if every one is present.
    fn complete(self) -> Option<Self::Output>;
}

/// A value read as required: present unless its field had a problem.
impl<T> Complete for Option<T> {
    type Output = T;
    fn complete(self) -> Option<Self::Output> {
        self
    }
}

macro_rules! complete_tuple {
    ($($name:ident),+) => {
        impl<$($name: Complete),+> Complete for ($($name,)+) {
            type Output = ($($name::Output,)+);
            #[allow(non_snake_case)]
            fn complete(self) -> Option<Self::Output> {
                let ($($name,)+) = self;
                Some(($($name.complete()?,)+))
            }
        }
    };
}
complete_tuple!(A);
complete_tuple!(A, B);
complete_tuple!(A, B, C);
complete_tuple!(A, B, C, D);

impl Complete for () {
    type Output = ();
    fn complete(self) -> Option<Self::Output> {
        Some(())
    }
}

/// For routes that take no fields: the body must be empty or `{}`.
pub fn no_fields(req: &Request) -> Result<(), ApiError> {
    match JsonBody::parse_optional(req)? {
        Some(body) => body.finish(()),
        None => Ok(()),
    }
}

/// Optional values (fields that may be absent) pass through [`JsonBody::finish`] as they are.
#[derive(Debug)]
pub struct Optional<T>(pub Option<T>);

impl<T> Complete for Optional<T> {
    type Output = Option<T>;
    fn complete(self) -> Option<Self::Output> {
        Some(self.0)
    }
}

/// Whether the content type is one an HTML form (or `fetch` without CORS) can send across
/// sites: `application/x-www-form-urlencoded`, `multipart/form-data` or `text/*`.
fn is_form_or_text(req: &Request) -> bool {
    let media = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).and_then(|v| v.split(';').next());
    media.is_some_and(|media| {
        let media = media.trim().to_ascii_lowercase();
        media == "application/x-www-form-urlencoded" || media == "multipart/form-data" || media.starts_with("text/")
    })
}

/// Whether the request says it came from another site: `Sec-Fetch-Site` other than
/// `same-origin` or `none` (typed by the user), or an `Origin` whose host is not this one
/// (`null` included). A request with neither header (curl, a server) is not cross-site, nor
/// is one whose `Origin` is exactly one of the `allowed` origins (a page the deployment
/// trusts, such as the site's own `www` beside the API's `auth`).
pub fn is_cross_site(req: &Request, allowed: &AllowedOrigins) -> bool {
    let header = |name: header::HeaderName| req.headers().get(name).map(|v| v.to_str().unwrap_or("?").trim());
    if header(header::ORIGIN).is_some_and(|origin| allowed.allows(origin)) {
        return false;
    }
    if let Some(site) = header(header::HeaderName::from_static("sec-fetch-site"))
        && !(site.eq_ignore_ascii_case("same-origin") || site.eq_ignore_ascii_case("none"))
    {
        return true;
    }
    match header(header::ORIGIN) {
        None => false,
        Some(origin) => {
            let host = origin.split_once("://").map(|(_, rest)| rest);
            let here = header(header::HOST);
            !matches!((host, here), (Some(host), Some(here)) if host.eq_ignore_ascii_case(here))
        }
    }
}

fn is_json(req: &Request) -> bool {
    req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).and_then(|v| v.split(';').next()).is_some_and(
        |media| {
            let media = media.trim();
            media.eq_ignore_ascii_case("application/json")
                || (media.len() > 5
                    && media[..media.len() - 5].to_ascii_lowercase().starts_with("application/")
                    && media[media.len() - 5..].eq_ignore_ascii_case("+json"))
        },
    )
}

/// The largest page a list route returns.
pub const MAX_PAGE: usize = 100;
/// The page size when none is asked for.
pub const DEFAULT_PAGE: usize = 20;

/// A list route's `?limit=&cursor=`: the page size (1–100, default 20) and where to continue
/// (the cursor is the store's own, base64url; the store refuses one it did not give out).
/// Any other query parameter is refused.
pub fn page_params(req: &Request) -> Result<(usize, Option<String>), ApiError> {
    let (limit, cursor, _) = page_params_with(req, None)?;
    Ok((limit, cursor))
}

/// Reads a list's filter parameter: the value to filter by, or the message of its refusal.
pub type FilterParser = fn(&str) -> Result<String, String>;

/// Records every query parameter not in `allowed` as not recognised.
fn unknown_params(req: &Request, allowed: &[&str], errors: &mut FieldErrors) {
    for (key, _) in req.query_string_parameters().iter().filter(|(key, _)| !allowed.contains(key)) {
        errors.entry(key.to_owned()).or_default().push("is not a recognised parameter".to_owned());
    }
}

/// For a route that takes no query parameter: any is a validation error.
pub fn no_query(req: &Request) -> Result<(), ApiError> {
    let mut errors = FieldErrors::new();
    unknown_params(req, &[], &mut errors);
    if errors.is_empty() { Ok(()) } else { Err(ApiError::Validation { fields: errors, password_rules: Vec::new() }) }
}

/// The one query parameter a route takes, checked by `parse`, when given: any other
/// parameter, a repeat or a value `parse` refuses is a validation error.
pub fn query_param<T>(
    req: &Request,
    name: &str,
    parse: impl FnOnce(&str) -> Result<T, Invalid>,
) -> Result<Option<T>, ApiError> {
    let query = req.query_string_parameters();
    let mut errors = FieldErrors::new();
    unknown_params(req, &[name], &mut errors);
    let value = match query.all(name).as_deref() {
        None => None,
        Some([one]) => match parse(one) {
            Ok(value) => Some(value),
            Err(Invalid(message)) => {
                errors.entry(name.to_owned()).or_default().push(message);
                None
            }
        },
        Some(_) => {
            errors.entry(name.to_owned()).or_default().push("must be given once".to_owned());
            None
        }
    };
    if errors.is_empty() { Ok(value) } else { Err(ApiError::Validation { fields: errors, password_rules: Vec::new() }) }
}

/// [`page_params`] for a list that also takes the query parameter `filter`: its value,
/// given at most once, is read by its parser.
pub fn page_params_with(
    req: &Request,
    filter: Option<(&str, FilterParser)>,
) -> Result<(usize, Option<String>, Option<String>), ApiError> {
    let query = req.query_string_parameters();
    let mut errors = FieldErrors::new();
    let allowed: Vec<&str> = ["limit", "cursor"].into_iter().chain(filter.map(|(name, _)| name)).collect();
    unknown_params(req, &allowed, &mut errors);
    let mut problem = |name: &str, message: &str| errors.entry(name.to_owned()).or_default().push(message.to_owned());
    let filtered = match filter {
        None => None,
        Some((name, parse)) => match query.all(name).as_deref() {
            None => None,
            Some([one]) => match parse(one) {
                Ok(value) => Some(value),
                Err(refused) => {
                    problem(name, &refused);
                    None
                }
            },
            Some(_) => {
                problem(name, "must be given once");
                None
            }
        },
    };
    let limit = match query.all("limit").as_deref() {
        None => DEFAULT_PAGE,
        Some([one]) => match one.parse::<usize>() {
            Ok(n) if (1..=MAX_PAGE).contains(&n) => n,
            _ => {
                problem("limit", "must be a whole number from 1 to 100");
                DEFAULT_PAGE
            }
        },
        Some(_) => {
            problem("limit", "must be given once");
            DEFAULT_PAGE
        }
    };
    // A cursor is opaque: one that is not base64url of text was not given out by a list,
    // which is `invalid_cursor`, as the store's refusal of one it did not give out is.
    let cursor = match query.all("cursor").as_deref() {
        None => Ok(None),
        Some([one]) => base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, one)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .map(Some)
            .ok_or(ApiError::InvalidCursor),
        Some(_) => {
            problem("cursor", "must be given once");
            Ok(None)
        }
    };
    if errors.is_empty() {
        Ok((limit, cursor?, filtered))
    } else {
        Err(ApiError::Validation { fields: errors, password_rules: Vec::new() })
    }
}

/// The value of the named cookie.
pub fn cookie<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// The token of an `Authorization: Bearer` header.
pub fn bearer(req: &Request) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
}

/// The request's [`Origin`], from API Gateway's request context.
pub fn origin(req: &Request) -> Origin {
    match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => Origin {
            source_ip: ctx.http.source_ip.clone(),
            user_agent: ctx.http.user_agent.clone(),
            request_id: ctx.request_id.clone(),
        },
        _ => Origin::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::Body;
    use lambda_http::http;

    fn request(content_type: Option<&str>, body: &str) -> Request {
        let mut builder = http::Request::builder().method("POST").uri("/auth/login");
        if let Some(ct) = content_type {
            builder = builder.header("content-type", ct);
        }
        builder.body(Body::Text(body.to_owned())).expect("valid request")
    }

    fn text(s: &str) -> Result<String, Problem> {
        Ok(s.to_owned())
    }

    #[test]
    fn reports_every_field_problem_at_once() {
        let req = request(Some("application/json"), r#"{"email": 5, "extra": true}"#);
        let mut body = JsonBody::parse(&req).expect("an object");
        let email = body.required("email", text);
        let name = body.required("name", text);
        let Err(ApiError::Validation { fields, .. }) = body.finish((email, name)) else {
            panic!("expected a validation error");
        };
        assert_eq!(fields["email"], ["must be a string"]);
        assert_eq!(fields["name"], ["is required"]);
        assert_eq!(fields["extra"], ["is not a recognised field"]);
    }

    #[test]
    fn returns_values_when_all_is_well() {
        let req = request(Some("application/json; charset=utf-8"), r#"{"email":"a@b.co"}"#);
        let mut body = JsonBody::parse(&req).expect("an object");
        let email = body.required("email", text);
        let (email,) = body.finish((email,)).expect("valid");
        assert_eq!(email, "a@b.co");
    }

    #[test]
    fn refuses_bodies_that_are_not_json_objects() {
        for (ct, body) in [
            (Some("application/json"), "{"),
            (Some("application/json"), "[1]"),
            (Some("application/json"), "\"x\""),
            (Some("application/json"), r#"{"a":"\ud800"}"#),
        ] {
            assert!(matches!(JsonBody::parse(&request(ct, body)), Err(ApiError::InvalidJson(_))), "{body}");
        }
        assert!(matches!(JsonBody::parse(&request(None, "{}")), Err(ApiError::UnsupportedMediaType)));
        assert!(matches!(JsonBody::parse(&request(Some("text/plain"), "{}")), Err(ApiError::UnsupportedMediaType)));
        let big = format!(r#"{{"a":"{}"}}"#, "x".repeat(MAX_BODY_BYTES));
        assert!(matches!(
            JsonBody::parse(&request(Some("application/json"), &big)),
            Err(ApiError::PayloadTooLarge { .. })
        ));
        assert!(JsonBody::parse_optional(&request(None, " ")).expect("empty is fine").is_none());
    }

    #[test]
    fn reads_cookies_and_bearer_tokens() {
        let req = http::Request::builder()
            .header("cookie", "a=1; __Host-x=two")
            .header("authorization", "Bearer abc.def")
            .body(Body::Empty)
            .expect("valid request");
        assert_eq!(cookie(&req, "__Host-x"), Some("two"));
        assert_eq!(cookie(&req, "b"), None);
        assert_eq!(bearer(&req), Some("abc.def"));
    }
}
