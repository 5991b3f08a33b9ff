//! The cold-start harness: starts a function binary the way Lambda does (a fresh process, a
//! Runtime API handing out one event), many times, and reports the time from spawn to the
//! first response and the peak RSS. Figures are medians; see BENCHMARKS.md.
//!
//! `cargo build --release -p <function>` first, then
//! `cargo run --release -p stepauth-tests --bin coldstart -- <function> [runs] [event.json]`.
//! The configuration is a real one (a generated signing key, a pepper); AWS calls go to
//! `AWS_ENDPOINT_URL` if set (moto for functions that touch the table), else nowhere
//! (`jwks` and bad-token requests make none). With `STEPAUTH_SECRET_ID` set, the key and
//! pepper are read from that Secrets Manager secret at start instead, as on AWS (give its
//! public half as `STEPAUTH_SIGNING_PUBLIC_KEY`). `STEPAUTH_GOOGLE_*` settings are passed on.
//!
//! `STEPAUTH_BENCH_BINARIES` names another folder to take the binary from (another build,
//! for `scripts/bench/before-after`); with `STEPAUTH_BENCH_WARM=N`, one more process then
//! answers the event N times warm, and the median of those is reported too.

use std::time::Duration;

use base64::Engine as _;
use stepauth_tests::runtime_api::{Function, binary_in, invoke};

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let function = args.next().unwrap_or_else(|| "jwks".to_owned());
    let runs: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(50);
    let event_path = args.next().unwrap_or_else(|| format!("{}/../events/{function}.json", env!("CARGO_MANIFEST_DIR")));
    let event = std::fs::read_to_string(&event_path).unwrap_or_else(|e| panic!("{event_path}: {e}"));
    let binary = match std::env::var("STEPAUTH_BENCH_BINARIES") {
        Ok(folder) => std::path::Path::new(&folder).join(&function),
        Err(_) => binary_in("release", &function),
    };

    // With STEPAUTH_SECRET_ID (a secret in the local server, e.g. from stepauth-provision),
    // the key and pepper come from Secrets Manager at start, as on AWS; else from here.
    // The published key (what `jwks` serves) is the signing key's public half; with a
    // secret, give it as STEPAUTH_SIGNING_PUBLIC_KEY (`stepauth-provision` prints it).
    let secrets = match std::env::var("STEPAUTH_SECRET_ID") {
        Ok(id) => {
            let public = std::env::var("STEPAUTH_SIGNING_PUBLIC_KEY").expect("with a secret, its public key");
            vec![("STEPAUTH_SECRET_ID", id), ("STEPAUTH_SIGNING_PUBLIC_KEY", public)]
        }
        Err(_) => {
            let pem = stepauth::tokens::generate_pem().expect("a signing key");
            let keys = stepauth::tokens::Keys::from_pem(&pem, "stepauth", "stepauth-api").expect("the key");
            vec![
                ("STEPAUTH_SIGNING_PUBLIC_KEY", keys.public_key().to_base64_der()),
                ("STEPAUTH_SIGNING_KEY", pem),
                ("STEPAUTH_CODE_PEPPER", base64::engine::general_purpose::STANDARD.encode([7u8; 32])),
            ]
        }
    };
    let env: Vec<(String, String)> = [
        ("AWS_ENDPOINT_URL", std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| "http://127.0.0.1:9".into())),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_ACCESS_KEY_ID", "test".into()),
        ("AWS_SECRET_ACCESS_KEY", "test".into()),
        ("STEPAUTH_TABLE", std::env::var("STEPAUTH_TABLE").unwrap_or_else(|_| "stepauth".into())),
        ("STEPAUTH_FROM_ADDRESS", "noreply@stepauth.test".into()),
        ("RUST_LOG", "warn".into()),
    ]
    .into_iter()
    .chain(secrets)
    .map(|(k, v)| (k.to_owned(), v))
    // Google sign-in's settings pass through, to time its functions configured.
    .chain(std::env::vars().filter(|(k, _)| k.starts_with("STEPAUTH_GOOGLE_")))
    .collect();

    let mut times = Vec::with_capacity(runs);
    let mut rss = Vec::with_capacity(runs);
    for _ in 0..runs {
        let invocation = invoke(&binary, &env, &event).await;
        let response = invocation.response.unwrap_or_else(|e| panic!("{function} failed: {e}"));
        assert!(response["statusCode"].is_u64(), "an HTTP response: {response}");
        times.push(invocation.elapsed);
        rss.extend(invocation.peak_rss_kib);
    }
    times.sort();
    rss.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{function}: {runs} cold starts, spawn to first response: median {:.1} ms, p90 {:.1} ms, min {:.1} ms; \
         peak RSS median {:.1} MB",
        ms(times[runs / 2]),
        ms(times[runs * 9 / 10]),
        ms(times[0]),
        rss.get(rss.len() / 2).copied().unwrap_or(0) as f64 / 1024.0,
    );

    let warm: usize = std::env::var("STEPAUTH_BENCH_WARM").ok().and_then(|n| n.parse().ok()).unwrap_or(0);
    if warm > 0 {
        let mut running = Function::start(&binary, &env).await;
        running.invoke(&event).await.response.unwrap_or_else(|e| panic!("{function} failed: {e}"));
        let mut times: Vec<Duration> = Vec::with_capacity(warm);
        for _ in 0..warm {
            let invocation = running.invoke(&event).await;
            invocation.response.unwrap_or_else(|e| panic!("{function} failed: {e}"));
            times.push(invocation.elapsed);
        }
        running.stop().await;
        times.sort();
        let median = times[warm / 2];
        println!(
            "{function}: {warm} warm invocations: median {:.3} ms, p90 {:.3} ms, {:.0} a second at the median",
            ms(median),
            ms(times[warm * 9 / 10]),
            1.0 / median.as_secs_f64()
        );
    }
}
