//! `logout`: POST /auth/logout: revoke the current session and clear the cookies.

fn main() -> Result<(), stepauth::lambda::Error> {
    stepauth::lambda::start("logout", stepauth::handlers::refresh_logout::logout)
}
