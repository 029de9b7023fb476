//! The command line: clap's types (`args`), one function per command
//! (`commands`, `ledger`, `forget`), how results are shown (`render`), and the one
//! writer every command prints its output through (`output`).
//!
//! Owns: parsing, the process's exit code, what is printed on stdout and stderr,
//! and the Ctrl-C handler. Must not: do a stage's work; it builds a plan and
//! hands it to the pipeline.

mod args;
mod commands;
mod forget;
mod ledger;
mod output;
mod render;

use clap::Parser;

use crate::config::{Mode, RunOptions};
use args::{Cli, Command};

/// Parses the command line, runs the command, and returns the process exit code.
pub fn main() -> i32 {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Run {
            pipeline,
            jobs,
            report,
            html,
            dry_run,
            json,
            chatter,
        } => {
            let opts = RunOptions {
                jobs,
                report,
                html,
                verbosity: chatter.verbosity(),
                mode: if dry_run { Mode::DryRun } else { Mode::Deliver },
                no_ledger: false,
            };
            commands::run(&pipeline, &opts, json)
        }
        Command::Check { pipeline, json } => commands::check(&pipeline, json),
        Command::Plan {
            pipeline,
            jobs,
            json,
        } => commands::plan(&pipeline, jobs, json),
        Command::Upload {
            one_off,
            report,
            json,
            chatter,
        } => commands::upload(&one_off, report, chatter.verbosity(), json),
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
        Command::Completions { shell } => commands::completions(shell),
        Command::Man => commands::man(),
    };
    code.code()
}
