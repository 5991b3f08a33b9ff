//! `profile-get`: GET /users/me: the signed-in user's profile.

fn main() -> Result<(), stepauth::lambda::Error> {
    stepauth::lambda::start("profile-get", stepauth::handlers::profile::profile_get)
}
