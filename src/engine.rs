//! Wires the stages together: scan → probe → dedupe → transform → deliver → record.
//!
//! The scan runs on its own thread and feeds a bounded channel; probe and
//! transform run on a rayon pool of `jobs` threads; results go through a second
//! bounded channel to the single thread that delivers, records the ledger and
//! writes the report. At most `2 × jobs` files wait in each channel and `jobs`
//! are being worked on, so memory is bounded by about `5 × jobs` files' bytes
//! and decoded pixels, whatever the size of the archive.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crossbeam_channel::{RecvTimeoutError, bounded};

use crate::config::LoadedPipeline;
use crate::fields::FileFields;
use crate::ledger::{FileRow, Ledger, LedgerError, LedgerReader, OutputRow, OutputState};
use crate::probe::{Probe, probe_file};
use crate::progress::{Progress, Verbosity};
use crate::report::{Outcome, ReportWriter, State, Summary};
use crate::scan::{self, Event, Found, ScanOptions};
use crate::target::dir::{DirWriter, ManifestEntry, Placed, clean_name_value};
use crate::transform::{self, Output, Settings};

/// How to run, beyond what the pipeline file says.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub jobs: Option<usize>,
    pub report: Option<PathBuf>,
    pub verbosity: Verbosity,
    /// Do everything except delivering and recording.
    pub dry_run: bool,
    /// Only count what a run would do: no transform, no delivery, no recording.
    pub plan: bool,
}

/// Why a run could not go on at all (as opposed to one file failing).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Target(String),
    /// A value of the pipeline file that turned out unusable (exit code 2).
    #[error("{0}")]
    Config(String),
}

/// Set by Ctrl-C: stop taking new files, finish what is in flight, record it.
pub static INTERRUPTED: AtomicBool = AtomicBool::new(false);
/// Set when the run cannot go on (a fatal answer from the host, a ledger failure).
pub static HALTED: AtomicBool = AtomicBool::new(false);

pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::Relaxed)
}

/// Whether new files should still be taken.
pub fn stopping() -> bool {
    interrupted() || HALTED.load(Ordering::Relaxed)
}

/// A file ready for its target.
pub struct Ready {
    pub found: Found,
    pub probe_md5: String,
    pub format: &'static str,
    pub mime: &'static str,
    pub is_video: bool,
    pub title: String,
    pub description: String,
    pub tags: Vec<String>,
    pub date_taken: Option<String>,
    /// The rendered output name (folder target).
    pub name: String,
    /// The name to send to a host: the source's stem with the output's extension.
    pub upload_name: String,
    /// The folder holding the file, relative to its input root.
    pub rel_dir: Option<PathBuf>,
    /// An earlier run sent this file but never recorded the answer.
    pub was_pending: bool,
    pub output: Output,
    pub warnings: Vec<String>,
}

impl Ready {
    pub fn outcome(&self, state: State) -> Outcome {
        let mut o = Outcome::new(&self.found.path, state);
        o.format = Some(self.format.to_string());
        o.source_md5 = Some(self.probe_md5.clone());
        o.output_md5 = Some(self.output.md5.clone());
        o.width = self.output.width;
        o.height = self.output.height;
        o.source_bytes = Some(self.found.size);
        o.output_bytes = Some(self.output.bytes.len() as u64);
        o.title = Some(self.title.clone()).filter(|t| !t.is_empty());
        o.date_taken = self.date_taken.clone();
        o.warnings = self.warnings.clone();
        o
    }

    pub fn file_row(&self) -> FileRow {
        FileRow {
            path: self.found.path.clone(),
            size: self.found.size,
            mtime_ns: self.found.mtime_ns,
            source_md5: self.probe_md5.clone(),
        }
    }
}

/// What the CPU stages hand to the delivering thread.
// Each value crosses one channel once per file; boxing the outcome would only add an allocation.
#[allow(clippy::large_enum_variant)]
pub enum Prepared {
    /// The file's story ends here (skipped, failed, already at the target); maybe with a quick-check row.
    Finished(Outcome, Option<FileRow>),
    Ready(Box<Ready>),
}

