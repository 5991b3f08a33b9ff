//! `google-callback`: GET /auth/google/callback.

fn main() -> Result<(), stepauth::lambda::Error> {
    stepauth::lambda::start("google-callback", stepauth::handlers::google::google_callback)
}
