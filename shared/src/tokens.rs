//! Access tokens (RS256 JWTs, docs/SECURITY.md, "Tokens"), the JWKS that publishes their keys, and
//! the hashing of opaque tokens (refresh and sign-up tokens are stored only hashed).
//!
//! Signing uses an aws-lc RSA key parsed once per process; verification uses jsonwebtoken
//! with the algorithm pinned, and refuses headers that point elsewhere for keys (RFC 8725).

use std::collections::{BTreeMap, HashMap};

use anyhow::Context as _;
use aws_lc_rs::rsa::{KeyPair, KeySize, PublicKeyComponents};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Serialize};

use crate::clock::UnixTime;

/// The `typ` header of an access token (RFC 9068); verification refuses any other.
pub const ACCESS_TOKEN_TYPE: &str = "at+jwt";

/// What a JWT may be used for; a token of one use is refused as any other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenUse {
    /// Calling the API as a signed-in user.
    Access,
}

/// The claims of a stepauth JWT.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: String,
    /// The user's id.
    pub sub: String,
    /// Issued at.
    pub iat: UnixTime,
    /// Expiry.
    pub exp: UnixTime,
    /// What the token is for.
    pub token_use: TokenUse,
    /// The session the token belongs to.
    pub sid: String,
    /// The user's token version when issued; logout-all moves it on, killing older tokens.
    pub ver: u64,
    /// The custom attributes declared as claims (`"claim": true`), each as
    /// `custom:<name>`, when set.
    #[serde(flatten, default, skip_serializing_if = "BTreeMap::is_empty")]
    pub custom: BTreeMap<String, serde_json::Value>,
}

/// The process's signing key and the keys it accepts, with their JWKS.
pub struct Keys {
    key_pair: KeyPair,
    /// The base64url JWT header, computed once.
    header: String,
    verifying: HashMap<String, DecodingKey>,
    validation: Validation,
    jwks: String,
    public: PublicJwk,
    rng: aws_lc_rs::rand::SystemRandom,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys").field("kids", &self.verifying.keys()).finish_non_exhaustive()
    }
}

impl Keys {
    /// Keys from a PKCS#8 RSA private key in PEM ("-----BEGIN PRIVATE KEY-----").
    pub fn from_pem(pem: &str, issuer: &str, audience: &str) -> anyhow::Result<Self> {
        let body: String =
            pem.lines().map(str::trim).filter(|line| !line.is_empty() && !line.starts_with("-----")).collect();
        let der = STANDARD.decode(body).context("the signing key is not base64 PEM")?;
        let key_pair =
            KeyPair::from_pkcs8(&der).map_err(|e| anyhow::anyhow!("the signing key is not a PKCS#8 RSA key: {e}"))?;
        Self::new(key_pair, issuer, audience)
    }

    /// Keys with a fresh RSA-2048 signing key (the local server's and the tests').
    pub fn generate(issuer: &str, audience: &str) -> anyhow::Result<Self> {
        let key_pair = KeyPair::generate(KeySize::Rsa2048).map_err(|_| anyhow::anyhow!("RSA key generation failed"))?;
        Self::new(key_pair, issuer, audience)
    }

    fn new(key_pair: KeyPair, issuer: &str, audience: &str) -> anyhow::Result<Self> {
        anyhow::ensure!(key_pair.public_modulus_len() >= 256, "the signing key must be RSA-2048 or larger");
        let public = PublicJwk::of(key_pair.public_key())?;
        let header = serde_json::json!({"alg": "RS256", "typ": ACCESS_TOKEN_TYPE, "kid": public.kid});
        let jwks = jwks(std::slice::from_ref(&public));
        let (kid, n, e) = (public.kid.clone(), &public.n, &public.e);
        let decoding = DecodingKey::from_rsa_components(n, e).context("the public key")?;

        let mut validation = Validation::new(Algorithm::RS256);
        validation.algorithms = vec![Algorithm::RS256];
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        // Expiry is checked against the injected clock in `verify`, not the system's.
        validation.validate_exp = false;
        validation.validate_nbf = false;

        Ok(Self {
            key_pair,
            header: URL_SAFE_NO_PAD.encode(header.to_string()),
            verifying: HashMap::from([(kid, decoding)]),
            validation,
            jwks,
            public,
            rng: aws_lc_rs::rand::SystemRandom::new(),
        })
    }

