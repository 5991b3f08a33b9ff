//! Profile updates (the standard and custom attributes, the username's uniqueness) and the
//! activity log.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use stepauth::config::{Config, custom_attributes};
use stepauth_tests::{PASSWORD, TestApp, unique_email};

async fn patch(app: &TestApp, token: &str, body: Value) -> stepauth_tests::Answer {
    app.request("PATCH", "/users/me", body, &[("authorization", &format!("Bearer {token}"))]).await
}

#[tokio::test]
async fn the_name_can_change_and_nothing_unknown() {
    let app = TestApp::spawn().await;
    let email = unique_email("profile");
    let token = app.sign_up(&email).await.str("access_token");
    let renamed = patch(&app, &token, json!({"name": "  Zoë Renamed  "})).await;
    assert_eq!((renamed.status, renamed.body["name"].as_str()), (200, Some("Zoë Renamed")), "{}", renamed.text);
    assert_eq!(app.get_as("/users/me", &token).await.body["name"], "Zoë Renamed");

    let unknown = patch(&app, &token, json!({"email": "other@example.com"})).await;
    assert_eq!(patch(&app, &token, json!({"name": null})).await.body["name"], "Zoë Renamed", "null leaves the name");
    assert_eq!((unknown.status, unknown.body["fields"]["email"][0].as_str()), (400, Some("is not a recognised field")));
    for bad in
        [json!({"name": 5}), json!({"name": ""}), json!({"name": "a\u{202E}b"}), json!({"name": "x".repeat(101)})]
    {
        let answer = patch(&app, &token, bad.clone()).await;
        assert_eq!((answer.status, answer.error()), (400, "validation_failed"), "{bad}");
    }
    let nothing = patch(&app, &token, json!({})).await;
    assert_eq!((nothing.status, nothing.body["name"].as_str()), (200, Some("Zoë Renamed")));
    let anonymous = app.request("PATCH", "/users/me", json!({"name": "X"}), &[]).await;
    assert_eq!(anonymous.status, 401);
}

/// A unique username for this run (the table outlives a run).
fn unique_username(label: &str) -> String {
    let email = unique_email(label);
    let local = email.split('@').next().expect("a local part").replace('+', ".");
    local
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '.')
        .take(30)
        .collect::<String>()
        .trim_matches('.')
        .to_owned()
}

/// Every standard attribute is set, read back in its canonical form, and removed by null;
/// every bad value is named in one answer; `name` follows the given and family names while
/// it is what they made.
#[tokio::test]
async fn every_profile_attribute_is_set_read_back_and_removed() {
    let app = TestApp::spawn().await;
    let token = app.sign_up(&unique_email("attributes")).await.str("access_token");
    let username = unique_username("Ann");
    let all = json!({
        "given_name": " Zoë ", "family_name": "Ångström", "preferred_username": username, "nickname": "Zo",
        "phone_number": "+44 20 7946 0958", "gender": "female", "birthdate": "1990-04-01",
        "picture": "https://example.com/zoe.png", "locale": "de_at", "zoneinfo": "Europe/Vienna",
    });
    let set = patch(&app, &token, all).await;
    assert_eq!(set.status, 200, "{}", set.text);
    let read = app.get_as("/users/me", &token).await;
    let expected = json!({
        "given_name": "Zoë", "family_name": "Ångström", "preferred_username": username, "nickname": "Zo",
        "phone_number": "+442079460958", "gender": "female", "birthdate": "1990-04-01",
        "picture": "https://example.com/zoe.png", "locale": "de-AT", "zoneinfo": "Europe/Vienna",
    });
    for (name, value) in expected.as_object().expect("an object") {
        assert_eq!((name, &read.body[name]), (name, value), "{}", read.text);
    }
    assert_eq!(read.body["phone_number_verified"], false);
    assert_eq!(read.body["name"], "Test User", "a name set at sign-up stays when the names are set");

    let removed = patch(&app, &token, json!({"nickname": null, "phone_number": null, "name": null})).await;
    assert_eq!(removed.status, 200, "{}", removed.text);
    assert_eq!((&removed.body["nickname"], &removed.body["phone_number"]), (&Value::Null, &Value::Null));
    assert_eq!((&removed.body["name"], &removed.body["gender"]), (&json!("Test User"), &json!("female")));

    // A name that is what the names made follows them.
    patch(&app, &token, json!({"name": "Zoë Ångström"})).await;
    let followed = patch(&app, &token, json!({"family_name": "Berg"})).await;
    assert_eq!(followed.body["name"], "Zoë Berg", "{}", followed.text);
    let own = patch(&app, &token, json!({"name": "Zo B."})).await;
    assert_eq!(own.body["name"], "Zo B.");
    assert_eq!(
        patch(&app, &token, json!({"given_name": "Zoey"})).await.body["name"],
        "Zo B.",
        "a name of one's own stays"
    );

    let bad = patch(
        &app,
        &token,
        json!({
            "given_name": "a\u{202E}b", "family_name": "x".repeat(101), "preferred_username": "admin",
            "nickname": "line\nbreak", "phone_number": "+999 123456789", "gender": 5, "birthdate": "2999-01-01",
            "picture": "http://example.com/a.png", "locale": "english", "zoneinfo": "Mars/Phobos", "username": "x",
            "custom": {"plan": "pro"},
        }),
    )
    .await;
    assert_eq!((bad.status, bad.error()), (400, "validation_failed"), "{}", bad.text);
    let fields: Vec<&String> = bad.body["fields"].as_object().expect("fields").keys().collect();
    assert_eq!(
        fields,
        [
            "birthdate",
            "custom.plan",
            "family_name",
            "gender",
            "given_name",
            "locale",
            "nickname",
            "phone_number",
            "picture",
            "preferred_username",
            "username",
            "zoneinfo",
        ],
        "every field named at once: {}",
        bad.text
    );
    assert_eq!(bad.body["fields"]["preferred_username"][0], "is reserved");
    assert_eq!(app.get_as("/users/me", &token).await.body["given_name"], "Zoey", "nothing of a refused change is kept");
}

