//! Configuration, read once at cold start from the environment.
//!
//! Every setting and limit lives here, with its default (the values `docs/SECURITY.md` sets
//! out), and the published signing keys ([`published_signing_keys`]). Two other places read
//! the environment, through [`var`]: `app.rs`, for where the table, the from-address and the
//! secret (signing key and code pepper) are, and the local server's `STEPAUTH_PORT` (see
//! `infra/` for what the Lambda functions are given).

use std::time::Duration;

use anyhow::{Context as _, bail};
use serde::Deserialize;

use crate::invalid::Invalid;
use crate::tokens::PublicJwk;

/// Limits on emailed one-time codes (docs/SECURITY.md, "Emailed codes").
#[derive(Debug, Clone)]
pub struct CodeLimits {
    /// How long a code is valid.
    pub ttl: Duration,
    /// Wrong guesses that kill the current code.
    pub max_attempts: u32,
    /// Minimum time between two sends to one email, per purpose.
    pub cooldown: Duration,
    /// Sends allowed per email and purpose in one window.
    pub max_sends_per_window: u32,
    /// Wrong guesses allowed per email and purpose in one window, across resends.
    pub max_failures_per_window: u32,
    /// The length of the send and failure window.
    pub window: Duration,
}

impl Default for CodeLimits {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(10 * 60),
            max_attempts: 5,
            cooldown: Duration::from_secs(60),
            max_sends_per_window: 5,
            max_failures_per_window: 10,
            window: Duration::from_secs(60 * 60),
        }
    }
}

/// Limits per source address, across every email (docs/SECURITY.md, "Source limits"): they
/// stop one client from spraying passwords over many accounts or flooding many inboxes.
#[derive(Debug, Clone)]
pub struct SourceLimits {
    /// Failed login checks (password, emailed code, second factor) per address per hour.
    pub failed_logins_per_hour: u32,
    /// Code mails asked for per address per hour (sign-up, login, reset, resend).
    pub mails_per_hour: u32,
}

impl Default for SourceLimits {
    fn default() -> Self {
        Self { failed_logins_per_hour: 30, mails_per_hour: 20 }
    }
}

/// Lifetimes of the tokens stepauth issues.
#[derive(Debug, Clone)]
pub struct TokenLifetimes {
    /// Access tokens (JWT): minutes.
    pub access: Duration,
    /// Refresh tokens: the absolute lifetime of a session; rotation does not extend it.
    pub session: Duration,
    /// The sign-up token that lets a verified email set its password.
    pub signup: Duration,
    /// The reset token that lets a verified email set a new password.
    pub reset: Duration,
    /// The MFA token between a first factor and the second.
    pub mfa: Duration,
}

impl Default for TokenLifetimes {
    fn default() -> Self {
        Self {
            access: Duration::from_secs(10 * 60),
            session: Duration::from_secs(30 * 24 * 60 * 60),
            signup: Duration::from_secs(15 * 60),
            reset: Duration::from_secs(15 * 60),
            mfa: Duration::from_secs(5 * 60),
        }
    }
}

