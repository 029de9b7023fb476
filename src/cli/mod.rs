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

use std::ffi::OsString;

use clap::{CommandFactory, FromArgMatches};

use crate::config::{Mode, RunOptions};
use crate::i18n::{Lang, Messages};
use args::{Cli, Command};

/// Parses the command line, runs the command, and returns the process exit code.
pub fn main() -> i32 {
    let argv: Vec<OsString> = std::env::args_os().collect();
    // The language is known before clap runs, so that its help can be in it too.
    let lang = match Lang::choose(lang_flag(&argv).as_deref(), |k| std::env::var(k).ok()) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("pixpipe: {e}");
            return crate::exit_codes::ExitCode::BadConfig.code();
        }
    };
    let matches = localized(Cli::command(), &Messages::new(lang)).get_matches_from(argv);
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
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
                lang,
            };
            commands::run(&pipeline, &opts, json)
        }
        Command::Check {
            pipeline,
            json,
            online,
        } => commands::check(&pipeline, json, online, lang),
        Command::Plan {
            pipeline,
            jobs,
            json,
        } => commands::plan(&pipeline, jobs, json, lang),
        Command::Upload {
            one_off,
            report,
            json,
            chatter,
        } => commands::upload(&one_off, report, chatter.verbosity(), json, lang),
        Command::Ledger {
            ledger,
            pipeline,
            action,
        } => ledger::command(ledger, pipeline, action, lang),
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

/// The value of `--lang X` or `--lang=X`, wherever it is on the command line.
fn lang_flag(argv: &[OsString]) -> Option<String> {
    let mut args = argv.iter().skip(1).map(|a| a.to_string_lossy());
    while let Some(a) = args.next() {
        if a == "--" {
            break;
        }
        if a == "--lang" {
            return args.next().map(|v| v.into_owned());
        }
        if let Some(v) = a.strip_prefix("--lang=") {
            return Some(v.to_string());
        }
    }
    None
}

/// clap's help in the words of `m`: the program's and each command's summary line and
/// `--lang`; the options of each command keep their English help.
fn localized(cmd: clap::Command, m: &Messages) -> clap::Command {
    let mut cmd = cmd
        .about(m.text("msg-help-about", &[]))
        .mut_arg("lang", |a| a.help(m.text("msg-help-lang", &[])));
    for (name, id) in [
        ("run", "msg-help-run"),
        ("plan", "msg-help-plan"),
        ("check", "msg-help-check"),
        ("inspect", "msg-help-inspect"),
        ("upload", "msg-help-upload"),
        ("ledger", "msg-help-ledger"),
        ("bench", "msg-help-bench"),
    ] {
        cmd = cmd.mut_subcommand(name, |c| c.about(m.text(id, &[])));
    }
    cmd
}
