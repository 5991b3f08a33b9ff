//! `profile-update`: PATCH /users/me: change the profile.

fn main() -> Result<(), stepauth::lambda::Error> {
    stepauth::lambda::start(stepauth::routes::handler::profile_update)
}
