//! Sending a mail, and what becomes of it: the template rendered, the address checked against
//! the ones that bounced for good or complained (no mail goes to those, and the route answers
//! as if it had: docs/SECURITY.md, rule 82), the mail handed to SES, its record in the mail
//! log (90 days, never its text); and SES's later events (delivery, bounce, complaint,
//! rejection) recorded against it.

use serde_json::Value;

use crate::activity::{self, Event};
use crate::app::App;
use crate::mail::templates::{Letter, To};
use crate::model::delivery::MAIL_LOG_DAYS;
use crate::model::{DeliveryEvent, MailRecord, MailStatus, Origin};
use crate::random;
use crate::telemetry;

/// Renders `letter` for `to` and sends it, unless the address is suppressed; records it in
/// the mail log either way. An error is the mail's (it did not leave); a failure to record a
/// mail that left is logged, not answered: the person has their mail.
pub async fn send(app: &App, letter: &Letter<'_>, to: To<'_>) -> anyhow::Result<()> {
    let mail = app.templates.render(letter, to)?;
    let address = mail.to.to_lowercase();
    let kind = mail.kind.as_str().to_owned();
    let (message_id, status) = if app.store.is_suppressed(&address).await? {
        telemetry::count(telemetry::Event::MailSuppressed);
        (format!("suppressed-{}", random::token::<16>(&*app.random)), MailStatus::Suppressed)
    } else {
        (app.mailer.send(mail).await?, MailStatus::Sent)
    };
    let now = app.now();
    let record = MailRecord {
        message_id,
        kind,
        to: address,
        user_id: to.user_id.map(str::to_owned),
        sent_at: now,
        sent_nanos: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)),
        status,
        status_at: now,
        detail: None,
    };
    if let Err(error) = app.store.record_mail(&record, now + MAIL_LOG_DAYS * 24 * 3600).await {
        tracing::error!(error = format!("{error:#}"), kind = record.kind, "a mail left but its record failed");
    }
    Ok(())
}

/// Records what SES reports of a mail: its status in the log, and, for a permanent bounce or
/// a complaint, the end of mail to the address (and an entry in its account's activity).
pub async fn record_event(app: &App, event: &DeliveryEvent) -> anyhow::Result<()> {
    let record = app.store.record_delivery(event, app.now()).await?;
    if event.stops_mail {
        for recipient in &event.recipients {
            app.store.suppress(&recipient.to_lowercase(), event.status.as_str(), event.at).await?;
        }
        if let Some(user_id) = record.as_ref().and_then(|r| r.user_id.as_deref()) {
            activity::record(app, user_id, Event::MailStopped, &Origin::default()).await;
        }
    }
    telemetry::count(telemetry::Event::MailEvent);
    tracing::info!(
        status = event.status.as_str(),
        known = record.is_some(),
        stops_mail = event.stops_mail,
        "a delivery event"
    );
    Ok(())
}

/// The delivery event an SES event holds, as SES publishes it to EventBridge (`detail`) or
/// to SNS (the record's `Message`), or as the bare event; `None` for the events that are no
/// delivery outcome (`Send`, `Open`, `Click`, `Rendering Failure`, `Subscription`). An event
/// without a time is taken as happening `now`.
pub fn parse_event(event: &Value, now: i64) -> anyhow::Result<Option<DeliveryEvent>> {
    let ses = if let Some(detail) = event.get("detail") {
        detail.clone()
    } else if let Some(message) = event.pointer("/Records/0/Sns/Message").and_then(Value::as_str) {
        serde_json::from_str(message)?
    } else {
        event.clone()
    };
    let text = |value: &Value, pointer: &str| value.pointer(pointer).and_then(Value::as_str).map(str::to_owned);
    let kind = text(&ses, "/eventType").or_else(|| text(&ses, "/notificationType"));
    let message_id =
        text(&ses, "/mail/messageId").ok_or_else(|| anyhow::anyhow!("an SES event without mail.messageId"))?;
    let recipients = |list: &str| -> Vec<String> {
        ses.pointer(list)
            .and_then(Value::as_array)
            .map(|all| {
                all.iter().filter_map(|r| r.get("emailAddress").and_then(Value::as_str).map(str::to_owned)).collect()
            })
            .unwrap_or_default()
    };
    let strings = |list: &str| -> Vec<String> {
        ses.pointer(list)
            .and_then(Value::as_array)
            .map(|all| all.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default()
    };
    let (status, section, recipients, stops_mail, detail) = match kind.as_deref() {
        Some("Delivery") => (MailStatus::Delivered, "delivery", strings("/delivery/recipients"), false, None),
        Some("Bounce") => {
            let kind = text(&ses, "/bounce/bounceType").unwrap_or_default();
            let sub = text(&ses, "/bounce/bounceSubType").unwrap_or_default();
            (
                MailStatus::Bounced,
                "bounce",
                recipients("/bounce/bouncedRecipients"),
                kind == "Permanent",
                Some(format!("{kind}/{sub}")),
            )
        }
        Some("Complaint") => {
            let feedback = text(&ses, "/complaint/complaintFeedbackType");
            (MailStatus::Complained, "complaint", recipients("/complaint/complainedRecipients"), true, feedback)
        }
        Some("Reject") => {
            (MailStatus::Rejected, "reject", strings("/mail/destination"), false, text(&ses, "/reject/reason"))
        }
        Some("DeliveryDelay") => {
            let delay = text(&ses, "/deliveryDelay/delayType");
            (MailStatus::DeliveryDelayed, "deliveryDelay", recipients("/deliveryDelay/delayedRecipients"), false, delay)
        }
        _ => return Ok(None),
    };
    let at = text(&ses, &format!("/{section}/timestamp"))
        .or_else(|| text(&ses, "/mail/timestamp"))
        .and_then(|t| time::OffsetDateTime::parse(&t, &time::format_description::well_known::Rfc3339).ok())
        .map_or(now, time::OffsetDateTime::unix_timestamp);
    Ok(Some(DeliveryEvent { message_id, status, at, recipients, stops_mail, detail }))
}
