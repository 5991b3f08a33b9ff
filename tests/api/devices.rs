//! Devices: the list of a user's sessions, ending one by id, ending all others
//! (docs/SECURITY.md, "Devices").

use serde_json::{Value, json};
use stepauth_tests::{Answer, PASSWORD, TestApp, unique_email};

const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
const CHROME_MAC: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

fn bearer(session: &Answer) -> String {
    format!("Bearer {}", session.str("access_token"))
}

fn session_id(session: &Answer) -> String {
    session.str("refresh_token").split_once('.').expect("id.secret").0.to_owned()
}

async fn devices(app: &TestApp, session: &Answer) -> Vec<Value> {
    let list = app.get_as("/users/me/sessions", &session.str("access_token")).await;
    assert_eq!(list.status, 200, "{}", list.text);
    assert_eq!(list.headers["cache-control"], "no-store");
    list.body["items"].as_array().expect("items").clone()
}

async fn end(app: &TestApp, by: &Answer, id: &str) -> Answer {
    app.request("DELETE", &format!("/users/me/sessions/{id}"), Value::Null, &[("authorization", &bearer(by))]).await
}

async fn log_in_as(app: &TestApp, email: &str, user_agent: &str) -> Answer {
    let body = json!({"email": email, "password": PASSWORD});
    let answer = app.request("POST", "/auth/login", body, &[("user-agent", user_agent)]).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer
}

/// Both sessions are there, newest first, the caller's own `current`; each says how it
/// signed in and from what; a refresh moves the session's last use, address and browser on.
#[tokio::test]
async fn the_device_list_shows_every_session_and_how_it_signed_in() {
    let app = TestApp::spawn().await;
    let email = unique_email("devices");
    let phone = app.sign_up(&email).await;
    app.clock.advance(60);
    let laptop = log_in_as(&app, &email, FIREFOX).await;

    let list = devices(&app, &laptop).await;
    assert_eq!(list.len(), 2, "{list:?}");
    let (newest, oldest) = (&list[0], &list[1]);
    assert_eq!(newest["id"], session_id(&laptop));
    assert_eq!((newest["current"].as_bool(), oldest["current"].as_bool()), (Some(true), Some(false)));
    assert_eq!(newest["label"], "Firefox on Linux");
    assert_eq!(newest["user_agent"], FIREFOX);
    assert_eq!(newest["method"], "password");
    assert_eq!(newest["first_ip"], "127.0.0.1");
    assert_eq!(oldest["id"], session_id(&phone));
    assert_eq!(oldest["label"], "Unknown device", "the sign-up's client sent no User-Agent");
    assert_eq!(oldest["method"], "password", "signed up with a password");
    assert!(newest["created_at"].as_str() > oldest["created_at"].as_str());

    app.clock.advance(600);
    let refresh = json!({"refresh_token": phone.str("refresh_token")});
    let refreshed = app.request("POST", "/auth/token/refresh", refresh, &[("user-agent", CHROME_MAC)]).await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.text);
    let list = devices(&app, &refreshed).await;
    let phone_now = list.iter().find(|d| d["id"] == session_id(&phone)).expect("the refreshed session");
    assert_eq!(phone_now["current"], true, "the refreshed access token is the same session's");
    assert_eq!(phone_now["label"], "Chrome on macOS");
    assert_eq!(phone_now["created_at"], oldest["created_at"], "a refresh does not start a new session");
    assert!(phone_now["last_used_at"].as_str() > oldest["last_used_at"].as_str());
    assert_eq!(phone_now["last_ip"], "127.0.0.1");
}

/// Ending a session by id kills its refresh token and its access tokens at once; the caller's
/// own goes on; a second DELETE finds nothing.
#[tokio::test]
async fn ending_a_session_kills_its_refresh_and_access_tokens() {
    let app = TestApp::spawn().await;
    let email = unique_email("end-one");
    let stolen = app.sign_up(&email).await;
    let mine = app.log_in(&email).await;

    let ended = end(&app, &mine, &session_id(&stolen)).await;
    assert_eq!(ended.status, 200, "{}", ended.text);
    assert!(ended.cookies().is_empty(), "another session's end leaves this one's cookies alone");
    assert_eq!(app.get_as("/users/me", &stolen.str("access_token")).await.status, 401);
    let refresh = app.post("/auth/token/refresh", json!({"refresh_token": stolen.str("refresh_token")})).await;
    assert_eq!(refresh.status, 401);
    assert_eq!(app.get_as("/users/me", &mine.str("access_token")).await.status, 200);
    let ids: Vec<_> = devices(&app, &mine).await.iter().map(|d| d["id"].clone()).collect();
    assert_eq!(ids, vec![json!(session_id(&mine))]);

    let again = end(&app, &mine, &session_id(&stolen)).await;
    assert_eq!((again.status, again.error()), (404, "session_not_found"));
    let activity = app.get_as("/users/me/activity", &mine.str("access_token")).await;
    assert_eq!(activity.body["items"][0]["event"], "session_ended");
}

/// Ending the current session is a logout: the cookies are cleared and its tokens die.
#[tokio::test]
async fn ending_the_current_session_signs_this_device_out() {
    let app = TestApp::spawn().await;
    let created = app.sign_up(&unique_email("end-self")).await;
    let ended = end(&app, &created, &session_id(&created)).await;
    assert_eq!(ended.status, 200, "{}", ended.text);
    assert!(ended.cookies().iter().any(|c| c.starts_with("__Host-stepauth_access=;")));
    assert_eq!(app.get_as("/users/me", &created.str("access_token")).await.status, 401);
}

