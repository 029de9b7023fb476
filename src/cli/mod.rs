//! The command line: clap's types (`args`), one function per command
//! (`commands`, `ledger`), and how results are shown (`render`).
//!
//! Owns: parsing, the process's exit code, what is printed on stdout and stderr,
//! and the Ctrl-C handler. Must not: do a stage's work; it builds a plan and
//! hands it to the pipeline.

mod args;
mod commands;
mod ledger;
mod render;

use clap::Parser;

use crate::config::{Mode, RunOptions, Verbosity};
use args::{Cli, Command};

/// Parses the command line, runs the command, and returns the process exit code.
pub fn main() -> i32 {
    let cli = Cli::parse();
    let verbosity = if cli.quiet {
        Verbosity::Quiet
    } else if cli.verbose {
        Verbosity::Verbose
    } else {
        Verbosity::Normal
    };
    let code = match cli.command {
        Command::Run {
            pipeline,
            jobs,
            report,
            html,
            dry_run,
            json,
        } => {
            let opts = RunOptions {
                jobs,
                report,
                html,
                verbosity,
                mode: if dry_run { Mode::DryRun } else { Mode::Deliver },
            };
            commands::run(&pipeline, &opts, json)
        }
        Command::Check { pipeline } => commands::check(&pipeline),
        Command::Plan {
            pipeline,
            jobs,
            json,
        } => commands::plan(&pipeline, jobs, json),
        Command::Upload {
            one_off,
            report,
            json,
        } => commands::upload(&one_off, report, verbosity, json),
        Command::Ledger {
            ledger,
            pipeline,
            action,
        } => ledger::command(ledger, pipeline, action),
        Command::Bench {
            paths,
            width,
            quality,
            filter,
            decode,
            jobs,
            limit,
            repeat,
            json,
        } => {
            let opts = crate::tools::bench::BenchOptions {
                paths,
                width: width.max(1),
                quality,
                filters: filter,
                decodes: decode,
                jobs: jobs
                    .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
                    .max(1),
                limit: limit.max(1),
                repeat: repeat.max(1),
            };
            commands::bench(&opts, json)
        }
        Command::Inspect { files, json } => commands::inspect(&files, json),
    };
    code.code()
}
