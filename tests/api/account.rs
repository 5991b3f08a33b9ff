//! The account's own address and its deletion (docs/SECURITY.md, "Account changes"), against
//! moto: the proofs asked, the codes and their bindings, the mails, the races.

use serde_json::{Value, json};
use stepauth::model::{Email, User};
use stepauth_tests::{Answer, PASSWORD, TestApp, enrolled, find_code, post_as, totp_code, unique_email};

async fn ask_change(app: &TestApp, session: &Answer, body: Value) -> Answer {
    post_as(app, "/users/me/email", &session.str("access_token"), body).await
}

async fn verify_change(app: &TestApp, session: &Answer, body: Value) -> Answer {
    post_as(app, "/users/me/email/verify", &session.str("access_token"), body).await
}

/// The subject of every mail to `to`, oldest first.
async fn subjects(app: &TestApp, to: &str) -> Vec<String> {
    app.mails_to(to).await.into_iter().map(|m| m.subject).collect()
}

/// A user whose account Google made: no password. Signed in by an emailed code.
async fn passwordless(app: &TestApp, label: &str) -> (String, Answer) {
    let email = unique_email(label);
    let user = User::new(
        format!("id-{email}"),
        Email::parse(&email).expect("an address"),
        "No Password".into(),
        String::new(),
        1,
    );
    app.app.store.import_user(&user, false).await.expect("stored");
    let asked = app.post("/auth/login/code", json!({"email": email})).await;
    assert_eq!(asked.status, 202, "{}", asked.text);
    let code = app.last_code(&email).await;
    let session = app.post("/auth/login/code/verify", json!({"email": email, "code": code})).await;
    assert_eq!(session.status, 200, "{}", session.text);
    (email, session)
}

/// The whole change: the password, a code to the new address, the change; the old address is
/// told, every other session ends, the new address logs in and the old one is free again.
#[tokio::test]
async fn an_address_changes_with_the_password_and_the_code_mailed_to_it() {
    let app = TestApp::spawn().await;
    let (old, new) = (unique_email("change-old"), unique_email("change-new"));
    let other = app.sign_up(&old).await;
    let mine = app.log_in(&old).await;

    let asked = ask_change(&app, &mine, json!({"new_email": new, "password": PASSWORD})).await;
    assert_eq!(asked.status, 202, "{}", asked.text);
    let code = app.last_code(&new).await;
    let done = verify_change(&app, &mine, json!({"new_email": new, "code": code})).await;
    assert_eq!(done.status, 200, "{}", done.text);
    assert_eq!(done.body["user"]["email"], new);
    assert!(done.cookies().iter().any(|c| c.starts_with("__Host-stepauth_access=ey")), "a fresh session");

    assert_eq!(app.get_as("/users/me", &done.str("access_token")).await.body["email"], new);
    for dead in [&other, &mine] {
        assert_eq!(app.get_as("/users/me", &dead.str("access_token")).await.status, 401, "every earlier session ended");
    }
    let notice = app.mails_to(&old).await.pop().expect("a notice to the old address");
    assert!(notice.subject.contains("email address was changed"), "{}", notice.subject);
    assert!(notice.body.contains(&new) && find_code(&notice.body).is_none(), "{}", notice.body);

    app.log_in(&new).await;
    let by_old = app.post("/auth/login", json!({"email": old, "password": PASSWORD})).await;
    assert_eq!((by_old.status, by_old.error()), (401, "invalid_credentials"));
    app.clock.advance(61); // past the first sign-up's cooldown
    app.sign_up(&old).await; // the old address is free for a new account
    let activity = app.get_as("/users/me/activity", &done.str("access_token")).await;
    let events: Vec<&str> =
        activity.body["items"].as_array().unwrap().iter().map(|e| e["event"].as_str().unwrap()).collect();
    assert!(events.contains(&"email_changed") && events.contains(&"email_change_requested"), "{events:?}");
}

