//! The command line: parsing with clap, and one function per command.

use std::path::PathBuf;
use std::process;

use clap::{Parser, Subcommand};

use crate::config::{self, LoadedPipeline};
use crate::engine::{self, RunOptions};
use crate::exit_codes::ExitCode;
use crate::progress::Verbosity;
use crate::report::Summary;

#[derive(Debug, Parser)]
#[command(
    name = "pixpipe",
    version,
    about = "Resize photo archives and publish them exactly once."
)]
pub struct Cli {
    /// Print only errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,
    /// Print a line for every file.
    #[arg(short, long, global = true)]
    verbose: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a pipeline file.
    Run {
        pipeline: PathBuf,
        /// Worker threads for decoding and encoding (default: the pipeline's `jobs`, else all cores).
        #[arg(short, long)]
        jobs: Option<usize>,
        /// Write one JSON line per file here.
        #[arg(long)]
        report: Option<PathBuf>,
        /// Do everything except writing outputs and the ledger.
        #[arg(long)]
        dry_run: bool,
        /// Print the summary as JSON on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Check a pipeline file and print it resolved, with secrets hidden.
    Check { pipeline: PathBuf },
    /// Show what pixpipe reads from files: format, size, title, date, orientation, hashes.
    Inspect {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
}

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
            dry_run,
            json,
        } => run(
            pipeline,
            RunOptions {
                jobs,
                report,
                verbosity,
                dry_run,
            },
            json,
        ),
        Command::Check { pipeline } => check(pipeline),
        Command::Inspect { files, json } => inspect(&files, json),
    };
    code.code()
}

fn load(path: &std::path::Path) -> Result<LoadedPipeline, ExitCode> {
    config::load(path).map_err(|e| {
        eprintln!("pixpipe: {e}");
        ExitCode::BadConfig
    })
}

fn check(path: PathBuf) -> ExitCode {
    let lp = match load(&path) {
        Ok(lp) => lp,
        Err(code) => return code,
    };
    match serde_saphyr::to_string(&lp.pipeline) {
        Ok(text) => {
            println!("# {}: ok", path.display());
            print!("{text}");
            ExitCode::Success
        }
        Err(e) => {
            eprintln!("pixpipe: {}: {e}", path.display());
            ExitCode::BadConfig
        }
    }
}

fn inspect(files: &[PathBuf], json: bool) -> ExitCode {
    let mut code = ExitCode::Success;
    for f in files {
        let i = crate::inspect::inspect(f, config::Limits::default().max_file_mib);
        if i.error.is_some() {
            code = ExitCode::SomeFailed;
        }
        if json {
            println!("{}", serde_json::to_string(&i).unwrap_or_default());
        } else {
            print!("{}", crate::inspect::to_text(&i));
        }
    }
    code
}

fn run(path: PathBuf, opts: RunOptions, json: bool) -> ExitCode {
    let lp = match load(&path) {
        Ok(lp) => lp,
        Err(code) => return code,
    };
    install_interrupt_handler();
    let report = opts.report.clone();
    let result = if lp.pipeline.target.dir.is_some() {
        engine::run_dir(&lp, &opts)
    } else {
        Err(engine::RunError::Target(
            "the chevereto target is not available in this build".into(),
        ))
    };
    match result {
        Ok(summary) => finish(&summary, report.as_ref(), json, opts.verbosity),
        Err(e) => {
            eprintln!("pixpipe: {e}");
            ExitCode::Fatal
        }
    }
}

fn finish(
    summary: &Summary,
    report: Option<&PathBuf>,
    json: bool,
    verbosity: Verbosity,
) -> ExitCode {
    if json {
        println!("{}", serde_json::to_string(summary).unwrap_or_default());
    } else if verbosity != Verbosity::Quiet || summary.failed > 0 {
        let see = match report {
            Some(r) if summary.failed > 0 => format!(" — see {}", r.display()),
            _ => String::new(),
        };
        eprintln!("pixpipe: {}{see}", summary.line());
    }
    if summary.interrupted {
        eprintln!("pixpipe: interrupted; finished files are recorded, run again to go on");
        ExitCode::Interrupted
    } else if summary.failed > 0 {
        ExitCode::SomeFailed
    } else {
        ExitCode::Success
    }
}

/// First Ctrl-C: stop taking files, finish and record those in flight. Second: leave at once.
fn install_interrupt_handler() {
    std::thread::spawn(|| {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        rt.block_on(async {
            if tokio::signal::ctrl_c().await.is_ok() {
                engine::INTERRUPTED.store(true, std::sync::atomic::Ordering::Relaxed);
                eprintln!("pixpipe: stopping after the files in flight (Ctrl-C again to quit now)");
            }
            if tokio::signal::ctrl_c().await.is_ok() {
                process::exit(ExitCode::Interrupted.code());
            }
        });
    });
}
