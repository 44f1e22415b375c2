//! The entry-lab binary: everything is in the library (src/lib.rs).

fn main() -> std::process::ExitCode {
    entry_lab::cli::main()
}