/// An access token alone changes nothing: the password is asked, a wrong one counts toward
/// the lockout (and asking again and again ends in the lock), and no code leaves meanwhile.
#[tokio::test]
async fn the_change_needs_the_password_and_wrong_ones_lock_the_account() {
    let app = TestApp::spawn().await;
    let (old, new) = (unique_email("change-guess"), unique_email("change-guess-new"));
    let session = app.sign_up(&old).await;
    let missing = ask_change(&app, &session, json!({"new_email": new})).await;
    assert_eq!((missing.status, missing.error()), (400, "validation_failed"));
    assert!(missing.body["fields"]["password"].is_array(), "{}", missing.text);
    let mut last = missing;
    for _ in 0..6 {
        last = ask_change(&app, &session, json!({"new_email": new, "password": "Wrong-Horse-7-Battery"})).await;
        if last.status != 401 {
            break;
        }
        assert_eq!(last.error(), "invalid_credentials");
    }
    assert_eq!((last.status, last.error()), (423, "account_locked"), "{}", last.text);
    let right = ask_change(&app, &session, json!({"new_email": new, "password": PASSWORD})).await;
    assert_eq!((right.status, right.error()), (423, "account_locked"), "the right password does not get past the lock");
    assert!(app.mails_to(&new).await.is_empty(), "no code left");
}

/// With Google Authenticator on, the password is not enough: a current code is asked, and used.
#[tokio::test]
async fn with_an_authenticator_the_change_needs_its_code_too() {
    let app = TestApp::spawn().await;
    let account = enrolled(&app, "change-mfa").await;
    let new = unique_email("change-mfa-new");
    let without = ask_change(&app, &account.session, json!({"new_email": new, "password": PASSWORD})).await;
    assert_eq!((without.status, without.error()), (400, "validation_failed"));
    let wrong = json!({"new_email": new, "password": PASSWORD, "code": "000000"});
    let wrong = ask_change(&app, &account.session, wrong).await;
    assert_eq!((wrong.status, wrong.error()), (401, "invalid_credentials"));
    assert!(app.mails_to(&new).await.is_empty());
    let code = totp_code(&app, &account.email, &account.secret, 1); // the enrolment used this step's
    let right = ask_change(&app, &account.session, json!({"new_email": new, "password": PASSWORD, "code": code})).await;
    assert_eq!(right.status, 202, "{}", right.text);
    let again = ask_change(&app, &account.session, json!({"new_email": new, "password": PASSWORD, "code": code})).await;
    assert_eq!((again.status, again.error()), (401, "invalid_credentials"), "the authenticator code worked once");
    let mailed = app.last_code(&new).await;
    let done = verify_change(&app, &account.session, json!({"new_email": new, "code": mailed})).await;
    assert_eq!(done.status, 200, "{}", done.text);
}

/// An address that has an account gets a notice, never a code, and the requester's answer is
/// the same as for a free address; the other account is untouched.
#[tokio::test]
async fn an_address_with_an_account_gets_a_notice_and_the_same_answer() {
    let app = TestApp::spawn().await;
    let (mine, theirs, free) = (unique_email("taken-me"), unique_email("taken-them"), unique_email("taken-free"));
    let session = app.sign_up(&mine).await;
    app.sign_up(&theirs).await;
    let to_taken = ask_change(&app, &session, json!({"new_email": theirs, "password": PASSWORD})).await;
    let to_free = ask_change(&app, &session, json!({"new_email": free, "password": PASSWORD})).await;
    assert_eq!((to_taken.status, &to_taken.text), (to_free.status, &to_free.text));
    let notice = app.mails_to(&theirs).await.pop().expect("a notice to the address's owner");
    assert!(find_code(&notice.body).is_none(), "no code: {}", notice.body);
    for guess in ["000000", "123456"] {
        let refused = verify_change(&app, &session, json!({"new_email": theirs, "code": guess})).await;
        assert_eq!((refused.status, refused.error()), (400, "invalid_code"));
    }
    app.log_in(&theirs).await;
}