    /// A signed JWT carrying `claims`.
    pub fn sign(&self, claims: &Claims) -> anyhow::Result<String> {
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims)?);
        let signing_input = format!("{}.{payload}", self.header);
        let mut signature = vec![0; self.key_pair.public_modulus_len()];
        self.key_pair
            .sign(&RSA_PKCS1_SHA256, &self.rng, signing_input.as_bytes(), &mut signature)
            .map_err(|_| anyhow::anyhow!("RSA signing failed"))?;
        Ok(format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature)))
    }

    /// The claims of `token` if it is a valid, unexpired token of `expected` use; `None`
    /// for any failure, whatever it was (callers answer one "invalid token").
    pub fn verify(&self, token: &str, expected: TokenUse, now: UnixTime) -> Option<Claims> {
        let header = jsonwebtoken::decode_header(token).ok()?;
        let refers_elsewhere = header.jku.is_some()
            || header.jwk.is_some()
            || header.x5u.is_some()
            || header.x5c.is_some()
            || header.crit.is_some();
        // RFC 8725 §3.11: only a token typed as an access token (RFC 9068) is one.
        let access_typed = header.typ.as_deref().is_some_and(|typ| {
            let typ = typ.to_ascii_lowercase();
            typ.strip_prefix("application/").unwrap_or(&typ) == ACCESS_TOKEN_TYPE
        });
        if header.alg != Algorithm::RS256 || refers_elsewhere || !access_typed {
            return None;
        }
        let key = self.verifying.get(header.kid.as_deref()?)?;
        let claims = jsonwebtoken::decode::<Claims>(token, key, &self.validation).ok()?.claims;
        const LEEWAY: i64 = 30;
        let fresh = claims.exp > now && claims.iat <= now + LEEWAY;
        (fresh && claims.token_use == expected).then_some(claims)
    }

    /// The JWKS document listing the public keys tokens are verified with.
    pub fn jwks(&self) -> &str {
        &self.jwks
    }

    /// The signing key's public half, as published.
    pub fn public_key(&self) -> &PublicJwk {
        &self.public
    }
}

/// A public signing key as a JWKS publishes it (RFC 7517), named by its RFC 7638
/// thumbprint: the `kid` every access token signed with its private half carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicJwk {
    /// The thumbprint.
    pub kid: String,
    n: String,
    e: String,
    der: Vec<u8>,
}

impl PublicJwk {
    fn of(key: &aws_lc_rs::rsa::PublicKey) -> anyhow::Result<Self> {
        use aws_lc_rs::encoding::AsDer as _;
        let components = PublicKeyComponents::<Vec<u8>>::from(key);
        let n = URL_SAFE_NO_PAD.encode(strip_zeros(&components.n));
        let e = URL_SAFE_NO_PAD.encode(strip_zeros(&components.e));
        // RFC 7638 thumbprint: SHA-256 of the required members in lexicographic order.
        let thumbprint = format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#);
        let kid = URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, thumbprint.as_bytes()));
        let der = key.as_der().map_err(|_| anyhow::anyhow!("encoding the public key"))?.as_ref().to_vec();
        Ok(Self { kid, n, e, der })
    }

    /// An RSA public key given as base64 DER (SubjectPublicKeyInfo, what `openssl pkey
    /// -pubout -outform DER` writes, or PKCS#1), with or without PEM armour.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let body: String = text
            .lines()
            .map(str::trim)
            .filter(|line| !line.starts_with("-----"))
            .flat_map(|line| line.chars().filter(|c| !c.is_whitespace()))
            .collect();
        let der = STANDARD.decode(body).context("a public key must be base64 DER or PEM")?;
        let key =
            aws_lc_rs::rsa::PublicKey::from_der(&der).map_err(|e| anyhow::anyhow!("not an RSA public key: {e}"))?;
        anyhow::ensure!(key.modulus_len() >= 256, "a signing key must be RSA-2048 or larger");
        Self::of(&key)
    }

    /// The key as base64 DER (SubjectPublicKeyInfo): what [`PublicJwk::parse`] reads.
    pub fn to_base64_der(&self) -> String {
        STANDARD.encode(&self.der)
    }
}

/// The JWKS document listing `keys`.
pub fn jwks(keys: &[PublicJwk]) -> String {
    let keys: Vec<serde_json::Value> = keys
        .iter()
        .map(|k| serde_json::json!({"kty": "RSA", "use": "sig", "alg": "RS256", "kid": k.kid, "n": k.n, "e": k.e}))
        .collect();
    serde_json::json!({ "keys": keys }).to_string()
}

