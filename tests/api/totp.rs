//! Google Authenticator end to end (docs/SECURITY.md, "Second factor"), codes computed from the secret
//! the API hands out, the QR decoded back to the otpauth URI.

use base64::Engine as _;
use serde_json::{Value, json};
use stepauth::config::Config;
use stepauth_tests::{PASSWORD, TestApp, enrolled, post_as, totp_code as code, unique_email};

/// Logs in with the password: the MFA token.
async fn mfa_token(app: &TestApp, email: &str) -> String {
    let login = app.post("/auth/login", json!({"email": email, "password": PASSWORD})).await;
    assert_eq!((login.status, login.body["mfa_required"].as_bool()), (200, Some(true)), "{}", login.text);
    login.str("mfa_token")
}

fn decode_qr(data_url: &str) -> String {
    let png = base64::engine::general_purpose::STANDARD
        .decode(data_url.strip_prefix("data:image/png;base64,").expect("a PNG data URL"))
        .expect("base64");
    let mut decoder = png::Decoder::new(std::io::Cursor::new(png));
    decoder.set_transformations(png::Transformations::EXPAND); // one bit a pixel → one byte
    let mut reader = decoder.read_info().expect("a PNG");
    let mut pixels = vec![0; reader.output_buffer_size().expect("a size")];
    let info = reader.next_frame(&mut pixels).expect("a frame");
    assert_eq!(info.color_type, png::ColorType::Grayscale);
    let (w, h) = (info.width as usize, info.height as usize);
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| pixels[y * w + x]);
    let grids = image.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code");
    grids[0].decode().expect("a readable QR code").1
}

#[tokio::test]
async fn enrol_confirm_logout_login_and_verify() {
    let app = TestApp::spawn().await;
    let email = unique_email("totp");
    let other = app.sign_up(&email).await;
    let this = app.log_in(&email).await;
    let token = this.str("access_token");

    let setup = post_as(&app, "/auth/totp/setup", &token, json!({"password": PASSWORD})).await;
    assert_eq!(setup.status, 200, "{}", setup.text);
    assert_eq!(setup.headers["cache-control"], "no-store");
    let (uri, secret) = (setup.str("otpauth_uri"), setup.str("secret"));
    assert_eq!(decode_qr(&setup.str("qr_code_url")), uri, "the QR is the otpauth URI");
    assert!(uri.starts_with("otpauth://totp/stepauth:") && uri.contains("issuer=stepauth"), "{uri}");
    assert!(uri.contains(&format!("secret={secret}")) && !uri.contains("algorithm=SHA256"));
    assert_eq!(base32_len(&secret), 20, "160 bits");

    let again = post_as(&app, "/auth/totp/setup", &token, json!({"password": PASSWORD})).await;
    let replaced = again.str("secret");
    assert_ne!(replaced, secret, "setup again replaces the pending secret");
    let stale = post_as(&app, "/auth/totp/confirm", &token, json!({"code": code(&app, &email, &secret, 0)})).await;
    assert_eq!(stale.error(), "invalid_code", "the replaced secret no longer confirms");
    let confirmed =
        post_as(&app, "/auth/totp/confirm", &token, json!({"code": code(&app, &email, &replaced, 0)})).await;
    assert_eq!(confirmed.status, 200, "{}", confirmed.text);
    assert_eq!(confirmed.body["recovery_codes"].as_array().map(Vec::len), Some(10));
    assert_eq!(app.get_as("/users/me", &other.str("access_token")).await.status, 401, "other sessions end");
    let fresh = confirmed.str("access_token");
    assert_eq!(app.get_as("/users/me", &fresh).await.body["mfa_enabled"], true);
    let active = post_as(&app, "/auth/totp/setup", &fresh, json!({"password": PASSWORD})).await;
    assert_eq!((active.status, active.error()), (409, "mfa_already_enabled"), "never replaces an active secret");

    app.post("/auth/logout", json!({"refresh_token": confirmed.str("refresh_token")})).await;
    let login = app.post("/auth/login", json!({"email": email, "password": PASSWORD})).await;
    assert_eq!(
        (login.status, login.body["mfa_required"].as_bool(), login.body["expires_in"].as_u64()),
        (200, Some(true), Some(300))
    );
    assert!(
        login.body.get("access_token").is_none() && login.cookies().is_empty(),
        "no session before the second factor"
    );
    app.clock.advance(30);
    let session = app
        .post(
            "/auth/mfa/verify",
            json!({"mfa_token": login.str("mfa_token"), "code": code(&app, &email, &replaced, 0)}),
        )
        .await;
    assert_eq!(session.status, 200, "{}", session.text);
    assert!(session.cookie("__Host-stepauth_access").is_some());
    assert_eq!(app.get_as("/users/me", &session.str("access_token")).await.status, 200);
}

