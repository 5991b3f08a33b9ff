//! The text of every mail. Each has a plain-text and an HTML part built from the same
//! paragraphs, the product name, the lifetime of any code it carries, and no secret beyond
//! that code.

use super::Mail;
use crate::model::Code;
use crate::model::Purpose;

/// Escapes text for HTML.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// One paragraph of a mail.
enum Part<'a> {
    Text(String),
    Code(&'a Code),
    /// A button (a plain line in the text part) to the front end.
    Link(&'a str, &'static str),
}

fn compose(product: &str, to: &str, subject: String, name: Option<&str>, parts: &[Part<'_>]) -> Mail {
    let greeting = match name.filter(|n| !n.is_empty()) {
        Some(name) => format!("Hello {name},"),
        None => "Hello,".to_owned(),
    };
    let mut text = format!("{greeting}\n\n");
    let mut html = format!(
        "<!doctype html>\n<html><body style=\"font-family:sans-serif;line-height:1.5\">\n<h2>{}</h2>\n<p>{}</p>\n",
        escape(product),
        escape(&greeting)
    );
    for part in parts {
        match part {
            Part::Text(paragraph) => {
                text.push_str(paragraph);
                html.push_str(&format!("<p>{}</p>\n", escape(paragraph)));
            }
            Part::Code(code) => {
                text.push_str(&format!("    {}", code.expose()));
                html.push_str(&format!(
                    "<p><strong style=\"font-size:28px;letter-spacing:6px;font-family:monospace\">{}</strong></p>\n",
                    code.expose()
                ));
            }
            Part::Link(url, label) => {
                text.push_str(&format!("{label}: {url}"));
                html.push_str(&format!(
                    "<p><a href=\"{}\" style=\"display:inline-block;padding:10px 18px;background:#295f98;color:#fff;border-radius:8px;text-decoration:none\">{}</a></p>\n",
                    escape(url),
                    escape(label)
                ));
            }
        }
        text.push_str("\n\n");
    }
    text.push_str(&format!("— {product}\n"));
    html.push_str("</body></html>\n");
    Mail { to: to.to_owned(), subject, text, html }
}

/// A code mail's parts: the code, then (where the site's page is known) a link that opens the
/// login modal on the code's card with the address and the code filled in.
#[derive(Debug, Clone, Copy)]
pub struct CodeMail<'a> {
    /// The product's name.
    pub product: &'a str,
    /// The recipient.
    pub to: &'a str,
    /// The code.
    pub code: &'a Code,
    /// How long it works.
    pub minutes: u64,
    /// The page with the login modal (`STEPAUTH_SITE_URL`).
    pub site: Option<&'a str>,
}