/// Two people racing for one username (in different cases) end with one winner; the claim
/// moves with a change and is released by a change, by removal and by deleting the account;
/// one person racing to two names ends holding one, the other free.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_people_racing_for_one_username_end_with_one_winner() {
    let app = std::sync::Arc::new(TestApp::spawn().await);
    let mut tokens = Vec::new();
    for i in 0..6 {
        tokens.push(app.sign_up(&unique_email(&format!("race{i}"))).await.str("access_token"));
    }
    for round in 0..3 {
        let name = unique_username(&format!("Racer{round}"));
        let mut tasks = tokio::task::JoinSet::new();
        for (i, token) in tokens.iter().enumerate() {
            let wanted = if i % 2 == 0 { name.to_uppercase() } else { name.clone() };
            let (app, token) = (app.clone(), token.clone());
            tasks.spawn(async move { (i, patch(&app, &token, json!({"preferred_username": wanted})).await) });
        }
        let mut answers = tasks.join_all().await;
        answers.sort_by_key(|(i, _)| *i);
        let answers: Vec<_> = answers.into_iter().map(|(_, answer)| answer).collect();
        let winners: Vec<usize> = (0..answers.len()).filter(|i| answers[*i].status == 200).collect();
        assert_eq!(winners.len(), 1, "round {round}: {:?}", answers.iter().map(|a| &a.text).collect::<Vec<_>>());
        for (i, answer) in answers.iter().enumerate().filter(|(i, _)| !winners.contains(i)) {
            assert_eq!(
                (answer.status, answer.body["fields"]["preferred_username"][0].as_str()),
                (400, Some("is already taken")),
                "{i}: {}",
                answer.text
            );
        }
        // The winner lets it go (by another name, then none), and it is free for the next.
        let winner = &tokens[winners[0]];
        let other = &tokens[(winners[0] + 1) % tokens.len()];
        assert_eq!(patch(&app, winner, json!({"preferred_username": format!("{name}x")})).await.status, 200);
        assert_eq!(patch(&app, other, json!({"preferred_username": name})).await.status, 200);
        assert_eq!(patch(&app, other, json!({"preferred_username": null})).await.status, 200);
        assert_eq!(patch(&app, winner, json!({"preferred_username": null})).await.status, 200);
        assert_eq!(patch(&app, winner, json!({"preferred_username": format!("{name}x")})).await.status, 200);
        assert_eq!(patch(&app, winner, json!({"preferred_username": null})).await.status, 200);
    }

    // One person racing to two names: one is theirs, the other stays free.
    let (a, b) = (unique_username("Left"), unique_username("Right"));
    let (one, two) = tokio::join!(
        patch(&app, &tokens[0], json!({"preferred_username": a})),
        patch(&app, &tokens[0], json!({"preferred_username": b}))
    );
    assert!(one.status == 200 || two.status == 200, "{} {}", one.text, two.text);
    let held = app.get_as("/users/me", &tokens[0]).await.str("preferred_username");
    let free = if held == a { &b } else { &a };
    assert_eq!(patch(&app, &tokens[1], json!({"preferred_username": free})).await.status, 200, "{free} is free");
    assert_eq!(patch(&app, &tokens[2], json!({"preferred_username": held})).await.status, 400, "{held} is held");

    // Deleting the account frees its username.
    let email = unique_email("leaver");
    let leaver = app.sign_up(&email).await.str("access_token");
    let name = unique_username("Leaver");
    assert_eq!(patch(&app, &leaver, json!({"preferred_username": name})).await.status, 200);
    let auth = format!("Bearer {leaver}");
    let deleted = app.request("DELETE", "/users/me", json!({"password": PASSWORD}), &[("authorization", &auth)]).await;
    assert_eq!(deleted.status, 200, "{}", deleted.text);
    assert_eq!(patch(&app, &tokens[3], json!({"preferred_username": name})).await.status, 200, "freed by the deletion");
}

