//! Per-request times of the Google sign-in routes against the tests' OpenID provider
//! (tests/oidc, panva's oidc-provider on loopback) and moto: each iteration signs a new
//! person in by the redirect flow (start, the provider's page, callback) and by the ID-token
//! endpoint (a new account, then the same person again), and reads the profile: the
//! reference measured in the same run. Prints each
//! route's handler time (`Server-Timing: handler`) and wall time as median and p90, and the
//! ratio of the medians to `profile-get`'s. See BENCHMARKS.md.
//!
//! With moto running: `STEPAUTH_TEST_MOTO=http://127.0.0.1:5999 cargo run --release -p
//! stepauth-tests --bin google_times -- [iterations]`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use stepauth::config::{Config, GoogleConfig};
use stepauth_tests::oidc_provider::{CLIENT_ID, CLIENT_SECRET, OidcProvider};
use stepauth_tests::{Answer, TestApp, unique_email};

const REDIRECT: &str = "http://127.0.0.1/auth/google/callback";

#[derive(Default)]
struct Times {
    handler: Vec<f64>,
    wall: Vec<f64>,
}

async fn timed(
    times: &mut BTreeMap<&'static str, Times>,
    name: &'static str,
    request: impl Future<Output = Answer>,
) -> Answer {
    let started = Instant::now();
    let answer = request.await;
    let wall = started.elapsed().as_secs_f64() * 1000.0;
    let header = answer.headers.get("server-timing").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let handler = header.strip_prefix("handler;dur=").and_then(|d| d.parse().ok()).expect("Server-Timing: handler");
    let entry = times.entry(name).or_default();
    entry.handler.push(handler);
    entry.wall.push(wall);
    answer
}

fn median_p90(values: &mut [f64]) -> (f64, f64) {
    values.sort_by(f64::total_cmp);
    (values[values.len() / 2], values[values.len() * 9 / 10])
}

#[tokio::main]
async fn main() {
    let iterations: usize = std::env::args().nth(1).and_then(|n| n.parse().ok()).unwrap_or(30);
    let provider = OidcProvider::shared().await;
    let google = GoogleConfig {
        issuer: provider.issuer.clone(),
        client_ids: vec![CLIENT_ID.into()],
        redirect_uri: REDIRECT.into(),
        ..GoogleConfig::default()
    };
    let app = TestApp::spawn_with(Config { google, ..Config::default() }).await;
    let mut times = BTreeMap::new();
    let mut first_start = None;
    for n in 0..iterations {
        let start = timed(&mut times, "google-start", app.request("GET", "/auth/google/start", Value::Null, &[])).await;
        assert_eq!(start.status, 302, "{}", start.text);
        if n == 0 {
            // The first one also reads the provider's discovery document; later ones use the cache.
            first_start = times["google-start"].handler.first().copied();
        }
        let location = start.headers["location"].to_str().expect("ascii").to_owned();
        let cookie = format!("__Host-stepauth_google={}", start.cookie("__Host-stepauth_google").expect("cookie"));
        let login = unique_email("bench-google");
        let back = provider.sign_in(&location, &login).await;
        let callback = back.strip_prefix("http://127.0.0.1").expect("the redirect URI").to_owned();
        let landed =
            timed(&mut times, "google-callback", app.request("GET", &callback, Value::Null, &[("cookie", &cookie)]))
                .await;
        assert_eq!(landed.status, 302, "{}", landed.text);
        let access = landed.cookie("__Host-stepauth_access").expect("a session");

        let gis = unique_email("bench-gis");
        for (name, nonce) in [("google-id-token (new)", "n1"), ("google-id-token (returning)", "n2")] {
            let token = provider.id_token(CLIENT_ID, CLIENT_SECRET, &gis, nonce).await;
            let body = json!({"id_token": token, "nonce": nonce});
            let signed_in = timed(&mut times, name, app.post("/auth/google/id-token", body)).await;
            assert_eq!(signed_in.status, 200, "{}", signed_in.text);
        }

        let me = timed(&mut times, "profile-get", app.get_as("/users/me", &access)).await;
        assert_eq!(me.status, 200, "{}", me.text);
    }

    let (reference, _) = median_p90(&mut times.get_mut("profile-get").expect("measured").handler.clone());
    println!("{iterations} iterations; handler = Server-Timing, wall = the client's round trip (ms)");
    for (name, entry) in &mut times {
        let (handler, handler_p90) = median_p90(&mut entry.handler);
        let (wall, wall_p90) = median_p90(&mut entry.wall);
        println!(
            "{name:28} handler median {handler:7.2} p90 {handler_p90:7.2} ({:5.1} x profile-get)   wall median {wall:7.2} p90 {wall_p90:7.2}",
            handler / reference
        );
    }
    if let Some(first) = first_start {
        println!("google-start, first request (reads the discovery document): handler {first:.2} ms");
    }
    drop(app);
    tokio::time::sleep(Duration::from_millis(10)).await;
}
