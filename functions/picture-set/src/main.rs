//! `picture-set`: PUT /users/me/picture: make an uploaded picture the profile's.

fn main() -> Result<(), stepauth::lambda::Error> {
    stepauth::lambda::start("picture-set", stepauth::handlers::profile::picture_set)
}
