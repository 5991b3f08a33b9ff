//! The mail log: one record a mail sent (never its text, so never a code), and what SES said
//! of it afterwards (delivered, bounced, complained of, rejected), kept 90 days; and the
//! addresses no mail goes to any more.

use crate::clock::UnixTime;

/// Where a mail is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum MailStatus {
    /// Handed to SES.
    Sent,
    /// Not sent: the address bounced for good or complained before.
    Suppressed,
    /// SES is still trying.
    DeliveryDelayed,
    /// The receiving server took it.
    Delivered,
    /// SES refused to send it (a virus, say).
    Rejected,
    /// It bounced.
    Bounced,
    /// The recipient marked it as spam.
    Complained,
}

/// Every status with its name, as stored and shown.
pub const MAIL_STATUSES: [(MailStatus, &str); 7] = [
    (MailStatus::Sent, "sent"),
    (MailStatus::Suppressed, "suppressed"),
    (MailStatus::DeliveryDelayed, "delivery_delayed"),
    (MailStatus::Delivered, "delivered"),
    (MailStatus::Rejected, "rejected"),
    (MailStatus::Bounced, "bounced"),
    (MailStatus::Complained, "complained"),
];

impl MailStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        MAIL_STATUSES.iter().find(|(s, _)| *s == self).map_or("", |(_, name)| name)
    }

    /// The status of that name.
    pub fn named(name: &str) -> Option<Self> {
        MAIL_STATUSES.iter().find(|(_, n)| *n == name).map(|(s, _)| *s)
    }

    /// How final it is: an event of a lower rank than the status a mail has is late (a delay
    /// reported after the delivery) and does not move it back.
    pub fn rank(self) -> u8 {
        match self {
            Self::Sent | Self::Suppressed => 0,
            Self::DeliveryDelayed => 1,
            Self::Delivered => 2,
            Self::Rejected | Self::Bounced => 3,
            Self::Complained => 4,
        }
    }
}

/// One mail sent (or suppressed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailRecord {
    /// SES's message id (for a suppressed mail, one of ours: it never reached SES).
    pub message_id: String,
    /// The template's kind (`login_code`, …).
    pub kind: String,
    /// The address it went to.
    pub to: String,
    /// The account it was about, when the address has one.
    pub user_id: Option<String>,
    /// When it was sent.
    pub sent_at: UnixTime,
    /// The wall clock's nanoseconds at the send: orders the mails of one second.
    pub sent_nanos: u64,
    /// Where it is now.
    pub status: MailStatus,
    /// When the status last moved.
    pub status_at: UnixTime,
    /// What SES said with the last event (a bounce's type, the complaint's kind), never the
    /// mail's text.
    pub detail: Option<String>,
}

/// What SES reports of a mail after it was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryEvent {
    /// The mail's message id.
    pub message_id: String,
    /// What happened.
    pub status: MailStatus,
    /// When it happened.
    pub at: UnixTime,
    /// The addresses it happened to.
    pub recipients: Vec<String>,
    /// Whether no further mail should go to those addresses: a permanent bounce or a
    /// complaint.
    pub stops_mail: bool,
    /// SES's words for it (`Permanent/General`, `abuse`).
    pub detail: Option<String>,
}

/// How long a mail's record is kept.
pub const MAIL_LOG_DAYS: i64 = 90;
