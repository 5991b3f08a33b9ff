//! `admin-users`: GET /admin/users: list users (admins only).

fn main() -> Result<(), stepauth::lambda::Error> {
    stepauth::lambda::start("admin-users", stepauth::handlers::admin::admin_users)
}
