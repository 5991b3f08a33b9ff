//! What a domain parser says is wrong with a value it was given: a message for the person
//! who typed it. HTTP turns it into a field error (`crate::http::Problem`); the domain never
//! sees HTTP.

/// A value that does not parse, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid(pub String);

impl From<&str> for Invalid {
    fn from(message: &str) -> Self {
        Self(message.to_owned())
    }
}

impl From<String> for Invalid {
    fn from(message: String) -> Self {
        Self(message)
    }
}
