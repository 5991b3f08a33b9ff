//! What operators see of each request: one JSON log line when it ends, carrying its metrics
//! in CloudWatch's Embedded Metric Format (EMF), so that counting costs no API call
//! (docs/OPERATIONS.md).
//!
//! The domain counts what happened ([`count`], [`dependency_failed`], [`user`]) into the
//! request's [`Recorder`], which the entry point sets up around each request ([`record`])
//! and renders ([`RequestLine::to_json`]). Outside a request (unit tests, the import tool)
//! counting does nothing. The line never holds an email, a password, a code, a token, a
//! cookie or a secret: only the names below, the route's template, the status and error
//! code, the user's id and the runtime's request and trace ids (docs/SECURITY.md, rule 75).

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde_json::{Map, Value, json};

/// What the domain counts, each a CloudWatch metric of the same name (unit `Count`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Event {
    /// Every factor was right and a session started.
    LoginSucceeded,
    /// A password, emailed code or second factor was wrong (the lockout counted it).
    LoginFailed,
    /// A login was refused because the address is locked.
    LoginLocked,
    /// The first factor was right and the account's second factor was asked for.
    SecondFactorAsked,
    /// A wrong authenticator or recovery code (also counted in `LoginFailed`).
    SecondFactorFailed,
    /// An address locked: its failures reached the limit.
    AccountLocked,
    /// A code (or the mail standing for one) left.
    CodeSent,
    /// A code was not sent: the address's cooldown or hourly cap, or the source's.
    CodeRefused,
    /// A refresh token was presented after it was rotated (stolen, or used twice): its
    /// session was revoked.
    RefreshReuse,
    /// A mail was not sent: its address bounced for good or complained before.
    MailSuppressed,
    /// SES reported a delivery, bounce, complaint, rejection or delay.
    MailEvent,
}

impl Event {
    /// The metric's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::LoginSucceeded => "LoginSucceeded",
            Self::LoginFailed => "LoginFailed",
            Self::LoginLocked => "LoginLocked",
            Self::SecondFactorAsked => "SecondFactorAsked",
            Self::SecondFactorFailed => "SecondFactorFailed",
            Self::AccountLocked => "AccountLocked",
            Self::CodeSent => "CodeSent",
            Self::CodeRefused => "CodeRefused",
            Self::RefreshReuse => "RefreshReuse",
            Self::MailSuppressed => "MailSuppressed",
            Self::MailEvent => "MailEvent",
        }
    }
}

/// What one request recorded.
#[derive(Debug, Default)]
pub struct Recorded {
    /// How often each event happened.
    pub events: BTreeMap<Event, u64>,
    /// The user the request acted for, once known.
    pub user: Option<String>,
    /// The first failed dependency call: the service (`DynamoDB`, `SES`, `SecretsManager`,
    /// `Google`) and the kind (`throttled`, `server_error`, `timeout`, `connection`,
    /// `refused`, `other`).
    pub dependency: Option<(&'static str, &'static str)>,
}

/// The recorder of the request in progress.
#[derive(Debug, Default)]
pub struct Recorder(Mutex<Recorded>);

tokio::task_local! {
    static RECORDER: Recorder;
}

fn with(f: impl FnOnce(&mut Recorded)) {
    let _ = RECORDER.try_with(|recorder| f(&mut recorder.0.lock().unwrap_or_else(|p| p.into_inner())));
}

/// Counts `event` for the request in progress.
pub fn count(event: Event) {
    with(|r| *r.events.entry(event).or_default() += 1);
}

/// Notes the user the request acts for (an id, never an email).
pub fn user(id: &str) {
    with(|r| r.user = Some(id.to_owned()));
}

/// Notes a failed call to `service` of `kind` (only the request's first is kept: it is the
/// one the answer came from).
pub fn dependency_failed(service: &'static str, kind: &'static str) {
    with(|r| {
        r.dependency.get_or_insert((service, kind));
    });
}

/// Runs `request` with a fresh recorder: its output and what it recorded.
pub async fn record<F: Future>(request: F) -> (F::Output, Recorded) {
    RECORDER
        .scope(Recorder::default(), async move {
            let output = request.await;
            let recorded = RECORDER.with(|r| std::mem::take(&mut *r.0.lock().unwrap_or_else(|p| p.into_inner())));
            (output, recorded)
        })
        .await
}

/// The namespace of every metric.
pub const NAMESPACE: &str = "stepauth";

/// One request, as logged when it ends.
#[derive(Debug)]
pub struct RequestLine<'a> {
    /// The deployment (the stack's name): the `Service` dimension of every metric.
    pub service: &'a str,
    /// The function that served it.
    pub function: &'a str,
    /// `METHOD /template` of the route (`POST /auth/login`, `DELETE
    /// /users/me/sessions/{id}`), or `unrouted`.
    pub route: &'a str,
    /// The HTTP status of the answer.
    pub status: u16,
    /// The answer's error code, if it is an error.
    pub error: Option<&'a str>,
    /// From the request's arrival to its answer.
    pub latency_ms: f64,
    /// The Lambda request id.
    pub request_id: Option<&'a str>,
    /// The X-Ray trace id.
    pub trace_id: Option<&'a str>,
    /// Whether this was the process's first request.
    pub cold_start: bool,
    /// What the domain recorded.
    pub recorded: &'a Recorded,
}

