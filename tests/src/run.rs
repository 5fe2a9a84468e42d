//! Running futures in tests that wait on no IO (software keys answer at once).

use std::future::Future;
use std::task::{Context, Poll, Waker};

/// Drives `fut` to completion on the current thread; panics if it keeps pending (which a
/// future waiting on real IO would).
pub fn block_on<F: Future>(fut: F) -> F::Output {
    let mut fut = std::pin::pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..1_000_000 {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::yield_now();
    }
    panic!("the future did not complete: it waits on something block_on cannot drive");
}
