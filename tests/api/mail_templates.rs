//! Mail from templates (docs/API.md, "Mail"): a deployment's override and a language of its
//! own are used, on moto and on the local server; a broken template stops the start with its
//! name; admins preview every template.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use stepauth::config::Config;
use stepauth::mail::templates::{KINDS, Templates};
use stepauth_local::Server;
use stepauth_tests::runtime_api::{Lambda, binary};
use stepauth_tests::{TestApp, find_code, unique_email};

/// A folder of templates: each `(path, text)` written under a fresh temporary folder.
fn template_dir(label: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("stepauth-mail-{label}-{}-{}", std::process::id(), unique_email("d")));
    for (path, text) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().expect("a folder")).expect("the folder");
        std::fs::write(path, text).expect("the template");
    }
    dir
}

const GERMAN_LAYOUT_TXT: &str = "{% block greeting %}Hallo{% if name %} {{ name }}{% endif %},{% endblock %}\n\n\
    {% block body %}{% endblock %}\n— {{ product }}\n";
const GERMAN_LAYOUT_HTML: &str = "<!doctype html>\n<html lang=\"de\"><body>\n<p>Hallo{% if name %} {{ name }}{% endif %},</p>\n\
    {% block body %}{% endblock %}\n</body></html>\n";

/// An English override of the login code's subject, and German for the login code, the
/// layouts, and the password-change notice's subject alone.
fn deployment_templates() -> PathBuf {
    template_dir(
        "deployment",
        &[
            ("README.md", "notes are ignored"),
            ("en/login_code/subject.txt", "Sign in to {{ product }} with {{ code }}"),
            ("de/layout.txt", GERMAN_LAYOUT_TXT),
            ("de/layout.html", GERMAN_LAYOUT_HTML),
            ("de/login_code/subject.txt", "Ihr Anmeldecode für {{ product }}"),
            (
                "de/login_code/body.txt",
                "{% extends \"layout.txt\" %}{% block body %}Ihr Code lautet:\n\n    {{ code }}\n\nEr gilt {{ minutes }} Minuten.\n{% endblock %}",
            ),
            (
                "de/login_code/body.html",
                "{% extends \"layout.html\" %}{% block body %}<p>Ihr Code lautet <strong>{{ code }}</strong>.</p>{% endblock %}",
            ),
            ("de/password_changed/subject.txt", "Ihr {{ product }}-Passwort wurde geändert"),
        ],
    )
}

fn config_with(dir: &Path) -> Config {
    Config { mail_templates: Some(dir.to_owned()), ..Config::default() }
}

/// On moto: the person whose `locale` is `de-AT` gets the German login code (German layout,
/// the name escaped by the engine in HTML), the password notice with the German subject and
/// the English body; someone without a locale gets the English override; a sign-up code,
/// which no override touches, is the built-in one.
#[tokio::test]
async fn an_overridden_and_a_localised_template_are_used() {
    let app = TestApp::spawn_with(config_with(&deployment_templates())).await;
    let (german, english) = (unique_email("deutsch"), unique_email("english"));
    let token = app.sign_up(&german).await.str("access_token");
    let auth = format!("Bearer {token}");
    let set = app
        .request("PATCH", "/users/me", json!({"locale": "de-AT", "name": "Zoë <b>"}), &[("authorization", &auth)])
        .await;
    assert_eq!(set.status, 200, "{}", set.text);
    app.sign_up(&english).await;
    let signup = app.mails_to(&english).await;
    assert_eq!(signup[0].subject, "Your stepauth sign-up code", "the built-in template");

    for email in [&german, &english] {
        assert_eq!(app.post("/auth/login/code", json!({"email": email})).await.status, 202);
    }
    let de = app.mails_to(&german).await.pop().expect("a mail");
    assert_eq!(de.subject, "Ihr Anmeldecode für stepauth");
    assert!(de.body.contains("Ihr Code lautet") && !de.body.contains("<b>"), "{}", de.body);
    let code = find_code(&de.body).expect("a code");
    let en = app.mails_to(&english).await.pop().expect("a mail");
    let en_code = find_code(&en.body).expect("a code");
    assert_eq!(en.subject, format!("Sign in to stepauth with {en_code}"));
    assert!(en.body.contains("Your stepauth login code is"), "the built-in body: {}", en.body);

    let verified = app.post("/auth/login/code/verify", json!({"email": german, "code": code})).await;
    assert_eq!(verified.status, 200, "the German mail's code works: {}", verified.text);

    // A German subject over the English body, part by part.
    let change = app
        .request(
            "POST",
            "/auth/password/change",
            json!({"current_password": stepauth_tests::PASSWORD, "password": "Another-Horse-8-Battery", "confirm_password": "Another-Horse-8-Battery"}),
            &[("authorization", &format!("Bearer {}", verified.str("access_token")))],
        )
        .await;
    assert_eq!(change.status, 200, "{}", change.text);
    let notice = app.mails_to(&german).await.pop().expect("a mail");
    assert_eq!(notice.subject, "Ihr stepauth-Passwort wurde geändert");
    assert!(notice.body.contains("The password of your stepauth account was just changed"), "{}", notice.body);
}

