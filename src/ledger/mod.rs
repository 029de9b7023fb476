//! The persistent record of what was already sent where, behind one interface.
//!
//! The pipeline sees two roles: a [`LedgerReader`] shared by the worker threads
//! (the quick check by folder, the lookup by source md5) and the single
//! [`Ledger`] writer of a run. A backend implements both; SQLite (`sqlite`) is the
//! embedded one; `postgres` is shared by several workers (processes, machines);
//! `none` is no ledger at all (`upload --no-ledger`). A `pending` row marks a
//! (target, source md5) whose upload is in flight.
//!
//! A shared backend also arbitrates between workers: it grants each file's path,
//! then each source md5, to one worker at a time ([`LedgerReader::claim_paths`],
//! [`LedgerReader::claim_content`]), and refuses a final row from a worker whose
//! claim another worker took over ([`Ledger::commit`]). The embedded backends grant
//! everything: one process is the only worker, and its in-memory [`Claims`] suffice.
//!
//! Owns: the row types, the states and their one spelling, the backends.
//! Must not: know about the pipeline file, targets or outcomes; never sees the API key.

mod claims;
mod none;
mod postgres;
mod schema;
mod sqlite;

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;

pub use claims::Claims;
pub use none::NoLedger;
pub use postgres::PgLedger;
pub use sqlite::SqliteLedger;

/// A ledger problem, with the ledger it concerns.
#[derive(Debug, thiserror::Error)]
#[error("ledger {path}: {kind}")]
pub struct LedgerError {
    pub path: PathBuf,
    pub kind: LedgerErrorKind,
}

/// What went wrong with a ledger.
#[derive(Debug, thiserror::Error)]
pub enum LedgerErrorKind {
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    #[error("cannot create its folder: {0}")]
    Folder(std::io::Error),
    #[error("schema version {found} is not {expected}; this ledger was written by another pixpipe")]
    Schema { found: String, expected: i64 },
    #[error("unknown state {0:?} in the outputs table")]
    UnknownState(String),
    #[error("{0}")]
    Postgres(String),
    #[error("cannot reach the database: {why}")]
    Unreachable { place: String, why: String },
}

impl LedgerErrorKind {
    /// Whether the database could not be reached at all (rather than refusing something).
    pub fn unreachable(&self) -> bool {
        matches!(self, LedgerErrorKind::Unreachable { .. })
    }
}

/// The state of a (target, source) pair in the ledger, in the report's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputState {
    /// Written to a folder, at its location.
    Written,
    /// Stored by the host, with its URLs.
    Uploaded,
    /// The host said it already had these bytes (no location known).
    AlreadyThere,
    /// The last try failed; the row keeps the reason, and a re-run tries again.
    Failed,
    /// Sent, but the run stopped before the answer came: may or may not be on the host.
    Pending,
}

impl OutputState {
    pub const ALL: [OutputState; 5] = [
        OutputState::Written,
        OutputState::Uploaded,
        OutputState::AlreadyThere,
        OutputState::Failed,
        OutputState::Pending,
    ];

    /// The one spelling: the database, the JSON, the CSV and the tables all use it.
    pub fn as_str(self) -> &'static str {
        match self {
            OutputState::Written => "written",
            OutputState::Uploaded => "uploaded",
            OutputState::AlreadyThere => "already_there",
            OutputState::Failed => "failed",
            OutputState::Pending => "pending",
        }
    }

    /// Reads a stored state; an unknown one is an error, never a guess.
    pub fn parse(s: &str) -> Result<OutputState, LedgerErrorKind> {
        OutputState::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| LedgerErrorKind::UnknownState(s.to_string()))
    }

    /// Whether the target holds the file (as far as the ledger knows).
    pub fn delivered(self) -> bool {
        matches!(
            self,
            OutputState::Written | OutputState::Uploaded | OutputState::AlreadyThere
        )
    }
}

impl std::fmt::Display for OutputState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One row of `outputs`: what one source became at one target.
#[derive(Debug, Clone, Serialize)]
pub struct OutputRow {
    pub target: String,
    pub source_md5: String,
    pub state: OutputState,
    pub source_path: String,
    pub output_md5: Option<String>,
    pub location: Option<String>,
    pub viewer_url: Option<String>,
    pub short_url: Option<String>,
    pub delete_url: Option<String>,
    pub remote_id: Option<String>,
    pub remote_md5: Option<String>,
    pub bytes: Option<u64>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub title: Option<String>,
    /// Why the last try failed (`failed` rows).
    pub reason: Option<String>,
    pub at: String,
}

