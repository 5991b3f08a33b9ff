//! `jwks`: GET /.well-known/jwks.json: the public signing keys, as given at deploy time
//! (no secret, no AWS client, no permission).

fn main() -> Result<(), stepauth::lambda::Error> {
    let jwks: &'static str = stepauth::handlers::jwks::published()?.leak();
    stepauth::lambda::start_static("jwks", move |req| stepauth::handlers::jwks::serve(jwks, req))
}
