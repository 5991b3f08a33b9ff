//! `admin-sessions-end`: POST /admin/users/{id}/sessions/end.

fn main() -> Result<(), stepauth::lambda::Error> {
    stepauth::lambda::start("admin-sessions-end", stepauth::handlers::admin::admin_sessions_end)
}
