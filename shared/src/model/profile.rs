//! A person's profile: the standard attributes OpenID Connect names (Core 1.0 §5.1), each
//! with its rules, and what the old backend's user table kept under other names
//! (`first_name` → `given_name`, `username` → `preferred_username`, the short name →
//! `nickname`, `date_of_birth` → `birthdate`).

use std::collections::BTreeMap;

use time::macros::format_description;
use time::{Date, Month};

use crate::invalid::Invalid;
use crate::model::user::{MAX_NAME_CHARS, text_of_at_most};
use crate::model::{CustomValue, User};

/// One of the standard attributes a person may set on their profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Attribute {
    /// First name(s).
    GivenName,
    /// Surname(s).
    FamilyName,
    /// A handle, unique across users case-insensitively.
    PreferredUsername,
    /// A casual name.
    Nickname,
    /// E.164 (`+` and up to 15 digits), never verified here (no SMS).
    PhoneNumber,
    /// `female`, `male` or what the person writes.
    Gender,
    /// `YYYY-MM-DD`, a real date in the past.
    Birthdate,
    /// An `https` URL the person gave (an uploaded picture is kept apart, see
    /// [`PICTURE_OBJECT`]).
    Picture,
    /// A BCP 47 language tag (`en`, `de-AT`): the language of the person's mail.
    Locale,
    /// An IANA time zone (`Europe/Vienna`).
    Zoneinfo,
}

/// The attributes and their names, in the order the API lists them.
pub const ATTRIBUTES: [(Attribute, &str); 10] = [
    (Attribute::GivenName, "given_name"),
    (Attribute::FamilyName, "family_name"),
    (Attribute::PreferredUsername, "preferred_username"),
    (Attribute::Nickname, "nickname"),
    (Attribute::PhoneNumber, "phone_number"),
    (Attribute::Gender, "gender"),
    (Attribute::Birthdate, "birthdate"),
    (Attribute::Picture, "picture"),
    (Attribute::Locale, "locale"),
    (Attribute::Zoneinfo, "zoneinfo"),
];

/// The shortest and longest `preferred_username`.
pub const USERNAME_CHARS: (usize, usize) = (3, 30);

/// Usernames nobody may take: they would pass for the site's own voice in a mail, a page or
/// a support chat. Compared case-insensitively, separators removed.
const RESERVED_USERNAMES: &[&str] = &[
    "abuse",
    "account",
    "admin",
    "administrator",
    "api",
    "auth",
    "help",
    "hostmaster",
    "info",
    "login",
    "mail",
    "me",
    "moderator",
    "noreply",
    "null",
    "official",
    "postmaster",
    "root",
    "security",
    "signup",
    "staff",
    "stepauth",
    "support",
    "system",
    "undefined",
    "webmaster",
    "www",
];

/// Every IANA time zone name (Python's `zoneinfo.available_timezones()`, without `Factory`
/// and `localtime`), one a line, sorted.
pub const ZONES: &str = include_str!("zoneinfo.txt");

/// The value a profile's `picture` holds while it is an uploaded object rather than a URL
/// the person gave: the object's key follows this prefix.
pub const PICTURE_OBJECT: &str = "s3:";

/// The longest URL `picture` takes.
pub const MAX_URL_CHARS: usize = 2048;

impl Attribute {
    /// The attribute's name, as the API and the table spell it.
    pub fn as_str(self) -> &'static str {
        ATTRIBUTES.iter().find(|(a, _)| *a == self).map_or("", |(_, name)| name)
    }

    /// The attribute of that name.
    pub fn named(name: &str) -> Option<Self> {
        ATTRIBUTES.iter().find(|(_, n)| *n == name).map(|(a, _)| *a)
    }

    /// Checks a value the person gave, on `today` (for `birthdate`), and returns it as it is
    /// kept: names trimmed, the rest in the attribute's canonical form (`phone_number` in
    /// E.164, `locale` as `ll-RR`). Values of a fixed format (a username, a number, a date, a
    /// URL, a language tag, a zone) are taken exactly, without spaces around them.
    pub fn parse(self, text: &str, today: Date) -> Result<String, Invalid> {
        match self {
            Self::GivenName | Self::FamilyName => text_of_at_most(text, MAX_NAME_CHARS),
            Self::Nickname | Self::Gender => text_of_at_most(text, 50),
            Self::PreferredUsername => username(text),
            Self::PhoneNumber => phone_number(text),
            Self::Birthdate => birthdate(text, today),
            Self::Picture => https_url(text),
            Self::Locale => locale(text),
            Self::Zoneinfo => zoneinfo(text),
        }
    }
}

