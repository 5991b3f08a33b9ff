//! `mail-events`: SES's events about each mail, from EventBridge (no HTTP route).

fn main() -> Result<(), stepauth::lambda::Error> {
    stepauth::lambda::start_events("mail-events", stepauth::handlers::mail::mail_events)
}
