//! `activity`: GET /users/me/activity: the user's recent auth events.

fn main() -> Result<(), stepauth::lambda::Error> {
    stepauth::lambda::start("activity", stepauth::handlers::profile::activity)
}