/// Everything a stepauth process is configured with.
#[derive(Debug, Clone)]
pub struct Config {
    /// The product name used in mail.
    pub product_name: String,
    /// The `iss` claim of access tokens.
    pub issuer: String,
    /// The `aud` claim of access tokens.
    pub audience: String,
    /// Emailed-code limits.
    pub codes: CodeLimits,
    /// Token lifetimes.
    pub tokens: TokenLifetimes,
    /// Failed logins (password or emailed code) per email before the account locks.
    pub max_login_failures: u32,
    /// How long failures below the lock are remembered after the last one; a reached lock
    /// stays until an admin unlocks it.
    pub failure_window: Duration,
    /// Limits per source address (API Gateway's `sourceIp`), across every email.
    pub sources: SourceLimits,
    /// Whether a password reset works for a locked account (and unlocks it). Off by default:
    /// a lock means someone hammered the account, and the product's rule is that an admin
    /// looks before it opens again ("Account locked. Contact admin.").
    pub reset_unlocks: bool,
    /// Emails that get the admin role when they sign up (case-folded).
    pub admin_emails: Vec<String>,
    /// How long activity entries are kept.
    pub activity_retention: Duration,
    /// The issuer authenticator apps show next to the account.
    pub totp_issuer: String,
    /// Sign-in with Google (or another OpenID provider); off without client ids.
    pub google: GoogleConfig,
    /// While users moved in from Django still have PBKDF2 hashes: the iterations of the
    /// PBKDF2 computation every login adds where it checks no PBKDF2 hash, so that a moved-in
    /// account answers as slowly as any other address (`STEPAUTH_LEGACY_PBKDF2_ITERATIONS`,
    /// 0 or unset: off; docs/SECURITY.md, "Enumeration").
    pub legacy_pbkdf2_iterations: Option<std::num::NonZeroU32>,
    /// The other origins whose pages may call the API from a browser (CORS, with
    /// credentials): `STEPAUTH_ALLOWED_ORIGINS`, none by default.
    pub allowed_origins: AllowedOrigins,
    /// The page with the login modal (`STEPAUTH_SITE_URL`): code mails link to it with the
    /// address and the code in the fragment. None: the mails carry the code alone.
    pub site_url: Option<String>,
    /// The attributes this deployment keeps beside the standard ones
    /// (`STEPAUTH_CUSTOM_ATTRIBUTES`, see [`custom_attributes`]); none by default.
    pub custom_attributes: Vec<CustomAttribute>,
    /// The folder of the deployment's mail templates (`STEPAUTH_MAIL_TEMPLATES`), over the
    /// built-in ones ([`crate::mail::templates`]); none by default.
    pub mail_templates: Option<std::path::PathBuf>,
}

/// Origins (`https://www.example.com`) other than the API's own whose pages may call it
/// from a browser: preflights from them are answered, their requests get the CORS headers,
/// and a cookie-borne state change from them is not cross-site (docs/SECURITY.md,
/// "Cross-site requests"). Exact matches only; never `*`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowedOrigins(Vec<String>);

impl AllowedOrigins {
    /// Parses a comma-separated list of origins: each a scheme (`https`, or `http` for
    /// loopback development), a host and an optional port; no path, no wildcard.
    pub fn parse(list: &str) -> anyhow::Result<Self> {
        let mut origins = Vec::new();
        for origin in list.split(',').map(str::trim).filter(|o| !o.is_empty()) {
            let origin = origin.to_ascii_lowercase();
            let rest = origin.strip_prefix("https://").or_else(|| origin.strip_prefix("http://"));
            let valid = rest.is_some_and(|host| {
                !host.is_empty()
                    && host.bytes().all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b))
                    && !host.starts_with(['.', ':'])
            });
            if !valid {
                bail!(
                    "STEPAUTH_ALLOWED_ORIGINS: {origin} is not an origin (scheme://host[:port], no path, no wildcard)"
                );
            }
            origins.push(origin);
        }
        Ok(Self(origins))
    }

    /// `STEPAUTH_ALLOWED_ORIGINS`, or none.
    pub fn from_env() -> anyhow::Result<Self> {
        var("STEPAUTH_ALLOWED_ORIGINS").map_or_else(|| Ok(Self::default()), |list| Self::parse(&list))
    }

    /// Whether `origin` (an `Origin` header's value) is one of them; `null` never is.
    pub fn allows(&self, origin: &str) -> bool {
        self.0.iter().any(|allowed| allowed.eq_ignore_ascii_case(origin.trim()))
    }

    /// Whether any origin is allowed.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The most PBKDF2 iterations a Django hash moved in may ask for (Django 5.2's default is
/// 1,000,000): more is refused by the import and never computed at login.
pub const MAX_PBKDF2_ITERATIONS: u32 = 10_000_000;

