//! HTTP: reading requests ([`request`]), writing responses ([`response`]) and carrying a
//! session's credentials in both ([`session`]). HTTP sits above the domain: it reads the
//! domain's types out of requests and renders its answers and errors; nothing below
//! imports it.

pub mod request;
pub mod response;
pub mod session;

pub use request::{
    Complete, JsonBody, Optional, Problem, bearer, cookie, email_and_code, is_cross_site, new_password, no_fields,
    opaque_token, origin, page_params,
};
pub use response::{cursor, json, message, raw_json, set_cookies};