/// What goes through the channel to the delivering thread.
#[allow(clippy::large_enum_variant)] // as for `Prepared`
enum Produced {
    /// The result of the file handed out as number `.0`.
    One(u64, Prepared),
    /// Files found unchanged and already at the target, in a batch.
    Known(Vec<Outcome>),
}

/// Content hashes claimed by files in flight, so two copies in one run are sent once.
#[derive(Default)]
pub struct Claims {
    held: Mutex<HashMap<String, PathBuf>>,
    /// Keep claims for the whole run (dry runs record nothing, so the ledger cannot take over).
    keep: bool,
}

impl Claims {
    pub fn new(keep: bool) -> Claims {
        Claims {
            held: Mutex::new(HashMap::new()),
            keep,
        }
    }

    /// Claims `md5` for `path`; returns the path that holds it already, if any.
    fn claim(&self, md5: &str, path: &Path) -> Option<PathBuf> {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        match held.get(md5) {
            Some(other) => Some(other.clone()),
            None => {
                held.insert(md5.to_string(), path.to_path_buf());
                None
            }
        }
    }

    /// Lets go of claims once the ledger holds their rows (or their file failed).
    pub fn release<'a>(&self, md5s: impl IntoIterator<Item = &'a String>) {
        if self.keep {
            return;
        }
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        for m in md5s {
            held.remove(m);
        }
    }
}

/// The shared, read-only context of the CPU stages.
/// Owned and shared, because a file stuck past its time limit is left behind on its
/// worker thread while the run goes on and ends without it.
pub struct Stage {
    pub lp: Arc<LoadedPipeline>,
    pub settings: Settings,
    pub ledger: Option<Arc<LedgerReader>>,
    pub target_key: String,
    pub claims: Arc<Claims>,
    pub roots: Vec<PathBuf>,
    /// Does a ledger row for the target still hold? (The folder target checks the file exists.)
    pub still_there: Arc<dyn Fn(&OutputRow) -> bool + Send + Sync>,
    /// Plan only: stop after dedupe, transform nothing.
    pub plan: bool,
}

impl Stage {
    /// The stage for a run of `lp` to the target `target_key`.
    pub fn new(
        lp: &LoadedPipeline,
        target_key: &str,
        ledger: LedgerReader,
        claims: &Arc<Claims>,
        still_there: Arc<dyn Fn(&OutputRow) -> bool + Send + Sync>,
        plan: bool,
    ) -> Stage {
        Stage {
            lp: Arc::new(lp.clone()),
            settings: Settings::from_pipeline(&lp.pipeline),
            ledger: Some(Arc::new(ledger)),
            target_key: target_key.to_string(),
            claims: Arc::clone(claims),
            roots: scan_options(lp).roots,
            still_there,
            plan,
        }
    }
}

/// The scan options from the pipeline, with paths resolved.
pub fn scan_options(lp: &LoadedPipeline) -> ScanOptions {
    let input = &lp.pipeline.input;
    ScanOptions {
        roots: input
            .paths
            .iter()
            .map(|p| {
                let p = lp.resolve(p.as_str());
                std::path::absolute(&p).unwrap_or(p)
            })
            .collect(),
        include: input.include.clone(),
        exclude: input.exclude.clone(),
        follow_symlinks: input.follow_symlinks,
        hidden: input.hidden,
    }
}

