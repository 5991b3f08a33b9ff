//! `google-id-token`: POST /auth/google/id-token.

fn main() -> Result<(), stepauth::lambda::Error> {
    stepauth::lambda::start("google-id-token", stepauth::handlers::google::google_id_token)
}
