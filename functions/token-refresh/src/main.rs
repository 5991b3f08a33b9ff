//! `token-refresh`: POST /auth/token/refresh: rotate the refresh token, issue a new access token.

fn main() -> Result<(), stepauth::lambda::Error> {
    stepauth::lambda::start(stepauth::routes::handler::token_refresh)
}
