//! The attributes a deployment declares beside the standard ones (`STEPAUTH_CUSTOM_ATTRIBUTES`):
//! what the old backend kept next to its users (an application id, a plan, an employee
//! number) without a code change. Each has a type and limits, says who may write it, and
//! whether the access token carries it as the claim `custom:<name>`.

use std::collections::BTreeMap;

use serde_json::{Number, Value};
use time::Date;
use time::macros::format_description;

use crate::invalid::Invalid;
use crate::model::user::text_of_at_most;

/// A custom attribute's value.
#[derive(Debug, Clone, PartialEq)]
pub enum CustomValue {
    /// A `string` or a `date` attribute's (a date as `YYYY-MM-DD`).
    String(String),
    /// A `number` attribute's (integer or decimal, as given).
    Number(Number),
    /// A `boolean` attribute's.
    Boolean(bool),
}

impl Eq for CustomValue {}

impl CustomValue {
    /// The value as JSON.
    pub fn to_json(&self) -> Value {
        match self {
            Self::String(text) => Value::String(text.clone()),
            Self::Number(number) => Value::Number(number.clone()),
            Self::Boolean(flag) => Value::Bool(*flag),
        }
    }
}

/// The custom attributes a user has set, by name.
pub type Custom = BTreeMap<String, CustomValue>;

/// What a custom attribute holds.
#[derive(Debug, Clone, PartialEq)]
pub enum CustomKind {
    /// Text under the rules of a display name, of at most `max_length` code points.
    String {
        /// At most this many code points (at most [`MAX_CUSTOM_STRING`]).
        max_length: usize,
    },
    /// A finite number within the bounds given.
    Number {
        /// The least value taken.
        min: Option<f64>,
        /// The greatest value taken.
        max: Option<f64>,
        /// Whether only whole numbers are taken.
        integer: bool,
    },
    /// `true` or `false`.
    Boolean,
    /// A calendar date, `YYYY-MM-DD`.
    Date,
}

/// Who may write a custom attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Writer {
    /// The person, through `PATCH /users/me` (and admins).
    User,
    /// Admins only, through `PATCH /admin/users/{id}`; the person reads it.
    Admin,
}

/// One declared custom attribute.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomAttribute {
    /// `[a-z][a-z0-9_]{0,31}`.
    pub name: String,
    /// Its type and limits.
    pub kind: CustomKind,
    /// Who may write it.
    pub writer: Writer,
    /// Whether the access token carries it as `custom:<name>`.
    pub claim: bool,
}

/// The longest `string` a custom attribute may declare.
pub const MAX_CUSTOM_STRING: usize = 500;

/// The most custom attributes a deployment may declare.
pub const MAX_CUSTOM_ATTRIBUTES: usize = 25;

impl CustomAttribute {
    /// Checks a declaration's name and limits.
    pub fn check(&self) -> Result<(), Invalid> {
        let name = &self.name;
        let valid = name.len() <= 32
            && name.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
            && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !valid {
            return Err(format!("the custom attribute name {name:?} must match [a-z][a-z0-9_]{{0,31}}").into());
        }
        match self.kind {
            CustomKind::String { max_length } if max_length == 0 || max_length > MAX_CUSTOM_STRING => {
                Err(format!("{name}: max_length must be 1 to {MAX_CUSTOM_STRING}").into())
            }
            CustomKind::Number { min: Some(min), max: Some(max), .. } if min > max => {
                Err(format!("{name}: min must not be above max").into())
            }
            _ => Ok(()),
        }
    }

