//! The state every handler runs with, built once per process (at cold start on Lambda).

use std::sync::Arc;

use anyhow::Context as _;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;

use crate::clock::{Clock, SystemClock, UnixTime};
use crate::config::{self, Config};
use crate::mail::Mailer;
use crate::mail::ses::SesMailer;
use crate::mail::templates::Templates;
use crate::model::Pepper;
use crate::objects::Bucket;
use crate::oidc::Provider;
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
    /// What the mail says: the built-in templates and the deployment's, checked at start.
    pub templates: Arc<Templates>,
    /// The time.
    pub clock: Arc<dyn Clock>,
    /// Randomness for codes, tokens, ids and salts.
    pub random: Arc<dyn Random>,
    /// The access-token signing key and the keys accepted.
    pub keys: Keys,
    /// The key codes are hashed with.
    pub pepper: Pepper,
    /// The OpenID provider of Google sign-in, when it is configured.
    pub google: Option<Provider>,
    /// The bucket uploaded profile pictures live in, when there is one.
    pub pictures: Option<Bucket>,
}

impl App {
    /// The Lambda configuration: DynamoDB, SES and Secrets Manager clients from the standard
    /// AWS settings (`AWS_ENDPOINT_URL` points them at a local server), and:
    ///
    /// - `STEPAUTH_TABLE`: the DynamoDB table;
    /// - `STEPAUTH_FROM_ADDRESS`: the verified SES identity mail is sent from;
    /// - `STEPAUTH_SES_CONFIGURATION_SET`, when set: the configuration set mail is sent under,
    ///   whose events the `mail-events` function records;
    /// - `STEPAUTH_SECRET_ID`: the Secrets Manager secret (name or ARN) holding the signing key
    ///   and the code pepper, read once here (see [`Secrets`]); or, where there is no Secrets
    ///   Manager, `STEPAUTH_SIGNING_KEY` (PKCS#8 PEM) and `STEPAUTH_CODE_PEPPER` (base64);
    /// - `STEPAUTH_PICTURE_BUCKET`, when set: the S3 bucket profile pictures are uploaded to;
    /// - `STEPAUTH_SIGNING_PUBLIC_KEY`, when set: the published keys, which must include the
    ///   signing key's public half (see [`config::published_signing_keys`]);
    /// - optional limits and lifetimes, see [`Config::from_env`].
    pub async fn from_env() -> anyhow::Result<Self> {
        let config = Config::from_env()?;
        let templates = Arc::new(Templates::load(&config.product_name, config.mail_templates.as_deref())?);
        let table = config::required("STEPAUTH_TABLE")?;
        let from = config::required("STEPAUTH_FROM_ADDRESS")?;
        let aws = crate::aws::budgeted(aws_config::defaults(aws_config::BehaviorVersion::latest())).load().await;
        let secrets = match config::var("STEPAUTH_SECRET_ID") {
            Some(id) => Secrets::fetch(&aws_sdk_secretsmanager::Client::new(&aws), &id).await?,
            None => Secrets {
                signing_key: config::required("STEPAUTH_SIGNING_KEY")?,
                code_pepper: config::required("STEPAUTH_CODE_PEPPER")?,
                google_client_secret: config::var("STEPAUTH_GOOGLE_CLIENT_SECRET"),
            },
        };
        let keys = Keys::from_pem(&secrets.signing_key, &config.issuer, &config.audience)?;
        if let Some(published) = config::published_signing_keys()? {
            // A deployment whose published key is not its signing key would issue tokens
            // no verifier accepts: refuse to start instead.
            anyhow::ensure!(
                published.iter().any(|key| key.kid == keys.public_key().kid),
                "STEPAUTH_SIGNING_PUBLIC_KEY does not include the public half of the signing key"
            );
        }
        let pepper = secrets.pepper()?;
        let google = match config.google.enabled() {
            true => Some(Provider::new(config.google.clone(), secrets.google_client_secret.clone())?),
            false => None,
        };
        Ok(Self {
            store: Arc::new(DynamoStore::new(aws_sdk_dynamodb::Client::new(&aws), table)),
            mailer: Arc::new(
                SesMailer::new(aws_sdk_sesv2::Client::new(&aws), from)
                    .with_configuration_set(config::var("STEPAUTH_SES_CONFIGURATION_SET")),
            ),
            templates,
            clock: Arc::new(SystemClock),
            random: Arc::new(SystemRandom::default()),
            keys,
            pepper,
            google,
            pictures: config::var("STEPAUTH_PICTURE_BUCKET").map(|name| Bucket::new(&aws, &name)),
            config,
        })
    }

    /// The current time, from the injected clock.
    pub fn now(&self) -> UnixTime {
        self.clock.now()
    }
}

/// The secrets a deployment keeps in Secrets Manager, as one JSON secret string:
/// `{"signing_key": "<PKCS#8 PEM>", "code_pepper": "<base64 of at least 32 bytes>"}`, and
/// `"google_client_secret"` where Google sign-in is on.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Secrets {
    /// The RSA private key access tokens are signed with, PKCS#8 PEM.
    pub signing_key: String,
    /// The HMAC key one-time codes are hashed with, base64.
    pub code_pepper: String,
    /// The OAuth client secret of Google sign-in's redirect flow (its code exchange).
    #[serde(default)]
    pub google_client_secret: Option<String>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secrets { .. }")
    }
}

impl Secrets {
    /// Reads the secret `id` (its current version). One request, made once per cold start.
    pub async fn fetch(client: &aws_sdk_secretsmanager::Client, id: &str) -> anyhow::Result<Self> {
        let output = client.get_secret_value().secret_id(id).send().await.map_err(|e| {
            crate::store::call_failed("SecretsManager", e, format!("reading the secret {id} from Secrets Manager"))
        })?;
        let text = output.secret_string().with_context(|| format!("the secret {id} has no secret string"))?;
        Self::parse(text).with_context(|| format!("the secret {id}"))
    }

    /// Parses the secret string. Errors never quote it.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        serde_json::from_str(text).map_err(|e| {
            anyhow::anyhow!(
                "must be a JSON object with \"signing_key\", \"code_pepper\" and optionally \"google_client_secret\" (line {}, column {})",
                e.line(),
                e.column()
            )
        })
    }

    /// The code pepper's bytes.
    pub fn pepper(&self) -> anyhow::Result<Pepper> {
        let bytes = STANDARD.decode(self.code_pepper.trim()).context("the code pepper must be base64")?;
        Pepper::new(&bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_parse_without_quoting_the_secret_in_errors() {
        let secrets = Secrets::parse(r#"{"signing_key": "PEM", "code_pepper": "QUJD"}"#).expect("valid");
        assert_eq!(secrets.signing_key, "PEM");
        assert_eq!(format!("{secrets:?}"), "Secrets { .. }");
        assert!(secrets.pepper().is_err(), "three bytes are too short a pepper");

        for bad in ["s3cr3t-value", r#"{"signing_key": "s3cr3t-value"}"#, r#"{"signing_key": 1, "code_pepper": "x"}"#] {
            let error = format!("{:#}", Secrets::parse(bad).expect_err("invalid"));
            assert!(!error.contains("s3cr3t"), "{error}");
        }
        let extra = r#"{"signing_key": "a", "code_pepper": "b", "other": "s3cr3t-value"}"#;
        assert!(Secrets::parse(extra).is_err(), "unknown fields are refused");
    }
}