fn base32_len(secret: &str) -> usize {
    secret.trim_end_matches('=').len() * 5 / 8
}

#[tokio::test]
async fn codes_work_once_and_only_within_one_step_of_skew() {
    // Three wrong codes here: more than the default lockout allows across fresh logins.
    let app = TestApp::spawn_with(Config { max_login_failures: 10, ..Config::default() }).await;
    let user = enrolled(&app, "totp-replay").await;
    app.clock.advance(90);
    let used = code(&app, &user.email, &user.secret, 0);
    let first =
        app.post("/auth/mfa/verify", json!({"mfa_token": mfa_token(&app, &user.email).await, "code": used})).await;
    assert_eq!(first.status, 200, "{}", first.text);
    let replay =
        app.post("/auth/mfa/verify", json!({"mfa_token": mfa_token(&app, &user.email).await, "code": used})).await;
    assert_eq!((replay.status, replay.error()), (400, "invalid_code"), "a used code is refused");
    let older = code(&app, &user.email, &user.secret, -1);
    let previous =
        app.post("/auth/mfa/verify", json!({"mfa_token": mfa_token(&app, &user.email).await, "code": older})).await;
    assert_eq!(previous.error(), "invalid_code", "so is any code of a step not newer than the last accepted");

    app.clock.advance(120);
    let two_old = code(&app, &user.email, &user.secret, -2);
    let stale =
        app.post("/auth/mfa/verify", json!({"mfa_token": mfa_token(&app, &user.email).await, "code": two_old})).await;
    assert_eq!(stale.error(), "invalid_code", "two steps old is too old");
    let one_old = code(&app, &user.email, &user.secret, -1);
    let skewed =
        app.post("/auth/mfa/verify", json!({"mfa_token": mfa_token(&app, &user.email).await, "code": one_old})).await;
    assert_eq!(skewed.status, 200, "one step of skew is accepted: {}", skewed.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_uses_of_one_code_give_one_session() {
    let app = std::sync::Arc::new(TestApp::spawn_with(Config { max_login_failures: 100, ..Config::default() }).await);
    let user = enrolled(&app, "totp-race").await;
    app.clock.advance(30);
    let valid = code(&app, &user.email, &user.secret, 0);
    let mut tokens = Vec::new();
    for _ in 0..50 {
        tokens.push(mfa_token(&app, &user.email).await);
    }
    let mut tasks = tokio::task::JoinSet::new();
    for token in tokens {
        let (app, valid) = (app.clone(), valid.clone());
        tasks.spawn(
            async move { app.post("/auth/mfa/verify", json!({"mfa_token": token, "code": valid})).await.status },
        );
    }
    let statuses = tasks.join_all().await;
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
}

#[tokio::test]
async fn recovery_codes_work_once_each() {
    let app = TestApp::spawn().await;
    let user = enrolled(&app, "totp-recovery").await;
    let code = user.recovery_codes[3].to_uppercase();
    let first = app
        .post("/auth/mfa/verify", json!({"mfa_token": mfa_token(&app, &user.email).await, "recovery_code": code}))
        .await;
    assert_eq!(first.status, 200, "{}", first.text);
    let second = app
        .post("/auth/mfa/verify", json!({"mfa_token": mfa_token(&app, &user.email).await, "recovery_code": code}))
        .await;
    assert_eq!(second.error(), "invalid_code", "a recovery code works once");
    let other = app
        .post(
            "/auth/mfa/verify",
            json!({"mfa_token": mfa_token(&app, &user.email).await, "recovery_code": user.recovery_codes[4]}),
        )
        .await;
    assert_eq!(other.status, 200, "the others still work");
    let log = app.get_as("/users/me/activity?limit=1", &other.str("access_token")).await;
    assert_eq!(log.body["items"][0]["method"], "password+recovery_code", "{}", log.text);
}

#[tokio::test]
async fn mfa_and_access_tokens_are_not_interchangeable() {
    let app = TestApp::spawn().await;
    let user = enrolled(&app, "totp-tokens").await;
    let mfa = mfa_token(&app, &user.email).await;
    let as_access = app.get_as("/users/me", &mfa).await;
    assert_eq!((as_access.status, as_access.error()), (401, "invalid_token"), "an MFA token is no access token");
    let access = user.session.str("access_token");
    app.clock.advance(30);
    let as_mfa = app
        .post("/auth/mfa/verify", json!({"mfa_token": access, "code": code(&app, &user.email, &user.secret, 0)}))
        .await;
    assert_eq!((as_mfa.status, as_mfa.error()), (401, "invalid_mfa_token"), "an access token is no MFA token");
    let refresh =
        app.post("/auth/mfa/verify", json!({"mfa_token": user.session.str("refresh_token"), "code": "123456"})).await;
    assert_eq!(refresh.error(), "invalid_mfa_token");
}

#[tokio::test]
async fn mfa_tokens_expire_and_allow_few_tries() {
    let app = TestApp::spawn_with(Config { max_login_failures: 100, ..Config::default() }).await;
    let user = enrolled(&app, "totp-token-life").await;
    let token = mfa_token(&app, &user.email).await;
    for _ in 0..5 {
        let wrong = app.post("/auth/mfa/verify", json!({"mfa_token": token, "code": "000000"})).await;
        assert_eq!(wrong.error(), "invalid_code");
    }
    app.clock.advance(30);
    let right = app
        .post("/auth/mfa/verify", json!({"mfa_token": token, "code": code(&app, &user.email, &user.secret, 0)}))
        .await;
    assert_eq!(right.error(), "invalid_mfa_token", "five tries per token");
    let late = mfa_token(&app, &user.email).await;
    app.clock.advance(300);
    let expired = app
        .post("/auth/mfa/verify", json!({"mfa_token": late, "code": code(&app, &user.email, &user.secret, 0)}))
        .await;
    assert_eq!(expired.error(), "invalid_mfa_token", "five minutes");
}

#[tokio::test]
async fn totp_failures_count_toward_the_lockout() {
    let app = TestApp::spawn().await;
    let user = enrolled(&app, "totp-lock").await;
    let token = mfa_token(&app, &user.email).await;
    let wrong = |remaining: u64| (400, "invalid_code".to_owned(), Some(remaining));
    for remaining in [2, 1] {
        let answer = app.post("/auth/mfa/verify", json!({"mfa_token": token, "code": "000000"})).await;
        assert_eq!(
            (answer.status, answer.error().to_owned(), answer.body["attempts_remaining"].as_u64()),
            wrong(remaining)
        );
    }
    let locked = app.post("/auth/mfa/verify", json!({"mfa_token": token, "code": "000000"})).await;
    assert_eq!(locked.status, 423);
    let password = app.post("/auth/login", json!({"email": user.email, "password": PASSWORD})).await;
    assert_eq!(password.status, 423, "the lock covers every login path");
}

/// The attacker who knows the password starts over: a fresh password login (and MFA token)
/// before every wrong second factor, authenticator and recovery codes in turn. The count
/// still reaches the lock at the configured number, and the owner is told.
#[tokio::test]
async fn logging_in_again_buys_no_more_second_factor_guesses() {
    let app = TestApp::spawn().await;
    let user = enrolled(&app, "totp-relogin").await;
    let mut answers = Vec::new();
    for round in 0..6 {
        let login = app.post("/auth/login", json!({"email": user.email, "password": PASSWORD})).await;
        if login.status != 200 {
            answers.push((login.status, "login"));
            continue;
        }
        let factor = if round % 2 == 0 { ("code", "000000") } else { ("recovery_code", "aaaaa-bbbbb") };
        let body = json!({"mfa_token": login.str("mfa_token"), factor.0: factor.1});
        let wrong = app.post("/auth/mfa/verify", body).await;
        answers.push((wrong.status, "verify"));
    }
    assert_eq!(
        answers,
        [(400, "verify"), (400, "verify"), (423, "verify"), (423, "login"), (423, "login"), (423, "login")]
    );
    let mails = app.mails_to(&user.email).await;
    assert!(mails.iter().any(|m| m.subject.contains("locked")), "the owner gets the lock mail");
    app.clock.advance(30);
    let by_code = app.post("/auth/login/code/verify", json!({"email": user.email, "code": "123456"})).await;
    assert_eq!(by_code.status, 423, "and every other way in is locked too");
}

/// The same, eight attackers at once, each logging in afresh before every wrong code: at
/// most the configured number of wrong codes is ever checked (two answered "invalid", the
/// third locks), and the account ends locked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_fresh_logins_buy_no_more_second_factor_guesses() {
    let app = std::sync::Arc::new(TestApp::spawn().await);
    let user = enrolled(&app, "totp-relogin-race").await;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let (app, email) = (app.clone(), user.email.clone());
        tasks.spawn(async move {
            let mut checked = Vec::new();
            for _ in 0..6 {
                let login = app.post("/auth/login", json!({"email": email, "password": PASSWORD})).await;
                if login.status != 200 {
                    continue;
                }
                let wrong =
                    app.post("/auth/mfa/verify", json!({"mfa_token": login.str("mfa_token"), "code": "000000"}));
                let status = wrong.await.status;
                checked.push(status);
                if status == 423 {
                    break;
                }
            }
            checked
        });
    }
    let statuses: Vec<u16> = tasks.join_all().await.into_iter().flatten().collect();
    assert!(statuses.iter().filter(|s| **s == 400).count() <= 2, "{statuses:?}");
    let login = app.post("/auth/login", json!({"email": user.email, "password": PASSWORD})).await;
    assert_eq!(login.status, 423, "{statuses:?}");
}

