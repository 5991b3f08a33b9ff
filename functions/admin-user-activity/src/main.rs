//! `admin-user-activity`: GET /admin/users/{id}/activity.

fn main() -> Result<(), stepauth::lambda::Error> {
    stepauth::lambda::start("admin-user-activity", stepauth::handlers::admin::admin_user_activity)
}
