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

/// Marks the slot done and wakes the awaiting task when dropped: after the value is stored,
/// or while unwinding when `f` panicked, so the awaiting task never waits forever.
struct Finish<T>(Arc<Mutex<Slot<T>>>);

impl<T> Drop for Finish<T> {
    fn drop(&mut self) {
        let waker = {
            let mut s = self.0.lock().unwrap_or_else(|p| p.into_inner());
            s.done = true;
            s.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}

/// Runs `f` on a new thread.
pub(crate) fn run<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Blocking<T> {
    let slot = Arc::new(Mutex::new(Slot {
        value: None,
        waker: None,
        done: false,
    }));
    let finish = Finish(Arc::clone(&slot));
    std::thread::spawn(move || {
        let value = f();
        finish.0.lock().unwrap_or_else(|p| p.into_inner()).value = Some(value);
        drop(finish);
    });
    Blocking { slot }
}

impl<T> Future for Blocking<T> {
    type Output = Option<T>;

    /// `None` when the thread panicked before producing a value.
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let mut s = self.slot.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(v) = s.value.take() {
            return Poll::Ready(Some(v));
        }
        if s.done {
            return Poll::Ready(None);
        }
        s.waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::task::Wake;

    /// Counts wake-ups and lets the test wait for one.
    struct Signal(Mutex<mpsc::Sender<()>>);

    impl Wake for Signal {
        fn wake(self: Arc<Self>) {
            let _ = self.0.lock().expect("lock").send(());
        }
    }

    fn first_poll_then_wait<T>(mut fut: Blocking<T>) -> Option<T> {
        let (tx, rx) = mpsc::channel();
        let waker = Waker::from(Arc::new(Signal(Mutex::new(tx))));
        let mut cx = Context::from_waker(&waker);
        loop {
            if let Poll::Ready(v) = Pin::new(&mut fut).poll(&mut cx) {
                return v;
            }
            rx.recv_timeout(std::time::Duration::from_secs(10))
                .expect("the awaiting task is woken");
        }
    }

    #[test]
    fn the_value_wakes_the_task() {
        let (go, wait) = mpsc::channel::<()>();
        let fut = run(move || {
            let _ = wait.recv();
            7
        });
        go.send(()).expect("go");
        assert_eq!(first_poll_then_wait(fut), Some(7));
    }

    #[test]
    fn a_panicking_call_wakes_the_task_with_none() {
        let (go, wait) = mpsc::channel::<()>();
        let fut = run(move || -> u8 {
            let _ = wait.recv();
            panic!("token call panicked (expected by this test)")
        });
        // Pending first (the thread waits for `go`), then the panic must wake us.
        let (tx, rx) = mpsc::channel();
        let waker = Waker::from(Arc::new(Signal(Mutex::new(tx))));
        let mut fut = fut;
        assert!(
            Pin::new(&mut fut)
                .poll(&mut Context::from_waker(&waker))
                .is_pending()
        );
        go.send(()).expect("go");
        rx.recv_timeout(std::time::Duration::from_secs(10))
            .expect("woken after the panic");
        assert_eq!(first_poll_then_wait(fut), None);
    }
}
