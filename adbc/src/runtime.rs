//! The driver's tokio runtime and the one way ADBC's blocking calls run futures on it.

use std::sync::LazyLock;

/// The driver's runtime: every blocking ADBC call runs its future here.
static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_multi_thread().thread_name("adbc-athena").enable_all().build().expect("a tokio runtime starts")
});

/// The library's warnings (a CSE_KMS result read through GetQueryResults because KMS refused the
/// data key, GetQueryResultStream not offered) go to standard error, where Python, R and Go
/// programs see them (the AWS SDK's are not shown); `ADBC_ATHENA_LOG` takes a filter (`off`
/// silences them, `debug` shows everything). A host that installed a `tracing` subscriber of its
/// own keeps it.
pub(crate) fn init_logging() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let filter = tracing_subscriber::EnvFilter::try_from_env("ADBC_ATHENA_LOG")
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("athena_arrow=warn"));
        let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
        let _ = tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .with_env_filter(filter)
            .with_target(false)
            .without_time()
            .with_ansi(ansi)
            .try_init();
    });
}

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
