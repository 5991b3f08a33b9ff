//! `admin-user-mails`: GET /admin/users/{id}/mails.

fn main() -> Result<(), stepauth::lambda::Error> {
    stepauth::lambda::start("admin-user-mails", stepauth::handlers::mail::admin_user_mails)
}
