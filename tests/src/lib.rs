//! The test harness: [`TestApp::spawn`] runs the local server's HTTP front on a free port
//! with stepauth on DynamoDB and SESv2 (both moto), a clock the test moves, and a way to read
//! the mail that was sent. [`embedded_app`] is the in-memory app for calling handlers directly.
//!
//! Each app gets its own DynamoDB table; mail is read back from moto's SES through
//! `scripts/moto_server.py`'s `GET /stepauth/mails`. The moto endpoint comes from `STEPAUTH_TEST_MOTO`, which
//! `scripts/test` sets after starting moto server.

pub mod capacity;
pub mod contract;
pub mod django;
pub mod fault_proxy;
pub mod oidc_provider;
pub mod recording_store;
pub mod runtime_api;

use std::sync::{Arc, OnceLock};

use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use stepauth::App;
use stepauth::clock::{Clock as _, ManualClock};
use stepauth::config::Config;
use stepauth::mail::outbox::Outbox;
use stepauth::mail::ses::SesMailer;
use stepauth::mail::templates::Templates;
use stepauth::model::Pepper;
use stepauth::random::{self, SystemRandom};
use stepauth::store::Store;
use stepauth::store::dynamo::DynamoStore;
use stepauth::store::memory::MemoryStore;
use stepauth::tokens::{self, Keys};
use stepauth::totp;
use stepauth_local::Server;
use stepauth_local::moto::LocalAws;

/// The verified SES identity test mail is sent from.
pub const FROM: &str = "noreply@stepauth.test";
/// A password that meets the policy.
pub const PASSWORD: &str = "Correct-Horse-7-Battery";

/// The moto server's endpoint.
pub fn moto_endpoint() -> String {
    std::env::var("STEPAUTH_TEST_MOTO")
        .expect("STEPAUTH_TEST_MOTO is not set: run the tests with scripts/test, which starts moto server")
}

/// AWS SDK configuration pointing at moto, with dummy credentials. One moto serves the whole
/// suite, one request at a time, to tests running in parallel, so a call may wait behind
/// others for longer than DynamoDB ever takes: the suite's own calls get ten times the
/// functions' time budget, so that a wait is never a test's failure. The tests of the budget
/// itself go through a fault proxy with the functions' own ([`TestApp::spawn_through`], the
/// Lambda binaries).
pub async fn moto_config() -> aws_config::SdkConfig {
    let config = stepauth_local::moto::sdk_config(&moto_endpoint()).await;
    config.into_builder().timeout_config(stepauth::aws::timeouts_stretched(10)).build()
}

/// A fresh table in moto: its name.
pub async fn moto_table() -> String {
    let client = aws_sdk_dynamodb::Client::new(&moto_config().await);
    let table = format!("stepauth-test-{}", random::uuid_v4(&SystemRandom::default()));
    DynamoStore::create_table(&client, &table).await.expect("creating the test table in moto");
    table
}

/// A fresh bucket at the S3 `endpoint` (moto's, or the local server's own): its name.
pub async fn s3_bucket(aws: &aws_config::SdkConfig) -> String {
    let client = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(aws).force_path_style(true).build());
    let bucket = format!("stepauth-test-{}", random::uuid_v4(&SystemRandom::default()));
    client.create_bucket().bucket(&bucket).send().await.expect("creating the test bucket");
    bucket
}

/// A DynamoDB store on a fresh table in moto.
pub async fn moto_store() -> DynamoStore {
    let table = moto_table().await;
    DynamoStore::new(aws_sdk_dynamodb::Client::new(&moto_config().await), table)
}

/// A fresh table, [`FROM`], a fresh secret and bucket in moto, made ready as a deployment's (see
/// [`LocalAws::provision`]): what the Lambda binaries need, and their environment.
pub async fn moto_local_aws() -> LocalAws {
    let id = random::uuid_v4(&SystemRandom::default());
    let local = LocalAws {
        endpoint: moto_endpoint(),
        table: format!("stepauth-test-{id}"),
        from: FROM.to_owned(),
        secret_id: format!("stepauth-test/{id}"),
        picture_bucket: format!("stepauth-test-{id}"),
    };
    local.provision().await.expect("provisioning moto for the Lambda binaries");
    local
}

