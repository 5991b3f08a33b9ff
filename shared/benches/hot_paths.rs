//! The hot paths of stepauth, measured with criterion: `cargo bench -p stepauth`.
//!
//! Argon2 at production parameters (what a login costs beyond I/O), token issuing next to a
//! bare RSA-2048 signature with the same aws-lc key (the target is within 1.5×), token
//! verification, code hashing, TOTP checking, QR PNG generation, and a whole refresh rotation
//! on the in-memory store, and the request log line every function writes. BENCHMARKS.md
//! records the figures.

use std::hint::black_box;
use std::sync::Arc;

use aws_lc_rs::rsa::KeyPair;
use aws_lc_rs::signature::RSA_PKCS1_SHA256;
use criterion::{Criterion, criterion_group, criterion_main};
use stepauth::App;
use stepauth::clock::{Clock as _, ManualClock};
use stepauth::config::Config;
use stepauth::mail::outbox::Outbox;
use stepauth::model::{Code, Pepper};
use stepauth::model::{Email, Grant, GrantKind, Origin, Purpose, User};
use stepauth::password::{self, Password};
use stepauth::random::SystemRandom;
use stepauth::store::memory::MemoryStore;
use stepauth::tokens::{self, Claims, Keys, TokenUse};
use stepauth::{session, telemetry, totp};

fn claims(now: i64) -> Claims {
    Claims {
        iss: "stepauth".into(),
        aud: "stepauth-api".into(),
        sub: "5f0c6a4e-2b1d-4c3a-9e8f-7a6b5c4d3e2f".into(),
        iat: now,
        exp: now + 600,
        token_use: TokenUse::Access,
        sid: "tZqi6IllwPkRnj3mCXa_vQ".into(),
        ver: 0,
        custom: Default::default(),
    }
}

/// Argon2id as the hashing threads run it (one memory reused by every hash), next to the
/// `argon2` crate's own `PasswordHasher`, which allocates 19 MiB for each hash (what
/// stepauth did before): the difference is the allocation and its page faults.
fn argon2(c: &mut Criterion) {
    use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
    let password = Password::new("Correct-Horse-7-Battery");
    let mut memory = password::Memory::new();
    let phc = password::hash_blocking(&password, [7; 16], &mut memory).expect("hash");
    let params = argon2::Params::new(19 * 1024, 2, 1, None).expect("params");
    let fresh = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let salt = SaltString::encode_b64(&[7; 16]).expect("salt");
    let parsed = PasswordHash::new(&phc).expect("a PHC string");
    let mut group = c.benchmark_group("argon2id m=19MiB t=2 p=1");
    group.sample_size(30);
    group.bench_function("hash, memory reused", |b| {
        b.iter(|| password::hash_blocking(black_box(&password), [7; 16], &mut memory))
    });
    group.bench_function("hash, memory allocated per hash", |b| {
        b.iter(|| fresh.hash_password(black_box(password.expose().as_bytes()), &salt).map(|h| h.to_string()))
    });
    group.bench_function("verify, memory reused", |b| {
        b.iter(|| password::verify_blocking(black_box(&password), &phc, &mut memory))
    });
    group.bench_function("verify, memory allocated per hash", |b| {
        b.iter(|| fresh.verify_password(black_box(password.expose().as_bytes()), &parsed).is_ok())
    });
    group.finish();
}

fn tokens(c: &mut Criterion) {
    let pem = tokens::generate_pem().expect("a key");
    let keys = Keys::from_pem(&pem, "stepauth", "stepauth-api").expect("keys");
    let claims = claims(1_800_000_000);
    let token = keys.sign(&claims).expect("sign");
    // The same key, parsed once, signing an input as long as a token's: the floor.
    let der = base64_body(&pem);
    let bare = KeyPair::from_pkcs8(&der).expect("pkcs8");
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let input = token.rsplit_once('.').map(|(head, _)| head.to_owned()).expect("three parts");
    let mut signature = vec![0; bare.public_modulus_len()];

    let mut group = c.benchmark_group("access token");
    group.bench_function("bare RSA-2048 signature", |b| {
        b.iter(|| bare.sign(&RSA_PKCS1_SHA256, &rng, black_box(input.as_bytes()), &mut signature))
    });
    group.bench_function("issue", |b| b.iter(|| keys.sign(black_box(&claims))));
    group.bench_function("verify", |b| b.iter(|| keys.verify(black_box(&token), TokenUse::Access, 1_800_000_001)));
    group.finish();
}

fn base64_body(pem: &str) -> Vec<u8> {
    use base64::Engine as _;
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::engine::general_purpose::STANDARD.decode(body).expect("base64")
}

fn codes_and_totp(c: &mut Criterion) {
    let pepper = Pepper::new(&[9; 32]).expect("pepper");
    let email = Email::parse("ann@example.com").expect("email");
    let code = Code::parse("123456").expect("code");
    c.bench_function("emailed code: keyed hash", |b| b.iter(|| pepper.hash(Purpose::Login, &email, black_box(&code))));

    let secret = totp::new_secret(&SystemRandom::default());
    let t = totp::totp(&secret, "stepauth", "ann@example.com").expect("totp");
    let now = 1_800_000_015;
    let current = totp::code_at(&t, now);
    c.bench_function("totp: check a code (3 steps)", |b| b.iter(|| totp::matching_step(&t, black_box(&current), now)));
    let uri = t.to_url().expect("uri");
    c.bench_function("totp: QR PNG data URL", |b| b.iter(|| totp::qr_png_data_url(black_box(&uri))));
}

