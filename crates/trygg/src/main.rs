//! The `trygg` command: a thin layer of argument parsing, progress display and
//! output formatting over the library crates.

mod cli;
mod commands;
mod demo;
mod query;
mod query_counts;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match commands::run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}
