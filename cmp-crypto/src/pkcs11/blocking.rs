//! Running a blocking token call on its own thread and awaiting it from any executor.
//!
//! A PKCS#11 call may take long (a network HSM); doing it inside `async fn` would block an
//! executor thread. The call runs on a fresh OS thread and hands its result back through a
//! one-shot slot that wakes the awaiting task — no runtime dependency.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

struct Slot<T> {
    value: Option<T>,
    waker: Option<Waker>,
    done: bool,
}

/// A future for the result of `f` run on another thread.
pub(crate) struct Blocking<T> {
    slot: Arc<Mutex<Slot<T>>>,
}

/// Runs `f` on a new thread.
pub(crate) fn run<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Blocking<T> {
    let slot = Arc::new(Mutex::new(Slot {
        value: None,
        waker: None,
        done: false,
    }));
    let theirs = Arc::clone(&slot);
    std::thread::spawn(move || {
        let value = f();
        let waker = {
            let mut s = theirs.lock().unwrap_or_else(|p| p.into_inner());
            s.value = Some(value);
            s.done = true;
            s.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    });
    Blocking { slot }
}

impl<T> Future for Blocking<T> {
    type Output = Option<T>;

    /// `None` when the thread died (panicked) before producing a value.
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let mut s = self.slot.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(v) = s.value.take() {
            return Poll::Ready(Some(v));
        }
        if s.done || Arc::strong_count(&self.slot) == 1 {
            return Poll::Ready(None);
        }
        s.waker = Some(cx.waker().clone());
        Poll::Pending
    }
}
