//! Moving in from the old Django backend (issue 15): users Django itself made (its own
//! hashers, its `dumpdata` shape), imported into moto by `stepauth-import` as a person runs
//! it, then logging in through the API (docs/SECURITY.md, "Passwords").

use std::sync::Arc;

use serde_json::{Value, json};
use stepauth::clock::Clock as _;
use stepauth::config::Config;
use stepauth::model::Email;
use stepauth::store::UserStore as _;
use stepauth::store::dynamo::DynamoStore;
use stepauth::totp;
use stepauth_tests::django::{self, Export};
use stepauth_tests::{TestApp, moto_config, moto_table};

/// A fresh table, the app on it, and Django's users imported into it.
async fn moved_in() -> (TestApp, String, Export) {
    let table = moto_table().await;
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&moto_config().await), table.clone());
    let app = TestApp::spawn_with_store(Config::default(), Arc::new(store)).await;
    let export = django::export().await;
    let (code, printed) = django::import(&table, &[export.json.to_str().expect("utf-8")]).await;
    assert_eq!(code, 0, "{printed}");
    (app, table, export)
}

async fn stored_hash(app: &TestApp, email: &str) -> String {
    let email = Email::parse(email).expect("an email");
    app.app.store.user_by_email(&email).await.expect("the store").expect("the user").password_hash
}

