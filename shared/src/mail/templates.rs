//! The text of every mail. Each has the product name, says how long a code lasts, and holds
//! no secret beyond the code itself.

use super::Mail;
use crate::codes::Code;

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

fn html_page(product: &str, paragraphs: &[String]) -> String {
    let body: String = paragraphs.iter().map(|p| format!("<p>{p}</p>\n")).collect();
    format!(
        "<!doctype html>\n<html><body style=\"font-family:sans-serif;line-height:1.5\">\n\
         <h2>{}</h2>\n{body}</body></html>\n",
        escape(product)
    )
}

fn code_block(code: &Code) -> String {
    format!("<strong style=\"font-size:28px;letter-spacing:6px;font-family:monospace\">{}</strong>", code.expose())
}

/// The code that proves an email address at sign-up.
pub fn signup_code(product: &str, to: &str, name: &str, code: &Code, minutes: u64) -> Mail {
    Mail {
        to: to.to_owned(),
        subject: format!("Your {product} sign-up code"),
        text: format!(
            "Hello {name},\n\nYour {product} sign-up code is {}.\n\nIt expires in {minutes} minutes \
             and works once. If you did not ask to sign up, ignore this mail.\n",
            code.expose()
        ),
        html: html_page(
            product,
            &[
                format!("Hello {},", escape(name)),
                format!("Your {} sign-up code is:", escape(product)),
                code_block(code),
                format!(
                    "It expires in {minutes} minutes and works once. If you did not ask to sign up, ignore this mail."
                ),
            ],
        ),
    }
}

/// Sent instead of a code when someone signs up with an address that has an account, so that
/// the sign-up answer itself never tells whether an account exists.
pub fn already_registered(product: &str, to: &str, name: &str) -> Mail {
    Mail {
        to: to.to_owned(),
        subject: format!("You already have a {product} account"),
        text: format!(
            "Hello {name},\n\nSomeone, probably you, tried to sign up for {product} with this address, \
             but it already has an account. Log in instead, or reset your password if you have \
             forgotten it. If it was not you, you can ignore this mail.\n"
        ),
        html: html_page(
            product,
            &[
                format!("Hello {},", escape(name)),
                format!(
                    "Someone, probably you, tried to sign up for {} with this address, but it already \
                     has an account. Log in instead, or reset your password if you have forgotten it.",
                    escape(product)
                ),
                "If it was not you, you can ignore this mail.".to_owned(),
            ],
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_escaped_in_html() {
        let code = Code::parse("123456").expect("code");
        let mail = signup_code("stepauth", "a@example.com", "<script>x</script>", &code, 10);
        assert!(!mail.html.contains("<script>"));
        assert!(mail.html.contains("&lt;script&gt;"));
    }

    #[test]
    fn code_mail_has_both_parts_product_and_lifetime() {
        let code = Code::parse("042042").expect("code");
        let mail = signup_code("stepauth", "a@example.com", "Ann", &code, 10);
        for part in [&mail.text, &mail.html] {
            assert!(part.contains("042042") && part.contains("stepauth") && part.contains("10 minutes"));
        }
        let other = already_registered("stepauth", "a@example.com", "Ann");
        assert!(other.text.contains("already has an account") && other.html.contains("stepauth"));
    }
}
