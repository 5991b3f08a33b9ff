//! The devices a user is signed in on: one entry per live session, with a readable label
//! from its User-Agent, and ending one session, or every other, by its id (docs/SECURITY.md,
//! "Devices").
//!
//! A session is ended by its id, by its owner, signed in: never by presenting another
//! session's token. Deleting the item ends the refresh-token family and, since every access
//! token is checked against its live session, the access tokens issued in it.

use serde::Serialize;

use crate::app::App;
use crate::clock::rfc3339;
use crate::error::ApiError;
use crate::model::{Page, Session};
use crate::session::Caller;

/// The most sessions [`end_others`] reads at a time.
const END_PAGE: usize = 100;

/// One device (session) as its owner sees it.
#[derive(Debug, Clone, Serialize)]
pub struct Device {
    /// The session's id (also the access token's `sid`): what `DELETE
    /// /users/me/sessions/{id}` takes.
    pub id: String,
    /// Whether it is the session of the request's access token.
    pub current: bool,
    /// RFC 3339: when it began.
    pub created_at: String,
    /// RFC 3339: when it began or its refresh token was last used (access tokens live
    /// minutes, so this is at most that old).
    pub last_used_at: String,
    /// RFC 3339: when it ends at the latest.
    pub expires_at: String,
    /// The source address it began from.
    pub first_ip: Option<String>,
    /// The source address of its last use.
    pub last_ip: Option<String>,
    /// The User-Agent of its last use.
    pub user_agent: Option<String>,
    /// "Chrome on macOS", from the User-Agent.
    pub label: String,
    /// How it signed in (`password`, `email_code`, `google`, `+authenticator` or
    /// `+recovery_code` when a second factor was used); null for a session from before
    /// sessions kept it.
    pub method: Option<String>,
}

impl Device {
    fn of(session: Session, current_id: &str) -> Self {
        Self {
            current: session.id == current_id,
            created_at: rfc3339(session.created_at),
            last_used_at: rfc3339(session.last_used_at),
            expires_at: rfc3339(session.expires_at),
            label: label(session.user_agent.as_deref()),
            id: session.id,
            first_ip: session.first_ip,
            last_ip: session.last_ip,
            user_agent: session.user_agent,
            method: session.method,
        }
    }
}

/// The caller's live sessions, newest first, `limit` at a time from `cursor`.
pub async fn list(app: &App, caller: &Caller, limit: usize, cursor: Option<&str>) -> Result<Page<Device>, ApiError> {
    let user = &caller.user;
    let page = app.store.user_sessions(&user.id, user.token_version, app.now(), limit, cursor).await?;
    let items = page.items.into_iter().map(|s| Device::of(s, &caller.claims.sid)).collect();
    Ok(Page { items, next: page.next })
}

/// Ends the caller's live session `id`: whether it was the caller's own current one.
/// `SessionNotFound` for any id that is not a live session of the caller's, so that another
/// user's session ids are neither ended nor confirmed.
pub async fn end(app: &App, caller: &Caller, id: &str) -> Result<bool, ApiError> {
    let well_formed =
        (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b));
    if !well_formed {
        return Err(ApiError::SessionNotFound);
    }
    let session = app.store.session(id, app.now()).await?;
    let user = &caller.user;
    match session {
        Some(s) if s.user_id == user.id && s.user_version == user.token_version => {
            app.store.delete_session(id).await?;
            Ok(id == caller.claims.sid)
        }
        _ => Err(ApiError::SessionNotFound),
    }
}

/// Ends every live session of the caller but the current one: how many ended.
pub async fn end_others(app: &App, caller: &Caller) -> Result<usize, ApiError> {
    let user = &caller.user;
    let mut ended = 0;
    // Each page is read after the previous page's sessions are gone, so the first page is
    // always the next one.
    let mut cursor = None;
    loop {
        let page =
            app.store.user_sessions(&user.id, user.token_version, app.now(), END_PAGE, cursor.as_deref()).await?;
        for session in page.items.iter().filter(|s| s.id != caller.claims.sid) {
            app.store.delete_session(&session.id).await?;
            ended += 1;
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => return Ok(ended),
        }
    }
}

/// Browsers, by the User-Agent token that names them; the first that matches wins, so a
/// browser whose string also names the one it is built on comes first (Edge says Chrome and
/// Safari too; Chrome says Safari).
const BROWSERS: &[(&str, &str)] = &[
    ("Edg/", "Edge"),
    ("EdgA/", "Edge"),
    ("EdgiOS/", "Edge"),
    ("OPR/", "Opera"),
    ("SamsungBrowser/", "Samsung Internet"),
    ("Firefox/", "Firefox"),
    ("FxiOS/", "Firefox"),
    ("CriOS/", "Chrome"),
    ("Chromium/", "Chromium"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
];

/// Operating systems, likewise (an iPhone's string says "like Mac OS X"; Android's says Linux).
const SYSTEMS: &[(&str, &str)] = &[
    ("iPhone", "iOS"),
    ("iPad", "iPadOS"),
    ("Android", "Android"),
    ("CrOS", "ChromeOS"),
    ("Windows", "Windows"),
    ("Macintosh", "macOS"),
    ("Mac OS X", "macOS"),
    ("Linux", "Linux"),
];

/// A readable name for the device a User-Agent comes from: "Chrome on macOS", "Firefox",
/// "curl", or "Unknown device".
pub fn label(user_agent: Option<&str>) -> String {
    let ua = user_agent.unwrap_or_default();
    let find = |table: &[(&str, &'static str)]| table.iter().find(|(token, _)| ua.contains(token)).map(|(_, n)| *n);
    match (find(BROWSERS), find(SYSTEMS)) {
        (Some(browser), Some(system)) => format!("{browser} on {system}"),
        (Some(browser), None) => browser.to_owned(),
        (None, Some(system)) => format!("A browser on {system}"),
        (None, None) => {
            // A tool names itself first: "curl/8.5.0", "python-requests/2.32".
            let product = ua.split(['/', ' ']).next().unwrap_or_default();
            let readable = !product.is_empty()
                && product.len() <= 40
                && product.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
            if readable { product.to_owned() } else { "Unknown device".to_owned() }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::label;

    #[test]
    fn labels_name_the_browser_and_the_system() {
        let cases = [
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
                "Chrome on macOS",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
                "Edge on Windows",
            ),
            ("Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0", "Firefox on Linux"),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
                "Safari on iOS",
            ),
            (
                "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
                "Chrome on Android",
            ),
            (
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36",
                "Chrome on Linux",
            ),
            ("curl/8.5.0", "curl"),
            ("python-requests/2.32.3", "python-requests"),
            ("", "Unknown device"),
            ("\u{202e}evil/1", "Unknown device"),
        ];
        for (ua, expected) in cases {
            assert_eq!(label(Some(ua)), expected, "{ua}");
        }
        assert_eq!(label(None), "Unknown device");
    }
}
