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
enum LedgerAction {
    /// Counts and bytes per target and state.
    Stats,
    /// One line per output: state, source md5, location, source path.
    List,
    /// Every output row, as CSV or JSON Lines.
    Export {
        #[arg(long, value_enum, default_value_t = ExportFormat::Jsonl)]
        format: ExportFormat,
    },
    /// Forget outputs by source md5 or source path, so the next run sends them again.
    Forget {
        #[arg(required = true)]
        keys: Vec<String>,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum ExportFormat {
    Csv,
    Jsonl,
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
    /// Tell what a run would do (new, already there, duplicates, skipped) without doing it.
    Plan {
        pipeline: PathBuf,
        #[arg(short, long)]
        jobs: Option<usize>,
        /// Print the counts as JSON on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Upload files to a Chevereto host without a pipeline file.
    ///
    /// The key is read from the environment variable CHEVERETO_API_KEY, never from the command line.
    Upload {
        #[command(flatten)]
        one_off: OneOff,
        #[arg(long)]
        report: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Measure resize throughput on this machine, per filter and decode mode.
    Bench {
        /// Photos to measure on (default: a generated set of 12 MP photo-like JPEGs).
        dir: Option<PathBuf>,
        #[arg(long, default_value_t = 1600)]
        width: u32,
        #[arg(long, default_value_t = 85, value_parser = clap::value_parser!(u8).range(1..=100))]
        quality: u8,
        /// Filters to compare (repeat or comma-separate).
        #[arg(long, value_enum, value_delimiter = ',', default_values_t = [config::Filter::Lanczos3])]
        filter: Vec<config::Filter>,
        /// Decode modes to compare.
        #[arg(long, value_enum, value_delimiter = ',', default_values_t = [config::DecodeMode::Scaled])]
        decode: Vec<config::DecodeMode>,
        /// Threads for the end-to-end figure (default: all cores).
        #[arg(short, long)]
        jobs: Option<usize>,
        /// At most this many files from DIR.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
    /// Look into the ledger: what was sent where.
    Ledger {
        /// The ledger file (default: the user's data folder).
        #[arg(long, global = true)]
        ledger: Option<PathBuf>,
        /// Take the ledger path from this pipeline file.
        #[arg(long, global = true)]
        pipeline: Option<PathBuf>,
        #[command(subcommand)]
        action: LedgerAction,
    },
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
                plan: false,
            },
            json,
        ),
        Command::Check { pipeline } => check(pipeline),
        Command::Plan {
            pipeline,
            jobs,
            json,
        } => plan(pipeline, jobs, json),
        Command::Upload {
            one_off,
            report,
            json,
        } => upload(one_off, report, verbosity, json),
        Command::Ledger {
            ledger,
            pipeline,
            action,
        } => ledger_command(ledger, pipeline, action),
        Command::Bench {
            dir,
            width,
            quality,
            filter,
            decode,
            jobs,
            limit,
            json,
        } => {
            let opts = crate::bench::BenchOptions {
                dir,
                width: width.max(1),
                quality,
                filters: filter,
                decodes: decode,
                jobs: jobs
                    .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
                    .max(1),
                limit: limit.max(1),
            };
            bench(&opts, json)
        }
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
    warn_about_literal_key(&lp);
    run_loaded(&lp, opts, json)
}

fn run_loaded(lp: &LoadedPipeline, opts: RunOptions, json: bool) -> ExitCode {
    install_interrupt_handler();
    let report = opts.report.clone();
    let result = run_to_target(lp, &opts);
    match result {
        Ok(summary) => finish(&summary, report.as_ref(), json, opts.verbosity),
        Err(engine::RunError::Config(e)) => {
            eprintln!("pixpipe: {e}");
            ExitCode::BadConfig
        }
        Err(e) => {
            eprintln!("pixpipe: {e}");
            ExitCode::Fatal
        }
    }
}

/// Runs the pipeline to whichever target it names.
fn run_to_target(lp: &LoadedPipeline, opts: &RunOptions) -> Result<Summary, engine::RunError> {
    if lp.pipeline.target.dir.is_some() {
        engine::run_dir(lp, opts)
    } else {
        crate::publish::run_chevereto(lp, opts)
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
    if let Some(why) = &summary.fatal {
        eprintln!("pixpipe: stopped: {why}");
        return ExitCode::Fatal;
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

/// A key written into a file that others can read is a key others can use.
fn warn_about_literal_key(lp: &LoadedPipeline) {
    use std::os::unix::fs::PermissionsExt;
    if !lp.literal_key {
        return;
    }
    let mode = std::fs::metadata(&lp.file)
        .map(|m| m.permissions().mode())
        .unwrap_or(0);
    if mode & 0o077 != 0 {
        eprintln!(
            "pixpipe: warning: {} holds an API key and can be read by other users; use ${{CHEVERETO_API_KEY}} or chmod 600 it",
            lp.file.display()
        );
    }
}

fn plan(path: PathBuf, jobs: Option<usize>, json: bool) -> ExitCode {
    let lp = match load(&path) {
        Ok(lp) => lp,
        Err(code) => return code,
    };
    let opts = RunOptions {
        jobs,
        report: None,
        verbosity: Verbosity::Quiet,
        dry_run: true,
        plan: true,
    };
    let result = run_to_target(&lp, &opts);
    match result {
        Ok(s) => {
            let new = s.written + s.uploaded;
            let already = s.duplicate - s.duplicate_in_run;
            if json {
                let v = serde_json::json!({
                    "new": new,
                    "new_bytes": s.new_bytes,
                    "already_there": already,
                    "duplicates_in_run": s.duplicate_in_run,
                    "skipped": s.skipped,
                    "failed": s.failed,
                });
                println!("{v}");
            } else {
                println!(
                    "new:                {new} ({})",
                    indicatif::HumanBytes(s.new_bytes)
                );
                println!("already there:      {already}");
                println!("duplicates in run:  {}", s.duplicate_in_run);
                println!("skipped:            {}", s.skipped);
                println!("unreadable:         {}", s.failed);
            }
            ExitCode::Success
        }
        Err(e) => {
            eprintln!("pixpipe: {e}");
            ExitCode::Fatal
        }
    }
}

/// The options of `pixpipe upload`.
#[derive(Debug, clap::Args)]
struct OneOff {
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// The host's base URL (or CHEVERETO_URL).
    #[arg(long, env = "CHEVERETO_URL")]
    url: String,
    /// Album id (as in the album's URL).
    #[arg(long)]
    album: Option<String>,
    /// Title for every file (default: each file's own metadata, then its name).
    #[arg(long)]
    title: Option<String>,
    /// Description for every file.
    #[arg(long)]
    description: Option<String>,
    /// Comma-separated tags.
    #[arg(long)]
    tags: Option<String>,
    /// Resize to this width first (0 keeps the size).
    #[arg(long, default_value_t = 1600)]
    width: u32,
    /// Where the ledger lives (default: the user's data folder).
    #[arg(long)]
    ledger: Option<PathBuf>,
}

/// Builds the pipeline a one-off upload stands for.
fn one_off_pipeline(o: &OneOff) -> Result<LoadedPipeline, String> {
    use crate::template::Template;
    if std::env::var_os("CHEVERETO_API_KEY").is_none_or(|k| k.is_empty()) {
        return Err("set the API key in the environment variable CHEVERETO_API_KEY".into());
    }
    let quote = |s: &str| serde_json::to_string(s).unwrap_or_default();
    let yaml = format!(
        "version: 1\ntarget:\n  chevereto:\n    url: {}\n    api_key: ${{CHEVERETO_API_KEY}}\n",
        quote(&o.url)
    );
    let mut pipeline: config::Pipeline = serde_saphyr::from_str(&yaml)
        .map_err(|e| e.to_string().lines().next().unwrap_or("").to_string())?;
    // Literal texts from the command line: braces are escaped so they are taken as written.
    let literal = |s: &str| Template::parse(&s.replace('{', "{{").replace('}', "}}"));
    if let Some(t) = &o.title {
        pipeline.metadata.title = literal(t)?;
    }
    if let Some(d) = &o.description {
        pipeline.metadata.description = literal(d)?;
    }
    if let Some(t) = &o.tags {
        pipeline.metadata.tags = vec![literal(t)?];
    }
    pipeline.resize.width = (o.width > 0).then_some(config::Width(o.width));
    pipeline.ledger.path = o
        .ledger
        .as_ref()
        .map(|l| config::Text(l.display().to_string()));
    if let (Some(a), Some(c)) = (&o.album, pipeline.target.chevereto.as_mut()) {
        c.album_id = Some(config::Text(a.clone()));
    }
    pipeline.input.paths = o
        .files
        .iter()
        .map(|f| config::Text(f.display().to_string()))
        .collect();
    if let Some(c) = &pipeline.target.chevereto {
        crate::target::chevereto::endpoint(c.url.as_str(), c.allow_insecure_http)?;
    }
    Ok(LoadedPipeline {
        file: PathBuf::from("(command line)"),
        base_dir: PathBuf::from("."),
        pipeline,
        literal_key: false,
        ledger_at: None,
    })
}

fn upload(o: OneOff, report: Option<PathBuf>, verbosity: Verbosity, json: bool) -> ExitCode {
    let lp = match one_off_pipeline(&o) {
        Ok(lp) => lp,
        Err(e) => {
            eprintln!("pixpipe: {e}");
            return ExitCode::BadConfig;
        }
    };
    let opts = RunOptions {
        jobs: None,
        report,
        verbosity,
        dry_run: false,
        plan: false,
    };
    run_loaded(&lp, opts, json)
}

fn ledger_command(
    ledger: Option<PathBuf>,
    pipeline: Option<PathBuf>,
    action: LedgerAction,
) -> ExitCode {
    let path = match (ledger, pipeline) {
        (Some(l), _) => l,
        (None, Some(p)) => match load(&p) {
            Ok(lp) => match &lp.pipeline.ledger.path {
                Some(l) => lp.resolve(l.as_str()),
                None => crate::ledger::default_path(),
            },
            Err(code) => return code,
        },
        (None, None) => crate::ledger::default_path(),
    };
    if !path.exists() {
        eprintln!("pixpipe: no ledger at {}", path.display());
        return ExitCode::BadConfig;
    }
    let ledger = match crate::ledger::Ledger::open(&path) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("pixpipe: {e}");
            return ExitCode::Fatal;
        }
    };
    let result = match action {
        LedgerAction::Stats => ledger.stats().map(|rows| {
            println!(
                "{:<60} {:<15} {:>8} {:>12}",
                "target", "state", "files", "bytes"
            );
            for (target, state, n, bytes) in rows {
                println!("{target:<60} {state:<15} {n:>8} {bytes:>12}");
            }
        }),
        LedgerAction::List => ledger.outputs(None, |r| {
            println!(
                "{}\t{}\t{}\t{}",
                r.state
                    .map(|s| format!("{s:?}").to_lowercase())
                    .unwrap_or_default(),
                r.source_md5,
                r.location.as_deref().unwrap_or("-"),
                r.source_path
            );
        }),
        LedgerAction::Export { format } => {
            let mut first = true;
            ledger.outputs(None, |r| match format {
                ExportFormat::Jsonl => println!("{}", serde_json::to_string(&r).unwrap_or_default()),
                ExportFormat::Csv => {
                    if first {
                        println!("target,source_md5,state,source_path,output_md5,location,viewer_url,delete_url,bytes,width,height,title,at");
                        first = false;
                    }
                    let cells = [
                        r.target.clone(),
                        r.source_md5.clone(),
                        r.state.map(|s| format!("{s:?}").to_lowercase()).unwrap_or_default(),
                        r.source_path.clone(),
                        r.output_md5.clone().unwrap_or_default(),
                        r.location.clone().unwrap_or_default(),
                        r.viewer_url.clone().unwrap_or_default(),
                        r.delete_url.clone().unwrap_or_default(),
                        r.bytes.map(|b| b.to_string()).unwrap_or_default(),
                        r.width.map(|b| b.to_string()).unwrap_or_default(),
                        r.height.map(|b| b.to_string()).unwrap_or_default(),
                        r.title.clone().unwrap_or_default(),
                        r.at.clone(),
                    ];
                    println!("{}", cells.iter().map(|c| csv_cell(c)).collect::<Vec<_>>().join(","));
                }
            })
        }
        LedgerAction::Forget { keys } => keys.iter().try_for_each(|k| {
            let n = ledger.forget(k)?;
            println!("{k}: forgot {n} output(s)");
            Ok(())
        }),
    };
    match result {
        Ok(()) => ExitCode::Success,
        Err(e) => {
            eprintln!("pixpipe: {e}");
            ExitCode::Fatal
        }
    }
}

/// A CSV cell, quoted when it must be.
fn csv_cell(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn bench(opts: &crate::bench::BenchOptions, json: bool) -> ExitCode {
    let inputs = match crate::bench::load_inputs(opts.dir.as_deref(), opts.limit) {
        Ok(i) if !i.files.is_empty() => i,
        Ok(_) => {
            eprintln!(
                "pixpipe: no photos to measure in {}",
                opts.dir
                    .as_deref()
                    .unwrap_or(std::path::Path::new("."))
                    .display()
            );
            return ExitCode::BadConfig;
        }
        Err(e) => {
            eprintln!("pixpipe: {e}");
            return ExitCode::BadConfig;
        }
    };
    if !json {
        eprintln!("pixpipe: measuring {} ...", inputs.description);
    }
    let rows = crate::bench::run(opts, &inputs);
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&rows).unwrap_or_default()
        );
    } else {
        print!("{}", crate::bench::table(opts, &inputs, &rows));
    }
    ExitCode::Success
}
