//! `admin-users`: GET /admin/users: list users (admins only).

fn main() -> Result<(), stepauth::lambda::Error> {
    stepauth::lambda::start(stepauth::routes::handler::admin_users)
}
