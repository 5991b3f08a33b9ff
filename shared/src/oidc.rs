//! An OpenID provider (Google, or the tests' local stand-in): its discovery document, its
//! signing keys, the authorization code exchange, and the verification of every ID token it
//! issues (docs/SECURITY.md, "Google sign-in"). Only ID tokens sign anyone in: an access
//! token proves nothing about whom it was issued for (docs/DESIGN.md).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use tokio::sync::Mutex;

use crate::clock::UnixTime;
use crate::config::{GOOGLE_ISSUER, GoogleConfig};
use crate::store::Unavailable;

/// How long a provider's keys are kept when its answer says nothing about caching.
const DEFAULT_KEYS_MAX_AGE: Duration = Duration::from_secs(300);

/// The whole time one call to the provider may take: a hung provider gets a 503 in seconds,
/// never the function's timeout.
const CALL_TIMEOUT: Duration = Duration::from_secs(4);

/// Why an ID token was refused. The client is told only `invalid_id_token` (or the two
/// refusals a person can act on); the reason goes to the log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// Not a token, not RS256, no `kid`, a `kid` the provider does not publish, a bad
    /// signature, or claims missing or of the wrong type.
    #[error("the ID token is malformed or its signature does not verify: {0}")]
    Invalid(String),
    /// Another issuer's token.
    #[error("the ID token's issuer is not the configured one")]
    Issuer,
    /// A token for another client id.
    #[error("the ID token is for another audience")]
    Audience,
    /// Expired, or issued in the future.
    #[error("the ID token has expired or is not yet valid")]
    Expired,
    /// The nonce is missing, another, or used before.
    #[error("the ID token's nonce does not match or was used before")]
    Nonce,
    /// The provider has not verified the email.
    #[error("the provider has not verified the email")]
    EmailNotVerified,
    /// The account's hosted domain is not allowed.
    #[error("the account's hosted domain is not allowed")]
    HostedDomain,
}

/// What a verified ID token says about its holder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdClaims {
    /// The issuer, as configured (Google's `accounts.google.com` is
    /// `https://accounts.google.com`).
    pub issuer: String,
    /// The provider's stable id of the account.
    pub subject: String,
    /// The email, verified by the provider.
    pub email: String,
    /// The name, if the provider gave one.
    pub name: Option<String>,
    /// The nonce the token carries.
    pub nonce: Option<String>,
    /// When the token expires.
    pub expires_at: UnixTime,
}

#[derive(Debug, Deserialize)]
struct RawClaims {
    iss: String,
    sub: String,
    exp: i64,
    iat: i64,
    email: Option<String>,
    #[serde(default)]
    email_verified: Option<serde_json::Value>,
    hd: Option<String>,
    name: Option<String>,
    nonce: Option<String>,
}

/// The endpoints a discovery document names.
#[derive(Debug, Clone, Deserialize)]
struct Discovery {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
}

#[derive(Default)]
struct KeyCache {
    keys: HashMap<String, DecodingKey>,
    fresh_until: Option<Instant>,
    fetched_at: Option<Instant>,
}

/// The provider, as one process sees it: its endpoints and keys are fetched once and cached
/// (the keys as long as the provider's `Cache-Control` allows; an unknown `kid` refetches
/// them, at most once per [`GoogleConfig::jwks_refetch_interval`]).
pub struct Provider {
    config: GoogleConfig,
    client_secret: Option<String>,
    http: reqwest::Client,
    discovery: Mutex<Option<Discovery>>,
    keys: Mutex<KeyCache>,
}

impl std::fmt::Debug for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Provider").field("issuer", &self.config.issuer).finish_non_exhaustive()
    }
}

/// A failed call to the provider: the sign-in may work if retried shortly (503).
fn unavailable(what: &str, error: impl Into<anyhow::Error>) -> anyhow::Error {
    error.into().context(what.to_owned()).context(Unavailable::fault("Google", "connection", what))
}

impl Provider {
    /// The provider of `config`, with the client secret the redirect flow's code exchange
    /// uses (from the deployment's secret).
    pub fn new(config: GoogleConfig, client_secret: Option<String>) -> anyhow::Result<Self> {
        install_crypto_provider();
        let http = reqwest::Client::builder()
            .timeout(CALL_TIMEOUT)
            .connect_timeout(Duration::from_secs(2))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .context("the HTTP client for the OpenID provider")?;
        Ok(Self { config, client_secret, http, discovery: Mutex::new(None), keys: Mutex::new(KeyCache::default()) })
    }

