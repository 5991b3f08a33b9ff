//! Admin tools against moto (docs/SECURITY.md, "Admin tools"): one account and its activity,
//! ending its sessions, deactivating it, setting its address, deleting it, finding accounts by
//! address; every action in the account's activity with the admin's id; no admin acting on
//! its own account in a way that could leave no admin.

use serde_json::{Value, json};
use stepauth::config::Config;
use stepauth_tests::{Answer, PASSWORD, TestApp, find_code, post_as, unique_email};

/// An app with two admin addresses: the first signed up, its access token.
async fn admin_app() -> (TestApp, String, String) {
    let (admin, second) = (unique_email("admin"), unique_email("admin-two"));
    let app =
        TestApp::spawn_with(Config { admin_emails: vec![admin.clone(), second.clone()], ..Config::default() }).await;
    let token = app.sign_up(&admin).await.str("access_token");
    (app, second, token)
}

fn id_of(session: &Answer) -> String {
    session.body["user"]["id"].as_str().expect("the user's id").to_owned()
}

async fn delete_as(app: &TestApp, path: &str, token: &str) -> Answer {
    app.request("DELETE", path, Value::Null, &[("authorization", &format!("Bearer {token}"))]).await
}

async fn events(app: &TestApp, id: &str, admin: &str) -> Vec<(String, Option<String>)> {
    let log = app.get_as(&format!("/admin/users/{id}/activity"), admin).await;
    assert_eq!(log.status, 200, "{}", log.text);
    let items = log.body["items"].as_array().expect("items");
    items.iter().map(|e| (e["event"].as_str().unwrap().to_owned(), e["by_admin"].as_str().map(str::to_owned))).collect()
}

/// One account as an admin sees it, its activity with the admins' ids; nobody else sees it.
#[tokio::test]
async fn an_admin_sees_one_account_and_its_activity() {
    let (app, _, admin) = admin_app().await;
    let admin_id = app.get_as("/users/me", &admin).await.str("id");
    let email = unique_email("seen");
    let session = app.sign_up(&email).await;
    app.log_in(&email).await;
    let id = id_of(&session);

    let seen = app.get_as(&format!("/admin/users/{id}"), &admin).await;
    assert_eq!(seen.status, 200, "{}", seen.text);
    assert_eq!((seen.body["email"].as_str(), seen.body["session_count"].as_u64()), (Some(email.as_str()), Some(2)));
    assert_eq!((seen.body["deactivated"].as_bool(), seen.body["locked"].as_bool()), (Some(false), Some(false)));
    assert_eq!(seen.body["identities"], json!([]));

    assert_eq!(post_as(&app, "/admin/users/unlock", &admin, json!({"email": email})).await.status, 200);
    let log = events(&app, &id, &admin).await;
    assert_eq!(log[0], ("unlocked".to_owned(), Some(admin_id)), "{log:?}");
    assert!(log.iter().any(|(event, by)| event == "login_success" && by.is_none()));

    let user = session.str("access_token");
    assert_eq!(app.get_as(&format!("/admin/users/{id}"), &user).await.error(), "forbidden");
    assert_eq!(app.get_as(&format!("/admin/users/{id}/activity"), &user).await.error(), "forbidden");
    for missing in ["00000000-0000-4000-8000-000000000000", "%00", "a.b", &"x".repeat(300)] {
        let answer = app.get_as(&format!("/admin/users/{missing}"), &admin).await;
        assert_eq!((answer.status, answer.error()), (404, "user_not_found"), "{missing}");
    }
}

/// Ending every session of an account: each refresh and access token dies.
#[tokio::test]
async fn an_admin_ends_every_session_of_an_account() {
    let (app, _, admin) = admin_app().await;
    let email = unique_email("ended");
    let sessions = [app.sign_up(&email).await, app.log_in(&email).await];
    let id = id_of(&sessions[0]);
    let ended = post_as(&app, &format!("/admin/users/{id}/sessions/end"), &admin, Value::Null).await;
    assert_eq!((ended.status, ended.body["ended"].as_u64()), (200, Some(2)), "{}", ended.text);
    for session in &sessions {
        assert_eq!(app.get_as("/users/me", &session.str("access_token")).await.status, 401);
        let refresh = app.post("/auth/token/refresh", json!({"refresh_token": session.str("refresh_token")})).await;
        assert_eq!(refresh.status, 401);
    }
    assert_eq!(app.get_as(&format!("/admin/users/{id}"), &admin).await.body["session_count"], 0);
    assert_eq!(events(&app, &id, &admin).await[0].0, "sessions_ended_by_admin");
}

/// What a request about `email` answers, for comparing two accounts: status, body.
async fn way_in(app: &TestApp, path: &str, body: Value) -> (u16, String) {
    let answer = app.post(path, body).await;
    (answer.status, answer.text)
}

