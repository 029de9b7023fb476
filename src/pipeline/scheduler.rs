//! Who runs what: the walk and the quick check each on their own thread, probe and
//! transform on a rayon pool of `jobs` threads, and every result handed, in the
//! order it finishes, to the caller's thread.
//!
//! At most `2 × jobs` files wait for or are in the pool and `2 × jobs` results
//! wait for the caller, so memory is bounded by the files in flight, whatever the
//! size of the archive. A file still in work after `limits.file_seconds` is
//! reported as failed and left behind: its worker is not waited for, so one
//! pathological file cannot hang a run.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, bounded, unbounded};

use super::dedupe::{FolderChange, QuickCheck};
use super::prepare::{Stage, prepare};
use super::scan::{self, Event};
use crate::context::RunContext;
use crate::deliver::Prepared;
use crate::i18n::Localized;
use crate::ledger::{Candidate, FileRow, KnownDir};
use crate::record::{Outcome, State};

/// What the workers and the quick check send to the caller.
#[allow(clippy::large_enum_variant)] // one value per file, through a bounded channel
enum Produced {
    /// The result of the file handed out as number `.0`.
    One(u64, Prepared),
    /// Files found unchanged and already at the target, in a batch, each with the
    /// quick-check row to write when it needs writing.
    Known(Vec<Done>),
}

/// A file's outcome decided without reading it, with its quick-check row if any.
type Done = (Outcome, Option<FileRow>);

/// Files in work, by hand-out number, with when they started.
type Running = Arc<Mutex<HashMap<u64, (PathBuf, Instant)>>>;

/// Counters shared by the threads of one [`produce`].
#[derive(Default)]
struct Counts {
    scanned: AtomicU64,
    /// Files another worker of a shared ledger holds: theirs to read and deliver.
    elsewhere: AtomicU64,
    handed_out: AtomicU64,
    fed_all: AtomicBool,
}

/// Runs scan and the CPU stages, handing the results, in batches where they come
/// in batches, with the count of files scanned so far, to `deliver` on the calling
/// thread. Gives the number of files
/// left to other workers (a shared ledger).
pub fn produce(
    stage: Arc<Stage>,
    ctx: &RunContext,
    mut deliver: impl FnMut(Vec<Prepared>, u64),
) -> u64 {
    let jobs = stage.plan.jobs;
    let (out_tx, out_rx) = bounded::<Produced>(jobs * 2);
    // A slot per file handed to the pool: at most 2 × jobs are queued or in work.
    let (slot_tx, slot_rx) = bounded::<()>(jobs * 2);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .thread_name(|i| format!("pixpipe-worker-{i}"))
        .build()
        .expect("a thread pool");
    let running: Running = Arc::default();
    let counts = Counts::default();
    // Each pool thread takes files from one queue until the feeder is done, rather
    // than a task per file: between small files, an idle rayon worker spins (about
    // nine `sched_yield` per file) before it sleeps; a thread waiting on the queue
    // sleeps at once.
    let (work_tx, work_rx) = bounded::<(u64, scan::Found)>(jobs);
    for _ in 0..jobs {
        let (stage, running, tx, ctx, rx) = (
            Arc::clone(&stage),
            Arc::clone(&running),
            out_tx.clone(),
            ctx.clone(),
            work_rx.clone(),
        );
        pool.spawn(move || work(&stage, &running, &ctx, rx, tx));
    }
    drop(work_rx);
    std::thread::scope(|s| {
        // The walk, the quick check and the workers each run on their own threads, so
        // that a re-run of a big archive is bound by the file system, not by one core.
        let (walk_tx, walk_rx) = bounded::<Vec<Event>>(32);
        // The ledger's answer for each folder is asked as the walk enters it and
        // read by the quick check when it gets there: the asking overlaps the walk.
        // Asks are held back by the walk's own bound; answers wait two at most.
        let (ask_tx, ask_rx) = unbounded::<PathBuf>();
        let (known_tx, known_rx) = bounded::<(PathBuf, KnownDir)>(2);
        let (walk_stage, counts) = (&*stage, &counts);
        s.spawn(move || walk(walk_stage, ctx, counts, walk_tx, ask_tx));
        s.spawn(move || look_up(walk_stage, ask_rx, known_tx));
        let feeder = Feeder {
            stage: Arc::clone(&stage),
            work: work_tx,
            out: out_tx,
            slots: slot_tx,
            counts,
        };
        s.spawn(move || feeder.feed(walk_rx, known_rx));
        collect(&stage, counts, &running, out_rx, slot_rx, &mut deliver);
    });
    counts.elsewhere.load(Ordering::SeqCst)
}

