//! Passwords: the policy (docs/SECURITY.md, "Passwords"), Argon2id hashing off the async executor
//! in a fixed set of threads that reuse their memory ([`hashing`]), and verification against a dummy hash for unknown users (item 4); hashes moved in
//! from Django ([`django`]) verify until the first login replaces them.

pub mod django;
mod hashing;

use argon2::Params;
use argon2::password_hash::SaltString;
pub use hashing::Memory;

use crate::invalid::Invalid;
use crate::model::{PASSWORD_HISTORY, User};
use crate::random::{self, Random};

/// Minimum length, in Unicode code points.
pub const MIN_CHARS: usize = 12;
/// Maximum length, in Unicode code points.
pub const MAX_CHARS: usize = 128;

/// A password as the user typed it: never trimmed, truncated or re-cased, never logged.
#[derive(Clone)]
pub struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(…)")
    }
}

impl Password {
    /// Any string, as typed (for login, where the policy is not applied).
    pub fn new(text: &str) -> Self {
        Self(text.to_owned())
    }

    /// A password given to prove who someone is (login, re-authentication): any non-empty
    /// text up to the maximum length; the policy is not applied to what already exists.
    pub fn parse_existing(text: &str) -> Result<Self, Invalid> {
        match text.chars().count() {
            0 => Err("is required".into()),
            n if n > MAX_CHARS => Err("must be at most 128 characters long".into()),
            _ => Ok(Self::new(text)),
        }
    }

    /// A new password: every policy rule must hold, or the rules that failed.
    pub fn parse_new(text: &str) -> Result<Self, Vec<Rule>> {
        let failed = check_policy(text);
        if failed.is_empty() { Ok(Self::new(text)) } else { Err(failed) }
    }

    /// The password's text.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// One rule of the password policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// At least [`MIN_CHARS`] code points.
    MinLength,
    /// At most [`MAX_CHARS`] code points.
    MaxLength,
    /// An upper-case letter.
    Uppercase,
    /// A lower-case letter.
    Lowercase,
    /// A digit, 0 to 9.
    Digit,
    /// A symbol: anything that is not a letter, a digit or white space.
    Symbol,
    /// Not a common password, nor one with digits or symbols tacked on.
    NotCommon,
}

impl Rule {
    /// The stable code the front end ticks off.
    pub fn code(self) -> &'static str {
        match self {
            Self::MinLength => "min_length",
            Self::MaxLength => "max_length",
            Self::Uppercase => "uppercase",
            Self::Lowercase => "lowercase",
            Self::Digit => "digit",
            Self::Symbol => "symbol",
            Self::NotCommon => "not_common",
        }
    }

    /// What the rule asks for, in words.
    pub fn message(self) -> &'static str {
        match self {
            Self::MinLength => "must be at least 12 characters long",
            Self::MaxLength => "must be at most 128 characters long",
            Self::Uppercase => "must contain an upper-case letter",
            Self::Lowercase => "must contain a lower-case letter",
            Self::Digit => "must contain a digit",
            Self::Symbol => "must contain a symbol",
            Self::NotCommon => "is too common; choose one that is harder to guess",
        }
    }
}

/// Every rule `password` breaks, in the order the front end lists them.
pub fn check_policy(password: &str) -> Vec<Rule> {
    let chars = password.chars().count();
    let mut failed = Vec::new();
    if chars < MIN_CHARS {
        failed.push(Rule::MinLength);
    }
    if chars > MAX_CHARS {
        failed.push(Rule::MaxLength);
    }
    if !password.chars().any(char::is_uppercase) {
        failed.push(Rule::Uppercase);
    }
    if !password.chars().any(char::is_lowercase) {
        failed.push(Rule::Lowercase);
    }
    if !password.chars().any(|c| c.is_ascii_digit() || c.is_numeric()) {
        failed.push(Rule::Digit);
    }
    if !password.chars().any(|c| !c.is_alphanumeric() && !c.is_whitespace()) {
        failed.push(Rule::Symbol);
    }
    if is_common(password) {
        failed.push(Rule::NotCommon);
    }
    failed
}

include!(concat!(env!("OUT_DIR"), "/common_passwords.rs"));

fn listed(word: &str) -> bool {
    COMMON_PASSWORDS.binary_search(&word).is_ok()
}

/// Whether `password`, compared without regard to case, is on the common list, either as it
/// is or once the digits and symbols tacked on its end are taken off ("Password123!").
pub fn is_common(password: &str) -> bool {
    let lower = password.to_lowercase();
    let stem = lower.trim_end_matches(|c: char| !c.is_alphabetic());
    listed(&lower) || (stem.chars().count() >= 4 && listed(stem))
}

