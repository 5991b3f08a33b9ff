//! The state every handler runs with, built once per process (at cold start on Lambda).

use std::sync::Arc;

use anyhow::Context as _;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::clock::{Clock, SystemClock, UnixTime};
use crate::codes::Pepper;
use crate::config::{self, Config};
use crate::mail::Mailer;
use crate::mail::ses::SesMailer;
use crate::random::{Random, SystemRandom};
use crate::store::Store;
use crate::store::dynamo::DynamoStore;
use crate::tokens::Keys;

/// Configuration, clients and keys: everything a handler needs besides its request.
#[derive(Debug)]
pub struct App {
    /// Names, limits and lifetimes.
    pub config: Config,
    /// Users, codes, grants, sessions.
    pub store: Arc<dyn Store>,
    /// Outgoing mail.
    pub mailer: Arc<dyn Mailer>,
    /// The time.
    pub clock: Arc<dyn Clock>,
    /// Randomness for codes, tokens, ids and salts.
    pub random: Arc<dyn Random>,
    /// The access-token signing key and the keys accepted.
    pub keys: Keys,
    /// The key codes are hashed with.
    pub pepper: Pepper,
}

impl App {
    /// The Lambda configuration: DynamoDB and SES clients from the standard AWS settings
    /// (`AWS_ENDPOINT_URL` points both at a local server), and:
    ///
    /// - `STEPAUTH_TABLE`: the DynamoDB table;
    /// - `STEPAUTH_FROM_ADDRESS`: the verified SES identity mail is sent from;
    /// - `STEPAUTH_SIGNING_KEY`: the RSA private key, PKCS#8 PEM;
    /// - `STEPAUTH_CODE_PEPPER`: at least 32 random bytes, base64;
    /// - optional limits and lifetimes, see [`Config::from_env`].
    pub async fn from_env() -> anyhow::Result<Self> {
        let config = Config::from_env()?;
        let table = config::required("STEPAUTH_TABLE")?;
        let from = config::required("STEPAUTH_FROM_ADDRESS")?;
        let keys = Keys::from_pem(&config::required("STEPAUTH_SIGNING_KEY")?, &config.issuer, &config.audience)?;
        let pepper = STANDARD
            .decode(config::required("STEPAUTH_CODE_PEPPER")?.trim())
            .context("STEPAUTH_CODE_PEPPER must be base64")?;
        let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        Ok(Self {
            store: Arc::new(DynamoStore::new(aws_sdk_dynamodb::Client::new(&aws), table)),
            mailer: Arc::new(SesMailer::new(aws_sdk_sesv2::Client::new(&aws), from)),
            clock: Arc::new(SystemClock),
            random: Arc::new(SystemRandom::default()),
            keys,
            pepper: Pepper::new(&pepper)?,
            config,
        })
    }

    /// The current time, from the injected clock.
    pub fn now(&self) -> UnixTime {
        self.clock.now()
    }
}
