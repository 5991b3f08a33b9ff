//! Mail: the admin routes (what each template says, a preview with sample values) and the
//! `mail-events` function, which records what SES reports of each mail.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, RequestExt as _, Response};
use serde::Serialize;
use serde_json::json;

use crate::app::App;
use crate::clock::rfc3339;
use crate::error::ApiError;
use crate::http::session::{admin, path_user};
use crate::http::{cursor, json, no_query, page_params, query_param};
use crate::mail::templates::{KINDS, Kind};
use crate::mailing;
use crate::model::Attribute;

/// `GET /admin/mail-templates` with an admin access token → 200 `{kinds, locales}`: every
/// mail's kind and the languages some template is written in; `GET
/// /admin/mail-templates/{kind}?locale=` → 200 `{kind, locale, subject, text, html}`: the
/// mail rendered with sample values, in that language where it has one (else English), as
/// the deployment's templates make it.
#[tracing::instrument(skip_all, fields(user))]
pub async fn admin_mail_templates(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    admin(app, &req).await?;
    let Some(kind) = req.path_parameters().first("kind").map(str::to_owned) else {
        no_query(&req)?;
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

/// A mail's record as an admin sees it.
#[derive(Debug, Serialize)]
struct MailView {
    message_id: String,
    kind: String,
    to: String,
    sent_at: String,
    status: &'static str,
    status_at: String,
    detail: Option<String>,
}

/// `GET /admin/users/{id}/mails?limit=&cursor=` with an admin access token → 200 `{items,
/// next_cursor}`: the mails of the last 90 days to the account (and to its address before it
/// had one), newest first, each with what SES said of it since; never their text.
#[tracing::instrument(skip_all, fields(user))]
pub async fn admin_user_mails(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let caller = admin(app, &req).await?;
    let (limit, start) = page_params(&req)?;
    let user = path_user(app, &req, &caller).await?;
    let page = app.store.mails(&user.id, user.email.as_str(), app.now(), limit, start.as_deref()).await?;
    let items: Vec<MailView> = page
        .items
        .into_iter()
        .map(|m| MailView {
            message_id: m.message_id,
            kind: m.kind,
            to: m.to,
            sent_at: rfc3339(m.sent_at),
            status: m.status.as_str(),
            status_at: rfc3339(m.status_at),
            detail: m.detail,
        })
        .collect();
    Ok(json(StatusCode::OK, &json!({ "items": items, "next_cursor": cursor(page.next) })))
}

/// The `mail-events` function: an SES event (through EventBridge or SNS) recorded against
/// the mail it names; events that are no delivery outcome are ignored.
pub fn mail_events(
    app: &App,
    event: serde_json::Value,
) -> std::pin::Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send + '_>> {
    Box::pin(async move {
        match mailing::parse_event(&event, app.now())? {
            Some(delivery) => mailing::record_event(app, &delivery).await,
            None => Ok(()),
        }
    })
}
