//! The command line as clap reads it. Names of values are the pipeline file's
//! own (`catmull-rom`), so the two never disagree.

use std::path::PathBuf;

use clap::builder::PossibleValue;
use clap::{Parser, Subcommand, ValueEnum};

use crate::config::{AlbumRef, DecodeMode, Filter, Verbosity};
use crate::ledger::OutputState;

/// `pixpipe --version`: the version, and the JPEG codec with whether its SIMD code is on.
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (JPEG codec: libjpeg-turbo, SIMD ",
    env!("PIXPIPE_JPEG_SIMD"),
    ")"
);

#[derive(Debug, Parser)]
#[command(
    name = "pixpipe",
    version = VERSION,
    about = "Resize photo archives and publish them exactly once."
)]
pub struct Cli {
    /// Language of the messages: en or zh-CN (default: PIXPIPE_LANG, then LC_ALL, LC_MESSAGES, LANG).
    #[arg(long, global = true, value_name = "LANG")]
    pub lang: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

/// `-q` and `-v`, on the commands whose progress line and per-file lines they change.
#[derive(Debug, clap::Args)]
pub struct Chatter {
    /// Print only errors.
    #[arg(short, long, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print a line for every file.
    #[arg(short, long)]
    pub verbose: bool,
}

impl Chatter {
    pub fn verbosity(&self) -> Verbosity {
        if self.quiet {
            Verbosity::Quiet
        } else if self.verbose {
            Verbosity::Verbose
        } else {
            Verbosity::Normal
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum LedgerAction {
    /// Counts and bytes per target and state.
    Stats {
        /// An array of {target, state, files, bytes}.
        #[arg(long)]
        json: bool,
    },
    /// One line per output: state, source md5, location (or, when failed, the reason), source path.
    List {
        /// Only the outputs in this state (`--state failed` lists what failed, with the reason).
        #[arg(long, value_enum)]
        state: Option<OutputState>,
    },
    /// Every output row, as CSV or JSON Lines.
    Export {
        #[arg(long, value_enum, default_value_t = ExportFormat::Jsonl)]
        format: ExportFormat,
    },
    /// One HTML page of everything delivered to each target, with thumbnails of the files on disk.
    Html { file: PathBuf },
    /// The workers of a shared (PostgreSQL) ledger: live or not, their leases, claims and rates.
    Workers {
        #[arg(long)]
        json: bool,
    },
    /// Copy a ledger's history into another, empty one (SQLite file or postgres:// URL), to
    /// switch without sending anything again.
    Copy {
        /// The ledger to copy from: a file or a postgres:// URL.
        #[arg(long, value_name = "FILE|URL")]
        from: String,
        /// The ledger to copy into (created if needed; must hold no outputs yet).
        #[arg(long, value_name = "FILE|URL")]
        to: String,
    },
    /// Forget outputs by source md5, source path or glob, so the next run sends them again.
    ///
    /// Relative paths and globs are taken from the current folder; quote globs from the shell.
    Forget {
        #[arg(required = true, value_name = "MD5|PATH|GLOB")]
        keys: Vec<String>,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ExportFormat {
    Csv,
    Jsonl,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a pipeline file.
    Run {
        pipeline: PathBuf,
        /// Worker threads for decoding and encoding (default: the pipeline's `jobs`, else all cores).
        #[arg(short, long)]
        jobs: Option<usize>,
        /// Write one JSON line per file here (`-` for stdout).
        #[arg(long, value_name = "FILE")]
        report: Option<PathBuf>,
        /// Write the run's page here: one HTML file that opens offline (wins over `report.html`).
        #[arg(long)]
        html: Option<PathBuf>,
        /// Do everything except writing outputs and the ledger.
        #[arg(long)]
        dry_run: bool,
        /// Print the summary as JSON on stdout.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        chatter: Chatter,
    },
    /// Check a pipeline file and print it resolved, with secrets hidden.
    Check {
        pipeline: PathBuf,
        /// Print the resolved pipeline as JSON.
        #[arg(long)]
        json: bool,
        /// Also ask the host whether it knows the key (a request that uploads nothing).
        #[arg(long)]
        online: bool,
    },
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
        /// Write one JSON line per file here (`-` for stdout).
        #[arg(long, value_name = "FILE")]
        report: Option<PathBuf>,
        /// Print the summary as JSON on stdout.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        chatter: Chatter,
    },
    /// Measure resize speed and quality on this machine, per filter and decode mode.
    Bench {
        /// Folders (walked like `run` walks them) or files; default: a generated set of 12 MP photo-like JPEGs.
        paths: Vec<PathBuf>,
        #[arg(long, default_value_t = 1600)]
        width: u32,
        #[arg(long, default_value_t = 85, value_parser = clap::value_parser!(u8).range(1..=100))]
        quality: u8,
        /// Filters to compare (repeat or comma-separate).
        #[arg(long, value_enum, value_delimiter = ',', default_values_t = [Filter::Lanczos3, Filter::CatmullRom, Filter::Bilinear])]
        filter: Vec<Filter>,
        /// Decode modes to compare.
        #[arg(long, value_enum, value_delimiter = ',', default_values_t = [DecodeMode::Scaled, DecodeMode::Full])]
        decode: Vec<DecodeMode>,
        /// Threads for the end-to-end figures (default: all cores).
        #[arg(short, long)]
        jobs: Option<usize>,
        /// At most this many files.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Timed runs per setting, after one warm-up run.
        #[arg(long, default_value_t = 3)]
        repeat: usize,
        #[arg(long)]
        json: bool,
    },
    /// Look into the ledger: what was sent where.
    Ledger {
        /// The ledger file or a postgres:// URL (default: the user's data folder).
        #[arg(
            long,
            global = true,
            value_name = "FILE|URL",
            conflicts_with = "pipeline"
        )]
        ledger: Option<String>,
        /// Take the ledger path from this pipeline file.
        #[arg(long, global = true)]
        pipeline: Option<PathBuf>,
        #[command(subcommand)]
        action: LedgerAction,
    },
    /// Show what pixpipe reads from files: format, size, title, date, orientation, hashes.
    Inspect {
        /// Files, or folders (walked like `run` walks them).
        #[arg(required = true, value_name = "PATH")]
        files: Vec<PathBuf>,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// Print a shell completion script (e.g. `pixpipe completions bash > /etc/bash_completion.d/pixpipe`).
    Completions { shell: clap_complete::Shell },
    /// Print the manual page (roff), e.g. `pixpipe man | man -l -`.
    Man,
}

/// The options of `pixpipe upload`.
#[derive(Debug, clap::Args)]
pub struct OneOff {
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// The host's base URL (or CHEVERETO_URL).
    #[arg(long, env = "CHEVERETO_URL")]
    pub url: String,
    /// Album: its id, or its URL (`https://host/album/Name.ID`).
    #[arg(long, value_parser = AlbumRef::parse)]
    pub album: Option<AlbumRef>,
    /// Title for every file (default: each file's own metadata, then its name).
    #[arg(long)]
    pub title: Option<String>,
    /// Description for every file.
    #[arg(long)]
    pub description: Option<String>,
    /// Comma-separated tags.
    #[arg(long)]
    pub tags: Option<String>,
    /// Resize to this width first (0 keeps the size).
    #[arg(long, default_value_t = 1600)]
    pub width: u32,
    /// Where the ledger lives (default: the user's data folder).
    #[arg(long, value_name = "FILE")]
    pub ledger: Option<PathBuf>,
    /// Record nothing, in no ledger: every file is sent, even one sent before.
    #[arg(long, conflicts_with = "ledger")]
    pub no_ledger: bool,
}

impl ValueEnum for Filter {
    fn value_variants<'a>() -> &'a [Self] {
        Filter::ALL
    }
    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(self.name()))
    }
}

impl ValueEnum for OutputState {
    fn value_variants<'a>() -> &'a [Self] {
        &OutputState::ALL
    }
    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(self.as_str()))
    }
}

impl ValueEnum for DecodeMode {
    fn value_variants<'a>() -> &'a [Self] {
        DecodeMode::ALL
    }
    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(self.name()))
    }
}