/// Runs scan and the CPU stages, handing each result, with the count of files scanned so
/// far, to `deliver` on the calling thread.
///
/// A file still being worked on after `limits.file_seconds` is reported as failed and left
/// behind: its worker thread is not waited for, so one pathological file cannot hang a run.
pub fn produce(stage: Arc<Stage>, jobs: usize, mut deliver: impl FnMut(Prepared, u64)) {
    let (out_tx, out_rx) = bounded::<Produced>(jobs * 2);
    // A slot per file handed to the pool: at most 2 × jobs are queued or in work.
    let (slot_tx, slot_rx) = bounded::<()>(jobs * 2);
    let opts = scan_options(&stage.lp);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .thread_name(|i| format!("pixpipe-worker-{i}"))
        .build()
        .expect("a thread pool");
    let limit = Duration::from_secs_f64(stage.lp.pipeline.limits.file_seconds.0);
    let running: Arc<Mutex<HashMap<u64, (PathBuf, Instant)>>> = Arc::default();
    let scanned = AtomicU64::new(0);
    let handed_out = AtomicU64::new(0);
    let fed_all = AtomicBool::new(false);
    std::thread::scope(|s| {
        let (scanned, handed_out, fed_all) = (&scanned, &handed_out, &fed_all);
        // The walk, the quick check and the workers each run on their own threads, so
        // that a re-run of a big archive is bound by the file system, not by one core.
        let (walk_tx, walk_rx) = bounded::<Vec<Event>>(4);
        s.spawn(move || {
            let mut batch = Vec::with_capacity(64);
            scan::scan(&opts, |ev| {
                scanned.fetch_add(1, Ordering::Relaxed);
                if stopping() {
                    return false;
                }
                batch.push(ev);
                batch.len() < 64
                    || walk_tx
                        .send(std::mem::replace(&mut batch, Vec::with_capacity(64)))
                        .is_ok()
            });
            if !batch.is_empty() {
                let _ = walk_tx.send(batch);
            }
        });
        let direct_tx = out_tx.clone();
        let (check_stage, check_running) = (Arc::clone(&stage), Arc::clone(&running));
        let pool = &pool;
        s.spawn(move || {
            let mut quick = QuickCheck::new(&check_stage);
            // Files already at the target skip the workers, and go on in batches: on a
            // re-run of a big archive, a hand-off per file would cost more than the check.
            let mut known: Vec<Outcome> = Vec::new();
            let flush = |known: &mut Vec<Outcome>| {
                known.is_empty()
                    || direct_tx
                        .send(Produced::Known(std::mem::take(known)))
                        .is_ok()
            };
            'walk: for events in walk_rx.iter() {
                for ev in events {
                    let found = match ev {
                        Event::File(found) => found,
                        Event::Skipped { path, reason } => {
                            known.push(Outcome::with_reason(&path, State::Skipped, reason));
                            continue;
                        }
                        Event::Error { path, reason } => {
                            known.push(Outcome::with_reason(&path, State::Failed, reason));
                            continue;
                        }
                    };
                    if let Some(done) = quick.check(&found) {
                        known.push(done);
                        continue;
                    }
                    if !flush(&mut known) || slot_tx.send(()).is_err() {
                        break 'walk;
                    }
                    let seq = handed_out.fetch_add(1, Ordering::SeqCst);
                    let (stage, running, tx) = (
                        Arc::clone(&check_stage),
                        Arc::clone(&check_running),
                        out_tx.clone(),
                    );
                    pool.spawn(move || {
                        lock(&running).insert(seq, (found.path.clone(), Instant::now()));
                        let prepared = if stopping() {
                            let reason = "not read: the run was stopped";
                            Prepared::Finished(
                                Outcome::with_reason(&found.path, State::Skipped, reason),
                                None,
                            )
                        } else {
                            prepare(&stage, found)
                        };
                        lock(&running).remove(&seq);
                        let _ = tx.send(Produced::One(seq, prepared));
                    });
                }
                if !flush(&mut known) {
                    break;
                }
            }
            flush(&mut known);
            fed_all.store(true, Ordering::SeqCst);
        });
        let mut finished = 0u64;
        let mut abandoned: std::collections::HashSet<u64> = std::collections::HashSet::new();
        loop {
            match out_rx.recv_timeout(Duration::from_millis(200)) {
                Ok(Produced::Known(outcomes)) => {
                    for o in outcomes {
                        deliver(Prepared::Finished(o, None), scanned.load(Ordering::Relaxed));
                    }
                }
                Ok(Produced::One(seq, p)) => {
                    if abandoned.contains(&seq) {
                        continue; // reported already, when it ran out of time
                    }
                    finished += 1;
                    let _ = slot_rx.try_recv();
                    deliver(p, scanned.load(Ordering::Relaxed));
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            for (seq, path) in overdue(&running, limit, &abandoned) {
                abandoned.insert(seq);
                let _ = slot_rx.try_recv();
                let reason = format!(
                    "still not done after {} s (limits.file_seconds); left behind",
                    limit.as_secs_f64()
                );
                deliver(
                    Prepared::Finished(Outcome::with_reason(&path, State::Failed, reason), None),
                    scanned.load(Ordering::Relaxed),
                );
            }
            let all_in = fed_all.load(Ordering::SeqCst)
                && handed_out.load(Ordering::SeqCst) == finished + abandoned.len() as u64;
            if all_in && out_rx.is_empty() {
                break;
            }
        }
    });
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Files in work for longer than `limit`, not yet reported.
fn overdue(
    running: &Mutex<HashMap<u64, (PathBuf, Instant)>>,
    limit: Duration,
    abandoned: &std::collections::HashSet<u64>,
) -> Vec<(u64, PathBuf)> {
    lock(running)
        .iter()
        .filter(|(seq, (_, started))| started.elapsed() > limit && !abandoned.contains(seq))
        .map(|(seq, (path, _))| (*seq, path.clone()))
        .collect()
}

/// The quick check, folder by folder: one ledger query per folder tells which of its
/// files are unchanged since they were delivered, so a re-run reads none of them.
struct QuickCheck<'a> {
    stage: &'a Stage,
    dir: Option<PathBuf>,
    known: crate::ledger::KnownDir,
}

impl<'a> QuickCheck<'a> {
    fn new(stage: &'a Stage) -> Self {
        QuickCheck {
            stage,
            dir: None,
            known: Default::default(),
        }
    }

    /// The outcome of a file that is unchanged and already at the target.
    fn check(&mut self, found: &Found) -> Option<Outcome> {
        let ledger = self.stage.ledger.as_deref()?;
        let parent = found.path.parent()?;
        if self.dir.as_deref() != Some(parent) {
            self.known = ledger
                .known_in_dir(parent, &self.stage.target_key)
                .unwrap_or_default();
            self.dir = Some(parent.to_path_buf());
        }
        let k = self.known.get(found.path.as_os_str().as_encoded_bytes())?;
        let delivered = matches!(
            k.state,
            Some(OutputState::Done | OutputState::HostDuplicate)
        );
        if k.size != found.size || k.mtime_ns != found.mtime_ns || !delivered {
            return None;
        }
        let row = OutputRow {
            state: k.state,
            location: k.location.clone(),
            viewer_url: k.viewer_url.clone(),
            delete_url: k.delete_url.clone(),
            output_md5: k.output_md5.clone(),
            ..OutputRow::default()
        };
        let mut o = already_there(self.stage, found, &k.source_md5, row)?;
        o.source_bytes = Some(found.size);
        Some(o)
    }
}

/// Probe, dedupe and transform one file. Never panics: a panic inside a codec becomes a failure.
pub fn prepare(stage: &Stage, found: Found) -> Prepared {
    let path = found.path.clone();
    match std::panic::catch_unwind(AssertUnwindSafe(|| prepare_inner(stage, found))) {
        Ok(p) => p,
        Err(panic) => {
            let msg = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown".into());
            Prepared::Finished(
                Outcome::with_reason(
                    &path,
                    State::Failed,
                    format!("internal error while processing: {msg}"),
                ),
                None,
            )
        }
    }
}

fn prepare_inner(stage: &Stage, found: Found) -> Prepared {
    let fail = |state: State, reason: String| {
        Prepared::Finished(Outcome::with_reason(&found.path, state, reason), None)
    };
    // Unchanged files already at the target never get here: see `QuickCheck`.
    let limits = &stage.lp.pipeline.limits;
    let probe = match probe_file(&found.path, limits.max_file_mib) {
        Ok(p) => p,
        Err(e)
            if e.is_skip()
                && (matches!(e, crate::probe::ProbeError::Unsupported(_))
                    || !crate::format::has_media_extension(&found.path)) =>
        {
            return fail(State::Skipped, e.to_string());
        }
        Err(e) => return fail(State::Failed, e.to_string()),
    };
    let file_row = FileRow {
        path: found.path.clone(),
        size: found.size,
        mtime_ns: found.mtime_ns,
        source_md5: probe.md5.clone(),
    };
    let mut was_pending = false;
    if let Some(ledger) = stage.ledger.as_deref() {
        match ledger.lookup(&stage.target_key, &probe.md5) {
            Ok(Some(row)) => {
                was_pending = row.state == Some(OutputState::Pending);
                if let Some(done) = already_there(stage, &found, &probe.md5, row) {
                    return Prepared::Finished(done, Some(file_row));
                }
            }
            Ok(None) => {}
            Err(e) => return fail(State::Failed, e.to_string()),
        }
    }
    if let Some(other) = stage.claims.claim(&probe.md5, &found.path) {
        let mut o = Outcome::with_reason(
            &found.path,
            State::Duplicate,
            format!("same content as {} in this run", other.display()),
        );
        o.source_md5 = Some(probe.md5.clone());
        o.source_bytes = Some(found.size);
        o.duplicate_of = Some(other.display().to_string());
        return Prepared::Finished(o, None);
    }
    if stage.plan {
        let mut o = Outcome::with_reason(&found.path, State::Uploaded, "new");
        o.source_md5 = Some(probe.md5.clone());
        o.source_bytes = Some(found.size);
        o.format = Some(probe.format.name().to_string());
        return Prepared::Finished(o, None);
    }
    match transform::transform(&probe, &stage.settings) {
        Ok(output) => {
            let mut r = ready(stage, found, probe, output);
            r.was_pending = was_pending;
            Prepared::Ready(Box::new(r))
        }
        Err(e) => {
            stage.claims.release([&probe.md5]);
            let mut o = Outcome::with_reason(&found.path, State::Failed, e.to_string());
            o.source_md5 = Some(probe.md5.clone());
            o.format = Some(probe.format.name().to_string());
            Prepared::Finished(o, None)
        }
    }
}

/// The outcome for a file whose content the ledger `row` shows at the target, if it is still there.
fn already_there(stage: &Stage, found: &Found, md5: &str, row: OutputRow) -> Option<Outcome> {
    if row.state == Some(OutputState::Pending) || !(stage.still_there)(&row) {
        return None;
    }
    let mut o = Outcome::with_reason(
        &found.path,
        State::Duplicate,
        match &row.location {
            Some(l) => format!("already at the target: {l}"),
            None => "the host already had it".to_string(),
        },
    );
    o.source_md5 = Some(md5.to_string());
    o.output_md5 = row.output_md5;
    o.output = row.location;
    o.viewer_url = row.viewer_url;
    o.delete_url = row.delete_url;
    Some(o)
}

fn ready(stage: &Stage, found: Found, probe: Probe, output: Output) -> Ready {
    let p = &stage.lp.pipeline;
    let rel_dir = stage
        .roots
        .iter()
        .find_map(|r| found.path.strip_prefix(r).ok())
        .and_then(Path::parent);
    let fields = FileFields {
        probe: &probe,
        out_ext: output.format.extension(),
        rel_dir,
    };
    let title = p.metadata.title.render(&fields).trim().to_string();
    let description = p.metadata.description.render(&fields).trim().to_string();
    let mut tags: Vec<String> = Vec::new();
    for t in &p.metadata.tags {
        for tag in t.render(&fields).split(',') {
            let tag = tag.trim();
            if !tag.is_empty() && !tags.iter().any(|x| x.eq_ignore_ascii_case(tag)) {
                tags.push(tag.to_string());
            }
        }
    }
    let name = p
        .target
        .dir
        .as_ref()
        .map(|d| d.name.render_with(&fields, &clean_name_value))
        .unwrap_or_default();
    let stem = probe
        .path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "image".into());
    let mut warnings = probe.meta.warnings.clone();
    warnings.extend(output.notes.iter().cloned());
    Ready {
        probe_md5: probe.md5.clone(),
        format: probe.format.name(),
        mime: output.format.mime(),
        is_video: output.format.is_video(),
        title,
        description,
        tags,
        date_taken: probe.meta.date_taken.map(|d| d.iso8601()),
        name,
        upload_name: format!("{stem}.{}", output.format.extension()),
        rel_dir: rel_dir.map(Path::to_path_buf),
        was_pending: false,
        output,
        warnings,
        found,
    }
}

