//! Which panics the process survives.
//!
//! A handler that panics costs only its stanza: the dispatcher runs each
//! handler under `contain`, answers `internal-server-error` and goes on
//! (`dispatch::panicked`). Any other panic (in the dispatcher's own loop, a
//! link task, the store's health probe, the archive's checkpoint thread, a
//! task or thread added later) would otherwise end that task or thread
//! alone, silently, and leave a process that runs without it. With
//! `exit_on_uncontained_panics` (installed by `mixmuc serve`), such a panic
//! is logged and the process exits with status 101, so that a supervisor
//! (systemd's `Restart=on-failure`) starts it again.
//!
//! A panic is "contained" when it happens while a future wrapped by
//! `contain` is being polled on that thread: the wrapper keeps a
//! thread-local count for the duration of each poll.

use std::cell::Cell;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::FutureExt;

/// The exit status after an uncontained panic (Rust's own for a panic
/// that unwinds out of `main`).
pub const PANIC_EXIT_CODE: i32 = 101;

thread_local! {
    /// How many `contain` polls are running on this thread.
    static CONTAINED: Cell<u32> = const { Cell::new(0) };
}

/// Whether a panic on this thread now would be caught by `contain`.
pub fn contained() -> bool {
    CONTAINED.with(|c| c.get() > 0)
}

/// `f`, with its panics caught (as `FutureExt::catch_unwind`) and counted
/// as contained: the process goes on.
pub fn contain<F: Future>(f: F) -> impl Future<Output = std::thread::Result<F::Output>> {
    AssertUnwindSafe(Marked { inner: f }).catch_unwind()
}

/// Marks the thread as containing panics while `inner` is polled.
struct Marked<F> {
    inner: F,
}

/// Restores the count, also when the poll unwinds.
struct Unmark;

impl Drop for Unmark {
    fn drop(&mut self) {
        CONTAINED.with(|c| c.set(c.get() - 1));
    }
}

impl<F: Future> Future for Marked<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: `inner` is structurally pinned: never moved out of `self`.
        let inner = unsafe { self.map_unchecked_mut(|m| &mut m.inner) };
        CONTAINED.with(|c| c.set(c.get() + 1));
        let _unmark = Unmark;
        inner.poll(cx)
    }
}

/// Installs the panic hook of `mixmuc serve`: a panic outside `contain` is
/// logged at `error` (with the thread's name), reported by the previous
/// hook (the message and location on stderr), and ends the process with
/// `PANIC_EXIT_CODE`. A contained panic is left to the previous hook and to
/// its catcher.
pub fn exit_on_uncontained_panics() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if contained() {
            previous(info);
            return;
        }
        let thread = std::thread::current();
        let location = info.location().map(|l| l.to_string()).unwrap_or_default();
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(no message)".into());
        tracing::error!(thread = thread.name().unwrap_or("unnamed"), %location, panic = %message, "panic outside a request's handling; exiting so that the supervisor restarts mixmuc");
        previous(info);
        std::process::exit(PANIC_EXIT_CODE);
    }));
}
