//! `login-code`: POST /auth/login/code: mail a login code.

fn main() -> Result<(), stepauth::lambda::Error> {
    stepauth::lambda::start(stepauth::routes::handler::login_code)
}
