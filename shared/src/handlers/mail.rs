//! Admin routes about mail: what each template says (a preview with sample values).

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, RequestExt as _, Response};
use serde_json::json;

use crate::app::App;
use crate::error::ApiError;
use crate::http::session::authenticate;
use crate::http::{json, query_param};
use crate::invalid::Invalid;
use crate::mail::templates::{KINDS, Kind};
use crate::model::{Attribute, Role};

/// `GET /admin/mail-templates` with an admin access token → 200 `{kinds, locales}`: every
/// mail's kind and the languages some template is written in; `GET
/// /admin/mail-templates/{kind}?locale=` → 200 `{kind, locale, subject, text, html}`: the
/// mail rendered with sample values, in that language where it has one (else English), as
/// the deployment's templates make it.
#[tracing::instrument(skip_all, fields(user))]
pub async fn admin_mail_templates(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let caller = authenticate(app, &req).await?;
    if caller.user.role != Role::Admin {
        return Err(ApiError::Forbidden);
    }
    let Some(kind) = req.path_parameters().first("kind").map(str::to_owned) else {
        query_param(&req, "locale", |_| Err::<(), _>(Invalid::from("is not a recognised parameter")))?;
        let kinds: Vec<&str> = KINDS.iter().map(|(_, name)| *name).collect();
        return Ok(json(StatusCode::OK, &json!({ "kinds": kinds, "locales": app.templates.locales() })));
    };
    let kind = Kind::named(&kind).ok_or(ApiError::MailTemplateNotFound)?;
    let locale = query_param(&req, "locale", |text| Attribute::Locale.parse(text, time::Date::MIN))?;
    let mail = app.templates.preview(kind, locale.as_deref())?;
    let body = json!({
        "kind": kind.as_str(),
        "locale": locale,
        "subject": mail.subject,
        "text": mail.text,
        "html": mail.html,
    });
    Ok(json(StatusCode::OK, &body))
}