/// The same deployment on the embedded local server: its outbox shows the German mail with
/// both parts, the name escaped in the HTML one only.
#[tokio::test]
async fn the_local_server_uses_the_deployments_templates() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let base = format!("http://{}", listener.local_addr().expect("bound"));
    let server = Server::embedded(config_with(&deployment_templates())).await.expect("the server starts");
    let running = tokio::spawn(server.serve(listener));
    let client = stepauth_tests::http_client_builder().no_proxy().build().expect("client");
    let email = unique_email("lokal");
    let post = |path: &str, body: Value, token: Option<String>| {
        let mut request = client.request(reqwest::Method::POST, format!("{base}{path}")).json(&body);
        if path == "/users/me" {
            request = client.request(reqwest::Method::PATCH, format!("{base}{path}")).json(&body);
        }
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        async move { request.send().await.expect("answers").json::<Value>().await.expect("JSON") }
    };
    let outbox = || async {
        let all: Vec<Value> =
            client.get(format!("{base}/_local/outbox")).send().await.expect("outbox").json().await.expect("JSON");
        all.into_iter().filter(|m| m["to"] == email.as_str()).collect::<Vec<_>>()
    };
    post("/auth/signup", json!({"name": "Jörg <i>", "email": email}), None).await;
    let code = find_code(outbox().await[0]["text"].as_str().expect("text")).expect("a code");
    let verified = post("/auth/signup/verify", json!({"email": email, "code": code}), None).await;
    let body = json!({"signup_token": verified["signup_token"], "password": stepauth_tests::PASSWORD, "confirm_password": stepauth_tests::PASSWORD});
    let created = post("/auth/signup/complete", body, None).await;
    let token = created["access_token"].as_str().expect("a session").to_owned();
    post("/users/me", json!({"locale": "de"}), Some(token)).await;
    post("/auth/login/code", json!({"email": email}), None).await;
    let mail = outbox().await.pop().expect("the login code");
    assert_eq!(mail["subject"], "Ihr Anmeldecode für stepauth");
    assert!(mail["text"].as_str().expect("text").starts_with("Hallo Jörg <i>,\n\nIhr Code lautet:"), "{mail}");
    let html = mail["html"].as_str().expect("html");
    assert!(html.contains("<html lang=\"de\">") && html.contains("Hallo Jörg &lt;i&gt;,"), "{html}");
    running.abort();
}