/// Makes [`FROM`] a verified SES identity in moto.
pub async fn verify_ses_identity() {
    let ses = aws_sdk_sesv2::Client::new(&moto_config().await);
    stepauth_local::moto::verify_ses_identity(&ses, FROM).await.expect("verifying the SES identity in moto");
}

/// Every mail moto's SES received for `to`, oldest first, from the light read
/// `scripts/moto_server.py` serves (moto's own `/moto-api/data.json` dumps every model it holds
/// and stalls the server meanwhile).
pub async fn moto_mails(to: &str) -> Vec<SeenMail> {
    let client = crate::http_client_builder().no_proxy().build().expect("an HTTP client");
    let url = format!("{}/stepauth/mails", moto_endpoint());
    let response = client.get(&url).query(&[("to", to)]).send().await.expect("moto answers");
    assert!(response.status().is_success(), "{url}: {}", response.status());
    let mails: Vec<Value> = response.json().await.expect("the mails as JSON");
    mails
        .into_iter()
        .map(|m| SeenMail {
            to: m["to"].as_str().unwrap_or("").to_owned(),
            subject: m["subject"].as_str().unwrap_or("").to_owned(),
            body: m["body"].as_str().unwrap_or("").to_owned(),
        })
        .collect()
}

/// One RSA key for the whole test process (generating one per test would be slow), as PEM.
pub fn signing_key_pem() -> &'static str {
    static PEM: OnceLock<String> = OnceLock::new();
    PEM.get_or_init(|| tokens::generate_pem().expect("generating the test signing key"))
}

/// A reqwest client builder, once the TLS crypto provider is installed (reqwest's rustls,
/// which stepauth's OpenID client enables, needs one before any client is built).
pub fn http_client_builder() -> reqwest::ClientBuilder {
    stepauth::oidc::install_crypto_provider();
    reqwest::Client::builder()
}

/// A default reqwest client (see [`http_client_builder`]).
pub fn http_client() -> reqwest::Client {
    http_client_builder().build().expect("an HTTP client")
}

/// A port free on loopback now, for a child process to listen on (another process may take it
/// before the child does: a caller that starts one checks that it did).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port()
}

/// A unique address for one test.
pub fn unique_email(label: &str) -> String {
    format!(
        "{label}-{}@example.com",
        random::token::<6>(&SystemRandom::default()).to_lowercase().replace(['-', '_'], "x")
    )
}

/// A mail as a test sees it.
#[derive(Debug, Clone)]
pub struct SeenMail {
    /// The recipient.
    pub to: String,
    pub subject: String,
    /// The body (moto keeps the HTML part).
    pub body: String,
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Answer {
    /// The status code.
    pub status: u16,
    pub headers: HeaderMap,
    /// The body as JSON (`Value::Null` if it is not JSON).
    pub body: Value,
    /// The raw body.
    pub text: String,
}

impl Answer {
    /// The `Set-Cookie` headers.
    pub fn cookies(&self) -> Vec<String> {
        self.headers.get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()).map(str::to_owned).collect()
    }

    /// The value the named cookie is set to (first occurrence).
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.cookies().iter().find_map(|c| {
            let (pair, _) = c.split_once(';').unwrap_or((c, ""));
            let (key, value) = pair.split_once('=')?;
            (key == name).then(|| value.to_owned())
        })
    }

    /// The body's `error` code.
    pub fn error(&self) -> &str {
        self.body["error"].as_str().unwrap_or("")
    }

    /// A string field of the body.
    pub fn str(&self, field: &str) -> String {
        self.body[field].as_str().unwrap_or_else(|| panic!("no string {field} in {}", self.text)).to_owned()
    }
}

