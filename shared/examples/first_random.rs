//! Times the first and the second draw from aws-lc's CSPRNG in a fresh process: the first
//! seeds the DRBG (and, when aws-lc-sys is built with CPU jitter entropy, runs that
//! collector). The first TLS handshake of a cold Lambda pays the same cost.
//!
//! cargo run --release -p stepauth --example first_random

use std::time::Instant;

use aws_lc_rs::rand::{SecureRandom, SystemRandom};

fn main() {
    let random = SystemRandom::new();
    let mut bytes = [0u8; 32];
    let started = Instant::now();
    random.fill(&mut bytes).expect("random bytes");
    let first = started.elapsed();
    let started = Instant::now();
    random.fill(&mut bytes).expect("random bytes");
    let second = started.elapsed();
    println!("first draw {:.3} ms, second draw {:.3} ms", first.as_secs_f64() * 1e3, second.as_secs_f64() * 1e3);
}