/// Sign-in with Google: the OpenID provider, this deployment's client ids, and where the
/// browser goes (docs/SECURITY.md, "Google sign-in").
#[derive(Debug, Clone)]
pub struct GoogleConfig {
    /// The provider's issuer (`STEPAUTH_GOOGLE_ISSUER`, default Google's); its discovery
    /// document is `<issuer>/.well-known/openid-configuration`.
    pub issuer: String,
    /// The OAuth client ids whose ID tokens are accepted (`STEPAUTH_GOOGLE_CLIENT_IDS`,
    /// comma-separated); the first is the one the redirect flow uses. Empty: Google sign-in
    /// is off.
    pub client_ids: Vec<String>,
    /// Hosted domains (`hd`) allowed to sign in (`STEPAUTH_GOOGLE_HOSTED_DOMAINS`); empty:
    /// any account.
    pub hosted_domains: Vec<String>,
    /// This API's `/auth/google/callback` URL, as registered with the provider
    /// (`STEPAUTH_GOOGLE_REDIRECT_URI`).
    pub redirect_uri: String,
    /// Where the browser lands after the redirect flow (`STEPAUTH_GOOGLE_RETURN_URL`, default
    /// `/`, the front end).
    pub return_url: String,
    /// The clock difference tolerated on an ID token's `iat` and `exp`.
    pub clock_skew: Duration,
    /// The shortest time between two fetches of the provider's keys for an unknown `kid`.
    pub jwks_refetch_interval: Duration,
    /// How long a redirect flow may take (state, nonce and PKCE verifier kept this long).
    pub flow_lifetime: Duration,
}

/// Google's issuer.
pub const GOOGLE_ISSUER: &str = "https://accounts.google.com";

impl Default for GoogleConfig {
    fn default() -> Self {
        Self {
            issuer: GOOGLE_ISSUER.into(),
            client_ids: Vec::new(),
            hosted_domains: Vec::new(),
            redirect_uri: String::new(),
            return_url: "/".into(),
            clock_skew: Duration::from_secs(60),
            jwks_refetch_interval: Duration::from_secs(30),
            flow_lifetime: Duration::from_secs(10 * 60),
        }
    }
}

impl GoogleConfig {
    /// Whether Google sign-in is configured.
    pub fn enabled(&self) -> bool {
        !self.client_ids.is_empty()
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            product_name: "stepauth".into(),
            issuer: "stepauth".into(),
            audience: "stepauth-api".into(),
            codes: CodeLimits::default(),
            tokens: TokenLifetimes::default(),
            max_login_failures: 3,
            failure_window: Duration::from_secs(24 * 60 * 60),
            sources: SourceLimits::default(),
            reset_unlocks: false,
            admin_emails: Vec::new(),
            activity_retention: Duration::from_secs(90 * 24 * 60 * 60),
            totp_issuer: "stepauth".into(),
            google: GoogleConfig::default(),
            legacy_pbkdf2_iterations: None,
            allowed_origins: AllowedOrigins::default(),
            site_url: None,
            custom_attributes: Vec::new(),
            mail_templates: None,
        }
    }
}