impl RequestLine<'_> {
    /// The line: a JSON object with the fields above, Lambda's `timestamp`, `level`,
    /// `message` and `requestId`, and the `_aws` block that makes CloudWatch read the metrics
    /// in it (`timestamp_ms`: the time of the answer, milliseconds since the epoch).
    pub fn to_json(&self, timestamp_ms: u64) -> String {
        let mut line = Map::new();
        let level = if self.status >= 500 {
            "ERROR"
        } else if self.status >= 400 {
            "WARN"
        } else {
            "INFO"
        };
        line.insert("timestamp".into(), json!(crate::clock::rfc3339_millis(timestamp_ms)));
        line.insert("level".into(), json!(level));
        line.insert("message".into(), json!("request"));
        line.insert("requestId".into(), json!(self.request_id));
        line.insert("traceId".into(), json!(self.trace_id));
        line.insert("Service".into(), json!(self.service));
        line.insert("function".into(), json!(self.function));
        line.insert("Route".into(), json!(self.route));
        line.insert("status".into(), json!(self.status));
        line.insert("error".into(), json!(self.error));
        line.insert("coldStart".into(), json!(self.cold_start));
        line.insert("userId".into(), json!(self.recorded.user));

        // Counters, each present only when non-zero; the alarms read their sums.
        let mut counters: Vec<&str> = Vec::new();
        let mut counter = |line: &mut Map<String, Value>, name: &'static str, value: u64| {
            line.insert(name.into(), json!(value));
            counters.push(name);
        };
        counter(&mut line, "Requests", 1);
        if self.status == 503 {
            counter(&mut line, "ServiceUnavailable", 1);
        } else if self.status >= 500 {
            counter(&mut line, "ServerErrors", 1);
        }
        for (event, n) in &self.recorded.events {
            counter(&mut line, event.as_str(), *n);
        }
        let counts = |names: &[&str]| -> Vec<Value> {
            names.iter().map(|name| json!({"Name": name, "Unit": "Count"})).collect()
        };
        let mut directives = vec![
            json!({"Namespace": NAMESPACE, "Dimensions": [["Service"]], "Metrics": counts(&counters)}),
            json!({
                "Namespace": NAMESPACE,
                "Dimensions": [["Service", "Route"]],
                "Metrics": [{"Name": "Latency", "Unit": "Milliseconds"}],
            }),
        ];
        line.insert("Latency".into(), json!((self.latency_ms * 10.0).round() / 10.0));
        if let Some((dependency, kind)) = self.recorded.dependency {
            line.insert("Dependency".into(), json!(dependency));
            line.insert("Kind".into(), json!(kind));
            line.insert("DependencyErrors".into(), json!(1));
            directives.push(json!({
                "Namespace": NAMESPACE,
                "Dimensions": [["Service", "Dependency", "Kind"], ["Service"]],
                "Metrics": [{"Name": "DependencyErrors", "Unit": "Count"}],
            }));
        }
        line.insert("_aws".into(), json!({"Timestamp": timestamp_ms, "CloudWatchMetrics": directives}));
        Value::Object(line).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_request_line_carries_its_metrics_in_emf() {
        let ((), recorded) = record(async {
            count(Event::LoginFailed);
            count(Event::LoginFailed);
            count(Event::AccountLocked);
            user("u1");
            dependency_failed("DynamoDB", "throttled");
            dependency_failed("SES", "timeout");
        })
        .await;
        count(Event::CodeSent); // outside a request: nothing, no panic
        let line = RequestLine {
            service: "stepauth-prod",
            function: "login",
            route: "POST /auth/login",
            status: 503,
            error: Some("service_unavailable"),
            latency_ms: 12.345,
            request_id: Some("r1"),
            trace_id: None,
            cold_start: true,
            recorded: &recorded,
        };
        let value: Value = serde_json::from_str(&line.to_json(1_800_000_000_000)).expect("JSON");
        assert_eq!(value["LoginFailed"], 2);
        assert_eq!(value["AccountLocked"], 1);
        assert_eq!(value["ServiceUnavailable"], 1);
        assert_eq!(value["Latency"], 12.3);
        assert_eq!((value["Dependency"].as_str(), value["Kind"].as_str()), (Some("DynamoDB"), Some("throttled")));
        assert_eq!(value["userId"], "u1");
        assert_eq!(value["timestamp"], "2027-01-15T08:00:00.000Z");
        let directives = value["_aws"]["CloudWatchMetrics"].as_array().expect("directives");
        assert_eq!(directives.len(), 3);
        // Every metric a directive names is a number at the top level, as EMF requires.
        for directive in directives {
            for metric in directive["Metrics"].as_array().expect("metrics") {
                let name = metric["Name"].as_str().expect("a name");
                assert!(value[name].is_number(), "{name}");
            }
            for set in directive["Dimensions"].as_array().expect("dimension sets") {
                for dimension in set.as_array().expect("a set") {
                    assert!(value[dimension.as_str().expect("a name")].is_string(), "{dimension}");
                }
            }
        }
    }
}
