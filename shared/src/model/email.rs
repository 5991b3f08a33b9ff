//! Email addresses: how they are cleaned and what is refused.

use crate::invalid::Invalid;

/// An email address, trimmed and case-folded: the key of every per-email item and limit.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    /// Trims and lower-cases `text`, then checks it is a deliverable ASCII address
    /// (SES sends only to ASCII addresses).
    pub fn parse(text: &str) -> Result<Self, Invalid> {
        let email = text.trim().to_lowercase();
        if email.is_empty() {
            return Err("is required".into());
        }
        if email.len() > 254 {
            return Err("must be at most 254 characters long".into());
        }
        if !email.is_ascii() {
            return Err("must be an ASCII email address".into());
        }
        let Some((local, domain)) = email.rsplit_once('@') else {
            return Err("must be an email address".into());
        };
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~.".contains(&b));
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && labels.iter().all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            })
            && labels.last().is_some_and(|tld| tld.len() >= 2 && !tld.bytes().all(|b| b.is_ascii_digit()));
        if local_ok && domain_ok { Ok(Self(email)) } else { Err("must be an email address".into()) }
    }

    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// An address already cleaned (read back from the store).
    pub fn from_stored(email: String) -> Self {
        Self(email)
    }
}

impl std::fmt::Display for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_and_case_folded() {
        assert_eq!(Email::parse("  Alice.Smith@Example.COM ").expect("valid").as_str(), "alice.smith@example.com");
        assert_eq!(Email::parse("a+tag@sub.example.org").expect("valid").as_str(), "a+tag@sub.example.org");
    }

    #[test]
    fn odd_emails_are_refused() {
        for bad in [
            "",
            "plain",
            "@example.com",
            "a@",
            "a@b",
            "a@@b.com",
            "a b@c.com",
            "a@b..com",
            "a@-b.com",
            "a..b@c.com",
            ".a@b.com",
            "a@b.c",
            "a@1.23",
            "ünï@example.com",
            "a@exämple.com",
            "a\u{0}@b.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be refused");
        }
        assert!(Email::parse(&format!("{}@example.com", "a".repeat(65))).is_err());
    }
}
