//! `admin-unlock`: POST /admin/users/unlock: unlock an account (admins only).

fn main() -> Result<(), stepauth::lambda::Error> {
    stepauth::lambda::start("admin-unlock", stepauth::handlers::admin::admin_unlock)
}
