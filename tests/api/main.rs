#![allow(clippy::unwrap_used)]
//! Integration tests: every route over HTTP against moto server (DynamoDB, SESv2, Secrets
//! Manager, S3), the store contract against both stores, the events/ files, the Lambda binaries
//! (under our own Runtime API and under `cargo lambda watch`), the layout's one source of
//! truth, and the embedded local server.

mod account;
mod admin;
mod bad_input;
mod cargo_lambda;
mod chaos;
mod cors;
mod dependency_faults;
mod devices;
mod django;
mod enumeration;
mod events;
mod google;
mod hot_keys;
mod lambda_binaries;
mod layout;
mod local_server;
mod lockout;
mod login_codes;
mod mail_faults;
mod mail_log;
mod mail_templates;
mod passwords;
mod pictures;
mod profile;
mod sessions;
mod signup;
mod source_limits;
mod store_contract;
mod tokens;
mod totp;