/// The link a code mail carries: the site's page with the purpose, the address and the code in
/// the fragment, which no browser sends to any server (so it reaches no log), and which only
/// fills the card: nothing is used until the person presses its button, so a mail scanner
/// that fetches the link consumes nothing.
fn code_link(site: &str, purpose: Purpose, to: &str, code: &Code) -> String {
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

fn code_mail(mail: &CodeMail<'_>, purpose: Purpose, name: Option<&str>, what: &str, ignore: &str) -> Mail {
    let CodeMail { product, to, code, minutes, site } = *mail;
    // The codes of a signed-in change are typed into the open card: no link.
    let linked = matches!(purpose, Purpose::Signup | Purpose::Login | Purpose::PasswordReset);
    let link = site.filter(|_| linked).map(|site| code_link(site, purpose, to, code));
    let mut parts = vec![
        Part::Text(format!("Your {product} {what} code is:")),
        Part::Code(code),
        Part::Text(format!("It expires in {minutes} minutes and works once. {ignore}")),
    ];
    if let Some(link) = &link {
        parts.insert(2, Part::Link(link, "Or open this link and press Continue"));
    }
    compose(product, to, format!("Your {product} {what} code"), name, &parts)
}

/// The code that proves an email address at sign-up. The address has proved nothing yet, so
/// the mail carries no text the requester chose, not even the name they gave: anyone can
/// start a sign-up for any address (docs/SECURITY.md, "Mail").
pub fn signup_code(mail: &CodeMail<'_>) -> Mail {
    code_mail(mail, Purpose::Signup, None, "sign-up", "If you did not ask to sign up, ignore this mail.")
}

/// The code that logs in without a password.
pub fn login_code(mail: &CodeMail<'_>, name: Option<&str>) -> Mail {
    code_mail(
        mail,
        Purpose::Login,
        name,
        "login",
        "If you did not ask to log in, ignore this mail; no one can log in without the code.",
    )
}

/// The code that allows a new password.
pub fn reset_code(mail: &CodeMail<'_>, name: Option<&str>) -> Mail {
    code_mail(
        mail,
        Purpose::PasswordReset,
        name,
        "password reset",
        "If you did not ask to reset your password, ignore this mail; your password has not changed.",
    )
}

/// The code that proves a new address before it becomes an account's. The address has proved
/// nothing yet, so the mail carries nothing the requester chose, not even their name.
pub fn email_change_code(mail: &CodeMail<'_>) -> Mail {
    code_mail(
        mail,
        Purpose::EmailChange,
        None,
        "email change",
        "Someone asked to make this address the email of their account. If it was not you, ignore this mail: \
         nothing changes without the code.",
    )
}

/// Sent instead of a code when someone asks to move their account to an address that has an
/// account already: the address's owner learns of it, the requester's answer tells nothing.
pub fn email_change_taken(product: &str, to: &str, name: &str) -> Mail {
    compose(
        product,
        to,
        format!("Someone asked to use your address on {product}"),
        Some(name),
        &[
            Part::Text(format!(
                "Someone asked to make this address the email of another {product} account. It is already your \
                 account's address, so nothing changed."
            )),
            Part::Text("You need not do anything.".to_owned()),
        ],
    )
}

/// The code an account without a password confirms a change with (its address or its
/// deletion), sent to its own address.
pub fn confirm_code(mail: &CodeMail<'_>, name: &str) -> Mail {
    code_mail(
        mail,
        Purpose::Confirm,
        Some(name),
        "confirmation",
        "It confirms a change you asked for: a new email address, or deleting the account. If you did not ask for \
         it, ignore this mail and tell an admin: someone may be signed in as you.",
    )
}

/// Told to the old address when the account's email changes. There is no way to undo it from
/// the mail (whoever changed it may read this address too); an admin can.
pub fn email_changed(product: &str, to: &str, name: &str, new: &str) -> Mail {
    compose(
        product,
        to,
        format!("Your {product} email address was changed"),
        Some(name),
        &[
            Part::Text(format!(
                "The email address of your {product} account was just changed from this address to {new}, and \
                 every other session was logged out. Mail about the account now goes there."
            )),
            Part::Text("If you did not do this, contact an admin now: they can put your address back.".to_owned()),
        ],
    )
}

/// Told to the owner when an admin deactivates the account.
pub fn account_deactivated(product: &str, to: &str, name: &str) -> Mail {
    compose(
        product,
        to,
        format!("Your {product} account was deactivated"),
        Some(name),
        &[
            Part::Text(format!(
                "An admin deactivated your {product} account: every session has ended, and it cannot sign in \
                 until an admin reactivates it."
            )),
            Part::Text("If you think this is a mistake, contact an admin.".to_owned()),
        ],
    )
}

/// Told to the new address when an admin sets the account's address.
pub fn email_set_by_admin(product: &str, to: &str, name: &str) -> Mail {
    compose(
        product,
        to,
        format!("Your {product} email address was set by an admin"),
        Some(name),
        &[
            Part::Text(format!(
                "An admin made this the email address of your {product} account, and every session has ended. \
                 Log in with this address from now on."
            )),
            Part::Text("If you did not ask for this, contact an admin.".to_owned()),
        ],
    )
}

/// Confirms a deleted account, to the address it had.
pub fn account_deleted(product: &str, to: &str, name: &str) -> Mail {
    compose(
        product,
        to,
        format!("Your {product} account was deleted"),
        Some(name),
        &[
            Part::Text(format!(
                "Your {product} account and everything kept with it (sessions, codes, the authenticator, linked \
                 Google accounts, activity) were deleted. This address can sign up again."
            )),
            Part::Text("If you did not do this, contact an admin.".to_owned()),
        ],
    )
}

/// Sent instead of a code when someone signs up with an address that has an account, so that
/// the sign-up answer itself never tells whether an account exists.
pub fn already_registered(product: &str, to: &str, name: &str) -> Mail {
    compose(
        product,
        to,
        format!("You already have a {product} account"),
        Some(name),
        &[
            Part::Text(format!(
                "Someone, probably you, tried to sign up for {product} with this address, but it already has \
                 an account. Log in instead, or reset your password if you have forgotten it."
            )),
            Part::Text("If it was not you, you can ignore this mail.".to_owned()),
        ],
    )
}

/// Sent instead of a login or reset code to an address with no account, for the same reason.
pub fn no_account(product: &str, to: &str, purpose: Purpose) -> Mail {
    let asked = match purpose {
        Purpose::PasswordReset => "reset the password",
        Purpose::Login | Purpose::Signup | Purpose::EmailChange | Purpose::Confirm => "log in",
    };
    compose(
        product,
        to,
        format!("No {product} account uses this address"),
        None,
        &[
            Part::Text(format!(
                "Someone, probably you, asked to {asked} of a {product} account with this address, but no account \
                 uses it. Sign up to make one, or try the address you signed up with."
            )),
            Part::Text("If it was not you, you can ignore this mail.".to_owned()),
        ],
    )
}

/// Sent instead of a reset code to a locked account when resets may not unlock.
pub fn reset_blocked(product: &str, to: &str, name: &str) -> Mail {
    compose(
        product,
        to,
        format!("Your {product} account is locked"),
        Some(name),
        &[Part::Text(
            "Someone asked to reset your password, but your account is locked after too many failed login \
             attempts. Contact an admin to unlock it; then you can log in or reset your password."
                .to_owned(),
        )],
    )
}

/// Tells the owner their password changed (by a reset or a change).
pub fn password_changed(product: &str, to: &str, name: &str) -> Mail {
    compose(
        product,
        to,
        format!("Your {product} password was changed"),
        Some(name),
        &[
            Part::Text(format!(
                "The password of your {product} account was just changed, and every other session was logged out."
            )),
            Part::Text("If you did not do this, reset your password now and contact an admin.".to_owned()),
        ],
    )
}

/// Tells the owner the second factor was turned on.
pub fn mfa_enabled(product: &str, to: &str, name: &str) -> Mail {
    compose(
        product,
        to,
        format!("Google Authenticator was turned on for your {product} account"),
        Some(name),
        &[
            Part::Text(
                "From now on your account asks for a code from your authenticator app at every login.".to_owned(),
            ),
            Part::Text(
                "If you did not do this, someone else has your password: reset it now and contact an admin, who can \
                 remove the authenticator."
                    .to_owned(),
            ),
        ],
    )
}

/// Tells the owner a Google account was linked to theirs: it can sign in from now on.
pub fn google_linked(product: &str, to: &str, name: &str) -> Mail {
    compose(
        product,
        to,
        format!("Sign-in with Google was linked to your {product} account"),
        Some(name),
        &[
            Part::Text(
                "A Google account with this email address signed in, and can sign in to your account from now on."
                    .to_owned(),
            ),
            Part::Text(
                "If this was not you, someone controls a Google account with your address: contact an admin."
                    .to_owned(),
            ),
        ],
    )
}

/// Tells the owner a Google account was unlinked from theirs: it no longer signs in.
pub fn google_unlinked(product: &str, to: &str, name: &str) -> Mail {
    compose(
        product,
        to,
        format!("Sign-in with Google was removed from your {product} account"),
        Some(name),
        &[
            Part::Text("A Google account was unlinked from your account: log in with your password from now on.".to_owned()),
            Part::Text(
                "If this was not you, someone is signed in to your account: reset your password, which ends every session."
                    .to_owned(),
            ),
        ],
    )
}

/// Tells the owner a recovery code was used to log in.
pub fn recovery_code_used(product: &str, to: &str, name: &str, left: usize) -> Mail {
    compose(
        product,
        to,
        format!("A recovery code was used for your {product} account"),
        Some(name),
        &[
            Part::Text(format!(
                "Someone logged in to your account with one of your recovery codes. {left} unused recovery codes are left."
            )),
            Part::Text("If this was not you, reset your password now and contact an admin.".to_owned()),
        ],
    )
}

/// Tells the owner an admin removed their second factor.
pub fn mfa_removed_by_admin(product: &str, to: &str, name: &str) -> Mail {
    compose(
        product,
        to,
        format!("An admin removed Google Authenticator from your {product} account"),
        Some(name),
        &[
            Part::Text(
                "An admin turned off Google Authenticator for your account and ended all of its sessions. You can \
                 log in with your password and turn it on again with a new QR code."
                    .to_owned(),
            ),
            Part::Text("If you did not ask for this, contact an admin.".to_owned()),
        ],
    )
}

/// Tells the owner the second factor was turned off.
pub fn mfa_disabled(product: &str, to: &str, name: &str) -> Mail {
    compose(
        product,
        to,
        format!("Google Authenticator was turned off for your {product} account"),
        Some(name),
        &[
            Part::Text("Your account no longer asks for an authenticator code at login.".to_owned()),
            Part::Text("If you did not do this, reset your password now and contact an admin.".to_owned()),
        ],
    )
}

/// Tells the owner a new set of recovery codes was made: the old ones no longer work.
pub fn recovery_codes_renewed(product: &str, to: &str, name: &str) -> Mail {
    compose(
        product,
        to,
        format!("New recovery codes for your {product} account"),
        Some(name),
        &[
            Part::Text(
                "A new set of ten recovery codes was made for your account; the earlier ones no longer work."
                    .to_owned(),
            ),
            Part::Text("If you did not do this, reset your password now and contact an admin.".to_owned()),
        ],
    )
}

/// Tells the owner their account locked.
pub fn account_locked(product: &str, to: &str, name: &str, failures: u32) -> Mail {
    compose(
        product,
        to,
        format!("Your {product} account is locked"),
        Some(name),
        &[Part::Text(format!(
            "Your account was locked after {failures} failed login attempts in a row. Contact an admin to unlock it."
        ))],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn coded(code: &Code) -> CodeMail<'_> {
        CodeMail { product: "stepauth", to: "a@example.com", code, minutes: 10, site: None }
    }

    fn all_mails(code: &Code) -> Vec<Mail> {
        vec![
            signup_code(&coded(code)),
            login_code(&coded(code), Some("Ann")),
            reset_code(&coded(code), None),
            already_registered("stepauth", "a@example.com", "Ann"),
            no_account("stepauth", "a@example.com", Purpose::Login),
            no_account("stepauth", "a@example.com", Purpose::PasswordReset),
            reset_blocked("stepauth", "a@example.com", "Ann"),
            password_changed("stepauth", "a@example.com", "Ann"),
            account_locked("stepauth", "a@example.com", "Ann", 3),
            mfa_disabled("stepauth", "a@example.com", "Ann"),
            mfa_enabled("stepauth", "a@example.com", "Ann"),
            recovery_code_used("stepauth", "a@example.com", "Ann", 9),
            mfa_removed_by_admin("stepauth", "a@example.com", "Ann"),
        ]
    }

    #[test]
    fn every_mail_has_both_parts_and_the_product_name() {
        let code = Code::parse("042042").expect("code");
        for mail in all_mails(&code) {
            for part in [&mail.text, &mail.html, &mail.subject] {
                assert!(part.contains("stepauth"), "{}: {part}", mail.subject);
            }
            assert!(mail.html.starts_with("<!doctype html>"));
        }
    }

    #[test]
    fn code_mails_carry_the_code_and_its_lifetime_and_no_other_digits() {
        let code = Code::parse("042042").expect("code");
        for mail in &all_mails(&code)[..3] {
            for part in [&mail.text, &mail.html] {
                assert!(part.contains("042042") && part.contains("10 minutes"), "{part}");
            }
        }
        for mail in &all_mails(&code)[3..] {
            assert!(!mail.text.contains("042042") && !mail.html.contains("042042"));
        }
    }

    /// The link puts the purpose, the address and the code in the fragment, which no browser
    /// sends to a server, never in the query; the address is percent-encoded.
    #[test]
    fn code_mails_link_to_the_site_with_the_code_in_the_fragment() {
        let code = Code::parse("042042").expect("code");
        let site = "https://www.example.com/account";
        let mail = CodeMail { to: "ann+x@example.com", site: Some(site), ..coded(&code) };
        let link = "https://www.example.com/account#stepauth=password_reset&email=ann%2Bx%40example.com&code=042042";
        let reset = reset_code(&mail, Some("Ann"));
        assert!(reset.text.contains(link), "{}", reset.text);
        assert!(reset.html.contains(&escape(link)), "{}", reset.html);
        assert!(signup_code(&mail).text.contains("#stepauth=signup&email="));
        assert!(login_code(&mail, None).text.contains("#stepauth=login&email="));
        assert!(!reset.text.contains('?'), "nothing in a query string");
        assert!(reset.text.find("    042042") < reset.text.find(link), "the code comes first");
        let plain = reset_code(&coded(&code), None);
        assert!(!plain.text.contains("http"), "no site, no link");
    }

    #[test]
    fn names_are_escaped_in_html() {
        let code = Code::parse("123456").expect("code");
        let mail = login_code(&coded(&code), Some("<script>x</script>"));
        assert!(!mail.html.contains("<script>"));
        assert!(mail.html.contains("&lt;script&gt;"));
    }
}