/// One user cannot see, end or even confirm another's session, whatever id it sends; ids
/// of any shape get the same 404, never a 500.
#[tokio::test]
async fn no_one_can_end_or_see_another_users_sessions() {
    let app = TestApp::spawn().await;
    let victim = app.sign_up(&unique_email("victim")).await;
    let attacker = app.sign_up(&unique_email("attacker")).await;

    let list = devices(&app, &attacker).await;
    assert_eq!(list.len(), 1);
    assert_ne!(list[0]["id"], session_id(&victim));
    let refused = end(&app, &attacker, &session_id(&victim)).await;
    let unknown = end(&app, &attacker, &"A".repeat(22)).await;
    assert_eq!((refused.status, refused.error()), (404, "session_not_found"));
    assert_eq!(refused.text, unknown.text, "another's session and none at all answer alike");
    assert_eq!(app.get_as("/users/me", &victim.str("access_token")).await.status, 200, "the victim's lives");

    for odd in ["%00", "%E2%80%AE", "a.b", &"x".repeat(2000), "%2F"] {
        let answer = end(&app, &attacker, odd).await;
        assert_eq!((answer.status, answer.error()), (404, "session_not_found"), "{odd}");
    }
    let wrong = app.get_as(&format!("/users/me/sessions/{}", session_id(&victim)), &attacker.str("access_token")).await;
    assert_eq!((wrong.status, wrong.error()), (405, "method_not_allowed"));
    let anonymous =
        app.request("DELETE", &format!("/users/me/sessions/{}", session_id(&victim)), Value::Null, &[]).await;
    assert_eq!((anonymous.status, anonymous.error()), (401, "authentication_required"));
}

/// "Sign out every other device" leaves exactly the current session; a session ended so
/// cannot be revived by a refresh token or used by an access token.
#[tokio::test]
async fn ending_the_others_keeps_only_the_current_session() {
    let app = TestApp::spawn().await;
    let email = unique_email("end-others");
    let others = [app.sign_up(&email).await, app.log_in(&email).await, app.log_in(&email).await];
    let mine = log_in_as(&app, &email, FIREFOX).await;
    let answer =
        app.request("POST", "/users/me/sessions/end-others", Value::Null, &[("authorization", &bearer(&mine))]).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.body["ended"], 3);
    for other in &others {
        assert_eq!(app.get_as("/users/me", &other.str("access_token")).await.status, 401);
        let refresh = app.post("/auth/token/refresh", json!({"refresh_token": other.str("refresh_token")})).await;
        assert_eq!(refresh.status, 401);
    }
    let list = devices(&app, &mine).await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["current"], true);
    let again =
        app.request("POST", "/users/me/sessions/end-others", Value::Null, &[("authorization", &bearer(&mine))]).await;
    assert_eq!(again.body["ended"], 0);
}

/// The list holds live sessions only: logout-all empties it (the dead ones stay stored until
/// their TTL, never listed), and a password change leaves the one it restarted, with how that
/// device first signed in.
#[tokio::test]
async fn the_list_forgets_sessions_that_logout_all_or_a_password_change_ended() {
    let app = TestApp::spawn().await;
    let email = unique_email("devices-state");
    let first = app.sign_up(&email).await;
    app.log_in(&email).await;
    let all = app.request("POST", "/auth/logout/all", Value::Null, &[("authorization", &bearer(&first))]).await;
    assert_eq!(all.status, 200);
    let fresh = app.log_in(&email).await;
    assert_eq!(devices(&app, &fresh).await.len(), 1, "only the session begun after logout-all");

    app.log_in(&email).await;
    let new_password = "Another-Horse-8-Battery";
    let change = json!({"current_password": PASSWORD, "password": new_password, "confirm_password": new_password});
    let changed = app.request("POST", "/auth/password/change", change, &[("authorization", &bearer(&fresh))]).await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    let list = devices(&app, &changed).await;
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!((list[0]["current"].as_bool(), list[0]["method"].as_str()), (Some(true), Some("password")));
}

/// A refresh racing the end of its session never keeps it alive: whatever tokens the race
/// handed out are dead afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_ended_during_refreshes_stays_ended() {
    let app = std::sync::Arc::new(TestApp::spawn().await);
    let email = unique_email("end-race");
    let target = app.sign_up(&email).await;
    let mine = app.log_in(&email).await;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..20 {
        let app = app.clone();
        let token = target.str("refresh_token");
        let (id, by) = (session_id(&target), bearer(&mine));
        tasks.spawn(async move {
            if i == 10 {
                app.request("DELETE", &format!("/users/me/sessions/{id}"), Value::Null, &[("authorization", &by)]).await
            } else {
                app.post("/auth/token/refresh", json!({"refresh_token": token})).await
            }
        });
    }
    let answers = tasks.join_all().await;
    assert!(answers.iter().all(|a| [200, 401, 404].contains(&a.status)), "no 500");
    for answer in answers.iter().filter(|a| a.status == 200 && a.body.get("refresh_token").is_some()) {
        let next = app.post("/auth/token/refresh", json!({"refresh_token": answer.str("refresh_token")})).await;
        assert_eq!(next.status, 401, "a token the race gave out is dead");
        assert_eq!(app.get_as("/users/me", &answer.str("access_token")).await.status, 401);
    }
    assert_eq!(end(&app, &mine, &session_id(&target)).await.status, 404, "the session is gone");
    assert_eq!(devices(&app, &mine).await.len(), 1);
}
