//! The `eddy` command-line binary. `main` only runs the command and reports its
//! error; everything else lives in `cli` (arguments) and `commands` (one module per
//! command group).

mod cli;
mod commands;
mod input;
mod output;
mod remote;

use std::process::ExitCode;

/// jemalloc instead of glibc malloc, whose free dominated profiles of Scan and
/// GetRecords pages (many small values), and instead of mimalloc: a trigger's
/// two lanes and the writer free on one thread what another allocated, and
/// with jemalloc `bench lab --only wasm --items 500000` ran 212-248k records/s
/// against 195-197k (four alternating runs each), peak RSS 167 MiB against
/// 240-253. It costs GetRecords: 1.26M records/s against 1.69M in one `bench
/// store` run each (the target is 1M).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

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
