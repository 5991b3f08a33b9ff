//! Profile pictures: the presigned POST, S3 enforcing its policy, handing the upload back,
//! replacing and forgetting the object. The flow runs against moto's S3; what S3 refuses is
//! tried against the local server's S3 (s3s), because moto takes any POST without reading
//! its policy or signature.

use std::sync::Arc;

use serde_json::{Value, json};
use stepauth::config::Config;
use stepauth_local::s3::LocalS3;
use stepauth_tests::fault_proxy::{Fault, FaultProxy, kinds};
use stepauth_tests::{PASSWORD, TestApp, moto_config, moto_endpoint, unique_email};
use tokio::sync::OnceCell;

/// A PNG of one transparent pixel.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4, 0x89, 0x00, 0x00, 0x00, 0x0d, 0x49,
    0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x00, 0x01, 0x00, 0x00, 0x05, 0x00, 0x01, 0x0d, 0x0a, 0x2d, 0xb4, 0x00, 0x00,
    0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

/// The local server's S3, started once for these tests.
async fn local_s3() -> &'static LocalS3 {
    static S3: OnceCell<LocalS3> = OnceCell::const_new();
    S3.get_or_init(|| async {
        let root = std::env::temp_dir().join(format!("stepauth-test-s3-{}", std::process::id()));
        stepauth_local::s3::start(&root).await.expect("the local S3 starts")
    })
    .await
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// `POST /users/me/picture` for `content_type`.
async fn form(app: &TestApp, token: &str, content_type: &str) -> stepauth_tests::Answer {
    app.request(
        "POST",
        "/users/me/picture",
        json!({"content_type": content_type}),
        &[("authorization", &bearer(token))],
    )
    .await
}

/// Posts `form`'s fields (with `overrides` replacing some) and then `file` (as the browser
/// does: the file last) to its URL: S3's status and answer.
async fn upload(form: &Value, overrides: &[(&str, &str)], file: Vec<u8>) -> (u16, String) {
    let mut multipart = reqwest::multipart::Form::new();
    for (name, value) in form["fields"].as_object().expect("fields") {
        let value = overrides.iter().find(|(n, _)| n == name).map_or(value.as_str().expect("a string"), |(_, v)| v);
        multipart = multipart.text(name.clone(), value.to_owned());
    }
    multipart = multipart.part("file", reqwest::multipart::Part::bytes(file).file_name("picture"));
    let url = form["url"].as_str().expect("a url");
    let response = stepauth_tests::http_client().post(url).multipart(multipart).send().await.expect("S3 answers");
    (response.status().as_u16(), response.text().await.unwrap_or_default())
}

async fn hand_back(app: &TestApp, token: &str, key: &str) -> stepauth_tests::Answer {
    app.request("PUT", "/users/me/picture", json!({"key": key}), &[("authorization", &bearer(token))]).await
}

/// The keys under `prefix` in the app's picture bucket.
async fn keys(app: &TestApp, aws: &aws_config::SdkConfig, prefix: &str) -> Vec<String> {
    let bucket = app.app.pictures.as_ref().expect("a picture bucket").name().to_owned();
    let client = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(aws).force_path_style(true).build());
    let listed = client.list_objects_v2().bucket(bucket).prefix(prefix).send().await.expect("listing the bucket");
    listed.contents().iter().filter_map(|o| o.key().map(str::to_owned)).collect()
}

/// Signs up, asks for a form, uploads `PNG` and hands the key back: the profile.
async fn picture_set(app: &TestApp, token: &str) -> stepauth_tests::Answer {
    let form = form(app, token, "image/png").await;
    assert_eq!(form.status, 200, "{}", form.text);
    let (status, answer) = upload(&form.body, &[], PNG.to_vec()).await;
    assert!((200..300).contains(&status), "S3 took the upload: {status} {answer}");
    hand_back(app, token, &form.str("key")).await
}

