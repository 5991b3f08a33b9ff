//! Mail through SESv2 `SendEmail`.

use anyhow::Context as _;
use async_trait::async_trait;
use aws_sdk_sesv2::Client;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};

use super::{Mail, Mailer};

/// A [`Mailer`] sending from one verified SES identity.
#[derive(Debug, Clone)]
pub struct SesMailer {
    client: Client,
    from: String,
    configuration_set: Option<String>,
}

impl SesMailer {
    /// Sends through `client` from `from` (which SES must have verified).
    pub fn new(client: Client, from: impl Into<String>) -> Self {
        Self { client, from: from.into(), configuration_set: None }
    }

    /// Sends under the SES configuration set `name`, whose event destination reports each
    /// mail's delivery, bounce, complaint and rejection (the `mail-events` function).
    pub fn with_configuration_set(self, name: Option<String>) -> Self {
        Self { configuration_set: name, ..self }
    }
}

fn utf8(data: String) -> anyhow::Result<Content> {
    Ok(Content::builder().data(data).charset("UTF-8").build()?)
}

#[async_trait]
impl Mailer for SesMailer {
    async fn send(&self, mail: Mail) -> anyhow::Result<String> {
        let message = Message::builder()
            .subject(utf8(mail.subject)?)
            .body(Body::builder().text(utf8(mail.text)?).html(utf8(mail.html)?).build())
            .build();
        let sent = self
            .client
            .send_email()
            .from_email_address(&self.from)
            .destination(Destination::builder().to_addresses(mail.to).build())
            .content(EmailContent::builder().simple(message).build())
            .set_configuration_set_name(self.configuration_set.clone())
            .send()
            .await
            .map_err(|e| crate::store::call_failed("SES", e, "sending mail through SES"))?;
        sent.message_id.context("SES answered without a message id")
    }
}