async fn log_in(app: &TestApp, email: &str, password: &str) -> stepauth_tests::Answer {
    app.post("/auth/login", json!({"email": email, "password": password})).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_django_hash_logs_in_and_is_upgraded_to_argon2id() {
    let (app, _, export) = moved_in().await;
    for label in ["pbkdf2", "pbkdf2-sha1", "argon2", "bcrypt-sha256", "bcrypt", "staff"] {
        let email = export.email(label);
        let before = stored_hash(&app, &email).await;
        assert!(!before.starts_with("$argon2id$v=19$m=19456"), "{label}: Django's hash, as Django wrote it");
        let wrong = log_in(&app, &email, "Not-The-Password-1!").await;
        assert_eq!((wrong.status, wrong.error()), (401, "invalid_credentials"), "{label}: {}", wrong.text);
        assert_eq!(stored_hash(&app, &email).await, before, "{label}: a wrong password changes nothing");
        let right = log_in(&app, &email, &export.password(label)).await;
        assert_eq!(right.status, 200, "{label}: {}", right.text);
        let after = stored_hash(&app, &email).await;
        assert!(after.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{label}: upgraded, {}", &after[..20]);
        assert_eq!(log_in(&app, &email, &export.password(label)).await.status, 200, "{label}: the upgraded hash works");
        app.clock.advance(1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_keep_their_role_dates_and_state() {
    let (app, _, export) = moved_in().await;
    let staff = log_in(&app, &export.email("staff"), &export.password("staff")).await;
    let admin = app.get_as("/admin/users?limit=1", &staff.str("access_token")).await;
    assert_eq!(admin.status, 200, "is_staff is an admin: {}", admin.text);
    let me = app.get_as("/users/me", &staff.str("access_token")).await;
    assert_eq!(
        (me.body["name"].as_str(), me.body["created_at"].as_str()),
        (Some("Old User 6"), Some("2024-01-16T08:00:00Z"))
    );

    let moved = Email::parse(&export.email("pbkdf2")).expect("an email");
    let before = app.app.store.user_by_email(&moved).await.expect("the store").expect("the user");
    assert_eq!(before.last_login.map(stepauth::clock::rfc3339).as_deref(), Some("2025-06-01T09:30:00Z"), "kept");
    let user = log_in(&app, &export.email("pbkdf2"), &export.password("pbkdf2")).await;
    let listed = app.get_as("/admin/users?limit=1", &user.str("access_token")).await;
    assert_eq!(listed.status, 403, "an ordinary user is not");

    let inactive = log_in(&app, &export.email("inactive"), &export.password("inactive")).await;
    assert_eq!((inactive.status, inactive.error()), (423, "account_locked"), "inactive moves in locked");
    let unlock = app
        .request(
            "POST",
            "/admin/users/unlock",
            json!({"email": export.email("inactive")}),
            &[("authorization", &format!("Bearer {}", staff.str("access_token")))],
        )
        .await;
    assert_eq!(unlock.status, 200, "{}", unlock.text);
    assert_eq!(
        log_in(&app, &export.email("inactive"), &export.password("inactive")).await.status,
        200,
        "an admin unlocks it"
    );

    // Django's unusable password matches nothing; the reset flow replaces it.
    let unusable = export.email("unusable");
    for guess in ["", "!", &export.password("unusable")] {
        let answer = log_in(&app, &unusable, guess).await;
        assert!([400, 401].contains(&answer.status), "{guess:?}: {}", answer.text);
    }
    assert_eq!(app.post("/auth/password/forgot", json!({"email": unusable})).await.status, 202);
    let code = app.last_code(&unusable).await;
    let verified = app.post("/auth/password/verify", json!({"email": unusable, "code": code})).await;
    let new = "Brand-New-Password-9!";
    let reset = json!({"reset_token": verified.str("reset_token"), "password": new, "confirm_password": new});
    assert_eq!(app.post("/auth/password/reset", reset).await.status, 200);
    assert_eq!(log_in(&app, &unusable, new).await.status, 200);
}

/// Wrong passwords for a moved-in account count toward the lockout as for any other, and the
/// lock holds for the right password too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_passwords_for_a_moved_in_account_count_toward_the_lockout() {
    let (app, _, export) = moved_in().await;
    let email = export.email("pbkdf2-sha1");
    let before = stored_hash(&app, &email).await;
    for _ in 0..2 {
        assert_eq!(log_in(&app, &email, "Wrong-Password-1!").await.status, 401);
    }
    let third = log_in(&app, &email, "Wrong-Password-1!").await;
    assert_eq!((third.status, third.error()), (423, "account_locked"), "{}", third.text);
    let right = log_in(&app, &email, &export.password("pbkdf2-sha1")).await;
    assert_eq!(right.status, 423, "locked, whatever the password");
    assert_eq!(stored_hash(&app, &email).await, before, "no login, no upgrade");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_imported_authenticator_secret_completes_an_mfa_login() {
    let (app, _, export) = moved_in().await;
    let email = export.email("totp");
    let first = log_in(&app, &email, &export.password("totp")).await;
    assert_eq!((first.status, first.body["mfa_required"].as_bool()), (200, Some(true)), "{}", first.text);
    // The secret the person's app holds (an 80-bit one, as older libraries made them).
    let secret = totp::totp("JBSWY3DPEHPK3PXP", "stepauth", &email).expect("the secret");
    let code = totp::code_at(&secret, app.clock.now());
    let verified = app.post("/auth/mfa/verify", json!({"mfa_token": first.str("mfa_token"), "code": code})).await;
    assert_eq!(verified.status, 200, "{}", verified.text);
    let log = app.get_as("/users/me/activity?limit=1", &verified.str("access_token")).await;
    assert_eq!(log.body["items"][0]["method"], "password+authenticator");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rerun_changes_nothing_and_reports_every_user_skipped() {
    let (app, table, export) = moved_in().await;
    let email = export.email("argon2");
    let id = app.app.store.user_by_email(&Email::parse(&email).expect("email")).await.expect("store").expect("user").id;
    for file in [&export.json, &export.csv] {
        let (code, printed) = django::import(&table, &[file.to_str().expect("utf-8")]).await;
        assert_eq!(code, 0, "{printed}");
        assert!(printed.contains("imported: 0\n"), "{printed}");
        assert!(printed.contains("there already: 12\n"), "{printed}");
    }
    let again = app.app.store.user_by_email(&Email::parse(&email).expect("email")).await.expect("store").expect("user");
    assert_eq!(again.id, id, "the account is the one the first run made");
}

/// A run cut off part way (here: one given the first four records) is finished by running
/// the whole file again: what is there is skipped, the rest moves in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_cut_off_carries_on_when_run_again() {
    let table = moto_table().await;
    let export = django::export().await;
    let records: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(&export.json).expect("the export")).expect("json");
    let part = export.dir.join("first-four.json");
    std::fs::write(&part, serde_json::to_string(&records[..4]).expect("json")).expect("written");
    let (code, printed) = django::import(&table, &[part.to_str().expect("utf-8")]).await;
    assert_eq!((code, printed.contains("imported: 4\n")), (0, true), "{printed}");
    let (code, printed) = django::import(&table, &[export.json.to_str().expect("utf-8")]).await;
    assert_eq!(code, 0, "{printed}");
    assert!(printed.contains("imported: 8\n") && printed.contains("there already: 4\n"), "{printed}");
    assert!(printed.contains("stepauth-import: 12 users in"), "the closing progress line: {printed}");
}

/// On a terminal the import draws a progress bar with the rate and the time left; elsewhere
/// (a pipe, a CI log) it prints plain lines with the same, from the first user on, then every
/// two seconds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_is_a_bar_on_a_terminal_and_plain_lines_elsewhere() {
    let table = moto_table().await;
    let export = django::export().await;
    let args = ["--dry-run", "--concurrency", "1", export.json.to_str().expect("utf-8")];
    let (code, printed) = django::import(&table, &args).await;
    assert_eq!(code, 0, "{printed}");
    let first = printed.lines().find(|l| l.starts_with("stepauth-import: 1/12 users (")).expect(&printed);
    assert!(first.contains("/s, ETA ") && first.ends_with(" s)"), "{first}");
    assert!(!printed.contains("ETA 0s") && !printed.contains('\u{1b}'), "no bar: {printed}");

    let (code, drawn) = django::import_on_a_terminal(&table, &args).await;
    assert_eq!(code, 0, "{drawn}");
    assert!(drawn.contains("/12 users, ") && drawn.contains("/s, ETA "), "a bar: {drawn:?}");
    assert!(!drawn.contains("stepauth-import: 1/12 users ("), "no plain lines on a terminal: {drawn:?}");
    assert!(drawn.contains("would be imported (dry run: nothing was written): 12"), "{drawn}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_checks_everything_and_writes_nothing() {
    let table = moto_table().await;
    let export = django::export().await;
    let (code, printed) = django::import(&table, &["--dry-run", export.csv.to_str().expect("utf-8")]).await;
    assert_eq!(code, 0, "{printed}");
    assert!(printed.contains("would be imported (dry run: nothing was written): 12"), "{printed}");
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&moto_config().await), table);
    for email in export.passwords.keys() {
        let found = store.user_by_email(&Email::parse(email).expect("email")).await.expect("store");
        assert!(found.is_none(), "{email} was written");
    }
}

/// A file with bad records moves the good ones in and names each bad one by its number and
/// reason, in JSON (record numbers) and CSV (line numbers); it never prints a hash or secret.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_records_are_reported_by_number_and_the_good_ones_imported() {
    let table = moto_table().await;
    let export = django::export().await;
    let mut records: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(&export.json).expect("the export")).expect("json");
    let good = records.len();
    let template = records[0].clone();
    let bad = |change: &dyn Fn(&mut Value)| {
        let mut record = template.clone();
        record["fields"]["email"] = json!(stepauth_tests::unique_email("bad"));
        change(&mut record);
        record
    };
    let scrypt = "scrypt$salt$16384$8$1$aGFzaA==";
    records.extend([
        bad(&|r| r["fields"]["email"] = json!("not an email")),
        bad(&|r| r["fields"]["email"] = template["fields"]["email"].clone()),
        bad(&|r| r["fields"]["password"] = json!(scrypt)),
        bad(&|r| r["fields"]["date_joined"] = json!("yesterday")),
        bad(&|r| r["fields"]["google_authenticator_secret"] = json!("not base32!")),
        bad(&|r| r["fields"]["is_active"] = json!([true])),
        json!({"model": "accounts.user", "pk": 99}),
    ]);
    let file = export.dir.join("with-bad.json");
    std::fs::write(&file, serde_json::to_string(&records).expect("json")).expect("written");
    let (code, printed) = django::import(&table, &[file.to_str().expect("utf-8")]).await;
    assert_eq!(code, 2, "some were refused: {printed}");
    assert!(printed.contains(&format!("imported: {good}\n")), "{printed}");
    let n = |i: usize| good + i;
    for expected in [
        format!("record {}: bad email", n(1)),
        format!("record {}: duplicate of record 1 in this file", n(2)),
        format!("record {}: unknown hash format", n(3)),
        format!("record {}: bad date in date_joined", n(4)),
        format!("record {}: bad authenticator secret", n(5)),
        format!("record {}: is_active is not a string, number or boolean", n(6)),
        format!("record {}: no \"fields\" object", n(7)),
    ] {
        assert!(printed.contains(&expected), "{expected} in {printed}");
    }
    for hash in records.iter().filter_map(|r| r["fields"]["password"].as_str()) {
        let secret_part = hash.rsplit('$').next().expect("a part");
        assert!(!printed.contains(secret_part), "a hash was printed: {printed}");
    }
    assert!(!printed.contains("JBSWY3DPEHPK3PXP"), "a secret was printed");

    let csv = std::fs::read_to_string(&export.csv).expect("the csv");
    let broken = format!("{csv}not-an-email,Bad,!x,True,False,False{}\nshort,row\n", ",".repeat(11));
    let file = export.dir.join("with-bad.csv");
    std::fs::write(&file, broken).expect("written");
    let (code, printed) = django::import(&table, &[file.to_str().expect("utf-8")]).await;
    assert_eq!(code, 2, "{printed}");
    let lines = csv.lines().count();
    assert!(printed.contains(&format!("line {}: bad email", lines + 1)), "{printed}");
    assert!(printed.contains(&format!("line {}: 2 values for 17 columns", lines + 2)), "{printed}");
}