/// A running stepauth under test.
#[derive(Debug)]
pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub address: String,
    /// The app the server runs (its store, keys, config).
    pub app: Arc<App>,
    /// The clock the app runs on.
    pub clock: Arc<ManualClock>,
    client: reqwest::Client,
    server: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl TestApp {
    /// stepauth on DynamoDB and SES, both moto.
    pub async fn spawn() -> Self {
        Self::spawn_with(Config::default()).await
    }

    /// stepauth on moto with `config`.
    pub async fn spawn_with(config: Config) -> Self {
        Self::spawn_with_store(config, Arc::new(moto_store().await)).await
    }

    /// stepauth on `store` (a [`recording_store::RecordingStore`] around moto's, say), with
    /// mail through moto's SES.
    pub async fn spawn_with_store(config: Config, store: Arc<dyn Store>) -> Self {
        verify_ses_identity().await;
        let ses = aws_sdk_sesv2::Client::new(&moto_config().await);
        Self::start(config, store, Arc::new(SesMailer::new(ses, FROM)), None).await
    }

    /// stepauth on moto whose AWS calls (DynamoDB and SES) go through `endpoint` (a
    /// [`fault_proxy::FaultProxy`] in front of moto), with the functions' time budget.
    pub async fn spawn_through(config: Config, endpoint: &str) -> Self {
        Self::spawn_through_on(config, endpoint, moto_table().await).await
    }

    /// [`TestApp::spawn_through`] on the table `table`.
    pub async fn spawn_through_on(config: Config, endpoint: &str, table: String) -> Self {
        verify_ses_identity().await;
        let aws = stepauth_local::moto::sdk_config(endpoint).await;
        let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&aws), table);
        let mailer = SesMailer::new(aws_sdk_sesv2::Client::new(&aws), FROM);
        Self::start(config, Arc::new(store), Arc::new(mailer), None).await
    }

    /// `POST path` with a JSON body from another source address on the loopback network
    /// (`127.0.0.2`, say): API Gateway's `sourceIp` for the request.
    pub async fn post_from(&self, source: std::net::IpAddr, path: &str, body: Value) -> Answer {
        let client = crate::http_client_builder()
            .no_proxy()
            .local_address(source)
            .build()
            .expect("an HTTP client on that address");
        let response = client.post(format!("{}{path}", self.address)).json(&body).send().await;
        answer("POST", response.expect("the server answers")).await
    }

    /// stepauth on moto, its tokens issued as `http://<its address>`, as the local server and
    /// a deployment issue them: a verifier finds the keys from a token's `iss`.
    pub async fn spawn_as_issuer(config: Config) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let issuer = format!("http://{}", listener.local_addr().expect("bound"));
        verify_ses_identity().await;
        let ses = aws_sdk_sesv2::Client::new(&moto_config().await);
        let mailer = Arc::new(SesMailer::new(ses, FROM));
        Self::start_on(listener, Config { issuer, ..config }, Arc::new(moto_store().await), mailer, None).await
    }

    /// stepauth on moto whose profile pictures go to a fresh bucket of the S3 at `aws` (moto's,
    /// or one that checks POST policies, which moto does not).
    pub async fn spawn_with_pictures(config: Config, aws: &aws_config::SdkConfig) -> Self {
        verify_ses_identity().await;
        let ses = aws_sdk_sesv2::Client::new(&moto_config().await);
        let bucket = stepauth::objects::Bucket::new(aws, &s3_bucket(aws).await);
        Self::start(config, Arc::new(moto_store().await), Arc::new(SesMailer::new(ses, FROM)), Some(bucket)).await
    }

    async fn start(
        config: Config,
        store: Arc<dyn Store>,
        mailer: Arc<dyn stepauth::mail::Mailer>,
        pictures: Option<stepauth::objects::Bucket>,
    ) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        Self::start_on(listener, config, store, mailer, pictures).await
    }

    async fn start_on(
        listener: tokio::net::TcpListener,
        config: Config,
        store: Arc<dyn Store>,
        mailer: Arc<dyn stepauth::mail::Mailer>,
        pictures: Option<stepauth::objects::Bucket>,
    ) -> Self {
        let clock = Arc::new(ManualClock::starting_now());
        let random = Arc::new(SystemRandom::default());
        let google = config.google.enabled().then(|| {
            let secret = std::env::var("STEPAUTH_TEST_OIDC_CLIENT_SECRET").unwrap_or_else(|_| "stepauth-secret".into());
            stepauth::oidc::Provider::new(config.google.clone(), Some(secret)).expect("the provider client")
        });
        let app = Arc::new(App {
            keys: Keys::from_pem(signing_key_pem(), &config.issuer, &config.audience).expect("test keys"),
            pepper: Pepper::generate(&*random),
            google,
            pictures,
            store,
            mailer,
            templates: Arc::new(
                Templates::load(&config.product_name, config.mail_templates.as_deref()).expect("the mail templates"),
            ),
            clock: clock.clone(),
            random,
            config,
        });
        let address = format!("http://{}", listener.local_addr().expect("bound"));
        let server = tokio::spawn(Server::new(app.clone(), None).serve(listener));
        let client = crate::http_client_builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("an HTTP client");
        Self { address, app, clock, client, server }
    }

    /// Sends a request; `body` is sent as JSON unless it is `Value::Null`.
    pub async fn request(&self, method: &str, path: &str, body: Value, headers: &[(&str, &str)]) -> Answer {
        let verb = reqwest::Method::from_bytes(method.as_bytes()).expect("a method");
        let mut request = self.client.request(verb, format!("{}{path}", self.address));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if !body.is_null() {
            request = request.json(&body);
        }
        answer(method, request.send().await.expect("the server answers")).await
    }

    /// Sends raw bytes with the given content type.
    pub async fn raw(&self, method: &str, path: &str, content_type: &str, body: Vec<u8>) -> Answer {
        self.raw_as(method, path, content_type, body, None).await
    }

    /// Sends raw bytes with the given content type and, if given, a bearer token.
    pub async fn raw_as(
        &self,
        method: &str,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
        access_token: Option<&str>,
    ) -> Answer {
        let verb = reqwest::Method::from_bytes(method.as_bytes()).expect("a method");
        let mut request = self
            .client
            .request(verb, format!("{}{path}", self.address))
            .header("content-type", content_type)
            .body(body);
        if let Some(token) = access_token {
            request = request.bearer_auth(token);
        }
        answer(method, request.send().await.expect("the server answers")).await
    }

    /// `POST path` with a JSON body.
    pub async fn post(&self, path: &str, body: Value) -> Answer {
        self.request("POST", path, body, &[]).await
    }

    /// `GET path` with a bearer token.
    pub async fn get_as(&self, path: &str, access_token: &str) -> Answer {
        let auth = format!("Bearer {access_token}");
        self.request("GET", path, Value::Null, &[("authorization", &auth)]).await
    }

    /// Every mail sent to `to` through moto's SES, oldest first.
    pub async fn mails_to(&self, to: &str) -> Vec<SeenMail> {
        moto_mails(to).await
    }

    /// The code in the last mail sent to `to`.
    pub async fn last_code(&self, to: &str) -> String {
        let mails = self.mails_to(to).await;
        let last = mails.last().unwrap_or_else(|| panic!("no mail was sent to {to}"));
        find_code(&last.body).unwrap_or_else(|| panic!("no code in the mail to {to}: {}", last.body))
    }

    /// Starts a sign-up and verifies it: the sign-up token.
    pub async fn verified_signup(&self, name: &str, email: &str) -> String {
        let started = self.post("/auth/signup", json!({"name": name, "email": email})).await;
        assert_eq!(started.status, 202, "{}", started.text);
        let code = self.last_code(&email.trim().to_lowercase()).await;
        let verified = self.post("/auth/signup/verify", json!({"email": email, "code": code})).await;
        assert_eq!(verified.status, 200, "{}", verified.text);
        verified.str("signup_token")
    }

    /// Signs a user up all the way: the 201 answer (user, tokens, cookies).
    pub async fn sign_up(&self, email: &str) -> Answer {
        let token = self.verified_signup("Test User", email).await;
        let done = self
            .post(
                "/auth/signup/complete",
                json!({"signup_token": token, "password": PASSWORD, "confirm_password": PASSWORD}),
            )
            .await;
        assert_eq!(done.status, 201, "{}", done.text);
        done
    }

    /// Logs in with [`PASSWORD`]: the 200 answer.
    pub async fn log_in(&self, email: &str) -> Answer {
        let answer = self.post("/auth/login", json!({"email": email, "password": PASSWORD})).await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        answer
    }
}

