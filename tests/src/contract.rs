//! Every answer the suite sees is one the API's document lists: the status among the
//! operation's responses, an error's code among the codes of that status, and the headers the
//! document requires present. So the Rust suite's flows (lockouts, rate limits, injected
//! faults, every error path a test reaches) hold `docs/openapi.json` to the code, beside
//! schemathesis' generated requests. Requests to no operation (an unknown path, a wrong
//! method) are the API-wide 404 and 405 and are not checked here.

use std::sync::OnceLock;

use reqwest::header::HeaderMap;
use serde_json::Value;

/// The document, built once.
fn document() -> &'static Value {
    static DOCUMENT: OnceLock<Value> = OnceLock::new();
    DOCUMENT.get_or_init(stepauth::openapi::document)
}

/// Panics, naming what is missing from the document, unless `status`, the body's error code
/// and the headers are what the document lists for `method` `path` (query string ignored).
pub fn check(method: &str, path: &str, status: u16, body: &Value, headers: &HeaderMap) {
    let document = document();
    let path = path.split('?').next().unwrap_or(path);
    // The route the server chose (templates too: `/users/me/sessions/{id}`), as it chooses.
    let Ok(route) = stepauth::routes::find(&method.parse().expect("a method"), path) else {
        return;
    };
    let Some(operation) = document["paths"].get(route.path).and_then(|item| item.get(method.to_ascii_lowercase()))
    else {
        return;
    };
    let Some(response) = operation["responses"].get(status.to_string()) else {
        panic!("{method} {path} answered {status} ({body}), which docs/openapi.json does not list for it");
    };
    if let Some(code) = body.get("error").and_then(Value::as_str) {
        let codes = &response["content"]["application/json"]["schema"]["allOf"][1]["properties"]["error"]["enum"];
        let listed = codes.as_array().is_some_and(|codes| codes.iter().any(|c| c == code));
        assert!(listed, "{method} {path} answered {status} {code}, which docs/openapi.json does not list for it");
    }
    let Some(declared) = response["headers"].as_object() else { return };
    for (name, header) in declared {
        let header = resolve(document, header);
        if header["required"] == true {
            assert!(
                headers.contains_key(name.as_str()),
                "{method} {path} answered {status} without {name}, which docs/openapi.json requires"
            );
        }
    }
}

/// A `$ref` to the document's components, followed.
fn resolve<'a>(document: &'a Value, value: &'a Value) -> &'a Value {
    match value.get("$ref").and_then(Value::as_str) {
        Some(pointer) => document.pointer(pointer.trim_start_matches('#')).unwrap_or(value),
        None => value,
    }
}
