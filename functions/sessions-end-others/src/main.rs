//! `sessions-end-others`: POST /users/me/sessions/end-others.

fn main() -> Result<(), stepauth::lambda::Error> {
    stepauth::lambda::start("sessions-end-others", stepauth::handlers::devices::sessions_end_others)
}
