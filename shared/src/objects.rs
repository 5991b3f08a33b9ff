//! The S3 bucket profile pictures live in: the presigned POST a browser uploads with, the
//! presigned GET a picture is shown through, and the few calls stepauth makes itself (inspect,
//! copy, delete). What may be uploaded, and where, is the domain's ([`crate::pictures`]).
//!
//! The SDK presigns GETs but not POSTs, so the POST form is made here as S3 documents it
//! ("Browser-based uploads using POST", SigV4): a policy listing every field's condition,
//! signed with the SigV4 signing key of the function's own credentials.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Context as _;
use aws_lc_rs::hmac;
use aws_sdk_s3::config::ProvideCredentials as _;
use aws_sdk_s3::presigning::PresigningConfig;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::format_description;

use crate::clock::UnixTime;
use crate::store::call_failed;

/// A private bucket, and how to reach it.
#[derive(Debug, Clone)]
pub struct Bucket {
    client: aws_sdk_s3::Client,
    aws: aws_config::SdkConfig,
    name: String,
    /// The bucket's region, which signatures name.
    region: String,
    /// Where a browser POSTs an upload.
    upload_url: String,
}

/// A presigned POST: the browser sends `fields`, then the file as the form's last part
/// (`file`), to `url`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostForm {
    /// The bucket's URL.
    pub url: String,
    /// The form fields, the policy and its signature among them.
    pub fields: BTreeMap<String, String>,
}

/// What S3 says about a stored object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    /// Its size in bytes.
    pub size: u64,
    /// The `Content-Type` it was stored with.
    pub content_type: Option<String>,
}

impl Bucket {
    /// The bucket `name`, through the SDK configuration `aws`. With a custom endpoint (moto, the
    /// local server's own S3), requests are path-style (`<endpoint>/<bucket>`); on AWS, a
    /// browser uploads to the bucket's regional virtual-hosted URL.
    pub fn new(aws: &aws_config::SdkConfig, name: &str) -> Self {
        let s3 = aws_sdk_s3::config::Builder::from(aws).force_path_style(aws.endpoint_url().is_some()).build();
        let region = aws.region().map_or("us-east-1", |r| r.as_ref()).to_owned();
        let upload_url = match aws.endpoint_url() {
            Some(endpoint) => format!("{}/{name}", endpoint.trim_end_matches('/')),
            None => format!("https://{name}.s3.{region}.amazonaws.com/"),
        };
        let client = aws_sdk_s3::Client::from_conf(s3);
        Self { client, aws: aws.clone(), name: name.to_owned(), region, upload_url }
    }

    /// The bucket's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A POST form, valid for `lifetime` from `now`, that stores one object at `key` with
    /// `content_type`, of `1..=max_bytes` bytes. S3 refuses any other key, type or size
    /// (the policy's conditions), and any change to the form (its signature).
    pub async fn post_form(
        &self,
        key: &str,
        content_type: &str,
        max_bytes: u64,
        now: UnixTime,
        lifetime: Duration,
    ) -> anyhow::Result<PostForm> {
        let provider = self.aws.credentials_provider().context("no AWS credentials to sign an upload with")?;
        let credentials = provider.provide_credentials().await.context("reading the AWS credentials")?;
        let region = &self.region;
        let at = OffsetDateTime::from_unix_timestamp(now).context("the time")?;
        let date = at.format(format_description!("[year][month][day]"))?;
        let stamp = at.format(format_description!("[year][month][day]T[hour][minute][second]Z"))?;
        let expiration = OffsetDateTime::from_unix_timestamp(now + lifetime.as_secs() as i64)?
            .format(format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].000Z"))?;

        let mut fields = BTreeMap::from([
            ("key".to_owned(), key.to_owned()),
            ("Content-Type".to_owned(), content_type.to_owned()),
            ("x-amz-algorithm".to_owned(), "AWS4-HMAC-SHA256".to_owned()),
            ("x-amz-credential".to_owned(), format!("{}/{date}/{region}/s3/aws4_request", credentials.access_key_id())),
            ("x-amz-date".to_owned(), stamp),
        ]);
        if let Some(token) = credentials.session_token() {
            fields.insert("x-amz-security-token".to_owned(), token.to_owned());
        }
        let mut conditions: Vec<Value> = vec![json!({ "bucket": self.name })];
        conditions.extend(fields.iter().map(|(name, value)| json!({ name: value })));
        conditions.push(json!(["content-length-range", 1, max_bytes]));
        let policy = STANDARD.encode(json!({ "expiration": expiration, "conditions": conditions }).to_string());

        let key = signing_key(credentials.secret_access_key(), &date, region, "s3");
        let signature = hmac::sign(&key, policy.as_bytes());
        fields.insert("policy".to_owned(), policy);
        fields.insert("x-amz-signature".to_owned(), hex(signature.as_ref()));
        Ok(PostForm { url: self.upload_url.clone(), fields })
    }

    /// A GET URL of `key`, valid for `lifetime`.
    pub async fn presigned_get(&self, key: &str, lifetime: Duration) -> anyhow::Result<String> {
        let config = PresigningConfig::expires_in(lifetime)?;
        let request = self.client.get_object().bucket(&self.name).key(key).presigned(config).await?;
        Ok(request.uri().to_owned())
    }

    /// The object at `key`, or `None` when there is none.
    pub async fn head(&self, key: &str) -> anyhow::Result<Option<Object>> {
        match self.client.head_object().bucket(&self.name).key(key).send().await {
            Ok(head) => Ok(Some(Object {
                size: head.content_length().and_then(|n| u64::try_from(n).ok()).unwrap_or(0),
                content_type: head.content_type().map(str::to_owned),
            })),
            Err(error) if error.as_service_error().is_some_and(|e| e.is_not_found()) => Ok(None),
            Err(error) => Err(call_failed("S3", error, format!("reading the object {key}"))),
        }
    }

    /// Copies the object at `from` to `to`, in the bucket.
    pub async fn copy(&self, from: &str, to: &str) -> anyhow::Result<()> {
        self.client
            .copy_object()
            .bucket(&self.name)
            .copy_source(format!("{}/{from}", self.name))
            .key(to)
            .send()
            .await
            .map_err(|e| call_failed("S3", e, format!("copying the object {from}")))?;
        Ok(())
    }

    /// Deletes the object at `key` (nothing when there is none).
    pub async fn delete(&self, key: &str) -> anyhow::Result<()> {
        self.client
            .delete_object()
            .bucket(&self.name)
            .key(key)
            .send()
            .await
            .map_err(|e| call_failed("S3", e, format!("deleting the object {key}")))?;
        Ok(())
    }
}

/// The SigV4 signing key of `secret` for a day, region and service.
fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> hmac::Key {
    let step = |key: &[u8], data: &str| hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data.as_bytes());
    let day = step(format!("AWS4{secret}").as_bytes(), date);
    let region = step(day.as_ref(), region);
    let service = step(region.as_ref(), service);
    let signing = step(service.as_ref(), "aws4_request");
    hmac::Key::new(hmac::HMAC_SHA256, signing.as_ref())
}

/// Lower-case hexadecimal.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signing_key_is_sigv4s() {
        // AWS's own example ("Calculating a signature", SigV4 documentation): the signing key
        // of this secret, day, region and service signs this string to this signature.
        let key = signing_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20150830", "us-east-1", "iam");
        let string_to_sign = "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/iam/aws4_request\nf536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59";
        assert_eq!(
            hex(hmac::sign(&key, string_to_sign.as_bytes()).as_ref()),
            "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
        );
    }
}
