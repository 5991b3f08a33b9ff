//! stepauth's common library: the domain logic every auth step runs, the DynamoDB and
//! in-memory stores, the SES and outbox mailers, the crypto, and the HTTP helpers.
//!
//! Every Lambda binary in `functions/` and the embedded local server run the same
//! handlers from [`routes::ROUTES`]; only the [`app::App`] they are given differs.

pub mod activity;
pub mod app;
pub mod aws;
pub mod clock;
pub mod codes;
pub mod config;
pub mod deletion;
pub mod devices;
pub mod email_change;
pub mod error;
pub mod google;
pub mod grants;
pub mod handlers;
pub mod http;
pub mod invalid;
pub mod lambda;
pub mod lockout;
pub mod mail;
pub mod mailing;
pub mod migration;
pub mod model;
pub mod objects;
pub mod oidc;
pub mod openapi;
pub mod password;
pub mod pictures;
pub mod profile;
pub mod random;
pub mod reauth;
pub mod routes;
pub mod session;
pub mod store;
pub mod telemetry;
pub mod tokens;
pub mod totp;

pub use app::App;
pub use error::ApiError;