/// The Argon2id parameters: m = 19 MiB, t = 2, p = 1 (OWASP's minimum; docs/SECURITY.md, rule 2).
fn params() -> Params {
    // The constants are valid parameters; `Params::new` only rejects out-of-range values.
    Params::new(19 * 1024, 2, 1, None).unwrap_or_default()
}

/// Hashes `password` to a PHC string with `salt`, on the calling thread, in `memory`
/// (CPU-bound: async code calls [`hash`]).
pub fn hash_blocking(password: &Password, salt: [u8; 16], memory: &mut Memory) -> anyhow::Result<String> {
    let salt = SaltString::encode_b64(&salt).map_err(|e| anyhow::anyhow!("salt encoding: {e}"))?;
    memory.hash(&params(), password.expose().as_bytes(), &salt)
}

/// Whether `password` matches a stored hash (a PHC string, or a Django hash moved in), on the
/// calling thread, in `memory` (async code calls [`verify`]).
pub fn verify_blocking(password: &Password, stored: &str, memory: &mut Memory) -> anyhow::Result<bool> {
    if stored.starts_with('$') {
        memory.verify(password.expose().as_bytes(), stored)
    } else {
        let legacy = django::Hash::parse(stored).map_err(|e| anyhow::anyhow!("stored hash: {e}"))?;
        Ok(legacy.verify(password.expose()))
    }
}

/// The prefix of a hash made with today's algorithm and parameters.
const CURRENT: &str = "$argon2id$v=19$m=19456,t=2,p=1$";

/// Whether a stored hash can match anything: not empty (an account made by Google) and not
/// Django's unusable password (`!…`), which only the reset flow replaces.
pub fn usable(stored: &str) -> bool {
    !stored.is_empty() && !stored.starts_with('!')
}

/// Whether a usable stored hash was made otherwise than [`hash`] makes them today (a Django
/// hash moved in): the login that proves the password replaces it.
pub fn needs_upgrade(stored: &str) -> bool {
    usable(stored) && !stored.starts_with(CURRENT)
}

/// Hashes `password` to a PHC string with a fresh 128-bit salt, on a hashing thread.
pub async fn hash(password: Password, random: &dyn Random) -> anyhow::Result<String> {
    let salt = random::bytes::<16>(random);
    hashing::run(move |memory| hash_blocking(&password, salt, memory)).await?
}

/// Verifies `password` against a stored hash, on a hashing thread. With `None` (no such user)
/// it verifies against [`DUMMY_HASH`], so that the answer takes as long, and is `false`.
pub async fn verify(password: Password, stored: Option<String>) -> anyhow::Result<bool> {
    verify_padded(password, stored, None).await
}

/// [`verify`] for a login, where the time of the answer must not tell an address with an
/// account from one without (docs/SECURITY.md, "Enumeration"). With `pbkdf2_pad` (while
/// users moved in from Django still have their PBKDF2 hashes), every verification costs one
/// Argon2id and one PBKDF2 computation: a PBKDF2 hash is checked and the Argon2id dummy run;
/// anything else is checked (or the dummy) and a PBKDF2 computation of that many iterations
/// run.
pub async fn verify_padded(
    password: Password,
    stored: Option<String>,
    pbkdf2_pad: Option<std::num::NonZeroU32>,
) -> anyhow::Result<bool> {
    // An account without a password (made by Google sign-in, or moved in with Django's
    // unusable one) is checked against the dummy like an unknown email: as long, no match.
    let stored = stored.filter(|stored| usable(stored));
    let known = stored.is_some();
    let stored = stored.unwrap_or_else(|| DUMMY_HASH.to_owned());
    let matches = hashing::run(move |memory| {
        let mut matches = false;
        for work in plan(&stored, pbkdf2_pad) {
            match work {
                Work::Check(hash) => matches = verify_blocking(&password, hash, memory)?,
                Work::Dummy => {
                    verify_blocking(&password, DUMMY_HASH, memory)?;
                }
                Work::Pbkdf2(iterations) => django::pbkdf2_work(password.expose(), iterations),
            }
        }
        anyhow::Ok(matches)
    })
    .await??;
    Ok(known && matches)
}

