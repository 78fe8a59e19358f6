//! glibc's malloc, bounded to two arenas before the process starts any thread.
//!
//! glibc gives each thread that allocates an arena of its own (up to eight per core) and keeps in it
//! what the thread freed. The server's threads (the runtime's workers and their stand-ins, each
//! SQLite connection's thread) each keep a few MB of SQLite's and the requests' freed memory that
//! way: at 1M users the peak RSS was 183-197 MB by default and 136-141 MB with two arenas, at the
//! same throughput (docs/performance.md, "Peak RSS"). The bound is read from the environment at
//! start only, and setting it from inside (`mallopt`) takes `unsafe`, which the crate forbids; so
//! the process starts itself once more with `MALLOC_ARENA_MAX` set. A value the operator set is
//! left as it is; one set by whoever runs the server under a profiler also keeps it from starting
//! again outside the profiler (the load benchmark's `BENCH_SERVER_WRAPPER` does so).

/// The arenas glibc may use when the operator chose no other number.
const ARENAS: &str = "2";

/// Starts the same command again with the bound set, unless it is set already; answers only when
/// that cannot be done (then the process goes on untuned, which is correct, only larger).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn bound_arenas() {
    use std::os::unix::process::CommandExt;

    if std::env::var_os("MALLOC_ARENA_MAX").is_some() {
        return;
    }
    let mut args = std::env::args_os();
    let arg0 = args.next().unwrap_or_default();
    let error = match std::env::current_exe() {
        Ok(exe) => std::process::Command::new(exe).arg0(arg0).args(args).env("MALLOC_ARENA_MAX", ARENAS).exec(),
        Err(e) => e,
    };
    eprintln!("warning: could not restart with MALLOC_ARENA_MAX={ARENAS} ({error}); going on without it");
}

/// Other allocators do not keep a heap per thread this way.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn bound_arenas() {}
