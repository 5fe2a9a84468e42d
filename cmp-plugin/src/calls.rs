//! Completions of asynchronous plugin operations, bounded by deadlines.
//!
//! The `ctx` the host hands a plugin is not a pointer but a call number. A table maps pending
//! numbers to the slot the waiting future reads; the first completion fills the slot, a later
//! one finds the number among the finished calls and is reported as an anomaly, and a number
//! the table does not know is ignored. So a plugin that calls back twice, late or with garbage
//! can never make the host touch freed memory. One timer thread completes calls whose
//! deadline passed with [`PluginError::CallbackNeverCalled`]; a dropped future withdraws its
//! call.
#![allow(unsafe_code)]

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::ffi::c_void;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Condvar, LazyLock, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use crate::abi;
use crate::error::{PluginError, PluginStatus};

/// How many finished calls are remembered to recognise a second or late completion.
const FINISHED_MEMORY: usize = 4096;
/// How many anomalies a plugin keeps.
const ANOMALY_MEMORY: usize = 64;

/// Locks, ignoring poisoning (the protected data stays consistent: every critical section
/// here is a few map operations).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Misbehaviour of a plugin noticed after the operation it concerns had ended.
#[derive(Debug, Default)]
pub(crate) struct AnomalyLog(Mutex<VecDeque<PluginError>>);

impl AnomalyLog {
    pub(crate) fn push(&self, e: PluginError) {
        let mut log = lock(&self.0);
        if log.len() == ANOMALY_MEMORY {
            log.pop_front();
        }
        log.push_back(e);
    }

    pub(crate) fn snapshot(&self) -> Vec<PluginError> {
        lock(&self.0).iter().cloned().collect()
    }
}

/// Who started a call.
#[derive(Clone, Debug)]
pub(crate) struct Origin {
    pub(crate) path: PathBuf,
    pub(crate) function: &'static str,
    pub(crate) anomalies: Arc<AnomalyLog>,
    /// Whether a completion after the deadline is misbehaviour (a callback) or just slow (a
    /// blocking function run on a helper thread).
    pub(crate) report_late: bool,
}

type Outcome = Result<Vec<u8>, PluginError>;

#[derive(Debug, Default)]
struct SlotState {
    result: Option<Outcome>,
    waker: Option<Waker>,
}

#[derive(Debug, Default)]
struct Slot(Mutex<SlotState>);

