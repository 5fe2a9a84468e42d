//! [`DerivationPool`]: where the MAC keys of MAC-protected requests are derived — a bounded
//! number of threads of tokio's blocking pool, with a bounded queue in front.

use std::sync::Arc;

use cmp_core::protection::{MacKey, MacKeyDerivation};
use cmp_core::server::DerivationError;
use tokio::sync::Semaphore;

/// How many derivations may wait for a thread, per thread, by default.
pub const DEFAULT_QUEUE_PER_THREAD: usize = 4;

/// Runs MAC key derivations (PBM's iterated hash, PBMAC1's PBKDF2: up to about a second
/// each) on at most `threads` threads of tokio's blocking pool, never on an async worker; at
/// most `queue` more wait for a thread. A derivation beyond that is refused at once
/// ([`DerivationError::Busy`], answered with `systemUnavail`), so a flood of expensive MAC
/// requests costs bounded CPU and memory and cannot starve signature-protected clients.
#[derive(Debug, Clone)]
pub struct DerivationPool {
    /// One permit per thread.
    running: Arc<Semaphore>,
    /// One permit per derivation admitted (running or waiting).
    admitted: Arc<Semaphore>,
    threads: usize,
    queue: usize,
}

impl Default for DerivationPool {
    /// Half the CPUs (at least one), with [`DEFAULT_QUEUE_PER_THREAD`] waiting per thread.
    fn default() -> Self {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        let threads = (cpus / 2).max(1);
        Self::new(threads, threads * DEFAULT_QUEUE_PER_THREAD)
    }
}

impl DerivationPool {
    /// A pool of `threads` (at least one) with `queue` places to wait.
    pub fn new(threads: usize, queue: usize) -> Self {
        let threads = threads.max(1);
        DerivationPool {
            running: Arc::new(Semaphore::new(threads)),
            admitted: Arc::new(Semaphore::new(threads + queue)),
            threads,
            queue,
        }
    }

    /// How many derivations run at once.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// How many may wait for a thread.
    pub fn queue(&self) -> usize {
        self.queue
    }

    /// Derives the key on the pool; [`DerivationError::Busy`] at once when `threads +
    /// queue` derivations are already admitted. Outside a tokio runtime it derives here.
    pub async fn derive(&self, derivation: MacKeyDerivation) -> Result<MacKey, DerivationError> {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return derivation.derive().map_err(DerivationError::Failed);
        };
        let admitted = self
            .admitted
            .clone()
            .try_acquire_owned()
            .map_err(|_| DerivationError::Busy)?;
        let running = self
            .running
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| DerivationError::Busy)?;
        // The permits go with the job: a client that hangs up does not free a thread that
        // still works for it.
        let job = runtime.spawn_blocking(move || {
            let _permits = (admitted, running);
            derivation.derive()
        });
        match job.await {
            Ok(key) => key.map_err(DerivationError::Failed),
            // The job panicked or the runtime is shutting down.
            Err(_) => Err(DerivationError::Busy),
        }
    }
}