/// What the old table kept of a person moves in as the profile's attributes (first and last
/// name, username, short name, phone, gender, date of birth, picture), in the forms kept here;
/// a value the rules here refuse is left out and reported, the user moving in all the same;
/// a username taken (by an earlier record, or by an account here) is left out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_old_profile_moves_in_and_what_the_rules_refuse_is_left_out() {
    let table = moto_table().await;
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&moto_config().await), table.clone());
    let app = TestApp::spawn_with_store(Config::default(), Arc::new(store)).await;
    let export = django::export().await;
    let (code, printed) = django::import(&table, &[export.json.to_str().expect("utf-8")]).await;
    assert_eq!(code, 0, "dropped values are no refusal: {printed}");

    let zoe = log_in(&app, &export.email("profiled"), &export.password("profiled")).await;
    let me = app.get_as("/users/me", &zoe.str("access_token")).await;
    let username = me.str("preferred_username");
    assert!(username.starts_with("zoe."), "{}", me.text);
    let expected = json!({
        "name": "Zoë Ångström", "given_name": "Zoë", "family_name": "Ångström", "nickname": "Zo",
        "phone_number": "+442079460958", "gender": "female", "birthdate": "1990-04-01",
        "picture": "https://old.example.com/media/zoe.png",
    });
    for (field, value) in expected.as_object().expect("an object") {
        assert_eq!((field, &me.body[field]), (field, value), "{}", me.text);
    }

    let bad = log_in(&app, &export.email("badprofile"), &export.password("badprofile")).await;
    assert_eq!(bad.status, 200, "it moved in: {}", bad.text);
    let bad_me = app.get_as("/users/me", &bad.str("access_token")).await;
    for field in ["preferred_username", "phone_number", "birthdate", "picture"] {
        assert!(bad_me.body[field].is_null(), "{field}: {}", bad_me.text);
    }
    let dup = log_in(&app, &export.email("dupname"), &export.password("dupname")).await;
    assert!(app.get_as("/users/me", &dup.str("access_token")).await.body["preferred_username"].is_null());
    for expected in [
        "preferred_username dropped: is reserved",
        "phone_number dropped: must be in international form",
        "birthdate dropped: is not a real date",
        "picture dropped: must be an https:// URL",
        "preferred_username dropped: record 10 has it",
    ] {
        assert!(printed.contains(expected), "{expected} in {printed}");
    }

    // A username an account here took first: the user moves in without it.
    let mut record: Value =
        serde_json::from_str::<Vec<Value>>(&std::fs::read_to_string(&export.json).expect("the export"))
            .expect("json")
            .remove(0);
    let later = stepauth_tests::unique_email("later");
    record["fields"]["email"] = json!(later);
    record["fields"]["username"] = json!(username.to_uppercase());
    let file = export.dir.join("later.json");
    std::fs::write(&file, serde_json::to_string(&[record]).expect("json")).expect("written");
    let (code, printed) = django::import(&table, &[file.to_str().expect("utf-8")]).await;
    assert_eq!(code, 0, "{printed}");
    assert!(
        printed.contains("imported: 1\n") && printed.contains("preferred_username dropped: an account here has it"),
        "{printed}"
    );
    let moved =
        app.app.store.user_by_email(&Email::parse(&later).expect("email")).await.expect("store").expect("moved in");
    assert!(!moved.profile.contains_key(&stepauth::model::Attribute::PreferredUsername));
}

