//! The front end (`web/dist`: built by `npm run build` in `web/`, committed), served by its
//! own function on the API's origin, so that the session cookies work unchanged; and the
//! API's own description: `docs/openapi.json` (what [`crate::openapi`] builds, committed) and
//! the reference page that renders it.

use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Request, Response};

use crate::app::App;
use crate::error::ApiError;
use crate::http::response::STRICT_TRANSPORT_SECURITY;

/// Every asset: path, content type, content.
const ASSETS: [(&str, &str, &str); 7] = [
    ("/", "text/html; charset=utf-8", include_str!("../../../web/dist/index.html")),
    ("/app.js", "text/javascript; charset=utf-8", include_str!("../../../web/dist/app.js")),
    ("/app.css", "text/css; charset=utf-8", include_str!("../../../web/dist/app.css")),
    ("/docs", "text/html; charset=utf-8", include_str!("../../../web/dist/docs.html")),
    ("/docs.js", "text/javascript; charset=utf-8", include_str!("../../../web/dist/docs.js")),
    ("/docs.css", "text/css; charset=utf-8", include_str!("../../../web/dist/docs.css")),
    ("/openapi.json", "application/json", include_str!("../../../docs/openapi.json")),
];

/// The page's Content-Security-Policy: everything from this origin only, no framing. Alpine.js
/// evaluates its attribute expressions, hence `'unsafe-eval'`; QR codes are data URLs.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self' 'unsafe-eval'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
     frame-ancestors 'none'";

/// `GET /`, `/app.js`, `/app.css`, `/docs`, `/docs.js`, `/docs.css`, `/openapi.json` → the
/// asset, with headers that keep it on this origin.
pub async fn web(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    serve(&req, app.config.google.enabled())
}

/// Whether the page offers sign-in with Google: where client ids are configured (the `web`
/// function reads the same setting the Google functions do, and nothing else).
pub fn google_from_env() -> bool {
    crate::config::var("STEPAUTH_GOOGLE_CLIENT_IDS").is_some_and(|ids| ids.split(',').any(|id| !id.trim().is_empty()))
}

/// The `web` function's whole work. It needs no AWS client or key, so its binary starts
/// without them ([`crate::lambda::start_static`]) and its role allows nothing. With `google`,
/// the modal's script is told to show "Continue with Google".
pub fn serve(req: &Request, google: bool) -> Result<Response<Body>, ApiError> {
    let (path, content_type, text) =
        ASSETS.iter().find(|(path, _, _)| *path == req.uri().path()).ok_or(ApiError::NotFound)?;
    let text = match (*path, google) {
        ("/app.js", true) => format!("window.stepauthGoogle=true;{text}"),
        _ => (*text).to_owned(),
    };
    let mut response = Response::new(Body::Text(text));
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static(STRICT_TRANSPORT_SECURITY));
    Ok(response)
}