/// A code is bound to the change it was asked for and the account's state then: logout-all
/// kills it; another account cannot use it; the current address is refused as a "change".
#[tokio::test]
async fn a_pending_change_dies_with_logout_all_and_serves_no_one_else() {
    let app = TestApp::spawn().await;
    let (mine, new) = (unique_email("bound-me"), unique_email("bound-new"));
    let session = app.sign_up(&mine).await;
    let same = ask_change(&app, &session, json!({"new_email": mine, "password": PASSWORD})).await;
    assert_eq!((same.status, same.error()), (400, "validation_failed"));

    assert_eq!(ask_change(&app, &session, json!({"new_email": new, "password": PASSWORD})).await.status, 202);
    let code = app.last_code(&new).await;
    let thief = app.sign_up(&unique_email("bound-thief")).await;
    let stolen = verify_change(&app, &thief, json!({"new_email": new, "code": code})).await;
    assert_eq!((stolen.status, stolen.error()), (400, "invalid_code"), "another account cannot use it");

    app.clock.advance(61);
    assert_eq!(ask_change(&app, &session, json!({"new_email": new, "password": PASSWORD})).await.status, 202);
    let code = app.last_code(&new).await;
    let all = app
        .request(
            "POST",
            "/auth/logout/all",
            Value::Null,
            &[("authorization", &format!("Bearer {}", session.str("access_token")))],
        )
        .await;
    assert_eq!(all.status, 200);
    let fresh = app.log_in(&mine).await;
    let dead = verify_change(&app, &fresh, json!({"new_email": new, "code": code})).await;
    assert_eq!((dead.status, dead.error()), (400, "invalid_code"), "logout-all killed the pending change");
    assert_eq!(app.get_as("/users/me", &fresh.str("access_token")).await.body["email"], mine);
}

/// An account without a password proves itself by a second code, mailed to its current
/// address; without it, or with a wrong one, nothing changes.
#[tokio::test]
async fn an_account_without_a_password_confirms_by_its_current_address() {
    let app = TestApp::spawn().await;
    let (old, session) = passwordless(&app, "nopw").await;
    let new = unique_email("nopw-new");
    let with_password = ask_change(&app, &session, json!({"new_email": new, "password": PASSWORD})).await;
    assert_eq!((with_password.status, with_password.error()), (400, "validation_failed"));
    let asked = ask_change(&app, &session, json!({"new_email": new})).await;
    assert_eq!(asked.status, 202, "{}", asked.text);
    let code = app.last_code(&new).await;
    let current = app.last_code(&old).await;
    assert!(subjects(&app, &old).await.last().unwrap().contains("confirmation"));

    let without = verify_change(&app, &session, json!({"new_email": new, "code": code})).await;
    assert_eq!((without.status, without.error()), (400, "validation_failed"));
    let done = verify_change(&app, &session, json!({"new_email": new, "code": code, "current_code": current})).await;
    assert_eq!(done.status, 200, "{}", done.text);
    assert_eq!(done.body["user"]["email"], new);
}