impl Config {
    /// Reads `STEPAUTH_*` variables over the defaults.
    pub fn from_env() -> anyhow::Result<Self> {
        let mut config = Self::default();
        if let Some(v) = var("STEPAUTH_PRODUCT_NAME") {
            config.totp_issuer = v.clone();
            config.product_name = v;
        }
        if let Some(v) = var("STEPAUTH_TOTP_ISSUER") {
            config.totp_issuer = v;
        }
        config.issuer = Self::issuer_from_env();
        if let Some(v) = var("STEPAUTH_AUDIENCE") {
            config.audience = v;
        }
        let t = &mut config.tokens;
        t.access = seconds("STEPAUTH_ACCESS_TOKEN_TTL_SECONDS", t.access)?;
        t.session = seconds("STEPAUTH_SESSION_TTL_SECONDS", t.session)?;
        t.signup = seconds("STEPAUTH_SIGNUP_TOKEN_TTL_SECONDS", t.signup)?;
        t.reset = seconds("STEPAUTH_RESET_TOKEN_TTL_SECONDS", t.reset)?;
        config.max_login_failures = number("STEPAUTH_MAX_LOGIN_FAILURES", config.max_login_failures)?;
        config.failure_window = seconds("STEPAUTH_FAILURE_WINDOW_SECONDS", config.failure_window)?;
        let sources = &mut config.sources;
        sources.failed_logins_per_hour =
            number("STEPAUTH_SOURCE_FAILED_LOGINS_PER_HOUR", sources.failed_logins_per_hour)?;
        sources.mails_per_hour = number("STEPAUTH_SOURCE_MAILS_PER_HOUR", sources.mails_per_hour)?;
        if let Some(v) = var("STEPAUTH_RESET_UNLOCKS") {
            config.reset_unlocks = match v.trim() {
                "true" | "1" | "yes" => true,
                "false" | "0" | "no" => false,
                _ => bail!("STEPAUTH_RESET_UNLOCKS must be true or false"),
            };
        }
        let g = &mut config.google;
        if let Some(v) = var("STEPAUTH_GOOGLE_ISSUER") {
            g.issuer = v.trim_end_matches('/').to_owned();
        }
        let list = |v: String| v.split(',').map(|e| e.trim().to_owned()).filter(|e| !e.is_empty()).collect();
        g.client_ids = var("STEPAUTH_GOOGLE_CLIENT_IDS").map(list).unwrap_or_default();
        g.hosted_domains = var("STEPAUTH_GOOGLE_HOSTED_DOMAINS").map(list).unwrap_or_default();
        if let Some(v) = var("STEPAUTH_GOOGLE_REDIRECT_URI") {
            g.redirect_uri = v;
        }
        if let Some(v) = var("STEPAUTH_GOOGLE_RETURN_URL") {
            g.return_url = v;
        }
        g.clock_skew = seconds("STEPAUTH_GOOGLE_CLOCK_SKEW_SECONDS", g.clock_skew)?;
        g.jwks_refetch_interval = seconds("STEPAUTH_GOOGLE_JWKS_REFETCH_SECONDS", g.jwks_refetch_interval)?;
        if g.enabled() && g.redirect_uri.is_empty() {
            bail!("STEPAUTH_GOOGLE_REDIRECT_URI must be set with STEPAUTH_GOOGLE_CLIENT_IDS");
        }
        if let Some(v) = var("STEPAUTH_ADMIN_EMAILS") {
            config.admin_emails = v.split(',').map(|e| e.trim().to_lowercase()).filter(|e| !e.is_empty()).collect();
        }
        let c = &mut config.codes;
        c.ttl = seconds("STEPAUTH_CODE_TTL_SECONDS", c.ttl)?;
        c.cooldown = seconds("STEPAUTH_CODE_COOLDOWN_SECONDS", c.cooldown)?;
        c.max_sends_per_window = number("STEPAUTH_CODE_SENDS_PER_HOUR", c.max_sends_per_window)?;
        c.max_failures_per_window = number("STEPAUTH_CODE_FAILURES_PER_HOUR", c.max_failures_per_window)?;
        config.legacy_pbkdf2_iterations = std::num::NonZeroU32::new(number("STEPAUTH_LEGACY_PBKDF2_ITERATIONS", 0)?);
        config.allowed_origins = AllowedOrigins::from_env()?;
        config.site_url = var("STEPAUTH_SITE_URL");
        config.mail_templates = var("STEPAUTH_MAIL_TEMPLATES").map(Into::into);
        if let Some(v) = var("STEPAUTH_CUSTOM_ATTRIBUTES") {
            config.custom_attributes = custom_attributes(&v).context("STEPAUTH_CUSTOM_ATTRIBUTES")?;
        }
        config.check()?;
        Ok(config)
    }

    /// The `iss` of access tokens: `STEPAUTH_ISSUER`, or the default.
    pub fn issuer_from_env() -> String {
        var("STEPAUTH_ISSUER").unwrap_or_else(|| Self::default().issuer)
    }

