//! The `erp` binary: everything happens in [`erp_server::cli`].

fn main() -> std::process::ExitCode {
    erp_server::cli::main()
}
