//! A local AWS (moto server) made ready for the real Lambda binaries: the table as the
//! template declares it, the SES identity mail is sent from, the Secrets Manager secret
//! holding a fresh signing key and code pepper, and the bucket profile pictures go to. Used by `scripts/watch` (through the
//! `stepauth-provision` binary) and by the tests that run the binaries.

use anyhow::Context as _;
use aws_sdk_dynamodb::config::Credentials;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;
use stepauth::app::Secrets;
use stepauth::random::{self, SystemRandom};
use stepauth::store::dynamo::DynamoStore;
use stepauth::tokens::{self, Keys};

/// The region every local resource lives in.
pub const REGION: &str = "us-east-1";

/// Where the functions' resources are, in a local AWS at `endpoint`.
#[derive(Debug, Clone)]
pub struct LocalAws {
    /// The local server's URL, e.g. `http://127.0.0.1:5050`.
    pub endpoint: String,
    /// The DynamoDB table.
    pub table: String,
    /// The verified SES identity (an address) mail is sent from.
    pub from: String,
    /// The Secrets Manager secret with the signing key and code pepper.
    pub secret_id: String,
    /// The S3 bucket profile pictures are uploaded to.
    pub picture_bucket: String,
}

/// SDK configuration for a local server at `endpoint`, with dummy credentials and the
/// functions' time budget ([`stepauth::aws`]).
pub async fn sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    stepauth::aws::budgeted(aws_config::defaults(aws_config::BehaviorVersion::latest()))
        .region(aws_config::Region::new(REGION))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new("local", "local", None, None, "stepauth-local"))
        .load()
        .await
}

/// Makes `from` a verified SES identity, if it is not one yet (moto verifies at once).
pub async fn verify_ses_identity(ses: &aws_sdk_sesv2::Client, from: &str) -> anyhow::Result<()> {
    if ses.get_email_identity().email_identity(from).send().await.is_err() {
        ses.create_email_identity()
            .email_identity(from)
            .send()
            .await
            .with_context(|| format!("creating the SES identity {from}"))?;
    }
    Ok(())
}

impl LocalAws {
    /// Creates whatever of the table, the SES identity and the secret does not exist yet;
    /// what exists is left as it is, so a second run keeps the users and the keys.
    pub async fn provision(&self) -> anyhow::Result<()> {
        let aws = sdk_config(&self.endpoint).await;
        let dynamodb = aws_sdk_dynamodb::Client::new(&aws);
        if dynamodb.describe_table().table_name(&self.table).send().await.is_err() {
            DynamoStore::create_table(&dynamodb, &self.table).await?;
        }

        verify_ses_identity(&aws_sdk_sesv2::Client::new(&aws), &self.from).await?;

        let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&aws).force_path_style(true).build());
        if s3.head_bucket().bucket(&self.picture_bucket).send().await.is_err() {
            s3.create_bucket()
                .bucket(&self.picture_bucket)
                .send()
                .await
                .with_context(|| format!("creating the bucket {}", self.picture_bucket))?;
        }

        let secrets = aws_sdk_secretsmanager::Client::new(&aws);
        if secrets.describe_secret().secret_id(&self.secret_id).send().await.is_err() {
            let pepper = random::bytes::<32>(&SystemRandom::default());
            let value = json!({"signing_key": tokens::generate_pem()?, "code_pepper": STANDARD.encode(pepper)});
            secrets
                .create_secret()
                .name(&self.secret_id)
                .secret_string(value.to_string())
                .send()
                .await
                .with_context(|| format!("creating the secret {}", self.secret_id))?;
        }
        Ok(())
    }

    /// The environment a function binary needs to run against the local server, as a
    /// deployment gives it: the secret's id, and the signing key's public half to publish
    /// (read from the secret, as the one-time set-up derives it).
    pub async fn env(&self) -> anyhow::Result<Vec<(&'static str, String)>> {
        let aws = sdk_config(&self.endpoint).await;
        let secrets = Secrets::fetch(&aws_sdk_secretsmanager::Client::new(&aws), &self.secret_id).await?;
        let keys = Keys::from_pem(&secrets.signing_key, "stepauth", "stepauth")?;
        Ok(vec![
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_REGION", REGION.to_owned()),
            ("AWS_ACCESS_KEY_ID", "local".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "local".to_owned()),
            ("STEPAUTH_TABLE", self.table.clone()),
            ("STEPAUTH_FROM_ADDRESS", self.from.clone()),
            ("STEPAUTH_SECRET_ID", self.secret_id.clone()),
            ("STEPAUTH_PICTURE_BUCKET", self.picture_bucket.clone()),
            ("STEPAUTH_SIGNING_PUBLIC_KEY", keys.public_key().to_base64_der()),
        ])
    }
}
