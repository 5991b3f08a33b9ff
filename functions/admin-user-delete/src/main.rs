//! `admin-user-delete`: DELETE /admin/users/{id}.

fn main() -> Result<(), stepauth::lambda::Error> {
    stepauth::lambda::start("admin-user-delete", stepauth::handlers::admin::admin_user_delete)
}