/// A moved-in authenticator has no recovery codes: the profile says so, and the owner makes
/// a set with the password and a current code; they work at login.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_moved_in_authenticator_gets_recovery_codes_on_request() {
    let (app, _, export) = moved_in().await;
    let email = export.email("totp");
    let secret = totp::totp("JBSWY3DPEHPK3PXP", "stepauth", &email).expect("the secret");
    let first = log_in(&app, &email, &export.password("totp")).await;
    let code = totp::code_at(&secret, app.clock.now());
    let session = app.post("/auth/mfa/verify", json!({"mfa_token": first.str("mfa_token"), "code": code})).await;
    let token = session.str("access_token");
    assert_eq!(app.get_as("/users/me", &token).await.body["recovery_codes_left"], 0, "none moved in");
    app.clock.advance(30);
    let body = json!({"password": export.password("totp"), "code": totp::code_at(&secret, app.clock.now())});
    let auth = format!("Bearer {token}");
    let made = app.request("POST", "/auth/totp/recovery-codes", body, &[("authorization", &auth)]).await;
    assert_eq!(made.status, 200, "{}", made.text);
    let recovery = made.body["recovery_codes"][3].as_str().expect("a code").to_owned();
    let again = log_in(&app, &email, &export.password("totp")).await;
    let verified =
        app.post("/auth/mfa/verify", json!({"mfa_token": again.str("mfa_token"), "recovery_code": recovery})).await;
    assert_eq!(verified.status, 200, "{}", verified.text);
    assert_eq!(app.get_as("/users/me", &verified.str("access_token")).await.body["recovery_codes_left"], 9);
}