/// A deactivated account cannot sign in by any path, and every answer is the one a locked
/// account gets, so deactivation tells nothing new; its sessions died; an admin's unlock
/// does not open it; reactivation does.
#[tokio::test]
async fn a_deactivated_account_answers_as_a_locked_one_on_every_way_in() {
    let (app, _, admin) = admin_app().await;
    let (locked, deactivated) = (unique_email("is-locked"), unique_email("is-off"));
    app.sign_up(&locked).await;
    let session = app.sign_up(&deactivated).await;
    let id = id_of(&session);
    for _ in 0..3 {
        app.post("/auth/login", json!({"email": locked, "password": "Wrong-Horse-7-Battery"})).await;
    }
    let off = post_as(&app, &format!("/admin/users/{id}/deactivate"), &admin, Value::Null).await;
    assert_eq!(off.status, 200, "{}", off.text);
    assert_eq!(app.get_as("/users/me", &session.str("access_token")).await.status, 401, "its sessions died");
    let refresh = app.post("/auth/token/refresh", json!({"refresh_token": session.str("refresh_token")})).await;
    assert_eq!(refresh.status, 401);
    assert!(app.mails_to(&deactivated).await.last().unwrap().subject.contains("deactivated"));

    app.clock.advance(61);
    let with = |body: &Value, email: &str| {
        let mut body = body.clone();
        body["email"] = json!(email);
        body
    };
    for (path, body) in [
        ("/auth/login", json!({"password": PASSWORD})),
        ("/auth/login", json!({"password": "Wrong-Horse-7-Battery"})),
        ("/auth/login/code", json!({})),
    ] {
        let (a, b) =
            (way_in(&app, path, with(&body, &locked)).await, way_in(&app, path, with(&body, &deactivated)).await);
        assert_eq!(a, b, "{path} {body}");
        assert!([202, 423].contains(&a.0), "{path}: {a:?}");
    }
    let mut verified = Vec::new();
    for email in [&locked, &deactivated] {
        let code = app.last_code(email).await;
        verified.push(way_in(&app, "/auth/login/code/verify", json!({"email": email, "code": code})).await);
    }
    assert_eq!(verified[0], verified[1]);
    assert_eq!(verified[0].0, 423, "{:?}", verified[0]);
    let forgot = json!({});
    let (a, b) = (
        way_in(&app, "/auth/password/forgot", with(&forgot, &locked)).await,
        way_in(&app, "/auth/password/forgot", with(&forgot, &deactivated)).await,
    );
    assert_eq!(a, b);
    let reset = app.mails_to(&deactivated).await.pop().unwrap();
    assert_eq!(reset.subject, app.mails_to(&locked).await.pop().unwrap().subject, "the same reset mail");
    assert!(find_code(&reset.body).is_none(), "no reset code for a deactivated account");

    let unlock = post_as(&app, "/admin/users/unlock", &admin, json!({"email": deactivated})).await;
    assert_eq!((unlock.status, unlock.error()), (409, "account_deactivated"));
    let on = post_as(&app, &format!("/admin/users/{id}/reactivate"), &admin, Value::Null).await;
    assert_eq!(on.status, 200, "{}", on.text);
    app.log_in(&deactivated).await;
    let log = events(&app, &id, &admin).await;
    assert!(log.iter().any(|(e, by)| e == "deactivated" && by.is_some()), "{log:?}");
    assert!(log.iter().any(|(e, by)| e == "reactivated" && by.is_some()), "{log:?}");
}

/// An admin cannot deactivate or delete its own account, by the admin routes or its own
/// deletion, so the last admin never locks every admin out; nor set its own address with the
/// admin tool, skipping the proofs its owner is asked; another admin can.
#[tokio::test]
async fn admins_cannot_deactivate_or_delete_themselves() {
    let (app, second, admin) = admin_app().await;
    let me = app.get_as("/users/me", &admin).await.str("id");
    for (method, path) in [("POST", format!("/admin/users/{me}/deactivate")), ("DELETE", format!("/admin/users/{me}"))]
    {
        let auth = format!("Bearer {admin}");
        let answer = app.request(method, &path, Value::Null, &[("authorization", &auth)]).await;
        assert_eq!((answer.status, answer.error()), (409, "own_admin_account"), "{method} {path}");
    }
    let own = app
        .request("DELETE", "/users/me", json!({"password": PASSWORD}), &[("authorization", &format!("Bearer {admin}"))])
        .await;
    assert_eq!((own.status, own.error()), (409, "own_admin_account"));
    assert_eq!(app.get_as("/users/me", &admin).await.status, 200, "still an admin, still signed in");

    let other = app.sign_up(&second).await.str("access_token");
    let off = post_as(&app, &format!("/admin/users/{me}/deactivate"), &other, Value::Null).await;
    assert_eq!(off.status, 200, "another admin may: {}", off.text);
}