#[tokio::test]
async fn login_by_emailed_code_also_asks_for_the_authenticator() {
    let app = TestApp::spawn().await;
    let user = enrolled(&app, "totp-code-login").await;
    app.post("/auth/login/code", json!({"email": user.email})).await;
    let emailed = app.last_code(&user.email).await;
    let answer = app.post("/auth/login/code/verify", json!({"email": user.email, "code": emailed})).await;
    assert_eq!((answer.status, answer.body["mfa_required"].as_bool()), (200, Some(true)), "{}", answer.text);
    assert!(answer.body.get("access_token").is_none());
    app.clock.advance(30);
    let session = app
        .post(
            "/auth/mfa/verify",
            json!({"mfa_token": answer.str("mfa_token"), "code": code(&app, &user.email, &user.secret, 0)}),
        )
        .await;
    assert_eq!(session.status, 200);
    let log = app.get_as("/users/me/activity?limit=1", &session.str("access_token")).await;
    assert_eq!(log.body["items"][0]["method"], "email_code+authenticator", "{}", log.text);
}

#[tokio::test]
async fn disabling_needs_the_password_and_a_second_factor() {
    let app = TestApp::spawn_with(Config { max_login_failures: 10, ..Config::default() }).await;
    let user = enrolled(&app, "totp-disable").await;
    let token = user.session.str("access_token");
    let no_factor = post_as(&app, "/auth/totp/disable", &token, json!({"password": PASSWORD})).await;
    assert_eq!((no_factor.status, no_factor.error()), (400, "validation_failed"), "{}", no_factor.text);
    let no_password = post_as(&app, "/auth/totp/disable", &token, json!({"code": "123456"})).await;
    assert_eq!(no_password.error(), "validation_failed");
    app.clock.advance(30);
    let wrong_password = post_as(
        &app,
        "/auth/totp/disable",
        &token,
        json!({"password": "Wrong-Password-1", "code": code(&app, &user.email, &user.secret, 0)}),
    )
    .await;
    assert_eq!(wrong_password.error(), "invalid_credentials");
    let wrong_code = post_as(&app, "/auth/totp/disable", &token, json!({"password": PASSWORD, "code": "000000"})).await;
    assert_eq!(wrong_code.error(), "invalid_credentials");
    assert_eq!(app.get_as("/users/me", &token).await.body["mfa_enabled"], true, "still on");

    app.clock.advance(30);
    let off = post_as(
        &app,
        "/auth/totp/disable",
        &token,
        json!({"password": PASSWORD, "code": code(&app, &user.email, &user.secret, 0)}),
    )
    .await;
    assert_eq!(off.status, 200, "{}", off.text);
    assert!(app.mails_to(&user.email).await.last().expect("a mail").subject.contains("turned off"));
    let login = app.log_in(&user.email).await;
    assert!(login.body.get("access_token").is_some(), "no second step any more");
    let again = post_as(
        &app,
        "/auth/totp/disable",
        &login.str("access_token"),
        json!({"password": PASSWORD, "code": "123456"}),
    )
    .await;
    assert_eq!((again.status, again.error()), (409, "mfa_not_enabled"));
}

