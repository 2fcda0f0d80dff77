//! The `erp` binary: everything happens in [`erp_server::cli`].

/// jemalloc on glibc: it hands freed memory back to the system, where glibc's malloc kept it in
/// per-thread arenas (idle RSS 43 → 22 MB; docs/decisions.md, "Allocator").
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> std::process::ExitCode {
    erp_server::cli::main()
}
