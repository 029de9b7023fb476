//! The record stage: every finished file goes to the ledger (in batches, by the
//! run's single writer) and to the outcome sinks (the progress line, the JSON Lines
//! report, the HTML page), and is counted in the summary.
//!
//! Owns: [`Outcome`], [`State`], [`Summary`], the [`OutcomeSink`] interface and its
//! sinks (progress line, report, HTML page), and the [`Recorder`] that targets hand
//! their results to.
//! Must not: decide what happens to a file; it only writes down what did.

pub mod html;
mod outcome;
mod progress;
mod report;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::ledger::{
    Claims, FileRow, Ledger, LedgerError, OutputKey, OutputRow, OutputState, RunId,
};
use crate::media::md5_hex;

pub use html::HtmlPage;
pub use outcome::{Outcome, State, Summary};
pub use progress::Progress;
pub use report::ReportWriter;

/// A consumer of outcomes, told of each file as it ends.
pub trait OutcomeSink: Send {
    /// The scan has found `scanned` files so far.
    fn found(&mut self, _scanned: u64) {}
    fn record(&mut self, o: &Outcome) -> Result<(), SinkError>;
    /// A word on the run as a whole while it waits ("HOST unreachable since …").
    fn status(&mut self, _line: &str) {}
    /// The run is over; `summary` counts every file.
    fn finish(&mut self, summary: &Summary) -> Result<(), SinkError>;
}

/// A sink's file could not be written.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {source}")]
pub struct SinkError {
    pub path: PathBuf,
    pub source: std::io::Error,
}

impl SinkError {
    /// Whether it is the report on stdout that could not be written.
    pub fn to_stdout(&self) -> bool {
        self.path == std::path::Path::new(report::STDOUT_NAME)
    }
}

/// Why a result could not be written down; the run stops on it.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Sink(#[from] SinkError),
}

/// Rows waiting for the next commit: every `size` rows or every two seconds.
struct Batch {
    files: Vec<FileRow>,
    outputs: Vec<OutputRow>,
    /// Claims let go once these rows are in.
    md5s: Vec<String>,
    size: usize,
    last: Instant,
}

impl Batch {
    fn due(&self) -> bool {
        self.files.len() + self.outputs.len() >= self.size
            || self.last.elapsed() >= Duration::from_secs(2)
    }
}

/// Writes down what happened to each file; targets hand it their results.
pub struct Recorder {
    ledger: Box<dyn Ledger>,
    /// The target's name in the ledger, for the rows of failed files.
    target: String,
    /// `None` when the run records nothing (dry run, plan).
    run: Option<RunId>,
    claims: Arc<Claims>,
    batch: Batch,
    summary: Summary,
    sinks: Vec<Box<dyn OutcomeSink>>,
    started: Instant,
}

impl Recorder {
    pub fn new(
        ledger: Box<dyn Ledger>,
        target: &str,
        run: Option<RunId>,
        claims: Arc<Claims>,
        batch_size: usize,
        sinks: Vec<Box<dyn OutcomeSink>>,
    ) -> Recorder {
        Recorder {
            ledger,
            target: target.to_string(),
            run,
            claims,
            batch: Batch {
                files: Vec::new(),
                outputs: Vec::new(),
                md5s: Vec::new(),
                size: batch_size.max(1),
                last: Instant::now(),
            },
            summary: Summary::default(),
            sinks,
            started: Instant::now(),
        }
    }

    /// A run that delivers nothing: the summary says what it would have done. (A run
    /// without a ledger still delivers: that is not a dry run.)
    pub fn set_dry_run(&mut self, dry_run: bool) {
        self.summary.dry_run = dry_run;
    }

    pub fn found(&mut self, scanned: u64) {
        for s in &mut self.sinks {
            s.found(scanned);
        }
    }

    /// Files that other workers of a shared ledger hold, left to them.
    pub fn left_to_others(&mut self, files: u64) {
        self.summary.elsewhere = files;
    }

    /// A word on the run as a whole, for the sinks that show one.
    pub fn status(&mut self, line: &str) {
        for s in &mut self.sinks {
            s.status(line);
        }
    }