/// The standard attributes a user has set.
pub type Profile = BTreeMap<Attribute, String>;

/// A change of a profile: the display name, and each attribute named set (`Some`) or removed
/// (`None`); attributes not named stay as they are.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProfileChange {
    /// A new display name.
    pub name: Option<String>,
    /// Standard attributes set or removed.
    pub standard: BTreeMap<Attribute, Option<String>>,
    /// Custom attributes set or removed.
    pub custom: BTreeMap<String, Option<CustomValue>>,
}

impl ProfileChange {
    /// Whether it changes nothing of `user`.
    pub fn is_noop_for(&self, user: &User) -> bool {
        self.name.as_ref().is_none_or(|name| *name == user.name)
            && self.standard.iter().all(|(a, v)| user.profile.get(a) == v.as_ref())
            && self.custom.iter().all(|(n, v)| user.custom.get(n) == v.as_ref())
    }

    /// The username this change gives the user in place of the one it has, if it changes it:
    /// `(old, new)`, either `None` when there is none.
    pub fn username_move<'a>(&'a self, user: &'a User) -> Option<(Option<&'a str>, Option<&'a str>)> {
        let new = self.standard.get(&Attribute::PreferredUsername)?.as_deref();
        let old = user.profile.get(&Attribute::PreferredUsername).map(String::as_str);
        (old != new).then_some((old, new))
    }

    /// `user` with this change made.
    pub fn apply_to(&self, user: &mut User) {
        if let Some(name) = &self.name {
            name.clone_into(&mut user.name);
        }
        for (attribute, value) in &self.standard {
            match value {
                Some(value) => user.profile.insert(*attribute, value.clone()),
                None => user.profile.remove(attribute),
            };
        }
        for (name, value) in &self.custom {
            match value {
                Some(value) => user.custom.insert(name.clone(), value.clone()),
                None => user.custom.remove(name),
            };
        }
    }
}

/// The name a profile's given and family names make: "given family", or `None` when both are
/// absent.
pub fn full_name(profile: &Profile) -> Option<String> {
    let parts: Vec<&str> = [Attribute::GivenName, Attribute::FamilyName]
        .iter()
        .filter_map(|a| profile.get(a).map(String::as_str))
        .collect();
    (!parts.is_empty()).then(|| parts.join(" "))
}

/// The form in which `preferred_username` is unique: lower case.
pub fn username_key(username: &str) -> String {
    username.to_ascii_lowercase()
}

/// A username: 3 to 30 ASCII letters, digits, `.`, `_` and `-`, starting and ending with a
/// letter or digit, and not a reserved name. ASCII only: letters of other scripts that look
/// alike (Cyrillic `а` and Latin `a`) would let one person pass for another.
fn username(text: &str) -> Result<String, Invalid> {
    let name = text;
    let (min, max) = USERNAME_CHARS;
    if name.len() < min || name.len() > max {
        return Err(format!("must be {min} to {max} characters long").into());
    }
    if !name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-')) {
        return Err("may hold only letters a-z, digits and . _ -".into());
    }
    let ends = [name.as_bytes()[0], name.as_bytes()[name.len() - 1]];
    if !ends.iter().all(u8::is_ascii_alphanumeric) {
        return Err("must start and end with a letter or digit".into());
    }
    let bare: String = username_key(name).chars().filter(char::is_ascii_alphanumeric).collect();
    if RESERVED_USERNAMES.contains(&bare.as_str()) {
        return Err("is reserved".into());
    }
    Ok(name.to_owned())
}

/// A phone number in international form (`+`, the country code, digits and the separators
/// space, `-`, `.`, `(`, `)`), as libphonenumber's metadata knows valid numbers; kept in
/// E.164.
fn phone_number(text: &str) -> Result<String, Invalid> {
    let shaped = text.strip_prefix('+').is_some_and(|rest| {
        rest.starts_with(|c: char| c.is_ascii_digit())
            && (6..=31).contains(&rest.len())
            && rest.bytes().all(|b| b.is_ascii_digit() || b" ().-".contains(&b))
    });
    if !shaped {
        return Err("must be in international form: + and the country code, digits, spaces, - . ( )".into());
    }
    match phonenumber::parse(None, text) {
        Ok(number) if phonenumber::is_valid(&number) => Ok(number.format().mode(phonenumber::Mode::E164).to_string()),
        _ => Err("is not a valid phone number".into()),
    }
}

