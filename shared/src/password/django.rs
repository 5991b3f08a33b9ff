//! Django's password hashes, read as Django writes them (`<algorithm>$<fields>`), so that
//! users moved in from the old backend keep their passwords: PBKDF2 with SHA-256 or SHA-1,
//! Django's Argon2 hasher, bcrypt and bcrypt over SHA-256. Each is verified as Django verifies
//! it, until the first login replaces it with Argon2id (docs/SECURITY.md, "Passwords").
//!
//! Costs are bounded: a stored hash asking for more work than [`Limits`] allow is refused by
//! the import and never computed at login.

use std::num::NonZeroU32;

use argon2::password_hash::{PasswordHash, PasswordVerifier as _};
use aws_lc_rs::pbkdf2;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::tokens::sha256_hex;

pub use crate::config::MAX_PBKDF2_ITERATIONS;
/// The most memory, in KiB, a stored Argon2 hash may ask for (Django's default is 102,400).
pub const MAX_ARGON2_MEMORY_KIB: u32 = 256 * 1024;
/// The highest bcrypt cost a stored hash may ask for (Django's default is 12).
pub const MAX_BCRYPT_COST: u32 = 14;

/// A Django hash, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hash {
    /// `pbkdf2_sha256$<iterations>$<salt>$<base64 hash>`, or `pbkdf2_sha1$…`.
    Pbkdf2 {
        /// SHA-256 (`pbkdf2_sha256`) or SHA-1 (`pbkdf2_sha1`).
        sha1: bool,
        /// The iteration count.
        iterations: NonZeroU32,
        /// The salt, as Django keeps it (text, used as its UTF-8 bytes).
        salt: String,
        /// The derived key.
        key: Vec<u8>,
    },
    /// `argon2$argon2id$v=19$m=…,t=…,p=…$<salt>$<hash>`: a PHC string after `argon2`.
    Argon2(String),
    /// `bcrypt$$2b$…` (the password as given) or `bcrypt_sha256$$2b$…` (its hex SHA-256).
    Bcrypt {
        /// Whether the password is first hashed with SHA-256 (Django's `bcrypt_sha256`).
        sha256: bool,
        /// The bcrypt hash, `$2b$<cost>$…`.
        hash: String,
    },
}

/// Why a stored value is not a Django hash stepauth can verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Unsupported {
    /// An algorithm Django names that stepauth does not read (`md5`, `scrypt`, …) or none.
    #[error("unknown hash format")]
    UnknownFormat,
    /// The right algorithm, but a field that does not parse.
    #[error("malformed hash")]
    Malformed,
    /// More work than the limits allow.
    #[error("hash parameters over the limits")]
    TooCostly,
}

impl Hash {
    /// Parses a value Django's `password` field holds. The unusable password (`!…`) and the
    /// empty one are not hashes: the caller treats them as "no password".
    pub fn parse(stored: &str) -> Result<Self, Unsupported> {
        let (algorithm, rest) = stored.split_once('$').ok_or(Unsupported::UnknownFormat)?;
        match algorithm {
            "pbkdf2_sha256" | "pbkdf2_sha1" => {
                let mut fields = rest.splitn(3, '$');
                let (Some(iterations), Some(salt), Some(key)) = (fields.next(), fields.next(), fields.next()) else {
                    return Err(Unsupported::Malformed);
                };
                let iterations: NonZeroU32 = iterations.parse().map_err(|_| Unsupported::Malformed)?;
                if iterations.get() > MAX_PBKDF2_ITERATIONS {
                    return Err(Unsupported::TooCostly);
                }
                let key = STANDARD.decode(key).map_err(|_| Unsupported::Malformed)?;
                let sha1 = algorithm == "pbkdf2_sha1";
                if salt.is_empty() || key.len() != if sha1 { 20 } else { 32 } {
                    return Err(Unsupported::Malformed);
                }
                Ok(Self::Pbkdf2 { sha1, iterations, salt: salt.to_owned(), key })
            }
            "argon2" => {
                let phc = format!("${rest}");
                let parsed = PasswordHash::new(&phc).map_err(|_| Unsupported::Malformed)?;
                let params = argon2::Params::try_from(&parsed).map_err(|_| Unsupported::Malformed)?;
                if params.m_cost() > MAX_ARGON2_MEMORY_KIB || params.t_cost() > 16 || params.p_cost() > 16 {
                    return Err(Unsupported::TooCostly);
                }
                Ok(Self::Argon2(phc))
            }
            "bcrypt" | "bcrypt_sha256" => {
                // Django writes the bcrypt hash after an empty field: `bcrypt$` + `$2b$12$…`.
                let hash = rest;
                let parts: Vec<&str> = hash.split('$').collect();
                let (["", version, cost, body] | ["", version, cost, body, ..]) = parts[..] else {
                    return Err(Unsupported::Malformed);
                };
                let cost: u32 = cost.parse().map_err(|_| Unsupported::Malformed)?;
                if !["2a", "2b", "2y"].contains(&version) || body.len() != 53 {
                    return Err(Unsupported::Malformed);
                }
                if cost > MAX_BCRYPT_COST {
                    return Err(Unsupported::TooCostly);
                }
                Ok(Self::Bcrypt { sha256: algorithm == "bcrypt_sha256", hash: hash.to_owned() })
            }
            _ => Err(Unsupported::UnknownFormat),
        }
    }