/// Two imports of one file at once (two people, or a retry while the first still runs):
/// each user moves in once, and between them the two runs account for every record.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_imports_at_once_move_each_user_in_once() {
    let table = moto_table().await;
    let export = django::export().await;
    let args = [export.json.to_str().expect("utf-8")];
    let (first, second) = tokio::join!(django::import(&table, &args), django::import(&table, &args));
    let imported = |printed: &str| -> usize {
        let line = printed.lines().find(|l| l.trim_start().starts_with("imported: ")).expect("the report");
        line.trim().trim_start_matches("imported: ").parse().expect("a count")
    };
    assert_eq!((first.0, second.0), (0, 0), "{}\n{}", first.1, second.1);
    assert_eq!(imported(&first.1) + imported(&second.1), 12, "{}\n{}", first.1, second.1);
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&moto_config().await), table);
    for email in export.passwords.keys() {
        assert!(store.user_by_email(&Email::parse(email).expect("email")).await.expect("store").is_some(), "{email}");
    }
}

/// A moved-in account's first logins, four at once (a person double-clicking, or an app and
/// a browser): every one is signed in, the hash ends Argon2id (one login's write holds; the
/// others find the hash changed and leave it), and the password still works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_first_logins_of_a_moved_in_account_all_sign_in_and_upgrade_it() {
    let (app, _, export) = moved_in().await;
    let app = Arc::new(app);
    let (email, password) = (export.email("pbkdf2"), export.password("pbkdf2"));
    let mut logins = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let (app, email, password) = (app.clone(), email.clone(), password.clone());
        logins.spawn(async move { log_in(&app, &email, &password).await.status });
    }
    assert_eq!(logins.join_all().await, [200; 4]);
    let after = stored_hash(&app, &email).await;
    assert!(after.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "upgraded: {}", &after[..20]);
    assert_eq!(log_in(&app, &email, &password).await.status, 200);
}
