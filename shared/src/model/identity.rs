//! Identities at an OpenID provider (Google) linked to accounts, and the state of a redirect
//! flow between leaving for the provider and coming back (docs/SECURITY.md, "Google sign-in").

use crate::clock::UnixTime;
use crate::tokens::digest;

/// An account at an OpenID provider, keyed by its issuer and subject, never by its email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The provider's issuer, as configured (Google's two spellings are one).
    pub issuer: String,
    /// The provider's stable id of the account (`sub`).
    pub subject: String,
    /// The verified email the provider gave when the identity was linked.
    pub email: String,
    /// When it was linked.
    pub linked_at: UnixTime,
}

impl Identity {
    /// Its id in the API: a digest of issuer and subject, stable, and naming neither.
    pub fn id(&self) -> String {
        digest(&format!("{}\n{}", self.issuer, self.subject))
    }
}

/// A redirect flow under way: kept from `GET /auth/google/start` until its callback takes it
/// (once) or it expires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginState {
    /// The digest of the `state` parameter sent to the provider.
    pub state_hash: String,
    /// The nonce the ID token must carry.
    pub nonce: String,
    /// The PKCE code verifier (its S256 challenge went to the provider).
    pub verifier: String,
    /// The digest of the browser-binding cookie's value set with the redirect.
    pub browser_hash: String,
    /// When the flow stops working.
    pub expires_at: UnixTime,
}