#[tokio::test]
async fn confirm_needs_a_pending_secret_and_a_right_code() {
    let app = TestApp::spawn().await;
    let email = unique_email("totp-confirm");
    let token = app.sign_up(&email).await.str("access_token");
    let early = post_as(&app, "/auth/totp/confirm", &token, json!({"code": "123456"})).await;
    assert_eq!((early.status, early.error()), (409, "mfa_setup_required"));
    let secret = post_as(&app, "/auth/totp/setup", &token, json!({"password": PASSWORD})).await.str("secret");
    let wrong = post_as(&app, "/auth/totp/confirm", &token, json!({"code": "12345"})).await;
    assert_eq!(wrong.error(), "validation_failed");
    let far = post_as(&app, "/auth/totp/confirm", &token, json!({"code": code(&app, &email, &secret, 3)})).await;
    assert_eq!(far.error(), "invalid_code");
    assert_eq!(app.get_as("/users/me", &token).await.body["mfa_enabled"], false, "pending until confirmed");
    let login = app.log_in(&email).await;
    assert!(login.body.get("access_token").is_some(), "a pending secret does not ask for codes");
}

#[test]
fn the_documented_code_helper_matches_rfc_6238() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/totp-code");
    // RFC 6238 Appendix B's SHA-1 secret, "12345678901234567890", in base32.
    let secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
    for (time, code) in [(59, "287082"), (1_111_111_109, "081804"), (2_000_000_000, "279037")] {
        let output = std::process::Command::new("python3")
            .args([script, secret, "0", &time.to_string()])
            .output()
            .expect("python3 runs the helper");
        assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), code, "t = {time}");
    }
}

