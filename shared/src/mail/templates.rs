//! Every mail is a template: a subject, a plain-text body and an HTML body, rendered by
//! minijinja (Jinja2's syntax) with HTML escaping by the engine (auto-escape for `.html`).
//!
//! The built-in English templates are in `shared/templates/mail/en/` (compiled in). A
//! deployment overrides any of them, and adds languages, from a directory
//! (`STEPAUTH_MAIL_TEMPLATES`) laid out the same way: `<locale>/layout.txt`,
//! `<locale>/layout.html`, `<locale>/<kind>/subject.txt`, `body.txt`, `body.html`. A mail is
//! rendered in the recipient's `locale`, else its language, else English, part by part. When
//! the folder holds any template, every template is checked at start by rendering it with
//! sample values (undefined variables are errors), so a broken override stops the function
//! with the template's name, never a send.
//! No template gets a secret beyond the one code a code mail carries.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use minijinja::{Environment, UndefinedBehavior, Value, context};

use super::Mail;
use crate::model::profile::Attribute;
use crate::model::{Code, Purpose, User};

/// What a mail is about: one template each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// The code that proves an address at sign-up.
    SignupCode,
    /// The code that logs in without a password.
    LoginCode,
    /// The code that allows a new password.
    ResetCode,
    /// The code that proves a new address before it becomes an account's.
    EmailChangeCode,
    /// The code an account without a password confirms a change with.
    ConfirmCode,
    /// Sent instead of a sign-up code to an address with an account.
    AlreadyRegistered,
    /// Sent instead of a login or reset code to an address without an account.
    NoAccount,
    /// Sent instead of a reset code to a locked account.
    ResetBlocked,
    /// Sent instead of an email-change code to an address with an account.
    EmailChangeTaken,
    /// Told to the old address when the account's address changes.
    EmailChanged,
    /// Told to the new address when an admin sets it.
    EmailSetByAdmin,
    /// Told to the owner when an admin deactivates the account.
    AccountDeactivated,
    /// Confirms a deleted account.
    AccountDeleted,
    /// The password changed (a reset or a change).
    PasswordChanged,
    /// Google Authenticator was turned on.
    MfaEnabled,
    /// Google Authenticator was turned off.
    MfaDisabled,
    /// An admin removed Google Authenticator.
    MfaRemovedByAdmin,
    /// A recovery code was used to log in.
    RecoveryCodeUsed,
    /// A new set of recovery codes replaced the old.
    RecoveryCodesRenewed,
    /// A Google account was linked.
    GoogleLinked,
    /// A Google account was unlinked.
    GoogleUnlinked,
    /// The account locked after failed logins.
    AccountLocked,
}

/// Every kind with its name (the template's folder, the mail log's `kind`).
pub const KINDS: [(Kind, &str); 22] = [
    (Kind::SignupCode, "signup_code"),
    (Kind::LoginCode, "login_code"),
    (Kind::ResetCode, "reset_code"),
    (Kind::EmailChangeCode, "email_change_code"),
    (Kind::ConfirmCode, "confirm_code"),
    (Kind::AlreadyRegistered, "already_registered"),
    (Kind::NoAccount, "no_account"),
    (Kind::ResetBlocked, "reset_blocked"),
    (Kind::EmailChangeTaken, "email_change_taken"),
    (Kind::EmailChanged, "email_changed"),
    (Kind::EmailSetByAdmin, "email_set_by_admin"),
    (Kind::AccountDeactivated, "account_deactivated"),
    (Kind::AccountDeleted, "account_deleted"),
    (Kind::PasswordChanged, "password_changed"),
    (Kind::MfaEnabled, "mfa_enabled"),
    (Kind::MfaDisabled, "mfa_disabled"),
    (Kind::MfaRemovedByAdmin, "mfa_removed_by_admin"),
    (Kind::RecoveryCodeUsed, "recovery_code_used"),
    (Kind::RecoveryCodesRenewed, "recovery_codes_renewed"),
    (Kind::GoogleLinked, "google_linked"),
    (Kind::GoogleUnlinked, "google_unlinked"),
    (Kind::AccountLocked, "account_locked"),
];