/// Through moto's S3: upload, hand back, read the picture through its presigned URL; a second
/// picture replaces the first (deleted); a URL the person gives replaces an upload (deleted);
/// deleting the account deletes its picture. Nothing stays under uploads/.
#[tokio::test]
async fn a_picture_is_uploaded_shown_replaced_and_deleted_with_the_account() {
    let aws = moto_config().await;
    let app = TestApp::spawn_with_pictures(Config::default(), &aws).await;
    let token = app.sign_up(&unique_email("picture")).await.str("access_token");
    let id = app.get_as("/users/me", &token).await.str("id");
    let kept = format!("pictures/{id}/");

    let me = picture_set(&app, &token).await;
    assert_eq!((me.status, &me.body["picture_uploaded"]), (200, &json!(true)), "{}", me.text);
    let url = me.str("picture");
    let shown = stepauth_tests::http_client().get(&url).send().await.expect("S3 answers");
    assert_eq!(shown.status(), 200, "{url}");
    assert_eq!(shown.bytes().await.expect("the picture").as_ref(), PNG, "the picture is what was uploaded");
    assert_eq!(app.get_as("/users/me", &token).await.body["picture_uploaded"], true);
    let first = keys(&app, &aws, &kept).await;
    assert_eq!(first.len(), 1, "{first:?}");

    let second = picture_set(&app, &token).await;
    assert_eq!(second.status, 200, "{}", second.text);
    let now = keys(&app, &aws, &kept).await;
    assert_eq!(now.len(), 1, "the replaced picture is deleted: {now:?}");
    assert_ne!(now, first);
    assert!(keys(&app, &aws, &format!("uploads/{id}/")).await.is_empty(), "handed-back uploads are gone");

    let given = app
        .request(
            "PATCH",
            "/users/me",
            json!({"picture": "https://example.com/me.png"}),
            &[("authorization", &bearer(&token))],
        )
        .await;
    assert_eq!((given.status, given.str("picture").as_str()), (200, "https://example.com/me.png"), "{}", given.text);
    assert_eq!(given.body["picture_uploaded"], false);
    assert!(keys(&app, &aws, &kept).await.is_empty(), "a URL given replaces the upload, which is deleted");

    assert_eq!(picture_set(&app, &token).await.status, 200);
    let auth = bearer(&token);
    let deleted = app.request("DELETE", "/users/me", json!({"password": PASSWORD}), &[("authorization", &auth)]).await;
    assert_eq!(deleted.status, 200, "{}", deleted.text);
    assert!(keys(&app, &aws, &kept).await.is_empty(), "the account's picture is deleted with it");
}

/// The key handed back must be an upload of the caller's, there, once: another account's key,
/// a key never uploaded, one outside uploads/, and the same key again are refused alike, and
/// the profile keeps its picture. Only the three image types get a form.
#[tokio::test]
async fn only_your_own_upload_is_taken_once() {
    let aws = moto_config().await;
    let app = TestApp::spawn_with_pictures(Config::default(), &aws).await;
    let ann = app.sign_up(&unique_email("picture-ann")).await.str("access_token");
    let bob = app.sign_up(&unique_email("picture-bob")).await.str("access_token");

    let bobs = form(&app, &bob, "image/webp").await;
    assert_eq!(upload(&bobs.body, &[], PNG.to_vec()).await.0 / 100, 2);
    let stolen = hand_back(&app, &ann, &bobs.str("key")).await;
    assert_eq!((stolen.status, stolen.error()), (404, "picture_not_found"), "another account's upload");

    let anns = form(&app, &ann, "image/png").await;
    let never = hand_back(&app, &ann, &anns.str("key")).await;
    assert_eq!((never.status, never.error()), (404, "picture_not_found"), "a key with nothing uploaded");
    assert_eq!(upload(&anns.body, &[], PNG.to_vec()).await.0 / 100, 2);
    let ann_id = app.get_as("/users/me", &ann).await.str("id");
    for outside in [format!("pictures/{ann_id}/x"), format!("uploads/{ann_id}/"), format!("uploads/{ann_id}/a/b")] {
        let answer = hand_back(&app, &ann, &outside).await;
        assert_eq!((answer.status, answer.error()), (404, "picture_not_found"), "{outside}");
    }
    let taken = hand_back(&app, &ann, &anns.str("key")).await;
    assert_eq!(taken.status, 200, "{}", taken.text);
    let picture = taken.str("picture");
    let again = hand_back(&app, &ann, &anns.str("key")).await;
    assert_eq!((again.status, again.error()), (404, "picture_not_found"), "an upload is taken once");
    let me = app.get_as("/users/me", &ann).await;
    assert_eq!(me.body["picture_uploaded"], true, "the refused attempts left the picture");
    assert_eq!(me.str("picture").split('?').next(), picture.split('?').next());
    // Bob's upload is still Bob's to take.
    assert_eq!(hand_back(&app, &bob, &bobs.str("key")).await.status, 200);

    for bad in [
        json!({"content_type": "text/plain"}),
        json!({"content_type": "image/svg+xml"}),
        json!({}),
        json!({"content_type": 5}),
    ] {
        let answer = app.request("POST", "/users/me/picture", bad.clone(), &[("authorization", &bearer(&ann))]).await;
        assert_eq!((answer.status, answer.error()), (400, "validation_failed"), "{bad}");
    }
    let anonymous = app.request("POST", "/users/me/picture", json!({"content_type": "image/png"}), &[]).await;
    assert_eq!(anonymous.status, 401);
}