/// An MFA token is bound to the state it was issued in: logout-all, a password reset or
/// change, and the authenticator turned off (and on again) each kill a pending one.
#[tokio::test]
async fn pending_mfa_tokens_die_with_everything_that_ends_sessions() {
    let app = TestApp::spawn().await;
    let user = enrolled(&app, "totp-token-bound").await;
    let access = user.session.str("access_token");
    let verify = |token: String, offset: i64| {
        let body = json!({"mfa_token": token, "code": code(&app, &user.email, &user.secret, offset)});
        app.post("/auth/mfa/verify", body)
    };

    let pending = mfa_token(&app, &user.email).await;
    let all = post_as(&app, "/auth/logout/all", &access, Value::Null).await;
    assert_eq!(all.status, 200, "{}", all.text);
    app.clock.advance(30);
    let answer = verify(pending, 0).await;
    assert_eq!((answer.status, answer.error()), (401, "invalid_mfa_token"), "logout-all kills it");

    let pending = mfa_token(&app, &user.email).await;
    let other = mfa_token(&app, &user.email).await;
    app.clock.advance(30);
    let session = verify(other, 0).await;
    assert_eq!(session.status, 200, "{}", session.text);
    let change =
        json!({"current_password": PASSWORD, "password": "Changed-Horse-8!", "confirm_password": "Changed-Horse-8!"});
    let changed = post_as(&app, "/auth/password/change", &session.str("access_token"), change).await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    app.clock.advance(30);
    assert_eq!(verify(pending, 0).await.error(), "invalid_mfa_token", "a password change kills it");

    let login = app.post("/auth/login", json!({"email": user.email, "password": "Changed-Horse-8!"})).await;
    let pending = login.str("mfa_token");
    app.post("/auth/password/forgot", json!({"email": user.email})).await;
    let emailed = app.last_code(&user.email).await;
    let reset_token =
        app.post("/auth/password/verify", json!({"email": user.email, "code": emailed})).await.str("reset_token");
    let new = "Reset-Horse-9-Battery";
    let body = json!({"reset_token": reset_token, "password": new, "confirm_password": new});
    assert_eq!(app.post("/auth/password/reset", body).await.status, 200);
    app.clock.advance(30);
    assert_eq!(verify(pending, 0).await.error(), "invalid_mfa_token", "a reset kills it");

    let login = app.post("/auth/login", json!({"email": user.email, "password": new})).await;
    let pending = login.str("mfa_token");
    let other = app.post("/auth/login", json!({"email": user.email, "password": new})).await.str("mfa_token");
    app.clock.advance(30);
    let session = verify(other, 0).await;
    app.clock.advance(30);
    let off = json!({"password": new, "code": code(&app, &user.email, &user.secret, 0)});
    let disabled = post_as(&app, "/auth/totp/disable", &session.str("access_token"), off).await;
    assert_eq!(disabled.status, 200, "{}", disabled.text);
    app.clock.advance(30);
    assert_eq!(verify(pending, 0).await.error(), "invalid_mfa_token", "turning the authenticator off kills it");
}

