//! `logout-all`: POST /auth/logout/all: revoke every session of the user.

fn main() -> Result<(), stepauth::lambda::Error> {
    stepauth::lambda::start(stepauth::routes::handler::logout_all)
}