    /// Refuses settings that would break a security rule.
    pub fn check(&self) -> anyhow::Result<()> {
        if self.codes.ttl > Duration::from_secs(600) {
            bail!("emailed codes may live at most 10 minutes (docs/SECURITY.md, rule 6)");
        }
        if self.totp_issuer.contains(':') || self.totp_issuer.trim().is_empty() {
            bail!("the TOTP issuer must be non-empty and may not contain ':' (it labels the otpauth URI)");
        }
        if self.tokens.access > Duration::from_secs(60 * 60) {
            bail!("access tokens must live minutes, not hours (docs/SECURITY.md, rule 26)");
        }
        if self.codes.max_attempts == 0 || self.codes.max_sends_per_window == 0 || self.max_login_failures == 0 {
            bail!("code limits must be positive");
        }
        if self.sources.failed_logins_per_hour == 0 || self.sources.mails_per_hour == 0 {
            bail!("the per-source-address limits must be positive");
        }
        if self.failure_window.is_zero() {
            bail!("STEPAUTH_FAILURE_WINDOW_SECONDS must be positive");
        }
        if let Some(site) = &self.site_url
            && (!(site.starts_with("https://") || site.starts_with("http://")) || site.contains('#'))
        {
            bail!("STEPAUTH_SITE_URL must be an http(s) URL without a fragment (code mails add theirs)");
        }
        if self.legacy_pbkdf2_iterations.is_some_and(|n| n.get() > MAX_PBKDF2_ITERATIONS) {
            bail!("STEPAUTH_LEGACY_PBKDF2_ITERATIONS may be at most the most a stored hash may ask for (10,000,000)");
        }
        Ok(())
    }
}

/// What a custom attribute holds.
#[derive(Debug, Clone, PartialEq)]
pub enum CustomKind {
    /// Text under the rules of a display name, of at most `max_length` code points.
    String {
        /// At most this many code points (at most [`MAX_CUSTOM_STRING`]).
        max_length: usize,
    },
    /// A finite number within the bounds given.
    Number {
        /// The least value taken.
        min: Option<f64>,
        /// The greatest value taken.
        max: Option<f64>,
        /// Whether only whole numbers are taken.
        integer: bool,
    },
    /// `true` or `false`.
    Boolean,
    /// A calendar date, `YYYY-MM-DD`.
    Date,
}

/// Who may write a custom attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Writer {
    /// The person, through `PATCH /users/me` (and admins).
    User,
    /// Admins only, through `PATCH /admin/users/{id}`; the person reads it.
    Admin,
}

/// One declared custom attribute.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomAttribute {
    /// `[a-z][a-z0-9_]{0,31}`.
    pub name: String,
    /// Its type and limits.
    pub kind: CustomKind,
    /// Who may write it.
    pub writer: Writer,
    /// Whether the access token carries it as `custom:<name>`.
    pub claim: bool,
}

/// The longest `string` a custom attribute may declare.
pub const MAX_CUSTOM_STRING: usize = 500;

/// The most custom attributes a deployment may declare.
pub const MAX_CUSTOM_ATTRIBUTES: usize = 25;

impl CustomAttribute {
    /// Checks a declaration's name and limits.
    pub fn check(&self) -> Result<(), Invalid> {
        let name = &self.name;
        let valid = name.len() <= 32
            && name.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
            && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !valid {
            return Err(format!("the custom attribute name {name:?} must match [a-z][a-z0-9_]{{0,31}}").into());
        }
        match self.kind {
            CustomKind::String { max_length } if max_length == 0 || max_length > MAX_CUSTOM_STRING => {
                Err(format!("{name}: max_length must be 1 to {MAX_CUSTOM_STRING}").into())
            }
            CustomKind::Number { min: Some(min), max: Some(max), .. } if min > max => {
                Err(format!("{name}: min must not be above max").into())
            }
            _ => Ok(()),
        }
    }
}