    /// The configuration it was made with.
    pub fn config(&self) -> &GoogleConfig {
        &self.config
    }

    async fn discovery(&self) -> anyhow::Result<Discovery> {
        let mut cached = self.discovery.lock().await;
        if let Some(discovery) = cached.as_ref() {
            return Ok(discovery.clone());
        }
        let url = format!("{}/.well-known/openid-configuration", self.config.issuer);
        let what = "reading the OpenID provider's discovery document";
        let response = self.http.get(&url).send().await.map_err(|e| unavailable(what, e))?;
        let response = response.error_for_status().map_err(|e| unavailable(what, e))?;
        let discovery: Discovery = response.json().await.map_err(|e| unavailable(what, e))?;
        anyhow::ensure!(
            discovery.issuer.trim_end_matches('/') == self.config.issuer,
            "the discovery document at {url} names another issuer: {}",
            discovery.issuer
        );
        *cached = Some(discovery.clone());
        Ok(discovery)
    }

    /// Where the browser goes to sign in: the authorization endpoint with the client id, the
    /// redirect URI, `openid email profile`, the state, the nonce and the PKCE S256 challenge.
    pub async fn authorization_url(&self, state: &str, nonce: &str, challenge: &str) -> anyhow::Result<String> {
        let discovery = self.discovery().await?;
        let client_id = self.config.client_ids.first().context("no client id is configured")?;
        let mut url = reqwest::Url::parse(&discovery.authorization_endpoint).context("the authorization endpoint")?;
        url.query_pairs_mut()
            .append_pair("client_id", client_id)
            .append_pair("redirect_uri", &self.config.redirect_uri)
            .append_pair("response_type", "code")
            .append_pair("scope", "openid email profile")
            .append_pair("state", state)
            .append_pair("nonce", nonce)
            .append_pair("code_challenge", challenge)
            .append_pair("code_challenge_method", "S256");
        Ok(url.into())
    }