/// Every kind of broken template is refused at load, naming the file.
#[test]
fn a_broken_template_is_refused_with_its_name() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "en/password_changed/body.html",
            "{% extends \"layout.html\" %}{% block body %}{% if %}{% endblock %}",
            "en/password_changed/body.html",
        ),
        ("de/login_code/subject.txt", "Code {{ secret_code }}", "de/login_code/subject.txt"),
        (
            "en/account_locked/body.txt",
            "{% extends \"layout.txt\" %}{% block body %}{{ failures + name }}{% endblock %}",
            "en/account_locked/body.txt",
        ),
        ("en/pasword_changed/subject.txt", "x", "en/pasword_changed is no mail"),
        ("en/login_code/subjet.txt", "x", "en/login_code/subjet.txt is no part"),
        ("english/login_code/subject.txt", "x", "english is not a folder named by a language tag"),
    ];
    for (path, text, says) in cases {
        let dir = template_dir("broken", &[(path, text)]);
        let error = format!("{:#}", Templates::load("stepauth", Some(&dir)).expect_err(path));
        assert!(error.contains(says), "{path}: {error}");
    }
    let missing = std::env::temp_dir().join("stepauth-no-such-templates");
    assert!(
        format!("{:#}", Templates::load("stepauth", Some(&missing)).expect_err("missing")).contains("cannot be read")
    );
}

/// A Lambda function with a broken override does not start: it exits at once, before any
/// request, and says which template (docs/SECURITY.md, rule 81).
#[tokio::test]
async fn a_function_with_a_broken_template_stops_at_start_with_its_name() {
    let dir = template_dir("start", &[("de/login_code/subject.txt", "Code {{ secret_code }}")]);
    let lambda = Lambda::new().await;
    let output = tokio::time::timeout(
        std::time::Duration::from_secs(30),
        tokio::process::Command::new(binary("login"))
            .envs(lambda.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("STEPAUTH_MAIL_TEMPLATES", &dir)
            .env("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9")
            .output(),
    )
    .await
    .expect("it stops by itself")
    .expect("it ran");
    let said = String::from_utf8_lossy(&output.stderr).into_owned() + &String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success(), "{said}");
    assert!(said.contains("de/login_code/subject.txt"), "{said}");
}

/// Admins list the kinds and languages, and preview any mail in any language; nobody else.
#[tokio::test]
async fn admins_preview_every_template_in_every_language() {
    let admin = unique_email("preview-admin");
    let config = Config { admin_emails: vec![admin.clone()], ..config_with(&deployment_templates()) };
    let app = TestApp::spawn_with(config).await;
    let token = app.sign_up(&admin).await.str("access_token");
    let list = app.get_as("/admin/mail-templates", &token).await;
    assert_eq!(list.status, 200, "{}", list.text);
    assert_eq!(list.body["kinds"].as_array().map(Vec::len), Some(KINDS.len()));
    assert_eq!(list.body["locales"], json!(["de", "en"]));
    for (_, kind) in KINDS {
        for locale in ["", "?locale=de-AT"] {
            let preview = app.get_as(&format!("/admin/mail-templates/{kind}{locale}"), &token).await;
            assert_eq!(preview.status, 200, "{kind}{locale}: {}", preview.text);
            assert!(preview.str("html").starts_with("<!doctype html>"), "{kind}");
            assert!(preview.str("subject").contains("stepauth"), "{kind}");
        }
    }
    let german = app.get_as("/admin/mail-templates/login_code?locale=de", &token).await;
    assert_eq!(
        (german.str("subject").as_str(), german.body["locale"].as_str()),
        ("Ihr Anmeldecode für stepauth", Some("de"))
    );
    assert!(german.str("text").contains("123456"), "sample values: {}", german.text);
    assert_eq!(app.get_as("/admin/mail-templates/nothing", &token).await.error(), "mail_template_not_found");
    assert_eq!(app.get_as("/admin/mail-templates/login_code?locale=german", &token).await.error(), "validation_failed");
    assert_eq!(app.get_as("/admin/mail-templates?x=1", &token).await.error(), "validation_failed");
    let user = app.sign_up(&unique_email("preview-user")).await.str("access_token");
    assert_eq!(app.get_as("/admin/mail-templates/login_code", &user).await.error(), "forbidden");
}