impl CustomKind {
    /// The type's name in the setting and in the API's errors.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::String { .. } => "string",
            Self::Number { .. } => "number",
            Self::Boolean => "boolean",
            Self::Date => "date",
        }
    }
}

/// One declaration of `STEPAUTH_CUSTOM_ATTRIBUTES`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Declared {
    name: String,
    #[serde(rename = "type")]
    kind: String,
    max_length: Option<usize>,
    min: Option<f64>,
    max: Option<f64>,
    #[serde(default)]
    integer: bool,
    #[serde(default)]
    admin_only: bool,
    #[serde(default)]
    claim: bool,
}

/// Reads `STEPAUTH_CUSTOM_ATTRIBUTES`: a JSON array of `{name, type, max_length?, min?, max?,
/// integer?, admin_only?, claim?}`, `type` one of `string` (`max_length`, default 100),
/// `number` (`min`, `max`, `integer`), `boolean`, `date`. A mistake stops the function at
/// start with the attribute's name, never at a request.
pub fn custom_attributes(json: &str) -> anyhow::Result<Vec<CustomAttribute>> {
    let declared: Vec<Declared> = serde_json::from_str(json).context("must be a JSON array of declarations")?;
    if declared.len() > MAX_CUSTOM_ATTRIBUTES {
        bail!("at most {MAX_CUSTOM_ATTRIBUTES} custom attributes may be declared");
    }
    let mut attributes: Vec<CustomAttribute> = Vec::new();
    for d in declared {
        let name = &d.name;
        let limits = (d.max_length.is_some(), d.min.is_some() || d.max.is_some() || d.integer);
        let kind = match (d.kind.as_str(), limits) {
            ("string", (_, false)) => CustomKind::String { max_length: d.max_length.unwrap_or(100) },
            ("number", (false, _)) => CustomKind::Number { min: d.min, max: d.max, integer: d.integer },
            ("boolean", (false, false)) => CustomKind::Boolean,
            ("date", (false, false)) => CustomKind::Date,
            ("string" | "number" | "boolean" | "date", _) => {
                bail!("{name}: limits that its type {} does not take", d.kind)
            }
            (other, _) => bail!("{name}: unknown type {other:?} (string, number, boolean or date)"),
        };
        let writer = if d.admin_only { Writer::Admin } else { Writer::User };
        let attribute = CustomAttribute { name: d.name, kind, writer, claim: d.claim };
        attribute.check().map_err(|Invalid(message)| anyhow::anyhow!(message))?;
        if attributes.iter().any(|a| a.name == attribute.name) {
            bail!("{}: declared twice", attribute.name);
        }
        attributes.push(attribute);
    }
    Ok(attributes)
}

/// `STEPAUTH_SIGNING_PUBLIC_KEY`: the public half of the signing key, given at deploy time
/// (base64 DER, `openssl pkey -pubout -outform DER | base64 -w0`, or PEM), then any other
/// key still to be published (one being rotated in or out), comma-separated. The `jwks`
/// function publishes these without the secret; every other function checks at start that
/// its signing key is among them (see [`crate::App::from_env`]). `None` when unset.
pub fn published_signing_keys() -> anyhow::Result<Option<Vec<PublicJwk>>> {
    let Some(text) = var("STEPAUTH_SIGNING_PUBLIC_KEY") else { return Ok(None) };
    let keys = text
        .split(',')
        .map(|key| PublicJwk::parse(key).context("STEPAUTH_SIGNING_PUBLIC_KEY"))
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(Some(keys))
}

/// A non-empty environment variable.
pub fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// A required environment variable.
pub fn required(name: &str) -> anyhow::Result<String> {
    var(name).with_context(|| format!("{name} must be set"))
}

fn number(name: &str, default: u32) -> anyhow::Result<u32> {
    match var(name) {
        Some(v) => v.trim().parse().with_context(|| format!("{name} must be a whole number")),
        None => Ok(default),
    }
}