/// An admin deletes an account: its tokens die, its address is free, its owner is told.
#[tokio::test]
async fn an_admin_deletes_an_account() {
    let (app, _, admin) = admin_app().await;
    let email = unique_email("deleted-by-admin");
    let session = app.sign_up(&email).await;
    let id = id_of(&session);
    let deleted = delete_as(&app, &format!("/admin/users/{id}"), &admin).await;
    assert_eq!(deleted.status, 200, "{}", deleted.text);
    assert_eq!(app.get_as("/users/me", &session.str("access_token")).await.status, 401);
    assert_eq!(app.get_as(&format!("/admin/users/{id}"), &admin).await.error(), "user_not_found");
    assert!(app.mails_to(&email).await.last().unwrap().subject.contains("deleted"));
    app.clock.advance(61);
    app.sign_up(&email).await;
}

/// Someone who took an account changed its address: an admin puts it back, which ends every
/// session (the intruder's too) and tells both addresses.
#[tokio::test]
async fn an_admin_puts_back_an_address_changed_against_its_owner() {
    let (app, _, admin) = admin_app().await;
    let (owner, intruder) = (unique_email("owner"), unique_email("intruder"));
    let session = app.sign_up(&owner).await;
    let id = id_of(&session);
    assert_eq!(
        post_as(
            &app,
            "/users/me/email",
            &session.str("access_token"),
            json!({"new_email": intruder, "password": PASSWORD})
        )
        .await
        .status,
        202
    );
    let code = app.last_code(&intruder).await;
    let taken = post_as(
        &app,
        "/users/me/email/verify",
        &session.str("access_token"),
        json!({"new_email": intruder, "code": code}),
    )
    .await;
    assert_eq!(taken.status, 200, "{}", taken.text);

    let back = post_as(&app, &format!("/admin/users/{id}/email"), &admin, json!({"email": owner})).await;
    assert_eq!((back.status, back.body["email"].as_str()), (200, Some(owner.as_str())), "{}", back.text);
    assert_eq!(app.get_as("/users/me", &taken.str("access_token")).await.status, 401, "the intruder's session died");
    app.log_in(&owner).await;
    let login = app.post("/auth/login", json!({"email": intruder, "password": PASSWORD})).await;
    assert_eq!(login.status, 401);
    assert!(app.mails_to(&owner).await.last().unwrap().subject.contains("set by an admin"));
    let log = events(&app, &id, &admin).await;
    assert!(log.iter().any(|(e, by)| e == "email_set_by_admin" && by.is_some()), "{log:?}");
    let taken_again = post_as(&app, &format!("/admin/users/{id}/email"), &admin, json!({"email": owner})).await;
    assert_eq!((taken_again.status, taken_again.error()), (400, "validation_failed"), "already its address");
}

/// Admins find accounts by the start of their address, a page at a time, by address.
#[tokio::test]
async fn admins_find_accounts_by_the_start_of_their_address() {
    let (app, _, admin) = admin_app().await;
    let prefix = format!("find{}", unique_email("x").split('-').nth(1).unwrap().split('@').next().unwrap());
    let mut emails: Vec<String> = Vec::new();
    for i in 0..3 {
        let email = format!("{prefix}{i}@example.com");
        app.sign_up(&email).await;
        emails.push(email);
    }
    app.sign_up(&unique_email("other")).await;
    let mut seen = Vec::new();
    let mut path = format!("/admin/users?email_prefix={prefix}&limit=2");
    loop {
        let page = app.get_as(&path, &admin).await;
        assert_eq!(page.status, 200, "{}", page.text);
        seen.extend(page.body["items"].as_array().unwrap().iter().map(|u| u["email"].as_str().unwrap().to_owned()));
        match page.body["next_cursor"].as_str() {
            Some(cursor) => path = format!("/admin/users?email_prefix={prefix}&limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, emails, "the three, by address, and no other");
    let upper = app.get_as(&format!("/admin/users?email_prefix={}", prefix.to_uppercase()), &admin).await;
    assert_eq!(upper.body["items"].as_array().unwrap().len(), 3, "the prefix is case-folded");
    let none = app.get_as("/admin/users?email_prefix=zzzz-nobody", &admin).await;
    assert_eq!(none.body["items"], json!([]));
    for bad in
        ["/admin/users?email_prefix=", "/admin/users?email_prefix=a%20b", "/admin/users?email_prefix=a&email_prefix=b"]
    {
        let answer = app.get_as(bad, &admin).await;
        assert_eq!((answer.status, answer.error()), (400, "validation_failed"), "{bad}");
    }
    let first = app.get_as(&format!("/admin/users?email_prefix={prefix}&limit=1"), &admin).await;
    let cursor = first.body["next_cursor"].as_str().unwrap();
    let elsewhere = app.get_as(&format!("/admin/users?email_prefix=zz&cursor={cursor}"), &admin).await;
    assert_eq!((elsewhere.status, elsewhere.error()), (400, "invalid_cursor"), "a cursor of another search");
}
