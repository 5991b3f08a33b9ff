//! `stepauth-local`: run every stepauth function on 127.0.0.1 with an in-memory store and
//! the mail printed to the console. `STEPAUTH_PORT` (default 3000) sets the port.

use std::net::{Ipv4Addr, SocketAddr};

use anyhow::Context as _;
use stepauth::config::{self, Config};
use stepauth_local::Server;

/// The port used when `STEPAUTH_PORT` is not set.
const DEFAULT_PORT: u16 = 3000;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    lambda_http::tracing::init_default_subscriber();
    let port = match config::var("STEPAUTH_PORT") {
        Some(port) => port.parse().context("STEPAUTH_PORT must be a port number")?,
        None => DEFAULT_PORT,
    };
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut config = Config::from_env()?;
    if config::var("STEPAUTH_ISSUER").is_none() {
        // Tokens name this server as their issuer, so that a verifier finds its keys from
        // `iss` (GET /.well-known/openid-configuration).
        config.issuer = format!("http://{address}");
    }
    if config.site_url.is_none() {
        // Code mails link to this server's page, which opens the login modal.
        config.site_url = Some(format!("http://{address}/"));
    }
    let server = Server::embedded(config).await?;
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("binding {address}; set STEPAUTH_PORT to use another port"))?;
    println!("stepauth local server on http://{address}");
    println!("  every function on its API Gateway route; mail is printed here and served at GET /_local/outbox");
    let result = tokio::select! {
        result = server.serve(listener) => result,
        _ = tokio::signal::ctrl_c() => Ok(()),
    };
    // The uploaded pictures are forgotten with everything else.
    let _ = std::fs::remove_dir_all(stepauth_local::s3::root());
    result
}
