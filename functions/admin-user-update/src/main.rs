//! `admin-user-update`: PATCH /admin/users/{id}.

fn main() -> Result<(), stepauth::lambda::Error> {
    stepauth::lambda::start("admin-user-update", stepauth::handlers::admin::admin_user_update)
}