/// Commits ledger rows in batches: every `size` rows or every two seconds.
pub struct Batch {
    pub files: Vec<FileRow>,
    pub outputs: Vec<OutputRow>,
    pub md5s: Vec<String>,
    size: usize,
    last: Instant,
}

impl Batch {
    pub fn new(size: usize) -> Batch {
        Batch {
            files: Vec::new(),
            outputs: Vec::new(),
            md5s: Vec::new(),
            size: size.max(1),
            last: Instant::now(),
        }
    }

    pub fn due(&self) -> bool {
        self.files.len() + self.outputs.len() >= self.size
            || self.last.elapsed() >= Duration::from_secs(2)
    }

    pub fn commit(
        &mut self,
        ledger: &mut Ledger,
        claims: &Claims,
        run_id: i64,
    ) -> Result<(), LedgerError> {
        if !self.files.is_empty() || !self.outputs.is_empty() {
            ledger.commit(&self.files, &self.outputs, run_id)?;
        }
        claims.release(self.md5s.iter());
        self.files.clear();
        self.outputs.clear();
        self.md5s.clear();
        self.last = Instant::now();
        Ok(())
    }
}

/// Ends every run the same way: the report line, the summary, the progress.
pub struct Recorder {
    pub summary: Summary,
    pub report: Option<ReportWriter>,
}