    /// Exchanges an authorization code (with its PKCE verifier) for the ID token.
    pub async fn exchange(&self, code: &str, verifier: &str) -> anyhow::Result<Result<String, Refused>> {
        #[derive(Deserialize)]
        struct TokenResponse {
            id_token: Option<String>,
        }
        let discovery = self.discovery().await?;
        let client_id = self.config.client_ids.first().context("no client id is configured")?;
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", self.config.redirect_uri.as_str()),
            ("code_verifier", verifier),
        ];
        let what = "exchanging a code at the OpenID provider";
        let response = self
            .http
            .post(&discovery.token_endpoint)
            .basic_auth(client_id, self.client_secret.as_deref())
            .form(&form)
            .send()
            .await
            .map_err(|e| unavailable(what, e))?;
        if response.status().is_client_error() {
            // A code that is unknown, used, expired, or not this verifier's.
            let status = response.status();
            return Ok(Err(Refused::Invalid(format!("the token endpoint refused the code ({status})"))));
        }
        let response = response.error_for_status().map_err(|e| unavailable(what, e))?;
        let body: TokenResponse = response.json().await.map_err(|e| unavailable(what, e))?;
        Ok(body.id_token.ok_or_else(|| Refused::Invalid("the token endpoint gave no ID token".into())))
    }

    /// Fetches the provider's keys (discovery's `jwks_uri`), caching them as its answer allows.
    async fn fetch_keys(&self, cache: &mut KeyCache) -> anyhow::Result<()> {
        let discovery = self.discovery().await?;
        let what = "reading the OpenID provider's keys";
        let response = self.http.get(&discovery.jwks_uri).send().await.map_err(|e| unavailable(what, e))?;
        let response = response.error_for_status().map_err(|e| unavailable(what, e))?;
        let max_age = response
            .headers()
            .get(reqwest::header::CACHE_CONTROL)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').find_map(|d| d.trim().strip_prefix("max-age=")?.parse().ok()))
            .map_or(DEFAULT_KEYS_MAX_AGE, Duration::from_secs);
        let set: JwkSet = response.json().await.map_err(|e| unavailable(what, e))?;
        let mut keys = HashMap::new();
        for jwk in &set.keys {
            if let (Some(kid), Ok(key)) = (jwk.common.key_id.clone(), DecodingKey::from_jwk(jwk)) {
                keys.insert(kid, key);
            }
        }
        let now = Instant::now();
        *cache = KeyCache { keys, fresh_until: Some(now + max_age), fetched_at: Some(now) };
        Ok(())
    }

    /// The key `kid` names: from the cache while it is fresh, else refetched; an unknown
    /// `kid` refetches (rate-limited), so that a key the provider rotated in works at once.
    async fn key(&self, kid: &str) -> anyhow::Result<Option<DecodingKey>> {
        let mut cache = self.keys.lock().await;
        let now = Instant::now();
        let stale = cache.fresh_until.is_none_or(|until| until <= now);
        let may_refetch = cache.fetched_at.is_none_or(|at| now.duration_since(at) >= self.config.jwks_refetch_interval);
        if stale || (!cache.keys.contains_key(kid) && may_refetch) {
            self.fetch_keys(&mut cache).await?;
        }
        Ok(cache.keys.get(kid).cloned())
    }

    /// Verifies an ID token at `now`: RS256 signed by a key the provider publishes, this
    /// provider's issuer, one of the configured client ids as audience, unexpired (with the
    /// configured skew), an email the provider verified, an allowed hosted domain. The nonce
    /// is the caller's to check against what it sent.
    pub async fn verify(&self, token: &str, now: UnixTime) -> anyhow::Result<Result<IdClaims, Refused>> {
        let invalid = |why: &str| Ok(Err(Refused::Invalid(why.to_owned())));
        let Ok(header) = jsonwebtoken::decode_header(token) else {
            return invalid("not a JWT, or an algorithm that is not RS256");
        };
        if header.alg != Algorithm::RS256 {
            return invalid("not RS256");
        }
        let Some(kid) = header.kid else { return invalid("no kid") };
        let Some(key) = self.key(&kid).await? else { return invalid("a kid the provider does not publish") };
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_audience(&self.config.client_ids);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        // Time is checked against the injected clock below; the issuer against both spellings.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        let claims = match jsonwebtoken::decode::<RawClaims>(token, &key, &validation) {
            Ok(data) => data.claims,
            Err(e) if matches!(e.kind(), jsonwebtoken::errors::ErrorKind::InvalidAudience) => {
                return Ok(Err(Refused::Audience));
            }
            Err(e) => return invalid(&format!("{e}")),
        };
        let google = self.config.issuer == GOOGLE_ISSUER;
        if claims.iss != self.config.issuer && !(google && claims.iss == "accounts.google.com") {
            return Ok(Err(Refused::Issuer));
        }
        let skew = self.config.clock_skew.as_secs() as i64;
        if claims.exp + skew <= now || claims.iat - skew > now {
            return Ok(Err(Refused::Expired));
        }
        let verified = match &claims.email_verified {
            Some(serde_json::Value::Bool(verified)) => *verified,
            Some(serde_json::Value::String(text)) => text == "true",
            _ => false,
        };
        let Some(email) = claims.email.filter(|_| verified) else { return Ok(Err(Refused::EmailNotVerified)) };
        let allowed = &self.config.hosted_domains;
        if !allowed.is_empty()
            && !claims.hd.as_ref().is_some_and(|hd| allowed.iter().any(|a| a.eq_ignore_ascii_case(hd)))
        {
            return Ok(Err(Refused::HostedDomain));
        }
        Ok(Ok(IdClaims {
            issuer: self.config.issuer.clone(),
            subject: claims.sub,
            email,
            name: claims.name,
            nonce: claims.nonce,
            expires_at: claims.exp,
        }))
    }
}

/// Makes aws-lc (what the AWS SDK's TLS uses) the process's rustls crypto provider, which
/// reqwest's rustls needs before any client is built. Idempotent.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

/// The PKCE S256 challenge of a verifier (RFC 7636).
pub fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pkce_challenge_is_rfc_7636s() {
        // RFC 7636, appendix B.
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }
}
