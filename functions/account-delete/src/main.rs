//! `account-delete`: DELETE /users/me.

fn main() -> Result<(), stepauth::lambda::Error> {
    stepauth::lambda::start("account-delete", stepauth::handlers::account::account_delete)
}
