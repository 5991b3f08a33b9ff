//! A real OpenID provider on loopback, the tests' stand-in for Google: `tests/oidc/provider.mjs`
//! (panva's oidc-provider, installed from npm on first use) run by node. One per test process
//! (and a second, another issuer, for the tests that need one), and a browser-like client for
//! its sign-in page.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};
use tokio::sync::OnceCell;

/// The client the provider registers for stepauth, and its secret.
pub const CLIENT_ID: &str = "stepauth";
/// The secret of [`CLIENT_ID`].
pub const CLIENT_SECRET: &str = "stepauth-secret";
/// Another application registered with the provider.
pub const OTHER_CLIENT_ID: &str = "other-app";
/// The secret of [`OTHER_CLIENT_ID`].
pub const OTHER_CLIENT_SECRET: &str = "other-secret";

/// A running provider.
#[derive(Debug)]
pub struct OidcProvider {
    /// Its issuer, `http://127.0.0.1:<port>`.
    pub issuer: String,
    _child: Child,
}

/// The file the process's providers share their first signing key through.
fn keys_file() -> PathBuf {
    std::env::temp_dir().join(format!("stepauth-oidc-keys-{}.json", std::process::id()))
}

/// Where the providers of this test process write their messages.
fn log_file() -> PathBuf {
    std::env::temp_dir().join(format!("stepauth-oidc-provider-{}.log", std::process::id()))
}

fn folder() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/oidc"))
}

static INSTALL: OnceCell<()> = OnceCell::const_new();
static SHARED: OnceCell<OidcProvider> = OnceCell::const_new();
static OTHER: OnceCell<OidcProvider> = OnceCell::const_new();

/// Installs tests/oidc's packages (oidc-provider, jose) from npm on first use.
pub async fn install() {
    INSTALL
        .get_or_init(|| async {
            if folder().join("node_modules/oidc-provider").exists() {
                return;
            }
            let status = Command::new("npm")
                .args(["install", "--no-audit", "--no-fund", "--loglevel=error"])
                .current_dir(folder())
                .status()
                .await
                .expect("npm (the tests' OpenID provider comes from npm)");
            assert!(status.success(), "npm install in tests/oidc failed");
        })
        .await;
}

impl OidcProvider {
    /// The process's provider.
    pub async fn shared() -> &'static Self {
        SHARED.get_or_init(Self::start).await
    }

    /// A second provider: another issuer, signing with the same key as [`Self::shared`] did
    /// when it started, so that only its issuer tells its tokens apart.
    pub async fn other() -> &'static Self {
        Self::shared().await;
        OTHER.get_or_init(Self::start).await
    }

    /// Starts one on a free port and waits for its discovery document: up to a minute, as
    /// node loading oidc-provider on two cores busy with the rest of the suite (cargo lambda
    /// building, Django hashing) took over ten seconds once. If node stops first, or the
    /// port was taken meanwhile, tries another port; its messages are kept in a log file.
    async fn start() -> Self {
        install().await;
        for _ in 0..3 {
            if let Some(provider) = Self::start_once().await {
                return provider;
            }
        }
        panic!("the OpenID provider did not start three times: see {}", log_file().display());
    }

    async fn start_once() -> Option<Self> {
        let port = crate::free_port();
        let log = std::fs::OpenOptions::new().create(true).append(true).open(log_file()).expect("the provider's log");
        let mut child = Command::new("node")
            .arg(folder().join("provider.mjs"))
            .arg(port.to_string())
            .env("STEPAUTH_OIDC_KEYS_FILE", keys_file())
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .expect("node (the tests' OpenID provider runs on node)");
        let issuer = format!("http://127.0.0.1:{port}");
        let discovery = format!("{issuer}/.well-known/openid-configuration");
        let client = crate::http_client_builder().timeout(Duration::from_secs(5)).build().expect("a client");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while tokio::time::Instant::now() < deadline {
            if client.get(&discovery).send().await.is_ok_and(|r| r.status().is_success()) {
                return Some(Self { issuer, _child: child });
            }
            if let Ok(Some(status)) = child.try_wait() {
                eprintln!("the OpenID provider on {issuer} stopped ({status}): see {}", log_file().display());
                return None;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        eprintln!("the OpenID provider did not answer on {issuer} within a minute");
        None
    }

    /// Makes a new key the one tokens are signed with (the old one stays published): its kid.
    pub async fn rotate(&self) -> String {
        let response = crate::http_client().post(format!("{}/__rotate", self.issuer)).send().await.expect("rotate");
        response.text().await.expect("the new kid")
    }

    /// Follows `authorization_url` as a browser would, signs `login` in on the provider's
    /// form, and returns where the provider sends the browser back (the client's redirect
    /// URI with `code` and `state`).
    pub async fn sign_in(&self, authorization_url: &str, login: &str) -> String {
        let browser = crate::http_client_builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("a client");
        let mut url = authorization_url.to_owned();
        for _ in 0..10 {
            let response = browser.get(&url).send().await.expect("the provider answers");
            if let Some(location) = response.headers().get("location") {
                let location = location.to_str().expect("ascii").to_owned();
                let next = reqwest::Url::parse(&url).expect("a URL").join(&location).expect("a location").to_string();
                if !next.starts_with(&self.issuer) {
                    return next;
                }
                url = next;
                continue;
            }
            let page = response.text().await.expect("a page");
            let action =
                page.split("action=\"").nth(1).and_then(|rest| rest.split('"').next()).expect("the login form");
            let form = [("prompt", "login"), ("login", login), ("password", "any")];
            let answer = browser.post(action).form(&form).send().await.expect("the form posts");
            let location = answer.headers().get("location").expect("a redirect").to_str().expect("ascii");
            url = reqwest::Url::parse(action).expect("a URL").join(location).expect("a location").to_string();
        }
        panic!("the provider kept redirecting")
    }

    /// An ID token as an application gets one: the code flow with PKCE for `client_id`, the
    /// `nonce` sent, `login` signed in.
    pub async fn id_token(&self, client_id: &str, secret: &str, login: &str, nonce: &str) -> String {
        let verifier = "a-pkce-verifier-of-the-test-application-0123456789";
        let challenge = stepauth::oidc::pkce_challenge(verifier);
        let redirect = "http://127.0.0.1/app-callback";
        let mut url = reqwest::Url::parse(&format!("{}/auth", self.issuer)).expect("a URL");
        url.query_pairs_mut()
            .append_pair("client_id", client_id)
            .append_pair("response_type", "code")
            .append_pair("scope", "openid email profile")
            .append_pair("redirect_uri", redirect)
            .append_pair("state", "app-state")
            .append_pair("nonce", nonce)
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256");
        let back = self.sign_in(url.as_str(), login).await;
        let back = reqwest::Url::parse(&back).expect("a URL");
        let code = back.query_pairs().find(|(k, _)| k == "code").expect("a code").1.into_owned();
        let form = [
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", redirect),
            ("code_verifier", verifier),
        ];
        let tokens: serde_json::Value = crate::http_client()
            .post(format!("{}/token", self.issuer))
            .basic_auth(client_id, Some(secret))
            .form(&form)
            .send()
            .await
            .expect("the token endpoint answers")
            .json()
            .await
            .expect("JSON");
        tokens["id_token"].as_str().unwrap_or_else(|| panic!("an ID token: {tokens}")).to_owned()
    }
}