impl OutputRow {
    /// A row in `state` with nothing known yet but its keys, stamped now.
    pub fn new(target: &str, source_md5: &str, state: OutputState) -> OutputRow {
        OutputRow {
            target: target.to_string(),
            source_md5: source_md5.to_string(),
            state,
            source_path: String::new(),
            output_md5: None,
            location: None,
            viewer_url: None,
            short_url: None,
            delete_url: None,
            remote_id: None,
            remote_md5: None,
            bytes: None,
            width: None,
            height: None,
            title: None,
            reason: None,
            at: now_iso(),
        }
    }
}

/// A quick-check row: a file as it was when its md5 was computed.
#[derive(Debug, Clone)]
pub struct FileRow {
    pub path: PathBuf,
    pub size: u64,
    pub mtime_ns: i64,
    pub source_md5: String,
}

/// A file of one folder as the ledger knows it, with its output at one target if any.
#[derive(Debug, Clone)]
pub struct KnownFile {
    pub size: u64,
    pub mtime_ns: i64,
    pub source_md5: String,
    /// The output row at the asked target, when there is one.
    pub output: Option<OutputRow>,
}

/// The known files of one folder, by their full path's bytes.
pub type KnownDir = std::collections::HashMap<Vec<u8>, KnownFile>;

/// A run's row in the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunId(pub i64);

/// Files and bytes per target and state.
#[derive(Debug, Clone, Serialize)]
pub struct StatRow {
    pub target: String,
    pub state: OutputState,
    pub files: u64,
    pub bytes: u64,
}

/// Which output row: one source's content at one target.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OutputKey {
    pub target: String,
    pub source_md5: String,
}

/// An output's keys with the path its source had, so outputs can be picked by path or glob.
#[derive(Debug, Clone)]
pub struct SourceEntry {
    pub key: OutputKey,
    pub source_path: String,
}

/// A file a worker would read, as the walk saw it.
#[derive(Debug, Clone, Copy)]
pub struct Candidate<'a> {
    pub path: &'a Path,
    pub size: u64,
    pub mtime_ns: i64,
}

/// What a worker may do with a source md5 it asked for.
#[derive(Debug, Clone)]
pub enum ContentClaim {
    /// This worker has it (or it is delivered already): go on with what the ledger holds of it.
    Mine(Option<Box<OutputRow>>),
    /// Another live worker has it, for the path given.
    Held { worker: String, path: String },
}

/// A worker of a shared ledger, as `ledger stats` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct WorkerRow {
    /// Host name, process id and start time: unique across machines and restarts.
    pub id: String,
    pub host: String,
    pub pid: i64,
    pub started_at: String,
    pub heartbeat_at: String,
    /// Its claims hold until then; past it, other workers may take them.
    pub lease_until: String,
    pub live: bool,
    pub finished: bool,
    /// Paths it holds now.
    pub claims: u64,
    /// Outputs it recorded, and their rate over its life.
    pub outputs: u64,
    pub files_per_second: f64,
}

