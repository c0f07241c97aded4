//! The `trygg` command: a thin layer of argument parsing, progress display and
//! output formatting over the library crates.

mod cli;
mod commands;
mod demo;
mod output;
mod pg;
mod query;
mod report;
mod serve;

use std::process::ExitCode;

/// mimalloc, not glibc's allocator: ingest's parsing thread allocates the rows its
/// writer thread frees, and glibc's arena lock made both wait (measured below in
/// docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::io::Write;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match commands::run(cli) {
        Ok(code) => code,
        // A reader that stopped reading (`trygg info | head -1`) is a normal end.
        Err(err) if output::is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            // If stderr is closed too there is nobody to tell; the exit code says it.
            let _ = writeln!(std::io::stderr(), "error: {err:#}");
            ExitCode::from(2)
        }
    }
}