/// Two accounts can never hold one address: the same code sent fifty times at once changes
/// the address once; a sign-up of the address racing the change leaves one owner.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_for_one_address_leaves_one_owner() {
    let app = std::sync::Arc::new(TestApp::spawn().await);
    let (mine, new) = (unique_email("race-me"), unique_email("race-new"));
    let session = app.sign_up(&mine).await;
    assert_eq!(ask_change(&app, &session, json!({"new_email": new, "password": PASSWORD})).await.status, 202);
    let code = app.last_code(&new).await;
    // A sign-up of the new address, proven and waiting for its password, races the change.
    let signup_token = app.verified_signup("Racer", &new).await;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..50 {
        let (app, token, code, new, signup_token) =
            (app.clone(), session.str("access_token"), code.clone(), new.clone(), signup_token.clone());
        tasks.spawn(async move {
            if i == 25 {
                let body = json!({"signup_token": signup_token, "password": PASSWORD, "confirm_password": PASSWORD});
                ("signup", app.post("/auth/signup/complete", body).await)
            } else {
                (
                    "change",
                    post_as(&app, "/users/me/email/verify", &token, json!({"new_email": new, "code": code})).await,
                )
            }
        });
    }
    let answers = tasks.join_all().await;
    let changed = answers.iter().filter(|(what, a)| *what == "change" && a.status == 200).count();
    let signed_up = answers.iter().filter(|(what, a)| *what == "signup" && a.status == 201).count();
    assert!(answers.iter().all(|(_, a)| a.status < 500), "no 500");
    assert_eq!(changed + signed_up, 1, "one owner: {changed} changes, {signed_up} sign-ups");
    let owner = app.log_in(&new).await;
    let expected = if changed == 1 { "Test User" } else { "Racer" };
    assert_eq!(owner.body["user"]["name"], expected);
}

async fn delete_me(app: &TestApp, session: &Answer, body: Value) -> Answer {
    let auth = format!("Bearer {}", session.str("access_token"));
    app.request("DELETE", "/users/me", body, &[("authorization", &auth)]).await
}

/// The password deletes the account: every session dies, the items go, a mail confirms it,
/// and the address signs up again as a new account.
#[tokio::test]
async fn deleting_the_account_takes_its_items_and_frees_the_address() {
    let app = TestApp::spawn().await;
    let email = unique_email("delete");
    let first = app.sign_up(&email).await;
    let second = app.log_in(&email).await;
    let user_id = first.body["user"]["id"].as_str().unwrap().to_owned();

    let wrong = delete_me(&app, &second, json!({"password": "Wrong-Horse-7-Battery"})).await;
    assert_eq!((wrong.status, wrong.error()), (401, "invalid_credentials"));
    let missing = delete_me(&app, &second, json!({})).await;
    assert_eq!((missing.status, missing.error()), (400, "validation_failed"));
    let deleted = delete_me(&app, &second, json!({"password": PASSWORD})).await;
    assert_eq!(deleted.status, 200, "{}", deleted.text);
    assert!(deleted.cookies().iter().any(|c| c.starts_with("__Host-stepauth_access=;")));
    assert!(subjects(&app, &email).await.last().unwrap().contains("account was deleted"));

    for session in [&first, &second] {
        // Looked at before any refresh, which would delete a session whose user is gone.
        let id = session.str("refresh_token").split_once('.').unwrap().0.to_owned();
        assert_eq!(app.app.store.session(&id, 0).await.unwrap(), None, "the session item is gone");
        assert_eq!(app.get_as("/users/me", &session.str("access_token")).await.status, 401);
        let refresh = app.post("/auth/token/refresh", json!({"refresh_token": session.str("refresh_token")})).await;
        assert_eq!(refresh.status, 401);
    }
    let store = &app.app.store;
    assert_eq!(store.user(&user_id).await.unwrap(), None);
    let address = Email::parse(&email).unwrap();
    assert_eq!(store.user_by_email(&address).await.unwrap(), None, "no claim is left");
    assert!(store.activity(&user_id, 0, 100, None).await.unwrap().items.is_empty(), "the activity is gone");
    assert_eq!(store.failures(std::slice::from_ref(&address), 0).await.unwrap(), vec![0], "the lockout counter too");
    let login = app.post("/auth/login", json!({"email": email, "password": PASSWORD})).await;
    assert_eq!((login.status, login.error()), (401, "invalid_credentials"));

    app.clock.advance(61);
    let again = app.sign_up(&email).await;
    assert_ne!(again.body["user"]["id"], json!(user_id), "a new account");
}

