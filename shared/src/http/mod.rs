//! HTTP: reading requests ([`request`], [`fields`]), writing responses ([`response`]) and carrying a
//! session's credentials in both ([`session`]). HTTP sits above the domain: it reads the
//! domain's types out of requests and renders its answers and errors; nothing below
//! imports it.

pub mod cors;
pub mod fields;
pub mod request;
pub mod response;
pub mod session;

pub use fields::{
    email_and_code, email_only, new_password, opaque_token, optional_second_factor, profile_change, second_factor,
};
pub use request::{
    Complete, JsonBody, Optional, Problem, bearer, cookie, is_cross_site, no_fields, no_query, origin, page_params,
    page_params_with, query_param,
};
pub use response::{code_sent, cursor, json, message, raw_json, redirect, set_cookies};
