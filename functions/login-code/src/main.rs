//! `login-code`: POST /auth/login/code: mail a login code.

fn main() -> Result<(), stepauth::lambda::Error> {
    stepauth::lambda::start("login-code", stepauth::handlers::login::login_code)
}