/// Files asked of a shared ledger at once: few enough that workers share out the
/// end of an archive evenly, many enough that asking costs little.
const CLAIM_BATCH: usize = 16;

/// The walk, in batches of 64 events, until it ends or the run stops, each file
/// with its sidecars' stamp; asks `ask` for the ledger's answer each time the walk
/// moves to another folder (see [`QuickCheck`], which reads the answers in turn).
fn walk(
    stage: &Stage,
    ctx: &RunContext,
    counts: &Counts,
    tx: Sender<Vec<Event>>,
    ask: Sender<PathBuf>,
) {
    let mut batch = Vec::with_capacity(64);
    let mut folder = FolderChange::default();
    let mut sidecars_here = false;
    scan::scan(&stage.plan.scan, |mut ev| {
        counts.scanned.fetch_add(1, Ordering::Relaxed);
        if ctx.stopping() {
            return false;
        }
        if let Event::File(found) = &mut ev {
            if let Some(dir) = folder.entered(&found.path) {
                let _ = ask.send(dir.to_path_buf());
                sidecars_here = stage.sidecars.any_in(dir);
            }
            // A photo whose sidecar changed is a changed photo.
            if sidecars_here {
                found.beside = stage.sidecars.stamp(&found.path);
            }
        }
        batch.push(ev);
        batch.len() < 64
            || tx
                .send(std::mem::replace(&mut batch, Vec::with_capacity(64)))
                .is_ok()
    });
    if !batch.is_empty() {
        let _ = tx.send(batch);
    }
}

/// Answers the walk's asks, in order, with what the ledger knows of each folder.
fn look_up(stage: &Stage, asks: Receiver<PathBuf>, answers: Sender<(PathBuf, KnownDir)>) {
    for dir in asks {
        let known = stage
            .ledger
            .known_in_dir(&dir, &stage.target_key)
            .unwrap_or_default();
        if answers.send((dir, known)).is_err() {
            return;
        }
    }
}

/// Takes the walk's events: files already at the target go straight on, in
/// batches (on a re-run of a big archive, a hand-off per file would cost more than
/// the check); the others go to the pool.
struct Feeder<'a> {
    stage: Arc<Stage>,
    /// The pool's queue, each file with its hand-out number.
    work: Sender<(u64, scan::Found)>,
    out: Sender<Produced>,
    slots: Sender<()>,
    counts: &'a Counts,
}

