//! Reading the old Django backend's users for `stepauth-import`: the JSON that `python
//! manage.py dumpdata <app>.User --format json` writes, or the same fields as CSV with a
//! header row. Field names are mapped by [`Fields`] (the defaults are Django's, and a custom
//! email user model's `name` and `google_authenticator_secret`); what a user becomes is
//! `stepauth::migration`'s.

use std::collections::HashMap;

use anyhow::{Context as _, bail};
use serde_json::Value;
use stepauth::migration::DjangoUser;
use stepauth::model::Attribute;

/// Which export field holds each value stepauth reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fields(HashMap<&'static str, String>);

/// The values stepauth reads, with the Django field each comes from by default.
pub const DEFAULT_FIELDS: &[(&str, &str)] = &[
    ("email", "email"),
    ("name", "name"),
    ("first_name", "first_name"),
    ("last_name", "last_name"),
    ("password", "password"),
    ("is_active", "is_active"),
    ("is_staff", "is_staff"),
    ("is_superuser", "is_superuser"),
    ("date_joined", "date_joined"),
    ("last_login", "last_login"),
    ("google_authenticator_secret", "google_authenticator_secret"),
    ("username", "username"),
    ("short_name", "short_name"),
    ("phone", "phone"),
    ("gender", "gender"),
    ("date_of_birth", "date_of_birth"),
    ("profile_picture", "profile_picture"),
];

/// The profile attribute each of the old table's fields becomes (`first_name` and
/// `last_name` also make `name` where the model had none).
const PROFILE_FIELDS: &[(&str, Attribute)] = &[
    ("first_name", Attribute::GivenName),
    ("last_name", Attribute::FamilyName),
    ("username", Attribute::PreferredUsername),
    ("short_name", Attribute::Nickname),
    ("phone", Attribute::PhoneNumber),
    ("gender", Attribute::Gender),
    ("date_of_birth", Attribute::Birthdate),
    ("profile_picture", Attribute::Picture),
];

impl Default for Fields {
    fn default() -> Self {
        Self(DEFAULT_FIELDS.iter().map(|(ours, theirs)| (*ours, (*theirs).to_owned())).collect())
    }
}

impl Fields {
    /// Applies `--field ours=theirs`: the value `ours` is read from the export's `theirs`.
    pub fn set(&mut self, mapping: &str) -> anyhow::Result<()> {
        let (ours, theirs) = mapping.split_once('=').context("--field takes ours=theirs, e.g. name=full_name")?;
        let Some((key, _)) = DEFAULT_FIELDS.iter().find(|(key, _)| *key == ours.trim()) else {
            let known: Vec<&str> = DEFAULT_FIELDS.iter().map(|(key, _)| *key).collect();
            bail!("--field {ours}: not a field stepauth reads (one of {})", known.join(", "));
        };
        self.0.insert(key, theirs.trim().to_owned());
        Ok(())
    }

    fn name<'a>(&'a self, ours: &'a str) -> &'a str {
        self.0.get(ours).map_or(ours, String::as_str)
    }
}

/// One record of the export: its number (the record's position, from 1, in a JSON file; its
/// line in a CSV file), and the user it holds or why it could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Where it is in the file.
    pub number: usize,
    /// The user, or why not.
    pub user: Result<DjangoUser, String>,
}

/// The export's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `dumpdata --format json`: `[{"model", "pk", "fields": {…}}, …]`.
    Json,
    /// A header row, then one user per row.
    Csv,
}

impl Format {
    /// The format a file name says (`.csv`, else JSON).
    pub fn of(path: &str) -> Self {
        if path.to_ascii_lowercase().ends_with(".csv") { Self::Csv } else { Self::Json }
    }
}

/// Reads every record of an export.
pub fn read(text: &str, format: Format, fields: &Fields) -> anyhow::Result<Vec<Record>> {
    match format {
        Format::Json => read_json(text, fields),
        Format::Csv => read_csv(text, fields),
    }
}