/// The answer, checked against the API's document ([`contract::check`]).
async fn answer(method: &str, response: reqwest::Response) -> Answer {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let path = response.url().path().to_owned();
    let text = response.text().await.expect("a body");
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    contract::check(method, &path, status, &body, &headers);
    Answer { status, headers, body, text }
}

/// The first run of exactly six digits in `text`.
pub fn find_code(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_digit() {
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            if i - start == 6 {
                return Some(text[start..i].to_owned());
            }
        } else {
            i += 1;
        }
    }
    None
}

/// An app on the embedded store and a silent outbox, for calling handlers directly.
pub fn embedded_app() -> (Arc<App>, Arc<Outbox>) {
    let clock = Arc::new(ManualClock::starting_now());
    let outbox = Arc::new(Outbox::new(clock.clone(), false));
    let config = Config::default();
    let random = Arc::new(SystemRandom::default());
    let app = App {
        keys: Keys::from_pem(signing_key_pem(), &config.issuer, &config.audience).expect("test keys"),
        pepper: Pepper::generate(&*random),
        google: None,
        pictures: None,
        store: Arc::new(MemoryStore::new()),
        mailer: outbox.clone(),
        templates: Arc::new(Templates::builtin(&config.product_name).expect("the mail templates")),
        clock,
        random,
        config,
    };
    (Arc::new(app), outbox)
}

