//! `admin-user-get`: GET /admin/users/{id}.

fn main() -> Result<(), stepauth::lambda::Error> {
    stepauth::lambda::start("admin-user-get", stepauth::handlers::admin::admin_user_get)
}
