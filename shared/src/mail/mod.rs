//! Mail: what stepauth sends, and the two ways it sends it ([`ses::SesMailer`] through
//! SESv2 for Lambda, [`outbox::Outbox`] kept in memory and printed by the local server).

pub mod outbox;
pub mod ses;
pub mod templates;

use async_trait::async_trait;

/// One message: always a plain-text and an HTML part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    /// What it is about (its template).
    pub kind: templates::Kind,
    /// The recipient.
    pub to: String,
    /// The subject line.
    pub subject: String,
    /// The plain-text part.
    pub text: String,
    /// The HTML part.
    pub html: String,
}

/// Something that delivers [`Mail`].
#[async_trait]
pub trait Mailer: Send + Sync + std::fmt::Debug {
    /// Sends `mail`: its message id (SES's, which its delivery events name).
    async fn send(&self, mail: Mail) -> anyhow::Result<String>;
}
