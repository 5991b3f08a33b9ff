//! `mfa-verify`: POST /auth/mfa/verify: finish a login with an authenticator or recovery code.

fn main() -> Result<(), stepauth::lambda::Error> {
    stepauth::lambda::start("mfa-verify", stepauth::handlers::authenticator::mfa_verify)
}
