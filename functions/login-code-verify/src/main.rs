//! `login-code-verify`: POST /auth/login/code/verify: log in with an emailed code.

fn main() -> Result<(), stepauth::lambda::Error> {
    stepauth::lambda::start("login-code-verify", stepauth::handlers::login::login_code_verify)
}