impl Kind {
    /// The kind's name.
    pub fn as_str(self) -> &'static str {
        KINDS.iter().find(|(k, _)| *k == self).map_or("", |(_, name)| name)
    }

    /// The kind of that name.
    pub fn named(name: &str) -> Option<Self> {
        KINDS.iter().find(|(_, n)| *n == name).map(|(k, _)| *k)
    }
}

/// The parts of a mail, each a template file.
const PARTS: [&str; 3] = ["subject.txt", "body.txt", "body.html"];

/// The templates every part of every kind extends.
const LAYOUTS: [&str; 2] = ["layout.txt", "layout.html"];

/// The language every template exists in.
pub const FALLBACK_LOCALE: &str = "en";

macro_rules! builtin {
    ($($kind:literal),* $(,)?) => {
        &[
            ("layout.txt", include_str!("../../templates/mail/en/layout.txt")),
            ("layout.html", include_str!("../../templates/mail/en/layout.html")),
            $(
                (concat!($kind, "/subject.txt"), include_str!(concat!("../../templates/mail/en/", $kind, "/subject.txt"))),
                (concat!($kind, "/body.txt"), include_str!(concat!("../../templates/mail/en/", $kind, "/body.txt"))),
                (concat!($kind, "/body.html"), include_str!(concat!("../../templates/mail/en/", $kind, "/body.html"))),
            )*
        ]
    };
}

/// The built-in English templates, by their name under `en/`.
const BUILTIN: &[(&str, &str)] = builtin!(
    "signup_code",
    "login_code",
    "reset_code",
    "email_change_code",
    "confirm_code",
    "already_registered",
    "no_account",
    "reset_blocked",
    "email_change_taken",
    "email_changed",
    "email_set_by_admin",
    "account_deactivated",
    "account_deleted",
    "password_changed",
    "mfa_enabled",
    "mfa_disabled",
    "mfa_removed_by_admin",
    "recovery_code_used",
    "recovery_codes_renewed",
    "google_linked",
    "google_unlinked",
    "account_locked",
);

/// A code mail's values.
#[derive(Debug, Clone)]
pub struct Coded<'a> {
    /// The code.
    pub code: &'a Code,
    /// How long it works.
    pub minutes: u64,
    /// The page that opens the code's card filled in ([`code_link`]), where the purpose has one.
    pub link: Option<String>,
}