fn seconds(name: &str, default: Duration) -> anyhow::Result<Duration> {
    match var(name) {
        Some(v) => {
            let n: u64 = v.trim().parse().with_context(|| format!("{name} must be whole seconds"))?;
            Ok(Duration::from_secs(n))
        }
        None => Ok(default),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowed_origins_are_exact_origins_and_never_a_wildcard() {
        let allowed = AllowedOrigins::parse(" https://www.example.com, http://127.0.0.1:8080 ").expect("two origins");
        assert!(allowed.allows("https://www.example.com"));
        assert!(allowed.allows("HTTPS://WWW.EXAMPLE.COM"));
        assert!(allowed.allows("http://127.0.0.1:8080"));
        for other in ["https://www.example.com.evil.test", "https://example.com", "http://www.example.com", "null", ""]
        {
            assert!(!allowed.allows(other), "{other}");
        }
        for bad in ["*", "https://*.example.com", "https://www.example.com/", "www.example.com", "https://", "null"] {
            assert!(AllowedOrigins::parse(bad).is_err(), "{bad}");
        }
        assert!(AllowedOrigins::parse("").expect("none").is_empty());
    }

    #[test]
    fn defaults_follow_the_security_checklist() {
        let config = Config::default();
        config.check().expect("defaults are valid");
        assert_eq!(config.codes.ttl, Duration::from_secs(600));
        assert_eq!(config.codes.max_attempts, 5);
    }

    #[test]
    fn custom_attributes_are_declared_in_json_and_a_mistake_names_its_attribute() {
        let declared = custom_attributes(
            r#"[{"name":"plan","type":"string","max_length":20,"admin_only":true,"claim":true},
                {"name":"employee_number","type":"number","min":1,"integer":true},
                {"name":"newsletter","type":"boolean"},{"name":"contract_end","type":"date"}]"#,
        )
        .expect("valid");
        assert_eq!(declared.len(), 4);
        assert_eq!((declared[0].writer, declared[0].claim), (Writer::Admin, true));
        assert_eq!(declared[1].kind, CustomKind::Number { min: Some(1.0), max: None, integer: true });
        for (bad, says) in [
            (r#"{"name":"plan"}"#, "JSON array"),
            (r#"[{"name":"plan","type":"text"}]"#, "plan: unknown type"),
            (r#"[{"name":"plan","type":"boolean","max_length":3}]"#, "plan: limits"),
            (r#"[{"name":"Plan","type":"boolean"}]"#, "\"Plan\""),
            (r#"[{"name":"plan","type":"boolean"},{"name":"plan","type":"date"}]"#, "plan: declared twice"),
            (r#"[{"name":"plan","type":"boolean","writable":"all"}]"#, "unknown field"),
        ] {
            let error = format!("{:#}", custom_attributes(bad).expect_err(bad));
            assert!(error.contains(says), "{bad}: {error}");
        }
    }

    fn declared_as(kind: CustomKind) -> CustomAttribute {
        CustomAttribute { name: "plan".to_owned(), kind, writer: Writer::User, claim: false }
    }

    #[test]
    fn declarations_are_checked() {
        assert!(declared_as(CustomKind::Boolean).check().is_ok());
        for name in ["Plan", "1plan", "plan-id", "", &"p".repeat(33)] {
            let attribute = CustomAttribute { name: name.to_owned(), ..declared_as(CustomKind::Boolean) };
            assert!(attribute.check().is_err(), "{name}");
        }
        assert!(declared_as(CustomKind::String { max_length: 0 }).check().is_err());
        assert!(declared_as(CustomKind::String { max_length: 501 }).check().is_err());
        assert!(declared_as(CustomKind::Number { min: Some(2.0), max: Some(1.0), integer: false }).check().is_err());
    }

    #[test]
    fn refuses_codes_that_outlive_ten_minutes() {
        let mut config = Config::default();
        config.codes.ttl = Duration::from_secs(601);
        assert!(config.check().is_err());
    }
}
