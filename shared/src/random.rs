//! Randomness, injectable so that tests can make it predictable where that helps.
//!
//! Production draws from aws-lc's CSPRNG (the same one the SDK's TLS uses).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// A source of cryptographically secure random bytes.
pub trait Random: Send + Sync + std::fmt::Debug {
    /// Fills `dest` with random bytes.
    fn fill(&self, dest: &mut [u8]);
}

/// The operating system's CSPRNG, through aws-lc.
#[derive(Debug, Default)]
pub struct SystemRandom(aws_lc_rs::rand::SystemRandom);

impl Random for SystemRandom {
    fn fill(&self, dest: &mut [u8]) {
        // aws-lc's generator only fails if the OS cannot supply entropy at all; carrying on
        // without randomness would be worse than stopping.
        aws_lc_rs::rand::SecureRandom::fill(&self.0, dest).expect("the system CSPRNG failed");
    }
}

/// `N` random bytes.
pub fn bytes<const N: usize>(random: &dyn Random) -> [u8; N] {
    let mut out = [0u8; N];
    random.fill(&mut out);
    out
}

/// A URL-safe random token carrying `N` bytes of entropy.
pub fn token<const N: usize>(random: &dyn Random) -> String {
    URL_SAFE_NO_PAD.encode(bytes::<N>(random))
}

/// A uniformly distributed integer in `0..bound`, by rejection sampling (no modulo bias).
pub fn below(random: &dyn Random, bound: u32) -> u32 {
    assert!(bound > 0, "bound must be positive");
    let zone = u32::MAX - (u32::MAX % bound);
    loop {
        let value = u32::from_le_bytes(bytes::<4>(random));
        if value < zone {
            return value % bound;
        }
    }
}

/// A version 4 UUID from `random`, in its hyphenated form.
pub fn uuid_v4(random: &dyn Random) -> String {
    let mut b = bytes::<16>(random);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|byte| format!("{byte:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
}

/// A deterministic generator (a counter run through SHA-256); for tests only.
#[derive(Debug, Default)]
pub struct SeededRandom(std::sync::Mutex<u64>);

impl SeededRandom {
    /// A generator whose output is fixed by `seed`.
    pub fn new(seed: u64) -> Self {
        Self(std::sync::Mutex::new(seed))
    }
}

impl Random for SeededRandom {
    fn fill(&self, dest: &mut [u8]) {
        let mut counter = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        for chunk in dest.chunks_mut(32) {
            *counter += 1;
            let block = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &counter.to_le_bytes());
            chunk.copy_from_slice(&block.as_ref()[..chunk.len()]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn below_stays_in_range_and_covers_it() {
        let random = SeededRandom::new(7);
        let mut seen = [false; 10];
        for _ in 0..1_000 {
            let v = below(&random, 10);
            assert!(v < 10);
            seen[v as usize] = true;
        }
        assert!(seen.iter().all(|s| *s), "every digit appears in 1,000 draws");
    }

    #[test]
    fn uuid_has_version_and_variant_bits() {
        let id = uuid_v4(&SystemRandom::default());
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert!(matches!(&id[19..20], "8" | "9" | "a" | "b"));
    }

    #[test]
    fn tokens_differ_and_carry_the_entropy_asked_for() {
        let random = SystemRandom::default();
        let (a, b) = (token::<32>(&random), token::<32>(&random));
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
    }
}