impl Recorder {
    pub fn new(report: Option<&Path>) -> Result<Recorder, RunError> {
        let report = match report {
            Some(p) => Some(ReportWriter::create(p).map_err(|source| RunError::Io {
                path: p.to_path_buf(),
                source,
            })?),
            None => None,
        };
        Ok(Recorder {
            summary: Summary::default(),
            report,
        })
    }

    pub fn record(&mut self, o: &Outcome, progress: &mut Progress) -> Result<(), RunError> {
        self.summary.add(o);
        progress.finished(o);
        if let Some(r) = &mut self.report {
            r.write(o).map_err(|source| RunError::Io {
                path: PathBuf::from("report"),
                source,
            })?;
        }
        Ok(())
    }

    pub fn finish(self) -> Result<Summary, RunError> {
        if let Some(r) = self.report {
            r.finish().map_err(|source| RunError::Io {
                path: PathBuf::from("report"),
                source,
            })?;
        }
        Ok(self.summary)
    }
}

/// The number of worker threads: the option, the pipeline, or the cores.
pub fn job_count(lp: &LoadedPipeline, opt: Option<usize>) -> usize {
    opt.or(lp.pipeline.jobs.map(|j| j.0))
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
        .max(1)
}

/// Opens the pipeline's ledger.
pub fn open_ledger(lp: &LoadedPipeline) -> Result<Ledger, RunError> {
    let Some(p) = &lp.pipeline.ledger.path else {
        let path = crate::ledger::default_path();
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|source| RunError::Io {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        return Ok(Ledger::open(&path)?);
    };
    // A mistyped ledger path must not quietly start an empty ledger (and send everything
    // again), so its folder must exist.
    let path = lp.resolve(p.as_str());
    let folder = path
        .parent()
        .filter(|f| !f.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !folder.is_dir() {
        return Err(RunError::Config(lp.error_at(
            lp.ledger_at,
            "ledger.path",
            &format!("folder {} does not exist", folder.display()),
        )));
    }
    Ledger::open(&path).map_err(|e| {
        RunError::Config(lp.error_at(
            lp.ledger_at,
            "ledger.path",
            &format!("cannot use {}: {}", path.display(), e.source),
        ))
    })
}

/// Runs a pipeline whose target is a folder.
pub fn run_dir(lp: &LoadedPipeline, opts: &RunOptions) -> Result<Summary, RunError> {
    let dir = lp
        .pipeline
        .target
        .dir
        .as_ref()
        .ok_or_else(|| RunError::Target("no dir target".into()))?;
    let root = lp.resolve(dir.path.as_str());
    let io_err = |source| RunError::Io {
        path: root.clone(),
        source,
    };
    std::fs::create_dir_all(&root).map_err(io_err)?;
    let root = root.canonicalize().map_err(io_err)?;
    let target_key = format!("dir:{}", root.display());
    let mut ledger = open_ledger(lp)?;
    let reader = ledger.reader()?;
    let mut writer = if opts.dry_run || opts.plan {
        None
    } else {
        Some(DirWriter::open(&root, dir.manifest.as_str()).map_err(io_err)?)
    };
    let run_id = if opts.dry_run || opts.plan {
        0
    } else {
        ledger.begin_run(&lp.file.display().to_string(), &target_key)?
    };
    let claims = Arc::new(Claims::new(opts.dry_run || opts.plan));
    let listing = OutputListing::default();
    let exists = move |row: &OutputRow| {
        row.location
            .as_deref()
            .is_some_and(|l| listing.contains(Path::new(l)))
    };
    let stage = Arc::new(Stage::new(
        lp,
        &target_key,
        reader,
        &claims,
        Arc::new(exists),
        opts.plan,
    ));
    let mut recorder = Recorder::new(opts.report.as_deref())?;
    let mut batch = Batch::new(64);
    let mut progress = Progress::new(opts.verbosity);
    let mut fatal: Option<RunError> = None;
    let jobs = job_count(lp, opts.jobs);
    produce(stage, jobs, |prepared, scanned| {
        progress.found(scanned);
        if let Some(why) = &fatal {
            // The run has stopped; files still coming out of the workers are accounted for.
            let _ = recorder.record(&not_delivered(prepared, why), &mut progress);
            return;
        }
        let result = deliver_dir(prepared, writer.as_mut(), &target_key, &mut batch)
            .and_then(|o| recorder.record(&o, &mut progress))
            .and_then(|()| {
                if batch.due() && !opts.dry_run && !opts.plan {
                    batch.commit(&mut ledger, &claims, run_id)?;
                }
                Ok(())
            });
        if let Err(e) = result {
            HALTED.store(true, Ordering::Relaxed);
            fatal = Some(e);
        }
    });
    progress.finish();
    if !opts.dry_run && !opts.plan {
        batch.commit(&mut ledger, &claims, run_id)?;
        if let Some(w) = writer.as_mut() {
            w.flush().map_err(io_err)?;
        }
    }
    if let Some(e) = fatal {
        return Err(e);
    }
    let mut summary = recorder.finish()?;
    summary.interrupted = interrupted();
    if !opts.dry_run && !opts.plan {
        ledger.finish_run(run_id, &summary.line())?;
    }
    Ok(summary)
}

/// Whether outputs still exist, answered from a listing of their folder: outputs of
/// neighbouring sources share folders, so one listing replaces many `stat` calls on a
/// re-run. Folders too big to list cheaply are asked file by file.
#[derive(Default)]
struct OutputListing {
    last: Mutex<
        Option<(
            PathBuf,
            Option<std::collections::HashSet<std::ffi::OsString>>,
        )>,
    >,
}

/// Above this many entries a folder is not listed.
const LISTING_LIMIT: usize = 4096;

impl OutputListing {
    fn contains(&self, path: &Path) -> bool {
        let (Some(folder), Some(name)) = (path.parent(), path.file_name()) else {
            return false;
        };
        let mut last = lock(&self.last);
        if last.as_ref().is_none_or(|(f, _)| f != folder) {
            let names = std::fs::read_dir(folder).ok().and_then(|entries| {
                let mut names = std::collections::HashSet::new();
                for e in entries.flatten() {
                    if names.len() >= LISTING_LIMIT {
                        return None;
                    }
                    names.insert(e.file_name());
                }
                Some(names)
            });
            *last = Some((folder.to_path_buf(), names));
        }
        match last.as_ref() {
            Some((_, Some(names))) => names.contains(name),
            _ => path.is_file(),
        }
    }
}

/// The outcome of a file that reached the end of the line after the run stopped.
pub fn not_delivered(prepared: Prepared, why: &dyn std::fmt::Display) -> Outcome {
    match prepared {
        Prepared::Finished(o, _) => o,
        Prepared::Ready(r) => {
            let mut o = r.outcome(State::Skipped);
            o.reason = Some(format!("not delivered: the run stopped ({why})"));
            o
        }
    }
}

fn deliver_dir(
    prepared: Prepared,
    writer: Option<&mut DirWriter>,
    target_key: &str,
    batch: &mut Batch,
) -> Result<Outcome, RunError> {
    let ready = match prepared {
        Prepared::Finished(o, file_row) => {
            batch.files.extend(file_row);
            return Ok(o);
        }
        Prepared::Ready(r) => r,
    };
    batch.md5s.push(ready.probe_md5.clone());
    let Some(writer) = writer else {
        let mut o = ready.outcome(State::Written);
        o.reason = Some(format!("dry run: would write {}", ready.name));
        return Ok(o);
    };
    let placed = match writer.place(&ready.name, &ready.output.bytes, &ready.output.md5) {
        Ok(p) => p,
        Err(e) => {
            // A full disk or a read-only folder fails this file, loudly; the next may still fit.
            return Ok(Outcome::with_reason(
                &ready.found.path,
                State::Failed,
                format!("cannot write under {}: {e}", writer.root().display()),
            ));
        }
    };
    let (state, path) = match placed {
        Placed::Written(p) => (State::Written, p),
        Placed::AlreadyThere(p) => (State::Duplicate, p),
    };
    let mut o = ready.outcome(state);
    let location = path.display().to_string();
    o.output = Some(location.clone());
    if state == State::Duplicate {
        o.reason = Some(format!("identical file already at {location}"));
    }
    let source = ready.found.path.display().to_string();
    writer
        .record(&ManifestEntry {
            source: &source,
            output: &location,
            source_md5: &ready.probe_md5,
            output_md5: &ready.output.md5,
            title: &ready.title,
            description: Some(ready.description.as_str()).filter(|d| !d.is_empty()),
            tags: &ready.tags,
            date_taken: ready.date_taken.as_deref(),
            source_bytes: ready.found.size,
            output_bytes: ready.output.bytes.len() as u64,
            width: ready.output.width,
            height: ready.output.height,
        })
        .map_err(|source| RunError::Io {
            path: writer.root().to_path_buf(),
            source,
        })?;
    batch.files.push(ready.file_row());
    batch.outputs.push(OutputRow {
        target: target_key.to_string(),
        source_md5: ready.probe_md5.clone(),
        state: Some(OutputState::Done),
        source_path: source,
        output_md5: Some(ready.output.md5.clone()),
        location: Some(location),
        bytes: Some(ready.output.bytes.len() as u64),
        width: ready.output.width,
        height: ready.output.height,
        title: Some(ready.title.clone()),
        at: crate::ledger::now_iso(),
        ..OutputRow::default()
    });
    Ok(o)
}
