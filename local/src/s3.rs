//! The embedded local server's own S3, where profile pictures are uploaded: s3s (an
//! implementation of the S3 protocol that checks SigV4 signatures and POST policies as AWS
//! does) over its file-system backend, on a port of its own, so that the local server needs
//! nothing else to start. The bucket answers browsers from any origin, as the template's
//! bucket answers the site's (its CORS rule).

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;

use anyhow::Context as _;
use aws_sdk_s3::config::Credentials;
use hyper::header::{self, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Response, StatusCode};
use hyper_util::rt::TokioIo;
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;
use stepauth::objects::Bucket;
use tokio::net::TcpListener;

/// The bucket the embedded server keeps pictures in.
pub const BUCKET: &str = "stepauth-pictures";

/// The credentials the embedded S3 takes (the only ones; it listens on loopback only).
const ACCESS_KEY: &str = "local";
const SECRET_KEY: &str = "local-secret";

/// Where the embedded server keeps its pictures: a folder of this process's in the temporary
/// folder, which `stepauth-local` removes when it stops.
pub fn root() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("stepauth-local-s3-{}", std::process::id()))
}

/// A running S3.
#[derive(Debug, Clone)]
pub struct LocalS3 {
    /// Its URL, `http://127.0.0.1:<port>`.
    pub endpoint: String,
    /// The SDK configuration that reaches it (with the credentials it takes).
    pub aws: aws_config::SdkConfig,
}

impl LocalS3 {
    /// The [`BUCKET`], as stepauth uses it.
    pub fn bucket(&self) -> Bucket {
        Bucket::new(&self.aws, BUCKET)
    }
}

/// Starts an S3 on a free loopback port keeping its objects under `root` (created if
/// missing), with the [`BUCKET`] in it; it serves until the process ends.
pub async fn start(root: &Path) -> anyhow::Result<LocalS3> {
    std::fs::create_dir_all(root.join(BUCKET)).with_context(|| format!("creating {}", root.display()))?;
    let fs = s3s_fs::FileSystem::new(root).map_err(|e| anyhow::anyhow!("the S3 folder {}: {e:?}", root.display()))?;
    let mut builder = S3ServiceBuilder::new(fs);
    builder.set_auth(SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
    let service = builder.build();

    let listener =
        TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await.context("binding the S3's port")?;
    let endpoint = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let service = service.clone();
            tokio::spawn(async move {
                let cors = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let service = service.clone();
                    async move {
                        let origin = req.headers().get(header::ORIGIN).cloned();
                        let mut response = if req.method() == Method::OPTIONS {
                            let mut preflight = Response::new(s3s::Body::empty());
                            *preflight.status_mut() = StatusCode::NO_CONTENT;
                            preflight
                        } else {
                            hyper::service::Service::call(&service, req).await?
                        };
                        if let Some(origin) = origin {
                            let headers = response.headers_mut();
                            headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
                            headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("GET, POST"));
                            headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static("*"));
                        }
                        Ok::<_, s3s::HttpError>(response)
                    }
                });
                if let Err(error) = http1::Builder::new().serve_connection(TokioIo::new(stream), cors).await {
                    tracing::debug!(%error, "an S3 connection ended with an error");
                }
            });
        }
    });

    let aws = stepauth::aws::budgeted(aws_config::defaults(aws_config::BehaviorVersion::latest()))
        .region(aws_config::Region::new(crate::moto::REGION))
        .endpoint_url(&endpoint)
        .credentials_provider(Credentials::new(ACCESS_KEY, SECRET_KEY, None, None, "stepauth-local-s3"))
        .load()
        .await;
    Ok(LocalS3 { endpoint, aws })
}
