//! [`DerivationPool`]: where the MAC keys of MAC-protected requests are derived — a bounded
//! number of threads of tokio's blocking pool, with a bounded queue in front.

use std::sync::Arc;

use cmp_core::protection::{MacKey, MacKeyDerivation, ProtectionAlg};
use cmp_core::server::DerivationError;
use tokio::sync::Semaphore;

/// How many maximal derivations may wait for a thread, per thread, by default.
pub const DEFAULT_QUEUE_PER_THREAD: usize = 4;

/// The cost of the most expensive derivation the server accepts by default (PBMAC1 with
/// 1 000 000 PBKDF2 iterations, two hash compressions each): one place in the queue.
pub const MAXIMAL_DERIVATION_COST: u64 = 2_000_000;

/// A place in the queue, in units.
const UNITS_PER_PLACE: u64 = 1000;

/// Runs MAC key derivations (PBM's iterated hash, PBMAC1's PBKDF2: up to about a second
/// each) on at most `threads` threads of tokio's blocking pool, never on an async worker.
///
/// What waits is bounded by work, not by count: `threads + queue` places, a maximal
/// derivation ([`MAXIMAL_DERIVATION_COST`]) taking a whole place and a cheap one a share
/// (OpenSSL's default PBM of 500 iterations takes a thousandth), so a thousand ordinary
/// clients queue where a flood of maximal ones is cut off after `threads + queue`. A
/// derivation beyond that is refused at once ([`DerivationError::Busy`], answered with
/// `systemUnavail`), so a flood of expensive MAC requests costs bounded CPU and memory and
/// cannot starve signature-protected clients.
#[derive(Debug, Clone)]
pub struct DerivationPool {
    /// One permit per thread.
    running: Arc<Semaphore>,
    /// Units of work admitted (running or waiting), [`UNITS_PER_PLACE`] per place.
    admitted: Arc<Semaphore>,
    /// All the units there are.
    capacity: u64,
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
    /// A pool of `threads` (at least one) with `queue` places to wait (a place holds one
    /// maximal derivation, or many cheaper ones).
    pub fn new(threads: usize, queue: usize) -> Self {
        let threads = threads.max(1);
        let capacity = (threads.saturating_add(queue) as u64)
            .saturating_mul(UNITS_PER_PLACE)
            .min(u64::from(u32::MAX));
        DerivationPool {
            running: Arc::new(Semaphore::new(threads)),
            admitted: Arc::new(Semaphore::new(capacity as usize)),
            capacity,
            threads,
            queue,
        }
    }

    /// The units `derivation` takes: its share of a place, at least one unit, at most all.
    fn units(&self, derivation: &MacKeyDerivation) -> u32 {
        let per_iteration = match derivation.alg() {
            ProtectionAlg::Pbmac1 { .. } => 2,
            _ => 1,
        };
        let cost = u64::from(derivation.iterations()) * per_iteration;
        let units = cost
            .saturating_mul(UNITS_PER_PLACE)
            .div_ceil(MAXIMAL_DERIVATION_COST)
            .clamp(1, self.capacity);
        u32::try_from(units).unwrap_or(u32::MAX)
    }

    /// How many derivations run at once.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// How many maximal derivations may wait for a thread.
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
            .try_acquire_many_owned(self.units(&derivation))
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
