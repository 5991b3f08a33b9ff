//! `admin-reactivate`: POST /admin/users/{id}/reactivate.

fn main() -> Result<(), stepauth::lambda::Error> {
    stepauth::lambda::start("admin-reactivate", stepauth::handlers::admin::admin_reactivate)
}
