//! `web`: GET / (and /app.js, /app.css): the front end, on the API's origin.

fn main() -> Result<(), stepauth::lambda::Error> {
    stepauth::lambda::start(stepauth::routes::handler::web)
}
