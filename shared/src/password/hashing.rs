//! Where Argon2 runs: a fixed set of threads, one a CPU, started at the first hash, each
//! with one block of Argon2 memory allocated once and reused by every hash it computes.
//!
//! Each Argon2id computation needs 19 MiB. Allocated per hash (what `argon2`'s
//! `PasswordHasher` does) and run on tokio's blocking threads, the allocator kept those
//! blocks in the arenas of every thread that ever hashed: eight seconds of logins from four
//! clients took the local server to 501 MiB. Here the memory is one `Vec` a thread, so a
//! long-lived process holds at most `threads × 19 MiB` of it whatever the load, and a hash
//! never pays the page faults of fresh memory (BENCHMARKS.md, "Argon2 memory"). A Lambda
//! instance, one request at a time, uses one thread and one block.

use std::panic::AssertUnwindSafe;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex, OnceLock};

use anyhow::Context as _;
use argon2::password_hash::{Output, PasswordHash, Salt, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};

/// The memory of one thread's Argon2 computations: empty until the first, then as large as
/// the largest parameters it met (today's: 19 MiB).
#[derive(Default)]
pub struct Memory(Vec<Block>);

impl std::fmt::Debug for Memory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Memory({} KiB)", self.0.len())
    }
}

impl Memory {
    /// No memory yet: the first computation allocates it.
    pub fn new() -> Self {
        Self::default()
    }

    /// `argon2`'s output for `password` and `salt` into `out`, in this memory.
    fn compute(
        &mut self,
        argon2: &Argon2<'_>,
        params: &Params,
        password: &[u8],
        salt: &[u8],
        out: &mut [u8],
    ) -> argon2::Result<()> {
        let blocks = params.block_count();
        if self.0.len() < blocks {
            self.0.resize(blocks, Block::default());
        }
        argon2.hash_password_into_with_memory(password, salt, out, &mut self.0[..blocks])
    }

    /// The PHC string of `password` hashed with `params` and `salt`.
    pub fn hash(&mut self, params: &Params, password: &[u8], salt: &SaltString) -> anyhow::Result<String> {
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
        let salt: Salt<'_> = salt.as_salt();
        let mut raw = [0u8; 64];
        let salt_bytes = salt.decode_b64(&mut raw).map_err(|e| anyhow::anyhow!("salt: {e}"))?;
        let length = params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN);
        let output = Output::init_with(length, |out| {
            self.compute(&argon2, params, password, salt_bytes, out).map_err(|_| argon2::password_hash::Error::Crypto)
        })
        .map_err(|e| anyhow::anyhow!("argon2 hashing: {e}"))?;
        let phc = PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: params.try_into().map_err(|e| anyhow::anyhow!("argon2 parameters: {e}"))?,
            salt: Some(salt),
            hash: Some(output),
        };
        Ok(phc.to_string())
    }

    /// Whether `password` matches the Argon2 PHC string `stored` (its own algorithm,
    /// version and parameters), compared in constant time.
    pub fn verify(&mut self, password: &[u8], stored: &str) -> anyhow::Result<bool> {
        let parsed = PasswordHash::new(stored).map_err(|e| anyhow::anyhow!("stored hash: {e}"))?;
        let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
            anyhow::bail!("stored hash: no salt or no hash");
        };
        let algorithm = Algorithm::try_from(parsed.algorithm).map_err(|e| anyhow::anyhow!("stored hash: {e}"))?;
        let version = parsed.version.map_or(Ok(Version::default()), Version::try_from);
        let version = version.map_err(|e| anyhow::anyhow!("stored hash: {e}"))?;
        let params = Params::try_from(&parsed).map_err(|e| anyhow::anyhow!("stored hash: {e}"))?;
        let argon2 = Argon2::new(algorithm, version, params.clone());
        let mut raw = [0u8; 64];
        let salt = salt.decode_b64(&mut raw).map_err(|e| anyhow::anyhow!("stored hash: {e}"))?;
        let computed = Output::init_with(expected.len(), |out| {
            self.compute(&argon2, &params, password, salt, out).map_err(|_| argon2::password_hash::Error::Crypto)
        })
        .map_err(|e| anyhow::anyhow!("argon2 verification: {e}"))?;
        // `Output`'s equality is constant-time.
        Ok(computed == expected)
    }
}

type Job = Box<dyn FnOnce(&mut Memory) + Send>;

/// Runs `work` on one of the hashing threads, with that thread's memory; waits, without
/// blocking the executor, for its turn and its answer. At most one computation a CPU runs at
/// a time: the others queue, and the rest of the server keeps its share of the cores.
pub async fn run<T: Send + 'static>(work: impl FnOnce(&mut Memory) -> T + Send + 'static) -> anyhow::Result<T> {
    let (answer, answered) = tokio::sync::oneshot::channel();
    let job: Job = Box::new(move |memory| {
        let _ = answer.send(work(memory));
    });
    threads().send(job).map_err(|_| anyhow::anyhow!("the hashing threads stopped"))?;
    answered.await.context("a hashing thread stopped")
}

/// The queue of the hashing threads, started at the first call.
fn threads() -> &'static Sender<Job> {
    static QUEUE: OnceLock<Sender<Job>> = OnceLock::new();
    QUEUE.get_or_init(|| {
        let (queue, jobs) = channel::<Job>();
        let jobs = Arc::new(Mutex::new(jobs));
        for i in 0..std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get) {
            let jobs = jobs.clone();
            // A thread that cannot start leaves the others; with none, `run` fails.
            let _ = std::thread::Builder::new().name(format!("argon2-{i}")).spawn(move || work(&jobs));
        }
        queue
    })
}

/// One hashing thread: takes jobs until the queue is gone, each with the thread's memory.
fn work(jobs: &Mutex<Receiver<Job>>) {
    let mut memory = Memory::new();
    loop {
        let job = match jobs.lock() {
            Ok(jobs) => jobs.recv(),
            Err(_) => return,
        };
        let Ok(job) = job else { return };
        // A job that panics (in tests; release builds abort) loses its answer, not the thread.
        let _ = std::panic::catch_unwind(AssertUnwindSafe(|| job(&mut memory)));
    }
}
