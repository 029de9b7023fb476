//! A ledger problem in words every backend shares.
//!
//! The callers (the run, `pixpipe ledger`) decide by what went wrong (the database
//! is out of reach, the file is no ledger, another pixpipe wrote it), never by which
//! database said it; so each backend turns its driver's errors into these kinds in
//! its own folder, and the driver's error stays reachable as the cause.

use std::path::PathBuf;

/// A ledger problem, with the ledger it concerns.
#[derive(Debug, thiserror::Error)]
#[error("ledger {path}: {kind}")]
pub struct LedgerError {
    pub path: PathBuf,
    pub kind: LedgerErrorKind,
}

/// A database's own error, kept as the cause: its words are the user's best clue.
pub type Cause = Box<dyn std::error::Error + Send + Sync>;

/// What went wrong with a ledger.
#[derive(Debug, thiserror::Error)]
pub enum LedgerErrorKind {
    #[error("cannot create its folder: {0}")]
    Folder(#[source] std::io::Error),
    #[error("schema version {found} is not {expected}; this ledger was written by another pixpipe")]
    Schema { found: String, expected: i64 },
    #[error("unknown state {0:?} in the outputs table")]
    UnknownState(String),
    /// The `answer` column holds something other than a JSON object of strings.
    #[error("unreadable answer {text:?} in the outputs table: {source}")]
    Answer {
        text: String,
        source: serde_json::Error,
    },
    /// The database could not be reached at all (rather than refusing something).
    #[error("cannot reach the database: {why}")]
    Unreachable {
        place: String,
        #[source]
        why: Cause,
    },
    /// Another process holds the database (or a table) for longer than pixpipe waits.
    #[error("the ledger is busy: {0}")]
    Busy(#[source] Cause),
    /// The file is not a database, or a damaged one.
    #[error("not a usable database: {0}")]
    Corrupt(#[source] Cause),
    /// Anything else the database refused, in its own words.
    #[error(transparent)]
    Database(Cause),
}

impl LedgerErrorKind {
    /// Whether the database could not be reached at all (rather than refusing something).
    pub fn unreachable(&self) -> bool {
        matches!(self, LedgerErrorKind::Unreachable { .. })
    }
}
