//! The `hearth` executable: everything lives in the library; see `lib.rs`.
//!
//! Exit codes: 0 success (warnings allowed), 1 the spec has errors, 2 usage or I/O problems.

fn main() -> std::process::ExitCode {
    hearth::main()
}
