//! `admin-mfa-reset`: POST /admin/users/mfa/reset: remove an account's Google Authenticator and end its sessions (admins only).

fn main() -> Result<(), stepauth::lambda::Error> {
    stepauth::lambda::start("admin-mfa-reset", stepauth::handlers::admin::admin_mfa_reset)
}
