//! The local server's mail: kept in memory (served at `GET /_local/outbox`) and printed.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde::Serialize;

use super::{Mail, Mailer};
use crate::clock::{Clock, rfc3339};

/// A mail as the outbox keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SentMail {
    /// The recipient.
    pub to: String,
    /// The subject line.
    pub subject: String,
    /// The plain-text part.
    pub text: String,
    /// The HTML part.
    pub html: String,
    /// When it was sent (RFC 3339).
    pub sent_at: String,
}

/// A [`Mailer`] that keeps every mail, oldest first, and optionally prints it.
#[derive(Debug)]
pub struct Outbox {
    clock: Arc<dyn Clock>,
    print: bool,
    sent: Mutex<Vec<SentMail>>,
}

impl Outbox {
    /// An empty outbox; with `print`, each mail also goes to standard output.
    pub fn new(clock: Arc<dyn Clock>, print: bool) -> Self {
        Self { clock, print, sent: Mutex::new(Vec::new()) }
    }

    /// Every mail sent so far, oldest first.
    pub fn sent(&self) -> Vec<SentMail> {
        self.sent.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

#[async_trait]
impl Mailer for Outbox {
    async fn send(&self, mail: Mail) -> anyhow::Result<String> {
        let sent = SentMail {
            to: mail.to,
            subject: mail.subject,
            text: mail.text,
            html: mail.html,
            sent_at: rfc3339(self.clock.now()),
        };
        if self.print {
            println!(
                "\n--- mail to {} at {} ---\nSubject: {}\n\n{}---\n",
                sent.to, sent.sent_at, sent.subject, sent.text
            );
        }
        let mut all = self.sent.lock().unwrap_or_else(|p| p.into_inner());
        all.push(sent);
        Ok(format!("local-{}", all.len()))
    }
}