/// A date of birth: `YYYY-MM-DD`, from 1900 on, before `today`.
fn birthdate(text: &str, today: Date) -> Result<String, Invalid> {
    let format = format_description!("[year]-[month]-[day]");
    let date = calendar_date(text)?;
    let earliest = Date::from_calendar_date(1900, Month::January, 1).map_err(|_| Invalid::from("is out of range"))?;
    if date >= today || date < earliest {
        return Err("must be a date between 1900-01-01 and yesterday".into());
    }
    date.format(format).map_err(|_| Invalid::from("is out of range"))
}

/// A calendar date written `YYYY-MM-DD` (ASCII digits): "must be a date as YYYY-MM-DD" for
/// any other shape, "is not a real date" for one such as `2023-02-29`.
pub fn calendar_date(text: &str) -> Result<Date, Invalid> {
    let shaped = text.len() == 10
        && text.bytes().enumerate().all(|(i, b)| if i == 4 || i == 7 { b == b'-' } else { b.is_ascii_digit() });
    if !shaped {
        return Err("must be a date as YYYY-MM-DD".into());
    }
    Date::parse(text, format_description!("[year]-[month]-[day]")).map_err(|_| Invalid::from("is not a real date"))
}

/// An `https` URL of at most [`MAX_URL_CHARS`] printable ASCII characters, with a host and no
/// credentials in it.
fn https_url(text: &str) -> Result<String, Invalid> {
    let url = text;
    let Some(rest) = url.strip_prefix("https://") else {
        return Err("must be an https:// URL".into());
    };
    if url.len() > MAX_URL_CHARS || !url.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("must be a URL of at most 2048 characters, without spaces".into());
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.is_empty() || authority.contains('@') {
        return Err("must name a host, without a user name or password".into());
    }
    Ok(url.to_owned())
}

/// A BCP 47 language tag of the common shapes (`en`, `pt-BR`, `zh-Hant-TW`), with `_`
/// taken for `-`; kept with the language in lower case and the region in upper case.
fn locale(text: &str) -> Result<String, Invalid> {
    let invalid = || Invalid::from("must be a language tag such as en, de-AT or zh-Hant-TW");
    if text.len() > 35 {
        return Err(invalid());
    }
    let mut parts = text.split(['-', '_']);
    let language = parts.next().filter(|l| (2..=3).contains(&l.len()) && l.bytes().all(|b| b.is_ascii_alphabetic()));
    let mut tag = language.ok_or_else(invalid)?.to_ascii_lowercase();
    for part in parts {
        let shaped = match part.len() {
            2 if part.bytes().all(|b| b.is_ascii_alphabetic()) => part.to_ascii_uppercase(),
            4 if part.bytes().all(|b| b.is_ascii_alphabetic()) => {
                let lower = part.to_ascii_lowercase();
                lower[..1].to_ascii_uppercase() + &lower[1..]
            }
            3..=8 if part.bytes().all(|b| b.is_ascii_alphanumeric()) => part.to_ascii_lowercase(),
            _ => return Err(invalid()),
        };
        tag.push('-');
        tag.push_str(&shaped);
    }
    Ok(tag)
}