    /// Checks a value given for this attribute.
    pub fn parse(&self, value: &Value) -> Result<CustomValue, Invalid> {
        match (&self.kind, value) {
            (CustomKind::String { max_length }, Value::String(text)) => {
                text_of_at_most(text, *max_length).map(CustomValue::String)
            }
            (CustomKind::Number { min, max, integer }, Value::Number(number)) => {
                let float =
                    number.as_f64().filter(|f| f.is_finite()).ok_or_else(|| Invalid::from("is out of range"))?;
                if *integer && !(number.is_i64() || number.is_u64()) {
                    return Err("must be a whole number".into());
                }
                if min.is_some_and(|min| float < min) || max.is_some_and(|max| float > max) {
                    return Err(bounds(*min, *max).into());
                }
                Ok(CustomValue::Number(number.clone()))
            }
            (CustomKind::Boolean, Value::Bool(flag)) => Ok(CustomValue::Boolean(*flag)),
            (CustomKind::Date, Value::String(text)) => {
                let format = format_description!("[year]-[month]-[day]");
                let date = Date::parse(text, format).map_err(|_| Invalid::from("must be a date as YYYY-MM-DD"))?;
                Ok(CustomValue::String(date.format(format).map_err(|_| Invalid::from("is out of range"))?))
            }
            (kind, _) => Err(format!("must be {}", kind.described()).into()),
        }
    }
}

impl CustomKind {
    /// The type's name in the setting and in the API's errors.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::String { .. } => "string",
            Self::Number { .. } => "number",
            Self::Boolean => "boolean",
            Self::Date => "date",
        }
    }

    fn described(&self) -> &'static str {
        match self {
            Self::String { .. } => "a string",
            Self::Number { integer: true, .. } => "a whole number",
            Self::Number { .. } => "a number",
            Self::Boolean => "true or false",
            Self::Date => "a date as YYYY-MM-DD",
        }
    }
}

fn bounds(min: Option<f64>, max: Option<f64>) -> String {
    match (min, max) {
        (Some(min), Some(max)) => format!("must be between {min} and {max}"),
        (Some(min), None) => format!("must be at least {min}"),
        (None, Some(max)) => format!("must be at most {max}"),
        (None, None) => "is out of range".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn declared(kind: CustomKind) -> CustomAttribute {
        CustomAttribute { name: "plan".to_owned(), kind, writer: Writer::User, claim: false }
    }

    #[test]
    fn values_are_checked_against_their_declaration() {
        let text = declared(CustomKind::String { max_length: 5 });
        assert_eq!(text.parse(&json!(" pro ")), Ok(CustomValue::String("pro".to_owned())));
        for bad in [json!("toolong"), json!(5), json!(""), json!("a\u{202E}b"), json!(null)] {
            assert!(text.parse(&bad).is_err(), "{bad}");
        }
        let number = declared(CustomKind::Number { min: Some(0.0), max: Some(100.0), integer: true });
        assert_eq!(number.parse(&json!(42)).map(|v| v.to_json()), Ok(json!(42)));
        for bad in [json!(-1), json!(101), json!(1.5), json!("42"), json!(true)] {
            assert!(number.parse(&bad).is_err(), "{bad}");
        }
        let decimal = declared(CustomKind::Number { min: None, max: None, integer: false });
        assert_eq!(decimal.parse(&json!(1.5)).map(|v| v.to_json()), Ok(json!(1.5)));
        assert!(declared(CustomKind::Boolean).parse(&json!("true")).is_err());
        assert_eq!(declared(CustomKind::Boolean).parse(&json!(false)), Ok(CustomValue::Boolean(false)));
        assert!(declared(CustomKind::Date).parse(&json!("2026-02-30")).is_err());
        assert_eq!(
            declared(CustomKind::Date).parse(&json!("2026-02-28")),
            Ok(CustomValue::String("2026-02-28".to_owned()))
        );
    }

    #[test]
    fn declarations_are_checked() {
        assert!(declared(CustomKind::Boolean).check().is_ok());
        for name in ["Plan", "1plan", "plan-id", "", &"p".repeat(33)] {
            let attribute = CustomAttribute { name: name.to_owned(), ..declared(CustomKind::Boolean) };
            assert!(attribute.check().is_err(), "{name}");
        }
        assert!(declared(CustomKind::String { max_length: 0 }).check().is_err());
        assert!(declared(CustomKind::String { max_length: 501 }).check().is_err());
        assert!(declared(CustomKind::Number { min: Some(2.0), max: Some(1.0), integer: false }).check().is_err());
    }
}
