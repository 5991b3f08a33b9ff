//! `sessions-list`: GET /users/me/sessions.

fn main() -> Result<(), stepauth::lambda::Error> {
    stepauth::lambda::start("sessions-list", stepauth::handlers::devices::sessions_list)
}