/// The claims of an access token (its signature is the API's business).
fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a payload");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url")).expect("JSON")
}

/// Custom attributes: the person writes their own and is refused an admin-only one; an admin
/// sets it through `PATCH /admin/users/{id}`, the person reads it, and the access token
/// carries the ones declared as claims from the next token on.
#[tokio::test]
async fn custom_attributes_are_written_by_whom_they_are_declared_for() {
    let admin_email = unique_email("custom-admin");
    let declared = custom_attributes(
        r#"[{"name":"plan","type":"string","max_length":20,"admin_only":true,"claim":true},
            {"name":"employee_number","type":"number","min":1,"integer":true,"admin_only":true},
            {"name":"newsletter","type":"boolean","claim":true},{"name":"contract_end","type":"date"}]"#,
    )
    .expect("valid");
    let config = Config { admin_emails: vec![admin_email.clone()], custom_attributes: declared, ..Config::default() };
    let app = TestApp::spawn_with(config).await;
    let admin = app.sign_up(&admin_email).await.str("access_token");
    let email = unique_email("custom");
    let session = app.sign_up(&email).await;
    let (token, id) = (session.str("access_token"), session.body["user"]["id"].as_str().expect("id").to_owned());

    let own = patch(&app, &token, json!({"custom": {"newsletter": true, "contract_end": "2027-06-30"}})).await;
    assert_eq!(own.status, 200, "{}", own.text);
    assert_eq!(own.body["custom"], json!({"newsletter": true, "contract_end": "2027-06-30"}));
    let refused = patch(
        &app,
        &token,
        json!({"custom": {"plan": "enterprise", "employee_number": 7, "newsletter": "yes", "shoe_size": 44}}),
    )
    .await;
    assert_eq!(refused.status, 400, "{}", refused.text);
    assert_eq!(
        refused.body["fields"],
        json!({
            "custom.plan": ["may be set only by an admin"], "custom.employee_number": ["may be set only by an admin"],
            "custom.newsletter": ["must be true or false"], "custom.shoe_size": ["is not a recognised field"],
        })
    );

    let path = format!("/admin/users/{id}");
    let auth = format!("Bearer {admin}");
    let set = app
        .request(
            "PATCH",
            &path,
            json!({"custom": {"plan": "enterprise", "employee_number": 1042}}),
            &[("authorization", &auth)],
        )
        .await;
    assert_eq!(set.status, 200, "{}", set.text);
    assert_eq!(set.body["custom"]["plan"], "enterprise");
    let bad = app.request("PATCH", &path, json!({"custom": {"employee_number": 0}}), &[("authorization", &auth)]).await;
    assert_eq!(bad.body["fields"]["custom.employee_number"][0], "must be at least 1", "{}", bad.text);
    // Nor may the person remove what an admin set.
    let unset = patch(&app, &token, json!({"custom": {"plan": null}})).await;
    assert_eq!(unset.body["fields"]["custom.plan"][0], "may be set only by an admin", "{}", unset.text);
    let as_user = app
        .request(
            "PATCH",
            &path,
            json!({"custom": {"newsletter": false}}),
            &[("authorization", &format!("Bearer {token}"))],
        )
        .await;
    assert_eq!(as_user.error(), "forbidden");
    let seen = app.get_as("/users/me", &token).await;
    assert_eq!(
        seen.body["custom"],
        json!({"newsletter": true, "contract_end": "2027-06-30", "plan": "enterprise", "employee_number": 1042})
    );

    let log = app.get_as(&format!("{path}/activity"), &admin).await;
    assert_eq!(log.body["items"][0]["event"], "profile_update");
    assert!(log.body["items"][0]["by_admin"].is_string(), "{}", log.text);

    let fresh = app.log_in(&email).await.str("access_token");
    let carried = claims(&fresh);
    assert_eq!(
        (&carried["custom:plan"], &carried["custom:newsletter"]),
        (&json!("enterprise"), &json!(true)),
        "{carried}"
    );
    assert!(
        carried.get("custom:employee_number").is_none() && carried.get("custom:contract_end").is_none(),
        "{carried}"
    );
    // Removed by null, by the admin; gone from the next token.
    let removed = app.request("PATCH", &path, json!({"custom": {"plan": null}}), &[("authorization", &auth)]).await;
    assert!(removed.body["custom"].get("plan").is_none(), "{}", removed.text);
    assert!(claims(&app.log_in(&email).await.str("access_token")).get("custom:plan").is_none());
}

