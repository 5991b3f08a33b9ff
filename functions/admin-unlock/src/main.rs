//! `admin-unlock`: POST /admin/users/unlock: unlock an account (admins only).

fn main() -> Result<(), stepauth::lambda::Error> {
    stepauth::lambda::start(stepauth::routes::handler::admin_unlock)
}