fn read_json(text: &str, fields: &Fields) -> anyhow::Result<Vec<Record>> {
    let records: Vec<Value> = serde_json::from_str(text).context("the file is not dumpdata's JSON (a list)")?;
    Ok(records
        .iter()
        .enumerate()
        .map(|(i, record)| {
            let user = match record.get("fields").and_then(Value::as_object) {
                Some(values) => user(fields, |name| match values.get(name) {
                    None | Some(Value::Null) => Ok(None),
                    Some(Value::String(text)) => Ok(Some(text.clone())),
                    Some(Value::Bool(flag)) => Ok(Some(flag.to_string())),
                    Some(Value::Number(number)) => Ok(Some(number.to_string())),
                    Some(_) => Err(format!("{name} is not a string, number or boolean")),
                }),
                None => Err("no \"fields\" object (not a dumpdata record)".to_owned()),
            };
            Record { number: i + 1, user }
        })
        .collect())
}

fn read_csv(text: &str, fields: &Fields) -> anyhow::Result<Vec<Record>> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(text.as_bytes());
    let header: Vec<String> =
        reader.headers().context("the CSV file has no header row")?.iter().map(str::to_owned).collect();
    let mut records = Vec::new();
    for row in reader.records() {
        let row = row.context("reading the CSV file")?;
        // The line the record starts on, counted here: after a CRLF the reader's own count
        // stands on the LF, one line short.
        let start = row.position().map_or(0, |p| p.byte() as usize);
        let number = text[..start.min(text.len())].matches('\n').count()
            + 1
            + usize::from(text.as_bytes().get(start) == Some(&b'\n'));
        let user = if row.len() == header.len() {
            user(fields, |name| {
                Ok(header
                    .iter()
                    .position(|h| h == name)
                    .and_then(|i| row.get(i))
                    .filter(|v| !v.is_empty())
                    .map(str::to_owned))
            })
        } else {
            Err(format!("{} values for {} columns", row.len(), header.len()))
        };
        records.push(Record { number, user });
    }
    Ok(records)
}

/// A user from one record's values (`value` gives a field's text by its export name).
fn user(fields: &Fields, value: impl Fn(&str) -> Result<Option<String>, String>) -> Result<DjangoUser, String> {
    let get = |ours: &str| value(fields.name(ours));
    let flag = |ours: &str, default: bool| -> Result<bool, String> {
        match get(ours)?.as_deref().map(str::trim) {
            None => Ok(default),
            Some("true" | "True" | "TRUE" | "t" | "1" | "yes") => Ok(true),
            Some("false" | "False" | "FALSE" | "f" | "0" | "no" | "") => Ok(false),
            Some(_) => Err(format!("{} is not a boolean", fields.name(ours))),
        }
    };
    let name = get("name")?.unwrap_or_default();
    Ok(DjangoUser {
        email: get("email")?.ok_or_else(|| format!("no {}", fields.name("email")))?,
        name,
        password: get("password")?.unwrap_or_default(),
        is_active: flag("is_active", true)?,
        is_admin: flag("is_staff", false)? || flag("is_superuser", false)?,
        date_joined: get("date_joined")?,
        last_login: get("last_login")?,
        totp_secret: get("google_authenticator_secret")?,
        profile: PROFILE_FIELDS
            .iter()
            .filter_map(|(ours, attribute)| get(ours).transpose().map(|value| value.map(|v| (*attribute, v))))
            .collect::<Result<_, _>>()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_and_csv_read_alike_and_fields_map() {
        let json = r#"[{"model": "accounts.user", "pk": 1, "fields": {"email": "A@Example.com", "full_name": "Ann",
            "password": "!x", "is_active": false, "is_staff": true, "date_joined": "2024-01-01T00:00:00Z",
            "last_login": null}}, {"model": "accounts.user", "pk": 2}]"#;
        let csv = "email,full_name,password,is_active,is_staff,date_joined,last_login\r\n\
                   A@Example.com,Ann,!x,False,True,2024-01-01T00:00:00Z,\r\n\
                   too,few\n";
        let mut fields = Fields::default();
        fields.set("name=full_name").expect("a mapping");
        let from_json = read(json, Format::Json, &fields).expect("json");
        let from_csv = read(csv, Format::Csv, &fields).expect("csv");
        assert_eq!(from_json[0].user, from_csv[0].user);
        let user = from_json[0].user.clone().expect("a user");
        assert_eq!((user.name.as_str(), user.is_active, user.is_admin, user.last_login), ("Ann", false, true, None));
        assert!(from_json[1].user.is_err() && from_csv[1].user.is_err());
        assert_eq!((from_json[1].number, from_csv[1].number), (2, 3), "a record's number, a CSV row's line");
        assert!(Fields::default().set("nickname=x").is_err());
    }
}
