//! `session-end`: DELETE /users/me/sessions/{id}.

fn main() -> Result<(), stepauth::lambda::Error> {
    stepauth::lambda::start("session-end", stepauth::handlers::devices::session_end)
}
