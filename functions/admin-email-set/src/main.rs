//! `admin-email-set`: POST /admin/users/{id}/email.

fn main() -> Result<(), stepauth::lambda::Error> {
    stepauth::lambda::start("admin-email-set", stepauth::handlers::admin::admin_email_set)
}