/// Two pictures handed back at once: one wins, and the bucket keeps exactly one picture.
#[tokio::test]
async fn two_pictures_handed_back_at_once_leave_one() {
    let aws = moto_config().await;
    let app = Arc::new(TestApp::spawn_with_pictures(Config::default(), &aws).await);
    let token = app.sign_up(&unique_email("picture-race")).await.str("access_token");
    let id = app.get_as("/users/me", &token).await.str("id");
    let mut keys_up = Vec::new();
    for _ in 0..2 {
        let form = form(&app, &token, "image/png").await;
        assert_eq!(upload(&form.body, &[], PNG.to_vec()).await.0 / 100, 2);
        keys_up.push(form.str("key"));
    }
    let (a, b) = tokio::join!(hand_back(&app, &token, &keys_up[0]), hand_back(&app, &token, &keys_up[1]));
    assert!(a.status == 200 || b.status == 200, "{} / {}", a.text, b.text);
    let kept = keys(&app, &aws, &format!("pictures/{id}/")).await;
    assert_eq!(kept.len(), 1, "one picture is kept, the other deleted: {kept:?}");
    let shown = app.get_as("/users/me", &token).await.str("picture");
    assert!(shown.contains(&kept[0]), "the profile names the one kept: {shown}");
}

/// S3 (s3s, which checks POST policies as AWS does) refuses what the form does not allow: a
/// 2 MiB file, a text file, another key, a changed form, an expired one; it takes the picture
/// the form was for, and the presigned GET stepauth signs reads it back.
#[tokio::test]
async fn s3_refuses_what_the_form_does_not_allow() {
    let s3 = local_s3().await;
    let app = TestApp::spawn_with_pictures(Config::default(), &s3.aws).await;
    let token = app.sign_up(&unique_email("picture-policy")).await.str("access_token");
    let form = form(&app, &token, "image/png").await;
    assert_eq!(form.status, 200, "{}", form.text);
    assert_eq!(form.body["max_bytes"], 1_048_576);

    let (status, answer) = upload(&form.body, &[], vec![0x89; 2 * 1024 * 1024]).await;
    assert_eq!(status, 400, "a 2 MiB file: {answer}");
    assert!(answer.contains("EntityTooLarge"), "{answer}");
    // AWS answers a failed condition 403 AccessDenied, s3s 400 InvalidPolicyDocument.
    let refused = |status: u16| status == 400 || status == 403;
    let (status, answer) = upload(&form.body, &[("Content-Type", "text/plain")], b"not a picture".to_vec()).await;
    assert!(refused(status), "a text file: {status} {answer}");
    let (status, answer) = upload(&form.body, &[("key", "pictures/someone-else/x")], PNG.to_vec()).await;
    assert!(refused(status), "another key: {status} {answer}");
    let (status, answer) = upload(&form.body, &[("x-amz-signature", &"0".repeat(64))], PNG.to_vec()).await;
    assert_eq!(status, 403, "a changed signature: {answer}");
    let (status, answer) = upload(&form.body, &[], Vec::new()).await;
    assert!(refused(status), "an empty file: {status} {answer}");

    // A form made longer ago than its lifetime, for the same key.
    let bucket = app.app.pictures.as_ref().expect("a bucket");
    let lifetime = stepauth::pictures::UPLOAD_LIFETIME;
    let made = app.app.now() - lifetime.as_secs() as i64 - 60;
    let old = bucket.post_form(&form.str("key"), "image/png", 1_048_576, made, lifetime).await.expect("a form");
    let expired = json!({"url": old.url, "fields": old.fields});
    let (status, answer) = upload(&expired, &[], PNG.to_vec()).await;
    assert!(refused(status), "an expired form: {status} {answer}");

    let refused = hand_back(&app, &token, &form.str("key")).await;
    assert_eq!(refused.error(), "picture_not_found", "nothing refused was stored");
    let (status, answer) = upload(&form.body, &[], PNG.to_vec()).await;
    assert!((200..300).contains(&status), "the picture the form is for: {status} {answer}");
    let me = hand_back(&app, &token, &form.str("key")).await;
    assert_eq!(me.status, 200, "{}", me.text);
    let shown = stepauth_tests::http_client().get(me.str("picture")).send().await.expect("S3 answers");
    assert_eq!(shown.status(), 200, "s3s accepts the presigned GET's signature");
    assert_eq!(shown.bytes().await.expect("bytes").as_ref(), PNG);
    let tampered = me.str("picture").replace("X-Amz-Expires=900", "X-Amz-Expires=9000");
    assert_eq!(stepauth_tests::http_client().get(tampered).send().await.expect("S3 answers").status(), 403);
}