fn refresh_rotation(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    let clock = Arc::new(ManualClock::new(1_800_000_000));
    let config = Config::default();
    let app = App {
        keys: Keys::generate(&config.issuer, &config.audience).expect("keys"),
        pepper: Pepper::new(&[1; 32]).expect("pepper"),
        google: None,
        pictures: None,
        store: Arc::new(MemoryStore::new()),
        mailer: Arc::new(Outbox::new(clock.clone(), false)),
        templates: Arc::new(stepauth::mail::templates::Templates::builtin("stepauth").expect("templates")),
        clock: clock.clone(),
        random: Arc::new(SystemRandom::default()),
        config,
    };
    let email = Email::parse("bench@example.com").expect("email");
    let user = User::new("bench-user".into(), email.clone(), "Bench".into(), String::new(), clock.now());
    let mut token = runtime.block_on(async {
        let grant = Grant {
            token_hash: "g".into(),
            kind: GrantKind::Signup,
            email,
            name: String::new(),
            user_id: None,
            user_version: None,
            expires_at: clock.now() + 900,
            first_factor: None,
        };
        app.store.put_grant(&grant).await.expect("grant");
        app.store.create_user(&user, "g", clock.now()).await.expect("user");
        session::start(&app, &user, Some("password".into()), &Origin::default()).await.expect("a session").refresh_token
    });
    c.bench_function("refresh rotation (memory store, with token issue)", |b| {
        b.iter(|| {
            token =
                runtime.block_on(session::refresh(&app, &token, &Origin::default())).expect("rotates").refresh_token;
        })
    });
}

/// What each request pays for operators (docs/OPERATIONS.md): its recorder, three counts and
/// its JSON log line with the EMF block (not the write to standard output).
fn request_line(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    c.bench_function("request log line (record, count, render)", |b| {
        b.iter(|| {
            let ((), recorded) = runtime.block_on(telemetry::record(async {
                telemetry::count(telemetry::Event::LoginFailed);
                telemetry::count(telemetry::Event::AccountLocked);
                telemetry::user("0b9c2f4e-6a55-4f0e-9d7e-2b1f3c4d5e6f");
            }));
            let line = telemetry::RequestLine {
                service: "stepauth-prod",
                function: "login",
                route: "POST /auth/login",
                status: 423,
                error: Some("account_locked"),
                latency_ms: 23.4,
                request_id: Some("8476a536-e9f4-11e8-9739-2dfe598c3fcd"),
                trace_id: Some("Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1"),
                cold_start: false,
                recorded: &recorded,
            };
            black_box(line.to_json(1_800_000_000_000))
        })
    });
}

/// What mail templates cost: loading and checking every built-in template (each cold start
/// does it once, every kind rendered with sample values), and rendering one code mail (each
/// mail sent).
fn mail_templates(c: &mut Criterion) {
    use stepauth::mail::templates::{Coded, Letter, Templates, To};
    c.bench_function("mail templates: load the built-in ones (each cold start)", |b| {
        b.iter(|| black_box(Templates::builtin("stepauth").expect("templates")))
    });
    c.bench_function("mail templates: load and check all (a cold start with a deployment's folder)", |b| {
        b.iter(|| black_box(Templates::builtin("stepauth").and_then(Templates::checked).expect("templates")))
    });
    let templates = Templates::builtin("stepauth").expect("templates");
    let code = stepauth::model::Code::parse("042042").expect("a code");
    let letter = Letter::LoginCode(Coded { code: &code, minutes: 10, link: Some("https://www.example.com/#x".into()) });
    let to = To { name: Some("Ann Example"), ..To::address("ann@example.com") };
    c.bench_function("mail templates: render a login code mail", |b| {
        b.iter(|| black_box(templates.render(black_box(&letter), to).expect("renders")))
    });
}

/// What a profile picture costs the functions: signing an upload form (`picture-upload`, a
/// policy and five HMACs) and presigning a picture's GET (every route that shows a profile
/// with an uploaded picture). Neither makes a call.
fn pictures(c: &mut Criterion) {
    use aws_sdk_s3::config::Credentials;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    let aws = runtime.block_on(
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("eu-west-1"))
            .credentials_provider(Credentials::new(
                "AKIDEXAMPLE",
                "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                None,
                None,
                "bench",
            ))
            .load(),
    );
    let bucket = stepauth::objects::Bucket::new(&aws, "stepauth-pictures");
    let key = "uploads/0b9c2f4e-6a55-4f0e-9d7e-2b1f3c4d5e6f/q3Xw9Lk2PzR7tY1uVb8nMg";
    let lifetime = stepauth::pictures::UPLOAD_LIFETIME;
    c.bench_function("pictures: sign an upload form", |b| {
        b.iter(|| {
            black_box(runtime.block_on(bucket.post_form(black_box(key), "image/png", 1 << 20, 1_800_000_000, lifetime)))
                .expect("a form")
        })
    });
    let shown = "pictures/0b9c2f4e-6a55-4f0e-9d7e-2b1f3c4d5e6f/q3Xw9Lk2PzR7tY1uVb8nMg";
    c.bench_function("pictures: presign a picture's GET", |b| {
        b.iter(|| {
            black_box(runtime.block_on(bucket.presigned_get(black_box(shown), stepauth::pictures::VIEW_LIFETIME)))
                .expect("a URL")
        })
    });
}

criterion_group!(benches, argon2, tokens, codes_and_totp, refresh_rotation, request_line, mail_templates, pictures);
criterion_main!(benches);
