//! The values of the attributes a deployment declares beside the standard ones
//! (`STEPAUTH_CUSTOM_ATTRIBUTES`, declared as [`CustomAttribute`]s in [`crate::config`]): what
//! the old backend kept next to its users (an application id, a plan, an employee number)
//! without a code change, and the rules a value meets to be kept.

use std::collections::BTreeMap;

use serde_json::{Number, Value};

use crate::config::{CustomAttribute, CustomKind};
use crate::invalid::Invalid;
use crate::model::profile::calendar_date;
use crate::model::user::text_of_at_most;

/// A custom attribute's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CustomValue {
    /// A `string` or a `date` attribute's (a date as `YYYY-MM-DD`).
    String(String),
    /// A `number` attribute's (integer or decimal, as given).
    Number(Number),
    /// A `boolean` attribute's.
    Boolean(bool),
}

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

impl CustomAttribute {
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
                calendar_date(text)?;
                Ok(CustomValue::String(text.clone()))
            }
            (kind, _) => Err(format!("must be {}", kind.described()).into()),
        }
    }
}

impl CustomKind {
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
    use crate::config::Writer;

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
}