/// S3 throttled, failing, cutting or hanging while an upload is handed back: 503 with
/// `Retry-After` within the time budget, the profile unchanged, and the same key taken once
/// S3 is back (the upload is deleted only after its copy is kept).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_faltering_answers_503_and_the_upload_waits_for_the_retry() {
    // Every S3 call (the test buckets' paths); DynamoDB and SES calls go to other paths.
    const S3: &str = "/stepauth-test-";
    for (name, kind) in kinds(S3) {
        let kind = match (name, kind) {
            ("throttled", _) => stepauth_tests::fault_proxy::Kind::Error { status: 503, error_type: "SlowDown" },
            (_, kind) => kind,
        };
        let proxy = FaultProxy::start(moto_endpoint(), Fault::every(S3, kind)).await;
        proxy.heal();
        let aws = stepauth_local::moto::sdk_config(&proxy.endpoint).await;
        let app = TestApp::spawn_with_pictures(Config::default(), &aws).await;
        let token = app.sign_up(&unique_email("picture-fault")).await.str("access_token");
        let form = form(&app, &token, "image/png").await;
        assert_eq!(upload(&form.body, &[], PNG.to_vec()).await.0 / 100, 2, "{name}");

        proxy.break_again();
        let started = std::time::Instant::now();
        let faulted = hand_back(&app, &token, &form.str("key")).await;
        let took = started.elapsed();
        assert_eq!((faulted.status, faulted.error()), (503, "service_unavailable"), "{name}: {}", faulted.text);
        assert_eq!(faulted.headers["retry-after"], "1", "{name}");
        assert!(took < std::time::Duration::from_secs(8), "{name}: {took:?}");
        assert!(proxy.injected() >= 1, "{name}: the fault was met");
        assert_eq!(app.get_as("/users/me", &token).await.body["picture"], Value::Null, "{name}: nothing changed");

        proxy.heal();
        let retried = hand_back(&app, &token, &form.str("key")).await;
        assert_eq!(
            (retried.status, &retried.body["picture_uploaded"]),
            (200, &json!(true)),
            "{name}: {}",
            retried.text
        );
    }
}
