//! `picture-upload`: POST /users/me/picture: a presigned upload form for a profile picture.

fn main() -> Result<(), stepauth::lambda::Error> {
    stepauth::lambda::start("picture-upload", stepauth::handlers::profile::picture_upload)
}