    /// Whether `password` is the one hashed, computed as Django computes it (CPU-bound).
    pub fn verify(&self, password: &str) -> bool {
        match self {
            Self::Pbkdf2 { sha1, iterations, salt, key } => {
                let algorithm = if *sha1 { pbkdf2::PBKDF2_HMAC_SHA1 } else { pbkdf2::PBKDF2_HMAC_SHA256 };
                pbkdf2::verify(algorithm, *iterations, salt.as_bytes(), password.as_bytes(), key).is_ok()
            }
            Self::Argon2(phc) => PasswordHash::new(phc)
                .is_ok_and(|parsed| argon2::Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok()),
            Self::Bcrypt { sha256, hash } => {
                let input = if *sha256 { sha256_hex(password) } else { password.to_owned() };
                bcrypt::verify(input, hash).unwrap_or(false)
            }
        }
    }

    /// Whether this is a PBKDF2 hash (the old backend's default).
    pub fn is_pbkdf2(&self) -> bool {
        matches!(self, Self::Pbkdf2 { .. })
    }
}

/// One PBKDF2-SHA256 computation of `iterations` over `password`, its result thrown away:
/// what a legacy account's verification costs, for the answers that must take as long
/// (docs/SECURITY.md, "Enumeration").
pub fn pbkdf2_work(password: &str, iterations: NonZeroU32) {
    let mut out = [0_u8; 32];
    pbkdf2::derive(pbkdf2::PBKDF2_HMAC_SHA256, iterations, b"stepauth-timing-pad", password.as_bytes(), &mut out);
    std::hint::black_box(out);
}

#[cfg(test)]
mod tests {
    use super::*;

    // "Correct-Horse-7-Battery" at 1,000 iterations with the salt "salt", as Django's hasher
    // computes it (Python's `hashlib.pbkdf2_hmac`, base64); the integration tests verify
    // hashes Django itself makes in the same run.
    const PBKDF2: &str = "pbkdf2_sha256$1000$salt$tXbBVH3qD+5Rl8K7WDCEPLPzFh7d6ZfH7m36FyZzDRY=";

    #[test]
    fn refuses_what_it_cannot_or_should_not_compute() {
        for (stored, why) in [
            ("md5$salt$0123", Unsupported::UnknownFormat),
            ("plain", Unsupported::UnknownFormat),
            ("pbkdf2_sha256$abc$salt$AAAA", Unsupported::Malformed),
            ("pbkdf2_sha256$0$salt$AAAA", Unsupported::Malformed),
            ("pbkdf2_sha256$1000$salt", Unsupported::Malformed),
            ("pbkdf2_sha256$1000$salt$not base64!", Unsupported::Malformed),
            ("pbkdf2_sha256$10000001$salt$tXbBVH3qD+5Rl8K7WDCEPLPzFh7d6ZfH7m36FyZzDRY=", Unsupported::TooCostly),
            ("bcrypt$$2b$31$abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyza", Unsupported::TooCostly),
            ("bcrypt$$2x$12$abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyza", Unsupported::Malformed),
            ("argon2$argon2id$v=19$m=2000000,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", Unsupported::TooCostly),
        ] {
            assert_eq!(Hash::parse(stored), Err(why), "{stored}");
        }
    }

    #[test]
    fn pbkdf2_verifies_as_django_computes_it() {
        let hash = Hash::parse(PBKDF2).expect("a PBKDF2 hash");
        assert!(hash.is_pbkdf2());
        assert!(hash.verify("Correct-Horse-7-Battery"));
        assert!(!hash.verify("correct-horse-7-battery"));
    }
}
