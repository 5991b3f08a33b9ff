//! `jwks`: GET /.well-known/jwks.json and GET /.well-known/openid-configuration: the public
//! signing keys, as given at deploy time, and the discovery document pointing to them (no
//! secret, no AWS client, no permission).

fn main() -> Result<(), stepauth::lambda::Error> {
    let published: &'static _ = Box::leak(Box::new(stepauth::handlers::jwks::published()?));
    stepauth::lambda::start_static("jwks", move |req| stepauth::handlers::jwks::serve(published, req))
}