/// A stolen access token alone cannot put the thief's authenticator on the account: enrolling
/// needs the current password, and wrong ones count toward the lockout (across fresh setups
/// too). Turning it on mails the owner.
#[tokio::test]
async fn enrolling_needs_the_current_password_and_tells_the_owner() {
    let app = TestApp::spawn().await;
    let email = unique_email("totp-stolen");
    let token = app.sign_up(&email).await.str("access_token");
    let bare = post_as(&app, "/auth/totp/setup", &token, Value::Null).await;
    assert_eq!((bare.status, bare.error()), (400, "invalid_json"), "{}", bare.text);
    let empty = post_as(&app, "/auth/totp/setup", &token, json!({})).await;
    assert_eq!((empty.status, empty.error()), (400, "validation_failed"), "{}", empty.text);
    for remaining in [2, 1] {
        let wrong = post_as(&app, "/auth/totp/setup", &token, json!({"password": "Not-The-Password-1"})).await;
        assert_eq!((wrong.status, wrong.body["attempts_remaining"].as_u64()), (401, Some(remaining)), "{}", wrong.text);
    }
    let locked = post_as(&app, "/auth/totp/setup", &token, json!({"password": "Not-The-Password-1"})).await;
    assert_eq!(locked.status, 423, "guessing the password here locks the account as a login would");
    assert_eq!(app.post("/auth/login", json!({"email": email, "password": PASSWORD})).await.status, 423);

    let email = unique_email("totp-owner");
    let token = app.sign_up(&email).await.str("access_token");
    let setup = post_as(&app, "/auth/totp/setup", &token, json!({"password": PASSWORD})).await;
    assert_eq!(setup.status, 200, "{}", setup.text);
    let confirmed =
        post_as(&app, "/auth/totp/confirm", &token, json!({"code": code(&app, &email, &setup.str("secret"), 0)})).await;
    assert_eq!(confirmed.status, 200, "{}", confirmed.text);
    let mails = app.mails_to(&email).await;
    assert!(mails.iter().any(|m| m.subject.contains("Google Authenticator was turned on")), "the owner is told");
}

