//! `admin-deactivate`: POST /admin/users/{id}/deactivate.

fn main() -> Result<(), stepauth::lambda::Error> {
    stepauth::lambda::start("admin-deactivate", stepauth::handlers::admin::admin_deactivate)
}
