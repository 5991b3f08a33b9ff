//! `logout-all`: POST /auth/logout/all: revoke every session of the user.

fn main() -> Result<(), stepauth::lambda::Error> {
    stepauth::lambda::start("logout-all", stepauth::handlers::refresh_logout::logout_all)
}
