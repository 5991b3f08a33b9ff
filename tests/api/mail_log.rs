//! The mail log and SES's delivery events (docs/API.md, "Mail log"), end to end on moto with
//! the events SES publishes (events/mail-events/, their documented shapes): every mail
//! recorded without its text, each event recorded against it, a permanent bounce or a
//! complaint stopping further mail while the routes answer as before, and the admin's view.

use serde_json::{Value, json};
use stepauth::config::Config;
use stepauth::handlers::mail::mail_events;
use stepauth::mailing::parse_event;
use stepauth::model::MailStatus;
use stepauth::store::MailLogStore as _;
use stepauth::store::dynamo::DynamoStore;
use stepauth_tests::runtime_api::Lambda;
use stepauth_tests::{TestApp, moto_config, unique_email};

/// The message id and address the fixtures name.
const FIXTURE_ID: &str = "010201934a5b6c7d-1f2e3d4c-5b6a-7980-a1b2-c3d4e5f60718-000000";
const FIXTURE_TO: &str = "ann@example.com";

/// `events/mail-events/<name>.json`, about the mail `message_id` to `to`.
fn ses_event(name: &str, message_id: &str, to: &str) -> Value {
    let path = format!("{}/../events/mail-events/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let text =
        std::fs::read_to_string(path).expect("the event").replace(FIXTURE_ID, message_id).replace(FIXTURE_TO, to);
    serde_json::from_str(&text).expect("JSON")
}

async fn admin_app() -> (TestApp, String) {
    let admin = unique_email("mail-admin");
    let app = TestApp::spawn_with(Config { admin_emails: vec![admin.clone()], ..Config::default() }).await;
    let token = app.sign_up(&admin).await.str("access_token");
    (app, token)
}

/// The account's mails as an admin sees them, newest first.
async fn mails(app: &TestApp, admin: &str, id: &str) -> Vec<Value> {
    let answer = app.get_as(&format!("/admin/users/{id}/mails"), admin).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.body["items"].as_array().expect("items").clone()
}

#[test]
fn every_documented_ses_event_is_read() {
    let now = 1_800_000_000;
    let read = |name: &str| parse_event(&ses_event(name, "m-1", "zoe@example.com"), now).expect("parses");
    let bounce = read("bounce-permanent").expect("a delivery outcome");
    assert_eq!(
        (bounce.status, bounce.stops_mail, bounce.detail.as_deref()),
        (MailStatus::Bounced, true, Some("Permanent/General"))
    );
    assert_eq!(
        (bounce.message_id.as_str(), bounce.recipients.as_slice()),
        ("m-1", &["zoe@example.com".to_owned()][..])
    );
    assert_eq!(bounce.at, 1_795_338_943, "the bounce's own time");
    let transient = read("bounce-transient").expect("an outcome");
    assert_eq!(
        (transient.status, transient.stops_mail),
        (MailStatus::Bounced, false),
        "a full mailbox is no reason to stop"
    );
    let complaint = read("complaint").expect("an outcome");
    assert_eq!(
        (complaint.status, complaint.stops_mail, complaint.detail.as_deref()),
        (MailStatus::Complained, true, Some("abuse"))
    );
    assert_eq!(read("delivery").map(|e| (e.status, e.stops_mail)), Some((MailStatus::Delivered, false)));
    assert_eq!(
        read("reject").map(|e| (e.status, e.detail)),
        Some((MailStatus::Rejected, Some("Bad content".to_owned())))
    );
    assert_eq!(read("delivery-delay").map(|e| e.status), Some(MailStatus::DeliveryDelayed));
    assert_eq!(read("send"), None, "a send is ours to record, not SES's");
    // The same event through SNS (the other destination SES offers) and bare.
    let bare = ses_event("complaint", "m-1", "zoe@example.com")["detail"].clone();
    let sns = json!({"Records": [{"EventSource": "aws:sns", "Sns": {"Message": bare.to_string()}}]});
    assert_eq!(parse_event(&sns, now).expect("parses"), Some(complaint.clone()));
    assert_eq!(parse_event(&bare, now).expect("parses"), Some(complaint));
    assert!(parse_event(&json!({"detail": {"eventType": "Bounce"}}), now).is_err(), "no message id");
}

/// A login code's mail is recorded (kind, SES's message id, status) without the code; its
/// delivery and then its permanent bounce are recorded against it; the next mail to the
/// address is not sent, yet the route answers exactly as before; the account's activity says
/// why; late and repeated events change nothing.
#[tokio::test]
async fn a_bounce_stops_the_next_mail_and_the_answer_is_unchanged() {
    let (app, admin) = admin_app().await;
    let email = unique_email("bouncing");
    let session = app.sign_up(&email).await;
    let id = session.body["user"]["id"].as_str().expect("id").to_owned();
    let first = app.post("/auth/login/code", json!({"email": email})).await;
    assert_eq!(first.status, 202, "{}", first.text);
    let code = app.last_code(&email).await;

    let log = mails(&app, &admin, &id).await;
    let kinds: Vec<&str> = log.iter().filter_map(|m| m["kind"].as_str()).collect();
    assert_eq!(kinds, ["login_code", "signup_code"], "the sign-up code, sent before the account, is listed too");
    assert_eq!((log[0]["status"].as_str(), log[0]["to"].as_str()), (Some("sent"), Some(email.as_str())));
    assert!(!serde_json::to_string(&log).expect("JSON").contains(&code), "the log never holds a code");
    let message_id = log[0]["message_id"].as_str().expect("SES's id").to_owned();

    mail_events(&app.app, ses_event("delivery", &message_id, &email)).await.expect("recorded");
    assert_eq!(mails(&app, &admin, &id).await[0]["status"], "delivered");
    // A delay reported after the delivery is late: it does not move the mail back.
    mail_events(&app.app, ses_event("delivery-delay", &message_id, &email)).await.expect("recorded");
    assert_eq!(mails(&app, &admin, &id).await[0]["status"], "delivered");
    for _ in 0..2 {
        // SES may deliver an event twice: the second changes nothing.
        mail_events(&app.app, ses_event("bounce-permanent", &message_id, &email)).await.expect("recorded");
    }
    let bounced = &mails(&app, &admin, &id).await[0];
    assert_eq!((bounced["status"].as_str(), bounced["detail"].as_str()), (Some("bounced"), Some("Permanent/General")));

    let sent_before = app.mails_to(&email).await.len();
    app.clock.advance(61);
    let second = app.post("/auth/login/code", json!({"email": email})).await;
    assert_eq!((second.status, &second.body), (first.status, &first.body), "the answer is the same");
    assert_eq!(second.headers.get("retry-after"), first.headers.get("retry-after"));
    assert_eq!(app.mails_to(&email).await.len(), sent_before, "no mail went to the bounced address");
    let after = mails(&app, &admin, &id).await;
    assert_eq!((after[0]["kind"].as_str(), after[0]["status"].as_str()), (Some("login_code"), Some("suppressed")));
    let activity = app.get_as(&format!("/admin/users/{id}/activity"), &admin).await;
    assert!(activity.text.contains("mail_stopped"), "{}", activity.text);
    // Every other mailing route answers as before too: a password reset's.
    let reset = app.post("/auth/password/forgot", json!({"email": email})).await;
    assert_eq!(reset.status, 202);
    assert_eq!(app.mails_to(&email).await.len(), sent_before);
}

/// A complaint stops mail as a permanent bounce does; a transient bounce does not; an event
/// about a mail the log does not know (older than 90 days, or sent elsewhere) still stops
/// mail to its address when it should.
#[tokio::test]
async fn complaints_stop_mail_and_transient_bounces_do_not() {
    let (app, admin) = admin_app().await;
    let (full, complaining, stranger) = (unique_email("full"), unique_email("complaining"), unique_email("stranger"));
    let full_id = app.sign_up(&full).await.body["user"]["id"].as_str().expect("id").to_owned();
    let complaining_id = app.sign_up(&complaining).await.body["user"]["id"].as_str().expect("id").to_owned();
    let full_mail = mails(&app, &admin, &full_id).await[0]["message_id"].as_str().expect("id").to_owned();
    let complained = mails(&app, &admin, &complaining_id).await[0]["message_id"].as_str().expect("id").to_owned();
    mail_events(&app.app, ses_event("bounce-transient", &full_mail, &full)).await.expect("recorded");
    mail_events(&app.app, ses_event("complaint", &complained, &complaining)).await.expect("recorded");
    mail_events(&app.app, ses_event("bounce-permanent", "not-a-mail-we-know", &stranger)).await.expect("recorded");

    assert!(!app.app.store.is_suppressed(&full).await.expect("store"));
    assert!(app.app.store.is_suppressed(&complaining).await.expect("store"));
    assert!(app.app.store.is_suppressed(&stranger).await.expect("store"));
    assert_eq!(mails(&app, &admin, &complaining_id).await[0]["status"], "complained");
    let before = (app.mails_to(&full).await.len(), app.mails_to(&complaining).await.len());
    app.post("/auth/login/code", json!({"email": full})).await;
    app.post("/auth/login/code", json!({"email": complaining})).await;
    assert_eq!(app.mails_to(&full).await.len(), before.0 + 1, "a full mailbox still gets mail");
    assert_eq!(app.mails_to(&complaining).await.len(), before.1, "a complaint stops mail");
    // Someone signing up with the bounced address hears the same as anyone.
    let signup = app.post("/auth/signup", json!({"name": "Stranger", "email": stranger})).await;
    assert_eq!(signup.status, 202, "{}", signup.text);
    assert!(app.mails_to(&stranger).await.is_empty());
}

/// The admin's view: newest first, in pages, only admins, and gone with the account.
#[tokio::test]
async fn admins_page_through_an_accounts_mails_and_they_go_with_the_account() {
    let (app, admin) = admin_app().await;
    let email = unique_email("mailed");
    let session = app.sign_up(&email).await;
    let id = session.body["user"]["id"].as_str().expect("id").to_owned();
    for _ in 0..3 {
        app.clock.advance(61);
        app.post("/auth/login/code", json!({"email": email})).await;
    }
    let first = app.get_as(&format!("/admin/users/{id}/mails?limit=2"), &admin).await;
    assert_eq!(first.body["items"].as_array().map(Vec::len), Some(2), "{}", first.text);
    let cursor = first.str("next_cursor");
    let rest = app.get_as(&format!("/admin/users/{id}/mails?limit=2&cursor={cursor}"), &admin).await;
    let kinds: Vec<&str> =
        rest.body["items"].as_array().expect("items").iter().filter_map(|m| m["kind"].as_str()).collect();
    assert_eq!(kinds, ["login_code", "signup_code"], "{}", rest.text);
    assert!(rest.body["next_cursor"].is_null());
    assert_eq!(
        app.get_as(&format!("/admin/users/{id}/mails"), &session.str("access_token")).await.error(),
        "forbidden"
    );
    assert_eq!(app.get_as(&format!("/admin/users/{id}/mails?cursor=bm9wZQ"), &admin).await.error(), "invalid_cursor");

    let auth = format!("Bearer {admin}");
    let deleted = app.request("DELETE", &format!("/admin/users/{id}"), Value::Null, &[("authorization", &auth)]).await;
    assert_eq!(deleted.status, 200, "{}", deleted.text);
    assert!(
        app.app
            .store
            .mails(&id, &email, app.app.now(), 10, None)
            .await
            .expect("store")
            .items
            .iter()
            .all(|m| m.user_id.is_none()),
        "the account's own log is gone; what is left is the mail to its address"
    );
    app.clock.advance(91 * 24 * 3600);
    assert!(
        app.app.store.mails(&id, &email, app.app.now(), 10, None).await.expect("store").items.is_empty(),
        "kept 90 days"
    );
}

/// The real `mail-events` binary, started as Lambda starts it, records an EventBridge event
/// from events/ against moto.
#[tokio::test]
async fn the_mail_events_function_records_what_ses_publishes() {
    let lambda = Lambda::new().await;
    let address = unique_email("binary-bounce");
    let mut function = lambda.start("mail-events").await;
    let event = ses_event("bounce-permanent", "not-in-this-table", &address).to_string();
    let answer = function.invoke(&event).await.response.expect("the function answers");
    let logs = function.stop().await;
    assert_eq!(answer["recorded"], true, "{answer} {logs}");
    let table = lambda.env.iter().find(|(k, _)| k == "STEPAUTH_TABLE").map(|(_, v)| v.clone()).expect("a table");
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&moto_config().await), table);
    assert!(store.is_suppressed(&address).await.expect("moto"), "{logs}");
}