/// An IANA time zone name, spelled as the database spells it.
fn zoneinfo(text: &str) -> Result<String, Invalid> {
    if ZONES.lines().any(|zone| zone == text) {
        Ok(text.to_owned())
    } else {
        Err("must be an IANA time zone such as Europe/Vienna".into())
    }
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    const TODAY: Date = date!(2026 - 12 - 02);

    fn parse(attribute: Attribute, text: &str) -> Result<String, Invalid> {
        attribute.parse(text, TODAY)
    }

    #[test]
    fn every_attribute_has_its_oidc_name() {
        for (attribute, name) in ATTRIBUTES {
            assert_eq!((attribute.as_str(), Attribute::named(name)), (name, Some(attribute)));
        }
        assert_eq!(Attribute::named("username"), None);
    }

    #[test]
    fn usernames_are_plain_ascii_and_not_reserved() {
        assert_eq!(parse(Attribute::PreferredUsername, "Ann.Lee_2").as_deref(), Ok("Ann.Lee_2"));
        for bad in [
            " Ann.Lee_2",
            "ab",
            &"a".repeat(31),
            "ann lee",
            "аnn",
            ".ann",
            "ann-",
            "Admin",
            "no-reply",
            "Web_Master",
            "r.o.o.t",
        ] {
            assert!(parse(Attribute::PreferredUsername, bad).is_err(), "{bad}");
        }
        assert_eq!(username_key("Ann.Lee"), "ann.lee");
    }

    #[test]
    fn phone_numbers_are_kept_in_e164() {
        assert_eq!(parse(Attribute::PhoneNumber, "+44 20 7946 0958").as_deref(), Ok("+442079460958"));
        assert_eq!(parse(Attribute::PhoneNumber, "+1 (415) 555-2671").as_deref(), Ok("+14155552671"));
        for bad in
            ["020 7946 0958", "+44 12", "+999 123456789", "+1-800-FLOWERS", " +14155552671", "+", "+ 44 20 7946 0958"]
        {
            assert!(parse(Attribute::PhoneNumber, bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn birthdates_are_real_past_dates() {
        assert_eq!(parse(Attribute::Birthdate, "1990-02-30"), Err(Invalid::from("is not a real date")));
        assert_eq!(parse(Attribute::Birthdate, "1990-02-28").as_deref(), Ok("1990-02-28"));
        assert_eq!(parse(Attribute::Birthdate, "2000-02-29").as_deref(), Ok("2000-02-29"));
        for bad in [
            "１９９０-02-28",
            "+1990-02-28",
            "2026-12-02",
            "2030-01-01",
            "1899-12-31",
            "1990-2-3",
            "02/03/1990",
            "1990-02-28T00:00",
        ] {
            assert!(parse(Attribute::Birthdate, bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn pictures_are_https_urls_with_a_host() {
        assert!(parse(Attribute::Picture, "https://example.com/ann.png").is_ok());
        for bad in
            ["http://example.com/a.png", "javascript:alert(1)", "https://", "https://u:p@example.com/", "https://a b"]
        {
            assert!(parse(Attribute::Picture, bad).is_err(), "{bad}");
        }
        assert!(parse(Attribute::Picture, &format!("https://example.com/{}", "a".repeat(2048))).is_err());
    }

    #[test]
    fn locales_and_zones_are_canonical() {
        assert_eq!(parse(Attribute::Locale, "de_at").as_deref(), Ok("de-AT"));
        assert_eq!(parse(Attribute::Locale, "zh-hant-tw").as_deref(), Ok("zh-Hant-TW"));
        assert_eq!(parse(Attribute::Locale, "EN").as_deref(), Ok("en"));
        for bad in ["", "e", "english", "en-", "en-@@", "12"] {
            assert!(parse(Attribute::Locale, bad).is_err(), "{bad}");
        }
        assert_eq!(parse(Attribute::Zoneinfo, "Europe/Vienna").as_deref(), Ok("Europe/Vienna"));
        assert_eq!(parse(Attribute::Zoneinfo, "UTC").as_deref(), Ok("UTC"));
        for bad in ["europe/vienna", "Mars/Phobos", "", "Europe"] {
            assert!(parse(Attribute::Zoneinfo, bad).is_err(), "{bad}");
        }
        assert!(ZONES.lines().is_sorted());
    }

    #[test]
    fn names_follow_the_display_name_rules() {
        assert_eq!(parse(Attribute::GivenName, "  Zoë ").as_deref(), Ok("Zoë"));
        for bad in ["", "a\u{202E}b", "a\nb", &"x".repeat(101)] {
            assert!(parse(Attribute::FamilyName, bad).is_err(), "{bad:?}");
        }
        assert!(parse(Attribute::Nickname, &"x".repeat(51)).is_err());
        let profile = Profile::from([(Attribute::FamilyName, "Lee".to_owned())]);
        assert_eq!(full_name(&profile).as_deref(), Some("Lee"));
        assert_eq!(full_name(&Profile::new()), None);
    }
}
