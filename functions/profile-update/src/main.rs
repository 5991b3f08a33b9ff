//! `profile-update`: PATCH /users/me: change the profile.

fn main() -> Result<(), stepauth::lambda::Error> {
    stepauth::lambda::start("profile-update", stepauth::handlers::profile::profile_update)
}
