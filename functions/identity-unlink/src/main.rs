//! `identity-unlink`: POST /users/me/identities/unlink.

fn main() -> Result<(), stepauth::lambda::Error> {
    stepauth::lambda::start("identity-unlink", stepauth::handlers::identity_unlink::identity_unlink)
}
