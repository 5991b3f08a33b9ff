//! `google-start`: GET /auth/google/start.

fn main() -> Result<(), stepauth::lambda::Error> {
    stepauth::lambda::start("google-start", stepauth::handlers::google::google_start)
}
