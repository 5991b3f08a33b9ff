//! `stepauth-provision --endpoint URL`: makes a local moto server ready for the Lambda
//! binaries (table, SES identity, secret, picture bucket; see `stepauth_local::moto`) and prints their
//! environment as an env file, the form `cargo lambda watch --env-file` reads.
//!
//! It takes the endpoint as an argument, never from the environment, so that it cannot
//! create anything in a real AWS account by accident.

use anyhow::{Context as _, bail};
use stepauth_local::moto::LocalAws;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let endpoint = match (args.next().as_deref(), args.next(), args.next()) {
        (Some("--endpoint"), Some(endpoint), None) => endpoint,
        _ => bail!("usage: stepauth-provision --endpoint http://127.0.0.1:PORT"),
    };
    let host = endpoint.strip_prefix("http://").context("the endpoint must be a local http:// URL")?;
    if !(host.starts_with("127.0.0.1:") || host.starts_with("localhost:") || host.starts_with("[::1]:")) {
        bail!("{endpoint} is not on this machine: stepauth-provision only prepares a local moto server");
    }
    let local = LocalAws {
        endpoint,
        table: "stepauth".to_owned(),
        from: "noreply@stepauth.local".to_owned(),
        secret_id: "stepauth/local".to_owned(),
        picture_bucket: "stepauth-pictures".to_owned(),
    };
    local.provision().await?;
    for (name, value) in local.env().await? {
        println!("{name}={value}");
    }
    Ok(())
}