/// One mail to render: its kind and the values only it carries.
#[derive(Debug, Clone)]
pub enum Letter<'a> {
    /// See [`Kind::SignupCode`].
    SignupCode(Coded<'a>),
    /// See [`Kind::LoginCode`].
    LoginCode(Coded<'a>),
    /// See [`Kind::ResetCode`].
    ResetCode(Coded<'a>),
    /// See [`Kind::EmailChangeCode`].
    EmailChangeCode(Coded<'a>),
    /// See [`Kind::ConfirmCode`].
    ConfirmCode(Coded<'a>),
    /// See [`Kind::NoAccount`]: what was asked (a login or a reset).
    NoAccount(Purpose),
    /// See [`Kind::EmailChanged`]: the new address.
    EmailChanged(&'a str),
    /// See [`Kind::RecoveryCodeUsed`]: how many are left.
    RecoveryCodeUsed(usize),
    /// See [`Kind::AccountLocked`]: the failures that locked it.
    AccountLocked(u32),
    /// Any kind that carries nothing of its own.
    Notice(Kind),
}

impl Letter<'_> {
    /// The mail's kind.
    pub fn kind(&self) -> Kind {
        match self {
            Self::SignupCode(_) => Kind::SignupCode,
            Self::LoginCode(_) => Kind::LoginCode,
            Self::ResetCode(_) => Kind::ResetCode,
            Self::EmailChangeCode(_) => Kind::EmailChangeCode,
            Self::ConfirmCode(_) => Kind::ConfirmCode,
            Self::NoAccount(_) => Kind::NoAccount,
            Self::EmailChanged(_) => Kind::EmailChanged,
            Self::RecoveryCodeUsed(_) => Kind::RecoveryCodeUsed,
            Self::AccountLocked(_) => Kind::AccountLocked,
            Self::Notice(kind) => *kind,
        }
    }

    /// The values the kind's templates use beyond `product`, `name` and `to`.
    fn values(&self) -> Value {
        match self {
            Self::SignupCode(coded)
            | Self::LoginCode(coded)
            | Self::ResetCode(coded)
            | Self::EmailChangeCode(coded)
            | Self::ConfirmCode(coded) => {
                context! { code => coded.code.expose(), minutes => coded.minutes, link => coded.link.as_deref() }
            }
            Self::NoAccount(purpose) => context! { purpose => purpose.as_str() },
            Self::EmailChanged(new_email) => context! { new_email => *new_email },
            Self::RecoveryCodeUsed(left) => context! { left => left },
            Self::AccountLocked(failures) => context! { failures => failures },
            Self::Notice(_) => context! {},
        }
    }
}

/// Sample values of every kind, for previews and for checking every template at start.
fn sample(kind: Kind, code: &Code) -> Letter<'_> {
    let coded = |purpose: Purpose| Coded {
        code,
        minutes: 10,
        link: purpose.has_link().then(|| code_link("https://www.example.com/", purpose, "ann@example.com", code)),
    };
    match kind {
        Kind::SignupCode => Letter::SignupCode(coded(Purpose::Signup)),
        Kind::LoginCode => Letter::LoginCode(coded(Purpose::Login)),
        Kind::ResetCode => Letter::ResetCode(coded(Purpose::PasswordReset)),
        Kind::EmailChangeCode => Letter::EmailChangeCode(coded(Purpose::EmailChange)),
        Kind::ConfirmCode => Letter::ConfirmCode(coded(Purpose::Confirm)),
        Kind::NoAccount => Letter::NoAccount(Purpose::Login),
        Kind::EmailChanged => Letter::EmailChanged("ann.new@example.com"),
        Kind::RecoveryCodeUsed => Letter::RecoveryCodeUsed(9),
        Kind::AccountLocked => Letter::AccountLocked(3),
        other => Letter::Notice(other),
    }
}

/// Who a mail goes to: the address, the name it greets (none for a mail to an address that
/// has proved nothing) and the language it is written in.
#[derive(Debug, Clone, Copy)]
pub struct To<'a> {
    /// The address.
    pub address: &'a str,
    /// The name the mail greets.
    pub name: Option<&'a str>,
    /// The recipient's `locale`, when known.
    pub locale: Option<&'a str>,
    /// The account the mail is about, when the address has one (its mail log).
    pub user_id: Option<&'a str>,
}

impl<'a> To<'a> {
    /// The user, at their address, by their name, in their language.
    pub fn user(user: &'a User) -> Self {
        let locale = user.profile.get(&Attribute::Locale).map(String::as_str);
        Self { address: user.email.as_str(), name: Some(&user.name), locale, user_id: Some(&user.id) }
    }

    /// An address and nothing more.
    pub fn address(address: &'a str) -> Self {
        Self { address, name: None, locale: None, user_id: None }
    }

    /// The same recipient at another address.
    pub fn at(self, address: &'a str) -> Self {
        Self { address, ..self }
    }

    /// The same recipient, its mail logged with its address rather than an account (one just
    /// deleted).
    pub fn without_account(self) -> Self {
        Self { user_id: None, ..self }
    }
}

/// The link a code mail carries: the site's page with the purpose, the address and the code in
/// the fragment, which no browser sends to any server (so it reaches no log), and which only
/// fills the card: nothing is used until the person presses its button, so a mail scanner
/// that fetches the link consumes nothing.
pub fn code_link(site: &str, purpose: Purpose, to: &str, code: &Code) -> String {
    format!("{site}#stepauth={}&email={}&code={}", purpose.as_str(), percent_encode(to), code.expose())
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => char::from(b).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The mail templates: the built-in English ones and a deployment's overrides, checked.
#[derive(Debug)]
pub struct Templates {
    env: Environment<'static>,
    product: String,
    names: Arc<BTreeSet<String>>,
    locales: Vec<String>,
}

impl Templates {
    /// The built-in templates alone (parsed; their rendering is checked by the tests).
    pub fn builtin(product: &str) -> anyhow::Result<Self> {
        Self::load(product, None)
    }

    /// Renders every kind in every locale with sample values: what [`Templates::load`] does
    /// with a deployment's folder.
    pub fn checked(self) -> anyhow::Result<Self> {
        self.check()?;
        Ok(self)
    }

    /// The built-in templates with the overrides in `dir` (when given) over them, every one
    /// checked: a template that does not parse, that names a value its kind does not have, or
    /// a file that is no template (a misspelt kind or part, a locale that is no language tag)
    /// is an error that names it.
    pub fn load(product: &str, dir: Option<&Path>) -> anyhow::Result<Self> {
        let mut sources: Vec<(String, String)> =
            BUILTIN.iter().map(|(name, text)| (format!("{FALLBACK_LOCALE}/{name}"), (*text).to_owned())).collect();
        let overridden = match dir {
            Some(dir) => overrides(dir)?,
            None => Vec::new(),
        };
        let any_override = !overridden.is_empty();
        for (name, text) in overridden {
            sources.retain(|(existing, _)| *existing != name);
            sources.push((name, text));
        }
        let names: Arc<BTreeSet<String>> = Arc::new(sources.iter().map(|(name, _)| name.clone()).collect());
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        for (name, text) in sources {
            env.add_template_owned(name.clone(), text).with_context(|| format!("mail template {name}"))?;
        }
        let known = names.clone();
        env.set_path_join_callback(move |name, parent| {
            let locale = parent.split('/').next().unwrap_or(FALLBACK_LOCALE);
            match fallbacks(locale).into_iter().map(|l| format!("{l}/{name}")).find(|n| known.contains(n)) {
                Some(found) => found.into(),
                None => name.into(),
            }
        });
        let mut locales: Vec<String> = names.iter().filter_map(|n| n.split('/').next()).map(str::to_owned).collect();
        locales.dedup();
        let templates = Self { env, product: product.to_owned(), names, locales };
        // The built-in templates alone are checked by this module's tests; with a
        // deployment's, all are checked here, once per cold start (BENCHMARKS.md, "Mail
        // templates").
        if any_override {
            templates.check()?;
        }
        Ok(templates)
    }

    /// The locales some template is written in (`en` among them).
    pub fn locales(&self) -> &[String] {
        &self.locales
    }

    /// Renders `letter` for `to`.
    pub fn render(&self, letter: &Letter<'_>, to: To<'_>) -> anyhow::Result<Mail> {
        let kind = letter.kind();
        let values =
            context! { product => self.product.as_str(), name => to.name, to => to.address, ..letter.values() };
        let part = |part: &str| -> anyhow::Result<String> {
            let name = fallbacks(to.locale.unwrap_or(FALLBACK_LOCALE))
                .into_iter()
                .map(|locale| format!("{locale}/{}/{part}", kind.as_str()))
                .find(|name| self.names.contains(name))
                .with_context(|| format!("no mail template for {}/{part}", kind.as_str()))?;
            self.env.get_template(&name)?.render(&values).with_context(|| format!("mail template {name}"))
        };
        let subject = part("subject.txt")?.split_whitespace().collect::<Vec<_>>().join(" ");
        Ok(Mail { kind, to: to.address.to_owned(), subject, text: tidy(&part("body.txt")?), html: part("body.html")? })
    }

    /// `kind` rendered with sample values in `locale` (or English), as an admin previews it.
    pub fn preview(&self, kind: Kind, locale: Option<&str>) -> anyhow::Result<Mail> {
        let code = Code::parse("123456").map_err(|_| anyhow::anyhow!("the sample code"))?;
        let to = To { address: "ann@example.com", name: Some("Ann Example"), locale, user_id: None };
        self.render(&sample(kind, &code), to)
    }

    /// Renders every kind in every locale with sample values, so that nothing fails later.
    fn check(&self) -> anyhow::Result<()> {
        for locale in &self.locales {
            for (kind, _) in KINDS {
                self.preview(kind, Some(locale))?;
            }
        }
        Ok(())
    }
}

/// `de-AT`, then `de`, then English: the locales a mail in `locale` is looked up in.
fn fallbacks(locale: &str) -> Vec<String> {
    let parts: Vec<&str> = locale.split('-').collect();
    let mut chain: Vec<String> = (1..=parts.len()).rev().map(|n| parts[..n].join("-")).collect();
    chain.push(FALLBACK_LOCALE.to_owned());
    chain
}

/// Blank lines the templates' tags leave, squeezed to one; no blank line first; one newline last.
fn tidy(text: &str) -> String {
    let mut out = String::new();
    let mut blank = 0;
    for line in text.lines() {
        if line.trim().is_empty() {
            blank += 1;
            continue;
        }
        if !out.is_empty() && blank > 0 {
            out.push('\n');
        }
        blank = 0;
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// The templates under `dir`, named `<locale>/<file>` as the built-in ones are.
fn overrides(dir: &Path) -> anyhow::Result<Vec<(String, String)>> {
    let mut found = Vec::new();
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("mail templates: {} cannot be read", dir.display()))?;
    for entry in entries {
        let entry = entry?;
        let locale = entry.file_name().to_string_lossy().into_owned();
        if locale.starts_with('.') || locale.ends_with(".md") {
            continue;
        }
        let canonical = Attribute::Locale.parse(&locale, time::Date::MIN).ok();
        if canonical.as_deref() != Some(locale.as_str()) || !entry.path().is_dir() {
            bail!("mail templates: {locale} is not a folder named by a language tag (en, de, de-AT)");
        }
        for file in LAYOUTS {
            read_if_there(&entry.path().join(file), format!("{locale}/{file}"), &mut found)?;
        }
        for sub in std::fs::read_dir(entry.path())? {
            let sub = sub?;
            let name = sub.file_name().to_string_lossy().into_owned();
            if LAYOUTS.contains(&name.as_str()) || name.starts_with('.') || name.ends_with(".md") {
                continue;
            }
            if Kind::named(&name).is_none() || !sub.path().is_dir() {
                bail!("mail templates: {locale}/{name} is no mail (the kinds: {})", kind_names());
            }
            for part in std::fs::read_dir(sub.path())? {
                let part = part?.file_name().to_string_lossy().into_owned();
                if !PARTS.contains(&part.as_str()) && !part.starts_with('.') {
                    bail!(
                        "mail templates: {locale}/{name}/{part} is no part of a mail (subject.txt, body.txt, body.html)"
                    );
                }
            }
            for part in PARTS {
                read_if_there(&sub.path().join(part), format!("{locale}/{name}/{part}"), &mut found)?;
            }
        }
    }
    Ok(found)
}

fn read_if_there(path: &Path, name: String, found: &mut Vec<(String, String)>) -> anyhow::Result<()> {
    if path.exists() {
        let text = std::fs::read_to_string(path).with_context(|| format!("mail template {name}"))?;
        found.push((name, text));
    }
    Ok(())
}

fn kind_names() -> String {
    KINDS.iter().map(|(_, name)| *name).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn templates() -> Templates {
        Templates::builtin("stepauth").expect("the built-in templates")
    }

    fn every_mail(templates: &Templates) -> Vec<Mail> {
        KINDS.iter().map(|(kind, _)| templates.preview(*kind, None).expect("renders")).collect()
    }

    #[test]
    fn the_built_in_templates_pass_the_start_check() {
        templates().checked().expect("every built-in template renders with sample values");
    }

    #[test]
    fn every_kind_has_its_three_built_in_parts() {
        for (kind, name) in KINDS {
            assert_eq!(Kind::named(name), Some(kind));
            for part in PARTS {
                assert!(BUILTIN.iter().any(|(n, _)| *n == format!("{name}/{part}")), "{name}/{part}");
            }
        }
        assert_eq!(BUILTIN.len(), KINDS.len() * PARTS.len() + LAYOUTS.len());
    }

    #[test]
    fn every_mail_has_both_parts_and_the_product_name() {
        for mail in every_mail(&templates()) {
            for part in [&mail.text, &mail.html, &mail.subject] {
                assert!(part.contains("stepauth"), "{}: {part}", mail.subject);
            }
            assert!(mail.html.starts_with("<!doctype html>"), "{}", mail.html);
            assert!(!mail.subject.contains('\n') && !mail.text.contains("\n\n\n"), "{mail:?}");
        }
    }

    #[test]
    fn code_mails_carry_the_code_and_its_lifetime_and_no_other_does() {
        for mail in every_mail(&templates()) {
            let coded = [Kind::SignupCode, Kind::LoginCode, Kind::ResetCode, Kind::EmailChangeCode, Kind::ConfirmCode]
                .contains(&mail.kind);
            for part in [&mail.text, &mail.html] {
                assert_eq!(part.contains("123456"), coded, "{}: {part}", mail.kind.as_str());
                assert_eq!(part.contains("10 minutes"), coded, "{}", mail.kind.as_str());
            }
        }
    }

    /// The link puts the purpose, the address and the code in the fragment, which no browser
    /// sends to a server, never in the query; the address is percent-encoded.
    #[test]
    fn code_mails_link_to_the_site_with_the_code_in_the_fragment() {
        let code = Code::parse("042042").expect("code");
        let link = code_link("https://www.example.com/account", Purpose::PasswordReset, "ann+x@example.com", &code);
        assert_eq!(
            link,
            "https://www.example.com/account#stepauth=password_reset&email=ann%2Bx%40example.com&code=042042"
        );
        let letter = Letter::ResetCode(Coded { code: &code, minutes: 10, link: Some(link.clone()) });
        let reset = templates().render(&letter, To::address("ann+x@example.com")).expect("renders");
        assert!(reset.text.contains(&link), "{}", reset.text);
        assert!(
            reset.html.contains("042042&amp;") || reset.html.contains("password_reset&amp;email"),
            "{}",
            reset.html
        );
        assert!(reset.text.find("    042042") < reset.text.find(&link), "the code comes first");
        let plain = Letter::ResetCode(Coded { code: &code, minutes: 10, link: None });
        assert!(!templates().render(&plain, To::address("a@example.com")).expect("renders").text.contains("http"));
    }

    #[test]
    fn names_are_escaped_in_html_by_the_engine() {
        let code = Code::parse("123456").expect("code");
        let letter = Letter::LoginCode(Coded { code: &code, minutes: 10, link: None });
        let to = To { address: "a@example.com", name: Some("<script>x</script>"), ..To::address("a@example.com") };
        let mail = templates().render(&letter, to).expect("renders");
        assert!(!mail.html.contains("<script>") && mail.html.contains("&lt;script&gt;"), "{}", mail.html);
        assert!(mail.text.starts_with("Hello <script>x</script>,\n\n"), "text stays text: {}", mail.text);
    }

    #[test]
    fn the_text_part_reads_as_before() {
        let code = Code::parse("042042").expect("code");
        let letter = Letter::LoginCode(Coded { code: &code, minutes: 10, link: None });
        let to = To { name: Some("Ann"), locale: Some("de-AT"), ..To::address("a@example.com") };
        let mail = templates().render(&letter, to).expect("English when no German is there");
        assert_eq!(mail.subject, "Your stepauth login code");
        assert_eq!(
            mail.text,
            "Hello Ann,\n\nYour stepauth login code is:\n\n    042042\n\nIt expires in 10 minutes and works once. If you \
             did not ask to log in, ignore this mail; no one can log in without the code.\n\n— stepauth\n"
        );
    }

    #[test]
    fn locales_fall_back_to_their_language_then_english() {
        assert_eq!(fallbacks("de-AT"), ["de-AT", "de", "en"]);
        assert_eq!(fallbacks("zh-Hant-TW"), ["zh-Hant-TW", "zh-Hant", "zh", "en"]);
        assert_eq!(fallbacks("en"), ["en", "en"]);
    }
}
