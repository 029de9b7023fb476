//! The persistent record of what was already sent where, behind one interface.
//!
//! A run sees two roles: a [`LedgerReader`] shared by the worker threads (the quick
//! check by folder, the lookup by source md5) and the single [`Ledger`] writer of a
//! run. `pixpipe ledger` sees a third, [`History`]: the queries and edits of what runs
//! recorded. They are apart so that a run cannot reach `forget` or `import`, and so
//! that a backend's run path can be read without the commands' queries. Each backend
//! implements all three; SQLite (`sqlite/`) is the embedded one; `postgres/` is shared
//! by several workers (processes, machines); `none` is no ledger at all (`upload
//! --no-ledger`, a plan) and has no history. A `pending` row marks a (target, source
//! md5) whose upload is in flight.
//!
//! Backends are opened here only ([`open`], [`open_history`]), from a [`LedgerPlace`];
//! each keeps its tables, its migrations and its driver's errors in its own folder.
//!
//! A shared backend also arbitrates between workers: it grants each file's path,
//! then each source md5, to one worker at a time ([`LedgerReader::claim_paths`],
//! [`LedgerReader::claim_content`]), and refuses a final row from a worker whose
//! claim another worker took over ([`Ledger::commit`]). The embedded backends grant
//! everything: one process is the only worker, and its in-memory [`Claims`] suffice.
//!
//! Owns: the row types, the states and their one spelling, the place and the backends.
//! Must not: know about the pipeline file, targets or outcomes; never sees the API key.

mod claims;
mod error;
mod none;
mod place;
mod postgres;
mod rows;
mod sqlite;

use std::ops::ControlFlow;
use std::path::Path;
use std::sync::Arc;

pub use claims::Claims;
pub use error::{LedgerError, LedgerErrorKind};
pub use none::NoLedger;
pub use place::{Sharing, open, open_history};
pub use postgres::PgLedger;
pub use rows::*;
pub use sqlite::SqliteLedger;

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

/// The single writer of a run.
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
}

/// What runs recorded, as `pixpipe ledger` lists, counts, forgets and copies it.
pub trait History {
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

/// The key of an output row: what an upsert matches on and never changes.
const OUTPUT_KEY: [&str; 2] = ["target", "source_md5"];

/// The columns `names` of table (or alias) `of`, each under its own name, so that
/// rows are read by name whatever the query joins.
fn aliased<'a>(of: &str, names: impl Iterator<Item = &'a str>) -> String {
    names
        .map(|name| format!("{of}.{name} AS {name}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The current time as ISO 8601 UTC, for ledger rows.
pub fn now_iso() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}
