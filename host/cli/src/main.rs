//! The `eddy` command-line binary. `main` only runs the command and reports its
//! error; everything else lives in `cli` (arguments) and `commands` (one module per
//! command group).

mod cli;
mod commands;
mod input;
mod output;
mod remote;

use std::process::ExitCode;

/// mimalloc instead of glibc malloc: pages of Scan/GetRecords results allocate
/// and free many small values, which glibc's free dominated in profiles.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    match cli::run() {
        Ok(()) => ExitCode::SUCCESS,
        // `eddy ... | head` closes stdout early: that is the reader's choice, not an error.
        Err(e) if output::is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            for cause in e.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::FAILURE
        }
    }
}