    /// A file reached its final state.
    pub fn outcome(&mut self, o: &Outcome) -> Result<(), RecordError> {
        self.summary.add(o);
        if o.state == State::Failed && self.run.is_some() {
            self.batch.outputs.push(self.failure_row(o));
        }
        // Every sink hears of every file, even when one of them failed (a closed stdout
        // must not cost the HTML page its rows); the first error is given after.
        Ok(first_error(self.sinks.iter_mut().map(|s| s.record(o)))?)
    }

    /// A failed file's ledger row, so `ledger list` shows it with its reason. A file
    /// that was never read has no md5: its path stands in, as a URL's does.
    fn failure_row(&self, o: &Outcome) -> OutputRow {
        let md5 = o
            .source_md5
            .clone()
            .unwrap_or_else(|| md5_hex(format!("path:{}", o.path).as_bytes()));
        let mut row = OutputRow::new(&self.target, &md5, OutputState::Failed);
        row.source_path = o.path.clone();
        row.reason = o.reason.clone();
        row.title = o.title.clone();
        row
    }

    /// A quick-check row for the next batch.
    pub fn file_row(&mut self, row: Option<FileRow>) {
        self.batch.files.extend(row);
    }

    /// A delivered output for the next batch.
    pub fn output_row(&mut self, row: OutputRow) {
        self.batch.outputs.push(row);
    }

    /// Lets go of the claim on `md5` with the next commit.
    pub fn release(&mut self, md5: String) {
        self.batch.md5s.push(md5);
    }

    /// Commits rows at once, outside the batch: the `pending` row before an upload
    /// and the final row when its answer comes, so a kill loses neither. Gives the
    /// rows refused because another worker took their content over (a shared ledger).
    pub fn commit_now(
        &mut self,
        files: &[FileRow],
        outputs: &[OutputRow],
    ) -> Result<Vec<OutputKey>, RecordError> {
        match self.run {
            Some(run) => Ok(self.ledger.commit(files, outputs, run)?),
            None => Ok(Vec::new()),
        }
    }

    /// Drops a `pending` row whose upload is known not to have been stored.
    pub fn clear_pending(&mut self, target: &str, source_md5: &str) -> Result<(), RecordError> {
        if self.run.is_some() {
            self.ledger.clear_pending(target, source_md5)?;
        }
        Ok(())
    }

    /// Whether the batch is due to be committed (see [`Recorder::commit`]).
    pub fn due(&self) -> bool {
        self.batch.due()
    }

    /// Commits the batch now.
    pub fn commit(&mut self) -> Result<(), RecordError> {
        let b = &mut self.batch;
        if let Some(run) = self.run
            && (!b.files.is_empty() || !b.outputs.is_empty())
        {
            // A batched row another worker took over is theirs to record.
            self.ledger.commit(&b.files, &b.outputs, run)?;
        }
        self.claims.release(b.md5s.iter());
        b.files.clear();
        b.outputs.clear();
        b.md5s.clear();
        b.last = Instant::now();
        Ok(())
    }

    /// Commits what is left, closes the run's row and the sinks, and gives the counts.
    /// The sinks are closed even when the ledger fails, so the report keeps its lines.
    pub fn finish(mut self, interrupted: bool) -> Result<Summary, RecordError> {
        let committed = self.commit();
        self.summary.interrupted = interrupted;
        self.summary.elapsed_seconds = self.started.elapsed().as_secs_f64();
        let summary = &self.summary;
        let sunk = first_error(self.sinks.iter_mut().map(|s| s.finish(summary)));
        committed?;
        if let Some(run) = self.run {
            self.ledger.finish_run(run, &self.summary.line())?;
        }
        sunk?;
        Ok(self.summary)
    }
}

/// Runs every result to the end and keeps the first error.
/// (Not `try_fold`: that would stop at the first error, and the rest must still run.)
fn first_error(results: impl Iterator<Item = Result<(), SinkError>>) -> Result<(), SinkError> {
    let mut first = Ok(());
    for r in results {
        if first.is_ok() {
            first = r;
        }
    }
    first
}
