//! `web`: GET / (and /app.js, /app.css): the front end, on the API's origin. It also answers
//! API Gateway's `$default` route: 404 or 405 for anything no other function serves.

fn main() -> Result<(), stepauth::lambda::Error> {
    let google = stepauth::handlers::web::google_from_env();
    stepauth::lambda::start_static("web", move |req| stepauth::handlers::web::serve(req, google))
}
