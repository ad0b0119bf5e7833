//! Work beside the main thread. A `build` has a few independent parts that the second core
//! can take (compiling the layout's templates, rendering the text part while the HTML part is
//! compiled); these helpers start them and hand back their results, on this thread when no
//! helper thread can be started.

use std::thread::{Scope, ScopedJoinHandle};

/// A helper thread's stack: 8 MiB, the main thread's usual size, so that pest's stack guard
/// and deeply nested templates stop at the same depth on either thread.
const STACK_BYTES: usize = 8 << 20;

/// Starts `work` on a helper thread of `scope`; `None` when no thread could be started (the
/// caller then does the work itself).
pub(crate) fn spawn<'scope, T: Send + 'scope>(
    scope: &'scope Scope<'scope, '_>,
    work: impl FnOnce() -> T + Send + 'scope,
) -> Option<ScopedJoinHandle<'scope, T>> {
    std::thread::Builder::new()
        .stack_size(STACK_BYTES)
        .spawn_scoped(scope, work)
        .ok()
}

/// The result of a helper thread; a panic there goes on here.
pub(crate) fn join<T>(helper: ScopedJoinHandle<'_, T>) -> T {
    helper
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// Runs `aside` on a helper thread while `here` runs on this one, and returns both results.
pub(crate) fn beside<A: Send, B>(aside: impl Fn() -> A + Sync, here: impl FnOnce() -> B) -> (A, B) {
    std::thread::scope(|scope| {
        let helper = spawn(scope, &aside);
        let here = here();
        (helper.map_or_else(&aside, join), here)
    })
}
