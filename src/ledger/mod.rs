//! The persistent record of what was already sent where, behind one interface.
//!
//! The pipeline sees two roles: a [`LedgerReader`] shared by the worker threads
//! (the quick check by folder, the lookup by source md5) and the single
//! [`Ledger`] writer of a run. A backend implements both; SQLite (`sqlite`) is the
//! embedded one; `none` is no ledger at all (`upload --no-ledger`). A `pending` row is the claim on a (target, source md5) while its
//! upload is in flight, which is where a shared backend's leases fit.
//!
//! Owns: the row types, the states and their one spelling, the backends.
//! Must not: know about the pipeline file, targets or outcomes; never sees the API key.

mod claims;
mod none;
mod schema;
mod sqlite;

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;

pub use claims::Claims;
pub use none::NoLedger;
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

/// Lookups from the worker threads, which share one reader.
pub trait LedgerReader: Send + Sync {
    /// Everything known of the files of one folder, with their outputs at `target`.
    fn known_in_dir(&self, dir: &Path, target: &str) -> Result<KnownDir, LedgerError>;
    /// What is known of this source at this target.
    fn lookup(&self, target: &str, source_md5: &str) -> Result<Option<OutputRow>, LedgerError>;
}

/// The single writer of a run, and the queries of `pixpipe ledger`.
pub trait Ledger: Send {
    /// A reader for the worker threads.
    fn reader(&self) -> Result<Arc<dyn LedgerReader>, LedgerError>;
    fn begin_run(&mut self, pipeline: &str, target: &str) -> Result<RunId, LedgerError>;
    /// Writes quick-check rows and output rows in one transaction.
    fn commit(
        &mut self,
        files: &[FileRow],
        outputs: &[OutputRow],
        run: RunId,
    ) -> Result<(), LedgerError>;
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
}

/// Opens (creating if needed) the ledger at `path`.
pub fn open(path: &Path) -> Result<Box<dyn Ledger>, LedgerError> {
    Ok(Box::new(SqliteLedger::open(path)?))
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