/// One computation of a login's verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Work<'a> {
    /// Checking the password against this hash (the account's, or the dummy).
    Check(&'a str),
    /// An Argon2id computation against [`DUMMY_HASH`], its answer unused.
    Dummy,
    /// A PBKDF2 computation of this many iterations, its answer unused.
    Pbkdf2(std::num::NonZeroU32),
}

/// What verifying against `stored` computes: the check, and with the PBKDF2 pad on, the
/// other kind of work, so that each login costs one Argon2id and one PBKDF2 computation
/// whatever the address holds (docs/SECURITY.md, "Enumeration").
fn plan(stored: &str, pbkdf2_pad: Option<std::num::NonZeroU32>) -> Vec<Work<'_>> {
    let mut work = vec![Work::Check(stored)];
    if let Some(iterations) = pbkdf2_pad {
        let pbkdf2 = django::Hash::parse(stored).is_ok_and(|h| h.is_pbkdf2());
        work.push(if pbkdf2 { Work::Dummy } else { Work::Pbkdf2(iterations) });
    }
    work
}

/// Whether `password` is the user's current password or one of the earlier ones kept
/// (docs/SECURITY.md, "Passwords").
pub async fn reused(password: &Password, user: &User) -> anyhow::Result<bool> {
    for phc in std::iter::once(&user.password_hash).chain(&user.password_history).filter(|phc| usable(phc)) {
        if verify(password.clone(), Some(phc.clone())).await? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The history after replacing the current password: it, then the older ones, at most
/// [`PASSWORD_HISTORY`].
pub fn next_history(user: &User) -> Vec<String> {
    let earlier = std::iter::once(&user.password_hash).chain(&user.password_history);
    earlier.filter(|phc| usable(phc)).take(PASSWORD_HISTORY).cloned().collect()
}

/// The Argon2id hash of a random password nobody knows, with production parameters.
pub const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$G1a4Mx9JoIFrcJ/Ok8iJVA$NMqtM8amQeoXf17KkmLQph/qKiA7PJ1WYHDI7mDRs2c";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::SystemRandom;

    #[test]
    fn names_every_failed_rule() {
        assert_eq!(check_policy("abc"), [Rule::MinLength, Rule::Uppercase, Rule::Digit, Rule::Symbol]);
        assert!(check_policy("Correct-Horse-7-Battery").is_empty());
        assert_eq!(check_policy(&"Aa1!".repeat(33)), [Rule::MaxLength]);
    }

    #[test]
    fn counts_code_points_not_bytes() {
        // 12 code points, 30+ bytes: long enough.
        assert!(!check_policy("Ünïcödé-Pä55").contains(&Rule::MinLength));
        // 11 code points of 4 bytes each: too short, though 44 bytes long.
        assert!(check_policy("😀😀😀😀😀😀😀😀Aa1").contains(&Rule::MinLength));
    }

    #[test]
    fn rejects_common_passwords_and_their_decorations() {
        assert!(is_common("password"));
        assert!(is_common("Password1234!"));
        assert!(is_common("TRUSTNO1"));
        assert!(check_policy("Iloveyou2024!!").contains(&Rule::NotCommon));
        assert!(!is_common("Zebra-Mountain-42!"));
    }

    #[test]
    fn the_whole_list_is_there_and_sorted() {
        assert_eq!(COMMON_PASSWORDS.len(), 10_000);
        assert!(COMMON_PASSWORDS.windows(2).all(|w| w[0] < w[1]));
        for word in ["123456", "password", "trustno1", "iloveyou", "password123"] {
            assert!(listed(word), "{word}");
        }
    }

    /// The hashing threads' memory gives the `argon2` crate's own answers: the same PHC
    /// string for the same salt, and the same verdicts, one memory reused throughout.
    #[test]
    fn hashes_in_reused_memory_are_argon2s_own() {
        use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
        let argon2 = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params());
        let mut memory = Memory::new();
        for (text, salt) in [("Correct-Horse-7-Battery", [7; 16]), ("Ünïcödé-Pä55", [9; 16]), ("x", [0; 16])] {
            let password = Password::new(text);
            let ours = hash_blocking(&password, salt, &mut memory).expect("hash");
            let salt = SaltString::encode_b64(&salt).expect("salt");
            let theirs = argon2.hash_password(text.as_bytes(), &salt).expect("hash").to_string();
            assert_eq!(ours, theirs);
            let parsed = argon2::PasswordHash::new(&ours).expect("a PHC string");
            assert!(argon2.verify_password(text.as_bytes(), &parsed).is_ok());
            assert!(verify_blocking(&password, &theirs, &mut memory).expect("verify"));
            assert!(!verify_blocking(&Password::new("wrong"), &theirs, &mut memory).expect("verify"));
        }
        // A hash of other parameters (a cheaper one of an older release, say) still verifies.
        let small = argon2::Argon2::new(
            argon2::Algorithm::Argon2id,
            argon2::Version::V0x13,
            Params::new(4096, 3, 1, None).expect("params"),
        );
        let salt = SaltString::encode_b64(&[3; 16]).expect("salt");
        let older = small.hash_password(b"Correct-Horse-7-Battery", &salt).expect("hash").to_string();
        assert!(verify_blocking(&Password::new("Correct-Horse-7-Battery"), &older, &mut memory).expect("verify"));
        assert!(verify_blocking(&Password::new("Correct-Horse-7-Battery"), "$argon2id$v=19$bad", &mut memory).is_err());
    }

    #[test]
    fn dummy_hash_uses_production_parameters() {
        let parsed = argon2::PasswordHash::new(DUMMY_HASH).expect("a PHC string");
        assert_eq!(parsed.algorithm.as_str(), "argon2id");
        let params = Params::try_from(&parsed).expect("argon2 parameters");
        assert_eq!((params.m_cost(), params.t_cost(), params.p_cost()), (19 * 1024, 2, 1));
    }

    #[tokio::test]
    async fn hashes_verify_and_salts_differ() {
        let random = SystemRandom::default();
        let password = Password::new("Correct-Horse-7-Battery");
        let a = hash(password.clone(), &random).await.expect("hash");
        let b = hash(password.clone(), &random).await.expect("hash");
        assert_ne!(a, b, "each hash has its own salt");
        assert!(a.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify(password, Some(a.clone())).await.expect("verify"));
        assert!(!verify(Password::new("correct-horse-7-battery"), Some(a)).await.expect("verify"));
    }

    /// The choice docs/SECURITY.md ("Enumeration") makes for moved-in PBKDF2 hashes: with the
    /// pad on, an unknown address, an Argon2id account and a PBKDF2 account each cost one
    /// Argon2id and one PBKDF2 computation; with it off, only the check runs.
    #[test]
    fn with_the_pbkdf2_pad_every_login_costs_one_argon2id_and_one_pbkdf2() {
        let pad = std::num::NonZeroU32::new(1_000_000);
        let pbkdf2 = "pbkdf2_sha256$1000000$salt$tXbBVH3qD+5Rl8K7WDCEPLPzFh7d6ZfH7m36FyZzDRY=";
        let kinds = |plan: Vec<Work>| {
            let (mut argon2, mut pbkdf2) = (0, 0);
            for work in plan {
                match work {
                    Work::Check(hash) if hash.starts_with("$argon2id$") => argon2 += 1,
                    Work::Check(_) | Work::Pbkdf2(_) => pbkdf2 += 1,
                    Work::Dummy => argon2 += 1,
                }
            }
            (argon2, pbkdf2)
        };
        for stored in [DUMMY_HASH, pbkdf2] {
            assert_eq!(kinds(plan(stored, pad)), (1, 1), "{stored}");
        }
        assert_eq!(plan(pbkdf2, pad)[1], Work::Dummy);
        assert_eq!(plan(DUMMY_HASH, pad)[1], Work::Pbkdf2(pad.expect("on")));
        assert_eq!(plan(DUMMY_HASH, None), [Work::Check(DUMMY_HASH)], "off: the check alone");
    }

    #[tokio::test]
    async fn moved_in_hashes_verify_and_only_today_s_need_no_upgrade() {
        let pbkdf2 = "pbkdf2_sha256$1000$salt$tXbBVH3qD+5Rl8K7WDCEPLPzFh7d6ZfH7m36FyZzDRY=";
        let password = Password::new("Correct-Horse-7-Battery");
        assert!(verify(password.clone(), Some(pbkdf2.into())).await.expect("verify"));
        assert!(needs_upgrade(pbkdf2) && !needs_upgrade(DUMMY_HASH));
        assert!(!needs_upgrade("!unusable") && !needs_upgrade(""), "nothing to upgrade without a password");
        assert!(!verify(password, Some("!unusable".into())).await.expect("verify"), "unusable matches nothing");
    }

    #[tokio::test]
    async fn unknown_users_never_verify() {
        assert!(!verify(Password::new("anything"), None).await.expect("verify"));
    }

    #[test]
    fn debug_never_shows_the_password() {
        assert_eq!(format!("{:?}", Password::new("hunter2")), "Password(…)");
    }
}