/// A fresh RSA-2048 private key as PKCS#8 PEM, the form `STEPAUTH_SIGNING_KEY` takes.
pub fn generate_pem() -> anyhow::Result<String> {
    use aws_lc_rs::encoding::AsDer as _;
    let key_pair = KeyPair::generate(KeySize::Rsa2048).map_err(|_| anyhow::anyhow!("RSA key generation failed"))?;
    let der = key_pair.as_der().map_err(|_| anyhow::anyhow!("PKCS#8 encoding failed"))?;
    let base64 = STANDARD.encode(der.as_ref());
    let lines: Vec<&str> = base64.as_bytes().chunks(64).filter_map(|c| std::str::from_utf8(c).ok()).collect();
    Ok(format!("-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n", lines.join("\n")))
}

fn strip_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    &bytes[first..]
}

/// The SHA-256 of `text` in lower-case hex (what Google and Django's bcrypt_sha256 hasher
/// write it as).
pub fn sha256_hex(text: &str) -> String {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, text.as_bytes())
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The stored form of a high-entropy opaque token (refresh, sign-up): its SHA-256, base64url.
/// No key is needed: the token carries at least 128 random bits.
pub fn digest(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(now: UnixTime) -> Claims {
        Claims {
            iss: "stepauth".into(),
            aud: "stepauth-api".into(),
            sub: "user-1".into(),
            iat: now,
            exp: now + 600,
            token_use: TokenUse::Access,
            sid: "session-1".into(),
            ver: 0,
            custom: BTreeMap::from([("custom:plan".to_owned(), serde_json::json!("pro"))]),
        }
    }

    #[test]
    fn signed_tokens_verify_until_they_expire() {
        let keys = Keys::generate("stepauth", "stepauth-api").expect("keys");
        let token = keys.sign(&claims(1_000)).expect("sign");
        assert_eq!(keys.verify(&token, TokenUse::Access, 1_000), Some(claims(1_000)));
        assert_eq!(keys.verify(&token, TokenUse::Access, 1_599).map(|c| c.sub), Some("user-1".into()));
        assert_eq!(keys.verify(&token, TokenUse::Access, 1_600), None);
    }

    #[test]
    fn jwks_publishes_the_key_by_its_thumbprint() {
        let keys = Keys::generate("stepauth", "stepauth-api").expect("keys");
        let jwks: serde_json::Value = serde_json::from_str(keys.jwks()).expect("JSON");
        let key = &jwks["keys"][0];
        assert_eq!(key["kty"], "RSA");
        assert_eq!(key["alg"], "RS256");
        assert_eq!(key["e"], "AQAB");
        let token = keys.sign(&claims(1_000)).expect("sign");
        let header = jsonwebtoken::decode_header(&token).expect("header");
        assert_eq!(header.kid.as_deref(), key["kid"].as_str());
    }

    #[test]
    fn tokens_of_another_issuer_or_key_are_refused() {
        let keys = Keys::generate("stepauth", "stepauth-api").expect("keys");
        let other = Keys::generate("stepauth", "other-api").expect("keys");
        let token = other.sign(&Claims { aud: "other-api".into(), ..claims(1_000) }).expect("sign");
        assert_eq!(keys.verify(&token, TokenUse::Access, 1_000), None, "unknown kid");
        assert_eq!(other.verify(&token, TokenUse::Access, 1_000).map(|c| c.aud), Some("other-api".into()));
    }

    #[test]
    fn pem_keys_round_trip() {
        let pem = generate_pem().expect("pem");
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        let keys = Keys::from_pem(&pem, "stepauth", "stepauth-api").expect("parse");
        let token = keys.sign(&claims(1_000)).expect("sign");
        assert!(keys.verify(&token, TokenUse::Access, 1_000).is_some());
        assert!(Keys::from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----", "i", "a").is_err());
    }

    #[test]
    fn a_published_public_key_is_the_signing_keys() {
        let keys = Keys::generate("stepauth", "stepauth-api").expect("keys");
        let published = PublicJwk::parse(&keys.public_key().to_base64_der()).expect("base64 DER");
        assert_eq!(&published, keys.public_key());
        assert_eq!(jwks(&[published]), keys.jwks(), "the same document the signing process would publish");
        let pem =
            format!("-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n", keys.public_key().to_base64_der());
        assert_eq!(PublicJwk::parse(&pem).expect("PEM").kid, keys.public_key().kid);
        assert!(PublicJwk::parse("AAAA").is_err());
        assert!(PublicJwk::parse("not base64!").is_err());
    }

    #[test]
    fn opaque_token_digests_are_stable_and_distinct() {
        assert_eq!(digest("abc"), digest("abc"));
        assert_ne!(digest("abc"), digest("abd"));
        assert_eq!(digest("abc").len(), 43);
    }
}