/// Turning the authenticator off ends every other session (this one gets fresh tokens) and
/// mails the owner; logging in with a recovery code mails the owner too.
#[tokio::test]
async fn turning_it_off_ends_other_sessions_and_recovery_codes_tell_the_owner() {
    let app = TestApp::spawn().await;
    let user = enrolled(&app, "totp-off-sessions").await;
    app.clock.advance(30);
    let other = app
        .post(
            "/auth/mfa/verify",
            json!({"mfa_token": mfa_token(&app, &user.email).await, "recovery_code": user.recovery_codes[0]}),
        )
        .await;
    assert_eq!(other.status, 200, "{}", other.text);
    let mails = app.mails_to(&user.email).await;
    let notice = mails.iter().find(|m| m.subject.contains("recovery code was used")).expect("a recovery-code mail");
    assert!(notice.body.contains("9 unused recovery codes are left"), "{}", notice.body);

    let off = json!({"password": PASSWORD, "code": code(&app, &user.email, &user.secret, 0)});
    let disabled = post_as(&app, "/auth/totp/disable", &user.session.str("access_token"), off).await;
    assert_eq!(disabled.status, 200, "{}", disabled.text);
    assert_eq!(app.get_as("/users/me", &other.str("access_token")).await.status, 401, "the other session ended");
    let refresh = app.post("/auth/token/refresh", json!({"refresh_token": other.str("refresh_token")})).await;
    assert_eq!(refresh.status, 401);
    let me = app.get_as("/users/me", &disabled.str("access_token")).await;
    assert_eq!((me.status, me.body["mfa_enabled"].as_bool()), (200, Some(false)), "this client continues");
}

/// An admin can remove a user's authenticator (lost phone and codes, or an enrolment the
/// owner did not make): every session and pending MFA token of the account ends, the owner
/// is mailed and sees it in the activity. Only admins, only accounts that have one.
#[tokio::test]
async fn an_admin_removes_an_authenticator_and_every_session_ends() {
    let admin = unique_email("totp-admin");
    let app = TestApp::spawn_with(Config { admin_emails: vec![admin.clone()], ..Config::default() }).await;
    let admin_token = app.sign_up(&admin).await.str("access_token");
    let user = enrolled(&app, "totp-removed").await;
    let pending = mfa_token(&app, &user.email).await;
    let reset = |token: String, email: String| {
        let app = &app;
        async move { post_as(app, "/admin/users/mfa/reset", &token, json!({"email": email})).await }
    };

    let not_admin = reset(user.session.str("access_token"), user.email.clone()).await;
    assert_eq!((not_admin.status, not_admin.error()), (403, "forbidden"));
    let unknown = reset(admin_token.clone(), unique_email("nobody")).await;
    assert_eq!((unknown.status, unknown.error()), (404, "user_not_found"));
    let plain = unique_email("totp-none");
    app.sign_up(&plain).await;
    let without = reset(admin_token.clone(), plain).await;
    assert_eq!((without.status, without.error()), (409, "mfa_not_enabled"));
    let own = reset(admin_token.clone(), admin.clone()).await;
    assert_eq!((own.status, own.error()), (409, "own_admin_account"), "its own: with both factors, as every owner");

    let removed = reset(admin_token.clone(), user.email.clone()).await;
    assert_eq!(removed.status, 200, "{}", removed.text);
    assert_eq!(app.get_as("/users/me", &user.session.str("access_token")).await.status, 401, "sessions end");
    app.clock.advance(30);
    let late = app
        .post("/auth/mfa/verify", json!({"mfa_token": pending, "code": code(&app, &user.email, &user.secret, 0)}))
        .await;
    assert_eq!(late.error(), "invalid_mfa_token", "a pending MFA token dies too");
    let mails = app.mails_to(&user.email).await;
    assert!(mails.iter().any(|m| m.subject.contains("An admin removed Google Authenticator")));
    let login = app.post("/auth/login", json!({"email": user.email, "password": PASSWORD})).await;
    assert_eq!((login.status, login.body["mfa_required"].as_bool()), (200, None), "{}", login.text);
    let activity = app.get_as("/users/me/activity", &login.str("access_token")).await;
    let events: Vec<&str> =
        activity.body["items"].as_array().expect("items").iter().filter_map(|e| e["event"].as_str()).collect();
    assert!(events.contains(&"mfa_removed_by_admin"), "{events:?}");
}

