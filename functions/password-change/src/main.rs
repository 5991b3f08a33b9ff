//! `password-change`: POST /auth/password/change: change the password, given the current one.

fn main() -> Result<(), stepauth::lambda::Error> {
    stepauth::lambda::start("password-change", stepauth::handlers::profile::password_change)
}