impl Feeder<'_> {
    fn feed(self, walk: Receiver<Vec<Event>>, known: Receiver<(PathBuf, KnownDir)>) {
        let mut quick = QuickCheck::new(&self.stage, known);
        let mut known: Vec<Done> = Vec::new();
        'walk: for events in walk.iter() {
            let mut todo: Vec<scan::Found> = Vec::new();
            for ev in events {
                match ev {
                    Event::File(found) => match quick.check(&found) {
                        Some(done) => known.push(done),
                        None => todo.push(found),
                    },
                    Event::Skipped { path, reason } => {
                        known.push((Outcome::with_reason(&path, State::Skipped, reason), None));
                    }
                    Event::Error { path, reason } => {
                        known.push((Outcome::with_reason(&path, State::Failed, reason), None));
                    }
                }
            }
            for chunk in todo.chunks(CLAIM_BATCH) {
                for found in self.claim(chunk, &mut known) {
                    if !self.flush(&mut known) || self.slots.send(()).is_err() {
                        break 'walk;
                    }
                    self.spawn(found);
                }
            }
            if !self.flush(&mut known) {
                break;
            }
        }
        self.flush(&mut known);
        self.counts.fed_all.store(true, Ordering::SeqCst);
    }

    /// The files of `chunk` that are this worker's to read; another worker's are
    /// counted and left alone. A ledger that cannot answer leaves them not started.
    fn claim(&self, chunk: &[scan::Found], known: &mut Vec<Done>) -> Vec<scan::Found> {
        let files: Vec<Candidate<'_>> = chunk
            .iter()
            .map(|f| Candidate {
                path: &f.path,
                size: f.size,
                mtime_ns: f.mtime_ns,
                beside: &f.beside,
            })
            .collect();
        match self
            .stage
            .ledger
            .claim_paths(&self.stage.target_key, &files)
        {
            Ok(granted) => chunk
                .iter()
                .zip(granted)
                .filter_map(|(f, mine)| {
                    if !mine {
                        self.counts.elsewhere.fetch_add(1, Ordering::Relaxed);
                    }
                    mine.then(|| f.clone())
                })
                .collect(),
            Err(e) => {
                let why = Localized::new("msg-reason-not-read", &[("cause", e.to_string())]);
                for f in chunk {
                    known.push((Outcome::said(&f.path, State::NotStarted, why.clone()), None));
                }
                Vec::new()
            }
        }
    }

    fn flush(&self, known: &mut Vec<Done>) -> bool {
        known.is_empty()
            || self
                .out
                .send(Produced::Known(std::mem::take(known)))
                .is_ok()
    }

    fn spawn(&self, found: scan::Found) {
        let seq = self.counts.handed_out.fetch_add(1, Ordering::SeqCst);
        let _ = self.work.send((seq, found));
    }
}

/// One pool thread: prepares the files of the queue until it closes.
fn work(
    stage: &Stage,
    running: &Running,
    ctx: &RunContext,
    queue: Receiver<(u64, scan::Found)>,
    out: Sender<Produced>,
) {
    for (seq, found) in queue {
        lock(running).insert(seq, (found.path.clone(), Instant::now()));
        let prepared = if ctx.stopping() {
            let why = Localized::new("msg-reason-not-read-stopped", &[]);
            Prepared::Finished(Outcome::said(&found.path, State::NotStarted, why), None)
        } else {
            prepare(stage, found)
        };
        lock(running).remove(&seq);
        let _ = out.send(Produced::One(seq, prepared));
    }
}

/// Hands results to `deliver` until every file handed out is in or left behind.
fn collect(
    stage: &Stage,
    counts: &Counts,
    running: &Running,
    out: Receiver<Produced>,
    slots: Receiver<()>,
    deliver: &mut impl FnMut(Vec<Prepared>, u64),
) {
    let limit = stage.plan.file_time_limit;
    let scanned = || counts.scanned.load(Ordering::Relaxed);
    let mut finished = 0u64;
    let mut abandoned: HashSet<u64> = HashSet::new();
    loop {
        match out.recv_timeout(Duration::from_millis(200)) {
            Ok(Produced::Known(outcomes)) => {
                let files = outcomes
                    .into_iter()
                    .map(|(o, row)| Prepared::Finished(o, row))
                    .collect();
                deliver(files, scanned());
            }
            Ok(Produced::One(seq, p)) => {
                if abandoned.contains(&seq) {
                    continue; // reported already, when it ran out of time
                }
                finished += 1;
                let _ = slots.try_recv();
                deliver(vec![p], scanned());
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
        for (seq, path) in overdue(running, limit, &abandoned) {
            abandoned.insert(seq);
            let _ = slots.try_recv();
            let seconds = limit.as_secs_f64().to_string();
            let why = Localized::new("msg-reason-left-behind", &[("seconds", seconds)]);
            let o = Outcome::said(&path, State::Failed, why);
            deliver(vec![Prepared::Finished(o, None)], scanned());
        }
        let all_in = counts.fed_all.load(Ordering::SeqCst)
            && counts.handed_out.load(Ordering::SeqCst) == finished + abandoned.len() as u64;
        if all_in && out.is_empty() {
            break;
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Files in work for longer than `limit`, not yet reported.
fn overdue(running: &Running, limit: Duration, abandoned: &HashSet<u64>) -> Vec<(u64, PathBuf)> {
    lock(running)
        .iter()
        .filter(|(seq, (_, started))| started.elapsed() > limit && !abandoned.contains(seq))
        .map(|(seq, (path, _))| (*seq, path.clone()))
        .collect()
}