/// New recovery codes need the password and a current authenticator code (a recovery code
/// will not do), void the old set, tell the owner, and count wrong answers toward the
/// lockout like a login: guessing here buys no more tries than guessing there.
#[tokio::test]
async fn new_recovery_codes_void_the_old_ones_and_need_the_password_and_a_current_code() {
    let app = TestApp::spawn().await;
    let user = enrolled(&app, "totp-renew").await;
    let token = user.session.str("access_token");
    app.clock.advance(30);
    let renew = |body: Value| post_as(&app, "/auth/totp/recovery-codes", &token, body);
    let by_recovery = renew(json!({"password": PASSWORD, "recovery_code": user.recovery_codes[0]})).await;
    assert_eq!((by_recovery.status, by_recovery.error()), (400, "validation_failed"), "{}", by_recovery.text);

    let now = code(&app, &user.email, &user.secret, 0);
    let renewed = renew(json!({"password": PASSWORD, "code": now})).await;
    assert_eq!(renewed.status, 200, "{}", renewed.text);
    let fresh: Vec<String> = renewed.body["recovery_codes"]
        .as_array()
        .expect("codes")
        .iter()
        .map(|c| c.as_str().expect("a code").to_owned())
        .collect();
    assert_eq!(fresh.len(), 10);
    let again = renew(json!({"password": PASSWORD, "code": now})).await;
    assert_eq!(again.status, 401, "the code's step is used up: {}", again.text);
    let old = app
        .post(
            "/auth/mfa/verify",
            json!({"mfa_token": mfa_token(&app, &user.email).await, "recovery_code": user.recovery_codes[1]}),
        )
        .await;
    assert_eq!(old.error(), "invalid_code", "the old set is void");
    let new = app
        .post("/auth/mfa/verify", json!({"mfa_token": mfa_token(&app, &user.email).await, "recovery_code": fresh[0]}))
        .await;
    assert_eq!(new.status, 200, "{}", new.text);
    let me = app.get_as("/users/me", &new.str("access_token")).await;
    assert_eq!(me.body["recovery_codes_left"], 9);
    assert!(app.mails_to(&user.email).await.iter().any(|m| m.subject.starts_with("New recovery codes")));
    let log = app.get_as("/users/me/activity?limit=5", &new.str("access_token")).await;
    assert!(log.text.contains("recovery_codes_renewed"), "{}", log.text);

    // The lockout counts here as at login (the logins above cleared the earlier failure):
    // the third wrong answer locks.
    for attempt in 1..=3 {
        app.clock.advance(30);
        let wrong =
            renew(json!({"password": "Not-The-Password-1!", "code": code(&app, &user.email, &user.secret, 0)})).await;
        let expected = if attempt < 3 { (401, "invalid_credentials") } else { (423, "account_locked") };
        assert_eq!((wrong.status, wrong.error()), expected, "attempt {attempt}: {}", wrong.text);
    }
    let login = app.post("/auth/login", json!({"email": user.email, "password": PASSWORD})).await;
    assert_eq!(login.status, 423, "the account is locked for every route");
}

/// Two renewals at once with the same authenticator code: the code's step is taken once, so
/// one set is made and the other request is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_renewals_with_one_code_make_one_set() {
    let app = std::sync::Arc::new(TestApp::spawn().await);
    let user = enrolled(&app, "totp-renew-race").await;
    let token = user.session.str("access_token");
    app.clock.advance(30);
    let now = code(&app, &user.email, &user.secret, 0);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..2 {
        let (app, token, now) = (app.clone(), token.clone(), now.clone());
        tasks.spawn(async move {
            post_as(&app, "/auth/totp/recovery-codes", &token, json!({"password": PASSWORD, "code": now})).await.status
        });
    }
    let statuses = tasks.join_all().await;
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|s| [200, 401, 429].contains(s)), "{statuses:?}");
    let renewed =
        app.mails_to(&user.email).await.iter().filter(|m| m.subject.starts_with("New recovery codes")).count();
    assert_eq!(renewed, 1, "one set, one mail");
}