/// An account with Google Authenticator on, and the session its confirmation started.
#[derive(Debug)]
pub struct Enrolled {
    /// Its address.
    pub email: String,
    /// The authenticator secret.
    pub secret: String,
    /// The ten recovery codes.
    pub recovery_codes: Vec<String>,
    /// The answer to the confirmation (a session).
    pub session: Answer,
}

/// The authenticator code of `secret` for `email`, `offset_steps` steps from the app's clock.
pub fn totp_code(app: &TestApp, email: &str, secret: &str, offset_steps: i64) -> String {
    let t = totp::totp(secret, "stepauth", email).expect("the secret the API gave");
    totp::code_at(&t, app.clock.now() + offset_steps * totp::STEP as i64)
}

/// `POST path` with a JSON body and a bearer token.
pub async fn post_as(app: &TestApp, path: &str, token: &str, body: Value) -> Answer {
    app.request("POST", path, body, &[("authorization", &format!("Bearer {token}"))]).await
}

/// Signs up and turns Google Authenticator on.
pub async fn enrolled(app: &TestApp, label: &str) -> Enrolled {
    let email = unique_email(label);
    let token = app.sign_up(&email).await.str("access_token");
    let setup = post_as(app, "/auth/totp/setup", &token, json!({"password": PASSWORD})).await;
    assert_eq!(setup.status, 200, "{}", setup.text);
    let secret = setup.str("secret");
    let confirmed =
        post_as(app, "/auth/totp/confirm", &token, json!({"code": totp_code(app, &email, &secret, 0)})).await;
    assert_eq!(confirmed.status, 200, "{}", confirmed.text);
    let recovery_codes = confirmed.body["recovery_codes"]
        .as_array()
        .expect("recovery codes")
        .iter()
        .map(|c| c.as_str().expect("a string").to_owned())
        .collect();
    Enrolled { email, secret, recovery_codes, session: confirmed }
}
