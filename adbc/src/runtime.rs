//! The driver's tokio runtime and the one way ADBC's blocking calls run futures on it.

use std::sync::LazyLock;

/// The driver's runtime: every blocking ADBC call runs its future here.
static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_multi_thread().thread_name("adbc-athena").enable_all().build().expect("a tokio runtime starts")
});

/// Runs `f` to its end on the driver's runtime. A caller inside a tokio runtime of its own (a
/// Rust program embedding the driver) must not block that runtime's thread on another runtime,
/// so there the future is driven from a thread of its own.
pub(crate) fn block_on<F>(f: F) -> F::Output
where
    F: std::future::Future + Send,
    F::Output: Send,
{
    if tokio::runtime::Handle::try_current().is_err() {
        return RUNTIME.block_on(f);
    }
    std::thread::scope(|scope| match scope.spawn(|| RUNTIME.block_on(f)).join() {
        Ok(out) => out,
        Err(panic) => std::panic::resume_unwind(panic),
    })
}
