//! Running futures in tests without an async runtime: software keys answer at once, keys in a
//! token from another thread that wakes the test's.

use std::future::Future;
use std::task::{Context, Poll, Waker};

/// Wakes the thread that drives the future.
struct ThreadWaker(std::thread::Thread);

impl std::task::Wake for ThreadWaker {
    fn wake(self: std::sync::Arc<Self>) {
        self.0.unpark();
    }
}

/// Drives `fut` to completion on the current thread, parking between polls until the future
/// wakes it (keys in a token answer from another thread) or 50 ms pass; panics after two
/// minutes, which a future waiting on IO nobody drives would reach.
pub fn block_on<F: Future>(fut: F) -> F::Output {
    let waker = Waker::from(std::sync::Arc::new(ThreadWaker(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut fut = std::pin::pin!(fut);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
        let now = std::time::Instant::now();
        assert!(
            now < deadline,
            "the future did not complete within two minutes"
        );
        std::thread::park_timeout((deadline - now).min(std::time::Duration::from_millis(50)));
    }
}