impl Slot {
    fn fill(&self, outcome: Outcome) {
        let waker = {
            let mut s = lock(&self.0);
            s.result = Some(outcome);
            s.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ended {
    Completed,
    TimedOut,
    Withdrawn,
}

struct Pending {
    origin: Origin,
    slot: Arc<Slot>,
    millis: u64,
}

#[derive(Default)]
struct Table {
    next: u64,
    pending: HashMap<u64, Pending>,
    finished: HashMap<u64, (Origin, Ended)>,
    order: VecDeque<u64>,
}

impl Table {
    fn finish(&mut self, id: u64, origin: Origin, how: Ended) {
        if self.order.len() == FINISHED_MEMORY {
            if let Some(old) = self.order.pop_front() {
                self.finished.remove(&old);
            }
        }
        self.order.push_back(id);
        self.finished.insert(id, (origin, how));
    }
}

static TABLE: LazyLock<Mutex<Table>> = LazyLock::new(Default::default);

struct Timer {
    due: Mutex<BinaryHeap<Reverse<(Instant, u64)>>>,
    changed: Condvar,
}

static TIMER: LazyLock<Arc<Timer>> = LazyLock::new(|| {
    let timer = Arc::new(Timer {
        due: Mutex::new(BinaryHeap::new()),
        changed: Condvar::new(),
    });
    let t = Arc::clone(&timer);
    // If the thread cannot be started, deadlines still bound nothing: calls then end when the
    // plugin completes them. That is only possible when the process is out of threads.
    let _ = std::thread::Builder::new()
        .name("cmp-plugin-deadlines".into())
        .spawn(move || timer_loop(&t));
    timer
});

fn timer_loop(timer: &Timer) {
    let mut due = lock(&timer.due);
    loop {
        let now = Instant::now();
        let mut expired = Vec::new();
        while let Some(Reverse((at, id))) = due.peek().copied() {
            if at > now {
                break;
            }
            due.pop();
            expired.push(id);
        }
        if !expired.is_empty() {
            drop(due);
            for id in expired {
                expire(id);
            }
            due = lock(&timer.due);
            continue;
        }
        due = match due.peek().map(|Reverse((at, _))| *at) {
            Some(at) => {
                let wait = at.saturating_duration_since(now);
                timer
                    .changed
                    .wait_timeout(due, wait)
                    .map_or_else(|p| p.into_inner().0, |(g, _)| g)
            }
            None => timer.changed.wait(due).unwrap_or_else(|p| p.into_inner()),
        };
    }
}

fn expire(id: u64) {
    let ended = {
        let mut t = lock(&TABLE);
        t.pending.remove(&id).inspect(|p| {
            t.finish(id, p.origin.clone(), Ended::TimedOut);
        })
    };
    if let Some(p) = ended {
        p.slot.fill(Err(PluginError::CallbackNeverCalled {
            path: p.origin.path,
            function: p.origin.function,
            millis: p.millis,
        }));
    }
}

/// Starts a call that must complete by `deadline` (`millis` is how long that is, for the
/// error). Returns the call's number, to pass as `ctx`, and the future of its outcome.
pub(crate) fn start(origin: Origin, deadline: Instant, millis: u64) -> (u64, CallFuture) {
    let slot = Arc::new(Slot::default());
    let id = {
        let mut t = lock(&TABLE);
        t.next += 1;
        let id = t.next;
        t.pending.insert(
            id,
            Pending {
                origin,
                slot: Arc::clone(&slot),
                millis,
            },
        );
        id
    };
    let timer = &*TIMER;
    lock(&timer.due).push(Reverse((deadline, id)));
    timer.changed.notify_one();
    (
        id,
        CallFuture {
            id,
            slot,
            done: false,
        },
    )
}

/// Completes call `id` with `status` and `data`. Returns whether this completion was the
/// one used (false: the call had ended already, or `id` is unknown).
pub(crate) fn complete(id: u64, status: i32, data: &[u8]) -> bool {
    enum Found {
        Pending(Pending),
        Again(Origin, Ended),
        Unknown,
    }
    let found = {
        let mut t = lock(&TABLE);
        match t.pending.remove(&id) {
            Some(p) => {
                t.finish(id, p.origin.clone(), Ended::Completed);
                Found::Pending(p)
            }
            None => match t.finished.get_mut(&id) {
                Some((origin, how)) => {
                    let again = Found::Again(origin.clone(), *how);
                    // Report a second completion once, however often it comes.
                    *how = Ended::Withdrawn;
                    again
                }
                None => Found::Unknown,
            },
        }
    };
    match found {
        Found::Pending(p) => {
            let o = &p.origin;
            let outcome = match status {
                abi::STATUS_OK => Ok(data.to_vec()),
                abi::STATUS_PANIC => Err(PluginError::Panicked {
                    path: o.path.clone(),
                    function: o.function,
                    message: String::from_utf8_lossy(data).into_owned(),
                }),
                code => Err(PluginError::Status {
                    path: o.path.clone(),
                    function: o.function,
                    status: PluginStatus::from_code(code),
                    message: String::from_utf8_lossy(data).into_owned(),
                }),
            };
            p.slot.fill(outcome);
            true
        }
        Found::Again(origin, Ended::Completed) => {
            origin.anomalies.push(PluginError::CallbackCalledTwice {
                path: origin.path.clone(),
                function: origin.function,
            });
            false
        }
        Found::Again(origin, Ended::TimedOut) => {
            if origin.report_late {
                origin.anomalies.push(PluginError::LateCallback {
                    path: origin.path.clone(),
                    function: origin.function,
                });
            }
            false
        }
        Found::Again(_, Ended::Withdrawn) | Found::Unknown => false,
    }
}

fn withdraw(id: u64) {
    let mut t = lock(&TABLE);
    if let Some(p) = t.pending.remove(&id) {
        t.finish(id, p.origin, Ended::Withdrawn);
    }
}

/// The completion callback the host gives every asynchronous plugin operation.
///
/// # Safety
/// The plugin passes back the `ctx` it was given and, with `len > 0`, a `data` pointer valid
/// for reading `len` bytes for the duration of this call (the ABI's rule).
pub(crate) unsafe extern "C" fn host_completion(
    ctx: *mut c_void,
    status: i32,
    data: *const u8,
    len: usize,
) {
    let id = ctx as usize as u64;
    let _ = catch_unwind(AssertUnwindSafe(|| {
        if data.is_null() || len == 0 {
            complete(id, status, &[]);
        } else if len > isize::MAX as usize {
            complete(id, status, b"(a buffer longer than the address space)");
        } else {
            // SAFETY: the ABI makes the plugin pass `len` readable bytes at `data` for the
            // duration of the callback; we copy them before returning.
            let bytes = unsafe { std::slice::from_raw_parts(data, len) };
            complete(id, status, bytes);
        }
    }));
}

/// The `ctx` pointer for call `id`: a number, never dereferenced.
pub(crate) fn ctx_of(id: u64) -> *mut c_void {
    std::ptr::without_provenance_mut(id as usize)
}

/// The outcome of a call; dropping it before completion withdraws the call.
#[derive(Debug)]
pub(crate) struct CallFuture {
    id: u64,
    slot: Arc<Slot>,
    done: bool,
}

impl Future for CallFuture {
    type Output = Outcome;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Outcome> {
        let taken = {
            let mut s = lock(&self.slot.0);
            match s.result.take() {
                Some(r) => Some(r),
                None => {
                    s.waker = Some(cx.waker().clone());
                    None
                }
            }
        };
        match taken {
            Some(r) => {
                self.done = true;
                Poll::Ready(r)
            }
            None => Poll::Pending,
        }
    }
}

impl Drop for CallFuture {
    fn drop(&mut self) {
        if !self.done {
            withdraw(self.id);
        }
    }
}
