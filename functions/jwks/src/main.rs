//! `jwks`: GET /.well-known/jwks.json: the public signing keys.

fn main() -> Result<(), stepauth::lambda::Error> {
    stepauth::lambda::start("jwks", stepauth::handlers::jwks::jwks)
}
