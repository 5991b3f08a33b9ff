//! `token-refresh`: POST /auth/token/refresh: rotate the refresh token, issue a new access token.

fn main() -> Result<(), stepauth::lambda::Error> {
    stepauth::lambda::start("token-refresh", stepauth::handlers::refresh_logout::token_refresh)
}