/// Lookups from the worker threads, which share one reader.
pub trait LedgerReader: Send + Sync {
    /// Everything known of the files of one folder, with their outputs at `target`.
    fn known_in_dir(&self, dir: &Path, target: &str) -> Result<KnownDir, LedgerError>;
    /// What is known of this source at this target.
    fn lookup(&self, target: &str, source_md5: &str) -> Result<Option<OutputRow>, LedgerError>;
    /// Asks for these files (those the quick check did not settle) for this worker; gives,
    /// for each, whether it is this worker's to read. Other workers hold the rest, or
    /// delivered them since the quick check.
    fn claim_paths(
        &self,
        _target: &str,
        files: &[Candidate<'_>],
    ) -> Result<Vec<bool>, LedgerError> {
        Ok(vec![true; files.len()])
    }
    /// Asks for a source md5 at `target` for this worker, once its file is read, and
    /// gives what the ledger holds of it. Alone, a worker only needs [`Self::lookup`].
    fn claim_content(
        &self,
        target: &str,
        source_md5: &str,
        _path: &Path,
    ) -> Result<ContentClaim, LedgerError> {
        Ok(ContentClaim::Mine(
            self.lookup(target, source_md5)?.map(Box::new),
        ))
    }
}

/// The single writer of a run, and the queries of `pixpipe ledger`.
pub trait Ledger: Send {
    /// A reader for the worker threads.
    fn reader(&self) -> Result<Arc<dyn LedgerReader>, LedgerError>;
    fn begin_run(&mut self, pipeline: &str, target: &str) -> Result<RunId, LedgerError>;
    /// Writes quick-check rows and output rows in one transaction. Gives the output rows
    /// it refused because another worker owns them now (a shared ledger only).
    fn commit(
        &mut self,
        files: &[FileRow],
        outputs: &[OutputRow],
        run: RunId,
    ) -> Result<Vec<OutputKey>, LedgerError>;
    /// Drops a `pending` row whose upload is known not to have been stored.
    fn clear_pending(&mut self, target: &str, source_md5: &str) -> Result<(), LedgerError>;
    fn finish_run(&mut self, run: RunId, summary: &str) -> Result<(), LedgerError>;
    /// Every output row, optionally of one target, oldest first, until `each` says stop
    /// (a reader that went away need not wait for the rest of the table).
    fn outputs(
        &self,
        target: Option<&str>,
        each: &mut dyn FnMut(OutputRow) -> ControlFlow<()>,
    ) -> Result<(), LedgerError>;
    fn stats(&self) -> Result<Vec<StatRow>, LedgerError>;
    /// Every output's keys and source path, oldest first: what `ledger forget` matches.
    fn sources(&self) -> Result<Vec<SourceEntry>, LedgerError>;
    /// Forgets these outputs, all or none, so the next run sends them again; gives how many went.
    fn forget(&mut self, keys: &[OutputKey]) -> Result<usize, LedgerError>;
    /// The workers of a shared ledger, newest first (none for an embedded one).
    fn workers(&self) -> Result<Vec<WorkerRow>, LedgerError> {
        Ok(Vec::new())
    }
    /// Every run, oldest first, for `ledger copy`.
    fn runs(&self) -> Result<Vec<RunRow>, LedgerError>;
    /// Writes rows copied from another ledger as they are (their run, time and state).
    fn import(&mut self, runs: &[RunRow], outputs: &[OutputRow]) -> Result<(), LedgerError>;
}

/// A run's row, for `ledger copy`.
#[derive(Debug, Clone)]
pub struct RunRow {
    pub started_at: String,
    pub finished_at: Option<String>,
    pub pipeline: Option<String>,
    pub target: String,
    pub summary: Option<String>,
}

/// Opens (creating if needed) the ledger at `path`.
pub fn open(path: &Path) -> Result<Box<dyn Ledger>, LedgerError> {
    Ok(Box::new(SqliteLedger::open(path)?))
}

/// What a worker of a shared ledger needs beyond the URL.
#[derive(Debug, Clone, Default)]
pub struct Sharing {
    /// The input roots: paths are recorded relative to them, so that every worker may
    /// mount the archive somewhere else.
    pub roots: Vec<PathBuf>,
    /// How long claims hold without a heartbeat.
    pub lease: std::time::Duration,
}

/// Opens (creating or migrating its tables if needed) the PostgreSQL ledger at `url`;
/// `shown` is the URL without its password, for messages.
pub fn open_postgres(
    url: &str,
    shown: &str,
    sharing: Sharing,
) -> Result<Box<dyn Ledger>, LedgerError> {
    Ok(Box::new(PgLedger::open(url, shown, sharing)?))
}

/// The current time as ISO 8601 UTC, for ledger rows.
pub fn now_iso() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_have_one_spelling_and_unknown_ones_are_errors() {
        for st in OutputState::ALL {
            let serde_name = serde_json::to_value(st).unwrap();
            assert_eq!(serde_name.as_str(), Some(st.as_str()));
            assert_eq!(st.to_string(), st.as_str());
            assert_eq!(OutputState::parse(st.as_str()).unwrap(), st);
        }
        assert!(OutputState::parse("hostduplicate").is_err());
        assert!(OutputState::parse("done").is_err(), "a version 2 word");
        assert!(OutputState::parse("").is_err());
    }
}