/// With Google Authenticator on, the password is not enough.
#[tokio::test]
async fn deleting_needs_the_second_factor_when_it_is_on() {
    let app = TestApp::spawn().await;
    let account = enrolled(&app, "delete-mfa").await;
    let without = delete_me(&app, &account.session, json!({"password": PASSWORD})).await;
    assert_eq!((without.status, without.error()), (400, "validation_failed"));
    let wrong = delete_me(&app, &account.session, json!({"password": PASSWORD, "code": "000000"})).await;
    assert_eq!((wrong.status, wrong.error()), (401, "invalid_credentials"));
    let recovery = &account.recovery_codes[0];
    let done = delete_me(&app, &account.session, json!({"password": PASSWORD, "recovery_code": recovery})).await;
    assert_eq!(done.status, 200, "{}", done.text);
}

/// An account without a password asks for a code to its address, then deletes with it; the
/// code is bound to the account's state: after logout-all it no longer deletes.
#[tokio::test]
async fn an_account_without_a_password_deletes_with_a_code_to_its_address() {
    let app = TestApp::spawn().await;
    let (email, session) = passwordless(&app, "delete-nopw").await;
    let asked = delete_me(&app, &session, json!({})).await;
    assert_eq!(asked.status, 202, "{}", asked.text);
    let code = app.last_code(&email).await;
    let auth = format!("Bearer {}", session.str("access_token"));
    assert_eq!(app.request("POST", "/auth/logout/all", Value::Null, &[("authorization", &auth)]).await.status, 200);
    app.clock.advance(61);
    let asked = app.post("/auth/login/code", json!({"email": email})).await;
    assert_eq!(asked.status, 202);
    let fresh = app.post("/auth/login/code/verify", json!({"email": email, "code": app.last_code(&email).await})).await;
    let stale = delete_me(&app, &fresh, json!({"email_code": code})).await;
    assert_eq!((stale.status, stale.error()), (400, "invalid_code"), "logout-all killed the code");

    app.clock.advance(61);
    assert_eq!(delete_me(&app, &fresh, json!({})).await.status, 202);
    let code = app.last_code(&email).await;
    let wrong =
        delete_me(&app, &fresh, json!({"email_code": if code == "000000" { "111111" } else { "000000" }})).await;
    assert_eq!((wrong.status, wrong.error()), (400, "invalid_code"));
    let done = delete_me(&app, &fresh, json!({"email_code": code})).await;
    assert_eq!(done.status, 200, "{}", done.text);
    assert_eq!(app.get_as("/users/me", &fresh.str("access_token")).await.status, 401);
}

/// A deletion racing refreshes of another session leaves no token working, and no 500.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deletion_during_refreshes_leaves_nothing_alive() {
    let app = std::sync::Arc::new(TestApp::spawn().await);
    let email = unique_email("delete-race");
    let other = app.sign_up(&email).await;
    let mine = app.log_in(&email).await;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..20 {
        let (app, mine, refresh) = (app.clone(), mine.str("access_token"), other.str("refresh_token"));
        tasks.spawn(async move {
            if i == 10 {
                let auth = format!("Bearer {mine}");
                app.request("DELETE", "/users/me", json!({"password": PASSWORD}), &[("authorization", &auth)]).await
            } else {
                app.post("/auth/token/refresh", json!({"refresh_token": refresh})).await
            }
        });
    }
    let answers = tasks.join_all().await;
    assert!(answers.iter().all(|a| a.status < 500), "no 500");
    assert!(answers.iter().any(|a| a.text.contains("account is deleted")), "the deletion went through");
    for answer in answers.iter().filter(|a| a.body.get("refresh_token").is_some()) {
        let next = app.post("/auth/token/refresh", json!({"refresh_token": answer.str("refresh_token")})).await;
        assert_eq!(next.status, 401, "a token the race gave out is dead");
        assert_eq!(app.get_as("/users/me", &answer.str("access_token")).await.status, 401);
    }
}
