//! `code-resend`: POST /auth/code/resend: replace the code of a purpose with a new one.

fn main() -> Result<(), stepauth::lambda::Error> {
    stepauth::lambda::start("code-resend", stepauth::handlers::code_resend::code_resend)
}
