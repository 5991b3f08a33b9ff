//! `code-resend`: POST /auth/code/resend: replace the code of a purpose with a new one.

fn main() -> Result<(), stepauth::lambda::Error> {
    stepauth::lambda::start(stepauth::routes::handler::code_resend)
}