#[tokio::test]
async fn activity_lists_auth_events_newest_first_with_their_source() {
    let app = TestApp::spawn().await;
    let email = unique_email("activity");
    app.sign_up(&email).await;
    app.post("/auth/login", json!({"email": email, "password": "Wrong-Password-1"})).await;
    let session = app
        .request(
            "POST",
            "/auth/login",
            json!({"email": email, "password": PASSWORD}),
            &[("user-agent", "activity-test/1.0"), ("x-forwarded-for", "198.51.100.7")],
        )
        .await;
    let token = session.str("access_token");
    patch(&app, &token, json!({"name": "Active"})).await;

    let log = app.get_as("/users/me/activity", &token).await;
    assert_eq!(log.status, 200, "{}", log.text);
    let items = log.body["items"].as_array().expect("items");
    let events: Vec<&str> = items.iter().filter_map(|e| e["event"].as_str()).collect();
    assert_eq!(events, ["profile_update", "login_success", "login_failure", "signup_completed"]);
    let login = &items[1];
    assert_eq!((&login["method"], &items[3]["method"]), (&json!("password"), &json!("password")));
    assert!(items[0]["method"].is_null() && items[2]["method"].is_null(), "only sign-ups and logins have one");
    assert_eq!(login["user_agent"], "activity-test/1.0");
    assert_eq!(login["source_ip"], "127.0.0.1", "from the connection, never from X-Forwarded-For");
    assert!(login["at"].as_str().expect("time").ends_with('Z'));
    assert!(log.body["next_cursor"].is_null());

    let first = app.get_as("/users/me/activity?limit=3", &token).await;
    assert_eq!(first.body["items"].as_array().map(Vec::len), Some(3));
    let cursor = first.body["next_cursor"].as_str().expect("more to come");
    let rest = app.get_as(&format!("/users/me/activity?limit=3&cursor={cursor}"), &token).await;
    assert_eq!(rest.body["items"][0]["event"], "signup_completed");
    assert!(rest.body["next_cursor"].is_null());

    for bad in ["?limit=0", "?limit=abc", "?sort=asc", "?limit=1&limit=2", "?cursor=a&cursor=b"] {
        let answer = app.get_as(&format!("/users/me/activity{bad}"), &token).await;
        assert_eq!((answer.status, answer.error()), (400, "validation_failed"), "{bad}: {}", answer.text);
    }
    // A cursor the list did not give out: well formed or not, it is not one of its own.
    for bad in ["?cursor=bm90LWEta2V5", "?cursor=%%%", "?cursor=_w"] {
        let answer = app.get_as(&format!("/users/me/activity{bad}"), &token).await;
        assert_eq!((answer.status, answer.error()), (400, "invalid_cursor"), "{bad}: {}", answer.text);
    }
    app.clock.advance(91 * 24 * 3600);
    let fresh = app.log_in(&email).await.str("access_token");
    let later = app.get_as("/users/me/activity", &fresh).await;
    let events: Vec<&str> =
        later.body["items"].as_array().expect("items").iter().filter_map(|e| e["event"].as_str()).collect();
    assert_eq!(events, ["login_success"], "entries are kept 90 days");
}

#[tokio::test]
async fn logouts_and_code_sends_are_recorded() {
    let app = TestApp::spawn().await;
    let email = unique_email("activity-more");
    let first = app.sign_up(&email).await;
    app.post("/auth/logout", json!({"refresh_token": first.str("refresh_token")})).await;
    app.post("/auth/login/code", json!({"email": email})).await;
    let code = app.last_code(&email).await;
    let session = app.post("/auth/login/code/verify", json!({"email": email, "code": code})).await;
    let token = session.str("access_token");
    let auth = format!("Bearer {token}");
    app.request("POST", "/auth/logout/all", Value::Null, &[("authorization", &auth)]).await;
    let token = app.log_in(&email).await.str("access_token");
    let log = app.get_as("/users/me/activity", &token).await;
    let events: Vec<&str> =
        log.body["items"].as_array().expect("items").iter().filter_map(|e| e["event"].as_str()).collect();
    assert_eq!(events, ["login_success", "logout_all", "login_success", "code_sent", "logout", "signup_completed"]);
    assert_eq!(log.body["items"][2]["method"], "email_code", "{}", log.text);
}
