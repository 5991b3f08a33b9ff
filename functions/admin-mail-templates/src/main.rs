//! `admin-mail-templates`: GET /admin/mail-templates and /admin/mail-templates/{kind}.

fn main() -> Result<(), stepauth::lambda::Error> {
    stepauth::lambda::start("admin-mail-templates", stepauth::handlers::mail::admin_mail_templates)
}
