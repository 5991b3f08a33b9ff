//! The old Django backend's users, made by Django itself (tests/django/make_users.py, with
//! Django, argon2-cffi and bcrypt from PyPI): each password hashed by Django's own hashers,
//! written as `dumpdata` writes them and as CSV. And `stepauth-import`, run on them as a
//! person runs it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use tokio::process::Command;
use tokio::sync::OnceCell;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

static PYTHON: OnceCell<PathBuf> = OnceCell::const_new();

/// The Python that has Django: `STEPAUTH_TEST_DJANGO_PYTHON` (scripts/test sets it), else the
/// tools environment, installed on first use as scripts/tools.sh pins it.
async fn python() -> &'static Path {
    PYTHON
        .get_or_init(|| async {
            if let Some(python) = std::env::var_os("STEPAUTH_TEST_DJANGO_PYTHON") {
                return PathBuf::from(python);
            }
            let output = Command::new("bash")
                .args(["-c", "source scripts/tools.sh && python_tool django $DJANGO"])
                .current_dir(root())
                .output()
                .await
                .expect("bash");
            assert!(output.status.success(), "installing Django: {}", String::from_utf8_lossy(&output.stderr));
            PathBuf::from(String::from_utf8_lossy(&output.stdout).trim()).join("python")
        })
        .await
}

/// An export of the old backend's users, fresh for each call.
#[derive(Debug)]
pub struct Export {
    /// `users.json`, as `dumpdata --format json` writes it.
    pub json: PathBuf,
    /// `users.csv`, the same with a header row.
    pub csv: PathBuf,
    /// Each user's password, by email.
    pub passwords: HashMap<String, String>,
    /// The folder holding them.
    pub dir: PathBuf,
    tag: String,
}

impl Export {
    /// The email of the user labelled `label` in make_users.py (`pbkdf2`, `totp`, …).
    pub fn email(&self, label: &str) -> String {
        let email = format!("{label}-{}@old.example.com", self.tag);
        assert!(self.passwords.contains_key(&email), "no user labelled {label}");
        email
    }

    /// The password of the user labelled `label`.
    pub fn password(&self, label: &str) -> String {
        self.passwords[&self.email(label)].clone()
    }
}

/// Django makes the users (emails unique to this call).
pub async fn export() -> Export {
    let tag: String = crate::unique_email("dj").chars().filter(char::is_ascii_alphanumeric).collect();
    let dir = std::env::temp_dir().join(format!("stepauth-django-{tag}"));
    let status = Command::new(python().await)
        .arg(root().join("tests/django/make_users.py"))
        .arg(&dir)
        .env("STEPAUTH_DJANGO_TAG", &tag)
        .status()
        .await
        .expect("python");
    assert!(status.success(), "make_users.py failed");
    let passwords = std::fs::read_to_string(dir.join("passwords.json")).expect("passwords.json");
    Export {
        json: dir.join("users.json"),
        csv: dir.join("users.csv"),
        passwords: serde_json::from_str(&passwords).expect("a map"),
        dir,
        tag,
    }
}

/// Runs the built `stepauth-import` with `args` against moto's `table`: its exit code and
/// everything it printed (stdout, then stderr).
pub async fn import(table: &str, args: &[&str]) -> (i32, String) {
    let binary = crate::runtime_api::binary("stepauth-import");
    run(Command::new(binary).args(["--table", table]).args(args)).await
}

/// [`import`] on a terminal, as a person at a shell runs it: under `script` (util-linux,
/// in every Debian), which gives it a pseudo-terminal and passes on what it drew.
pub async fn import_on_a_terminal(table: &str, args: &[&str]) -> (i32, String) {
    let binary = crate::runtime_api::binary("stepauth-import");
    let quote = |word: &str| format!("'{}'", word.replace('\'', r"'\''"));
    let words: Vec<String> = [binary.to_str().expect("utf-8"), "--table", table]
        .into_iter()
        .chain(args.iter().copied())
        .map(quote)
        .collect();
    run(Command::new("script").args(["--quiet", "--return", "--command", &words.join(" "), "/dev/null"])).await
}

async fn run(command: &mut Command) -> (i32, String) {
    let Output { status, stdout, stderr } = command
        .env("AWS_ENDPOINT_URL", crate::moto_endpoint())
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .output()
        .await
        .expect("stepauth-import runs");
    let printed = format!("{}{}", String::from_utf8_lossy(&stdout), String::from_utf8_lossy(&stderr));
    (status.code().unwrap_or(-1), printed)
}
