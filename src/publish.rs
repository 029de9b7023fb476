//! The upload stage wired into the engine: files prepared by the CPU stages
//! go to the host with bounded concurrency while the next ones are decoded.
//!
//! One async task owns the ledger and the report. Before a file is sent, a
//! `pending` row is committed; when its answer arrives, the final row is
//! committed at once. So a `kill -9` at any moment loses at most the answers
//! of the uploads in flight, and a re-run knows which files those were and
//! reports them as possibly duplicated.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;

use crate::config::{CheveretoTarget, LoadedPipeline};
use crate::engine::{
    self, Batch, Claims, HALTED, Prepared, Ready, Recorder, RunError, RunOptions, Stage, job_count,
    open_ledger, produce,
};
use crate::ledger::{Ledger, OutputRow, OutputState};
use crate::probe::md5_hex;
use crate::progress::Progress;
use crate::report::{Outcome, State, Summary};
use crate::target::chevereto::{Answer, dropped_tags};
use crate::upload::{Source, UploadRequest, UploadResult, Uploader};

/// What the producing thread hands to the upload task.
// One value per file through a bounded channel; boxing would only add an allocation.
#[allow(clippy::large_enum_variant)]
enum Work {
    Prepared(Prepared, u64),
    Url(String),
}

/// A file on its way: what the record needs once the answer is in.
struct InFlight {
    outcome: Outcome,
    source_md5: String,
    output_md5: Option<String>,
    source_path: String,
    title: String,
    file_row: Option<crate::ledger::FileRow>,
    was_pending: bool,
}

/// Runs a pipeline whose target is a Chevereto host.
pub fn run_chevereto(lp: &LoadedPipeline, opts: &RunOptions) -> Result<Summary, RunError> {
    let target = lp
        .pipeline
        .target
        .chevereto
        .as_ref()
        .ok_or_else(|| RunError::Target("no chevereto target".into()))?;
    let uploader = Arc::new(Uploader::new(target, &lp.pipeline.upload).map_err(RunError::Target)?);
    let target_key = format!("chevereto:{}", uploader.endpoint());
    let ledger = open_ledger(lp)?;
    let reader = ledger.reader()?;
    let claims = Arc::new(Claims::new(opts.dry_run || opts.plan));
    let always = |_: &OutputRow| true;
    let stage = Arc::new(Stage::new(
        lp,
        &target_key,
        reader,
        &claims,
        Arc::new(always),
        opts.plan,
    ));
    let concurrency = usize::from(lp.pipeline.upload.concurrency.max(1));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| RunError::Target(format!("cannot start the upload runtime: {e}")))?;
    let (tx, rx) = mpsc::channel::<Work>(concurrency);
    let ctx = UploadContext {
        uploader: Arc::clone(&uploader),
        reader: ledger.reader()?,
        target: target.clone(),
        target_key,
        dry_run: opts.dry_run || opts.plan,
        concurrency,
        batch_size: usize::from(lp.pipeline.upload.batch_size.max(1)),
    };
    let recorder = Recorder::new(opts.report.as_deref())?;
    let progress = Progress::new(opts.verbosity);
    let dry_run = opts.dry_run || opts.plan;
    let run_id = if dry_run {
        0
    } else {
        ledger.begin_run(&lp.file.display().to_string(), &ctx.target_key)?
    };
    let result = std::thread::scope(|s| {
        let consumer = s.spawn(|| {
            runtime.block_on(consume(
                ctx, rx, ledger, recorder, progress, &claims, run_id,
            ))
        });
        for url in &lp.pipeline.input.urls {
            if tx
                .blocking_send(Work::Url(url.as_str().to_string()))
                .is_err()
            {
                break;
            }
        }
        produce(stage, job_count(lp, opts.jobs), |p, scanned| {
            let _ = tx.blocking_send(Work::Prepared(p, scanned));
        });
        drop(tx);
        consumer
            .join()
            .unwrap_or_else(|_| Err(RunError::Target("the upload task panicked".into())))
    });
    let mut summary = result?;
    summary.interrupted = engine::interrupted();
    summary.fatal = uploader.fatal();
    Ok(summary)
}

/// The settings the upload task needs.
struct UploadContext {
    uploader: Arc<Uploader>,
    /// For looking up URL inputs, which skip the CPU stages (and their ledger lookups).
    reader: crate::ledger::LedgerReader,
    target: CheveretoTarget,
    target_key: String,
    dry_run: bool,
    concurrency: usize,
    batch_size: usize,
}

async fn consume(
    ctx: UploadContext,
    mut rx: mpsc::Receiver<Work>,
    mut ledger: Ledger,
    mut recorder: Recorder,
    mut progress: Progress,
    claims: &Claims,
    run_id: i64,
) -> Result<Summary, RunError> {
    let permits = Arc::new(Semaphore::new(ctx.concurrency));
    // A permit is held from the `pending` row until the final row is written, so at most
    // `concurrency` files are ever sent-but-unrecorded.
    let mut inflight: JoinSet<(InFlight, UploadResult, tokio::sync::OwnedSemaphorePermit)> =
        JoinSet::new();
    let mut batch = Batch::new(ctx.batch_size);
    let mut open = true;
    while open || !inflight.is_empty() {
        tokio::select! {
            biased;
            Some(done) = inflight.join_next(), if !inflight.is_empty() => {
                let (flight, result, permit) =
                    done.map_err(|e| RunError::Target(format!("an upload task failed: {e}")))?;
                let o = settle(&ctx, &mut ledger, &mut batch, flight, result, run_id)?;
                drop(permit);
                recorder.record(&o, &mut progress)?;
            }
            work = rx.recv(), if open => {
                let Some(work) = work else {
                    open = false;
                    continue;
                };
                let ready = match work {
                    Work::Prepared(Prepared::Finished(o, row), scanned) => {
                        progress.found(scanned);
                        batch.files.extend(row);
                        recorder.record(&o, &mut progress)?;
                        continue;
                    }
                    Work::Prepared(Prepared::Ready(r), scanned) => {
                        progress.found(scanned);
                        Flight::File(r)
                    }
                    Work::Url(u) => Flight::Url(u),
                };
                let permit = loop {
                    // Wait for a free slot, recording answers meanwhile (they free slots).
                    if let Ok(p) = Arc::clone(&permits).try_acquire_owned() {
                        break p;
                    }
                    if let Some(done) = inflight.join_next().await {
                        let (flight, result, permit) =
                            done.map_err(|e| RunError::Target(format!("an upload task failed: {e}")))?;
                        let o = settle(&ctx, &mut ledger, &mut batch, flight, result, run_id)?;
                        drop(permit);
                        recorder.record(&o, &mut progress)?;
                    }
                };
                let flight = match start(&ctx, &mut ledger, &ready, run_id)? {
                    Started::Send(f) => f,
                    Started::Done(o) => {
                        drop(permit);
                        recorder.record(&o, &mut progress)?;
                        continue;
                    }
                };
                let uploader = Arc::clone(&ctx.uploader);
                let request = request_for(&ctx, ready);
                inflight.spawn(async move {
                    let result = uploader.send(&request).await;
                    (flight, result, permit)
                });
            }
        }
        if batch.due() && !ctx.dry_run {
            batch.commit(&mut ledger, claims, run_id)?;
        }
    }
    if !ctx.dry_run {
        batch.commit(&mut ledger, claims, run_id)?;
    }
    progress.finish();
    let summary = recorder.finish()?;
    if !ctx.dry_run {
        ledger.finish_run(run_id, &summary.line())?;
    }
    Ok(summary)
}

/// One thing to send.
enum Flight {
    File(Box<Ready>),
    Url(String),
}

enum Started {
    Send(InFlight),
    Done(Outcome),
}

/// Decides whether to send, and records the `pending` row first when it does.
fn start(
    ctx: &UploadContext,
    ledger: &mut Ledger,
    flight: &Flight,
    run_id: i64,
) -> Result<Started, RunError> {
    let (mut outcome, source_md5, output_md5, source_path, title, file_row, was_pending) =
        match flight {
            Flight::File(r) => (
                r.outcome(State::Uploaded),
                r.probe_md5.clone(),
                Some(r.output.md5.clone()),
                r.found.path.display().to_string(),
                r.title.clone(),
                Some(r.file_row()),
                r.was_pending,
            ),
            Flight::Url(u) => {
                let md5 = md5_hex(format!("url:{u}").as_bytes());
                let existing = ctx.reader.lookup(&ctx.target_key, &md5)?;
                if let Some(row) = existing.filter(|r| r.state != Some(OutputState::Pending)) {
                    let mut o = Outcome::with_reason(
                        Path::new(u),
                        State::Duplicate,
                        "already sent to this host",
                    );
                    o.output = row.location;
                    return Ok(Started::Done(o));
                }
                (
                    Outcome::new(Path::new(u), State::Uploaded),
                    md5,
                    None,
                    u.clone(),
                    String::new(),
                    None,
                    false,
                )
            }
        };
    if let Flight::File(r) = flight {
        let dropped = dropped_tags(&r.tags);
        if !dropped.is_empty() && ctx.target.send_metadata {
            outcome.warnings.push(format!(
                "the host will drop these tags (over 32 characters, or with / or #): {}",
                dropped.join(", ")
            ));
        }
    }
    if ctx.uploader.fatal().is_some() || engine::stopping() {
        let why = ctx
            .uploader
            .fatal()
            .unwrap_or_else(|| "the run was stopped".into());
        let mut o = outcome;
        o.state = State::Skipped;
        o.reason = Some(format!("not sent: {why}"));
        return Ok(Started::Done(o));
    }
    if ctx.dry_run {
        outcome.reason = Some("dry run: not sent".into());
        return Ok(Started::Done(outcome));
    }
    let pending = OutputRow {
        target: ctx.target_key.clone(),
        source_md5: source_md5.clone(),
        state: Some(OutputState::Pending),
        source_path: source_path.clone(),
        output_md5: output_md5.clone(),
        title: Some(title.clone()),
        at: crate::ledger::now_iso(),
        ..OutputRow::default()
    };
    ledger.commit(&[], &[pending], run_id)?;
    Ok(Started::Send(InFlight {
        outcome,
        source_md5,
        output_md5,
        source_path,
        title,
        file_row,
        was_pending,
    }))
}

fn request_for(ctx: &UploadContext, flight: Flight) -> UploadRequest {
    match flight {
        Flight::Url(u) => UploadRequest {
            source: Source::Url(u),
            title: String::new(),
            description: String::new(),
            tags: Vec::new(),
            album_id: ctx.target.album_id.as_ref().map(|a| a.0.clone()),
        },
        Flight::File(r) => {
            let album_id = album_for(&ctx.target, r.rel_dir.as_deref());
            let r = *r;
            UploadRequest {
                source: Source::File {
                    bytes: r.output.bytes,
                    name: r.upload_name,
                    mime: r.mime.to_string(),
                },
                title: r.title,
                description: r.description,
                tags: r.tags,
                album_id,
            }
        }
    }
}

/// The album for a file: the longest mapped folder that holds it, else the fixed album.
pub fn album_for(target: &CheveretoTarget, rel_dir: Option<&Path>) -> Option<String> {
    let rel = rel_dir.unwrap_or(Path::new(""));
    target
        .albums
        .iter()
        .filter(|(folder, _)| rel.starts_with(Path::new(folder.as_str())))
        .max_by_key(|(folder, _)| Path::new(folder.as_str()).components().count())
        .map(|(_, id)| id.0.clone())
        .or_else(|| target.album_id.as_ref().map(|a| a.0.clone()))
}

/// Records the answer: the final ledger row (committed at once), and the outcome.
fn settle(
    ctx: &UploadContext,
    ledger: &mut Ledger,
    batch: &mut Batch,
    flight: InFlight,
    result: UploadResult,
    run_id: i64,
) -> Result<Outcome, RunError> {
    let mut o = flight.outcome;
    o.possibly_duplicated = result.possibly_duplicated || flight.was_pending;
    if flight.was_pending {
        o.warnings.push(
            "an earlier run sent this file but its answer was lost: the host may hold it twice"
                .into(),
        );
    }
    let mut row = OutputRow {
        target: ctx.target_key.clone(),
        source_md5: flight.source_md5.clone(),
        source_path: flight.source_path,
        output_md5: flight.output_md5.clone(),
        bytes: o.output_bytes,
        width: o.width,
        height: o.height,
        title: Some(flight.title),
        at: crate::ledger::now_iso(),
        ..OutputRow::default()
    };
    match result.answer {
        Answer::Stored(s) => {
            if let (Some(host), Some(ours)) = (&s.md5, &flight.output_md5)
                && host != ours
            {
                o.warnings.push(format!(
                    "the host stored different bytes (md5 {host}, sent {ours})"
                ));
            }
            o.state = State::Uploaded;
            o.output = s.url.clone().or_else(|| s.viewer_url.clone());
            o.viewer_url = s.viewer_url.clone();
            o.delete_url = s.delete_url.clone();
            row.state = Some(OutputState::Done);
            row.location = s.url;
            row.viewer_url = s.viewer_url;
            row.short_url = s.short_url;
            row.delete_url = s.delete_url;
            row.remote_id = s.id;
            row.remote_md5 = s.md5;
            ledger.commit(flight.file_row.as_slice(), &[row], run_id)?;
        }
        Answer::Duplicate => {
            o.state = State::Duplicate;
            o.reason = Some("the host already had these bytes (it returns no URL for them)".into());
            row.state = Some(OutputState::HostDuplicate);
            ledger.commit(flight.file_row.as_slice(), &[row], run_id)?;
        }
        Answer::Fatal(why) => {
            HALTED.store(true, Ordering::Relaxed);
            o.state = State::Failed;
            o.reason = Some(why);
            if !o.possibly_duplicated {
                ledger.clear_pending(&ctx.target_key, &flight.source_md5)?;
            }
        }
        Answer::Rejected(why) | Answer::Transient(why) => {
            o.state = State::Failed;
            o.reason = Some(why);
            if !o.possibly_duplicated {
                ledger.clear_pending(&ctx.target_key, &flight.source_md5)?;
            }
        }
        Answer::RetryAfter(d) => {
            o.state = State::Failed;
            o.reason = Some(format!("the host asked to wait {} s", d.as_secs()));
            ledger.clear_pending(&ctx.target_key, &flight.source_md5)?;
        }
    }
    batch.md5s.push(flight.source_md5);
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn album_by_longest_folder_then_fixed() {
        let yaml = "url: https://h.invalid\napi_key: k\nalbum_id: fixed\nalbums:\n  \"2019\": a\n  \"2019/summer\": b\n";
        let t: CheveretoTarget = serde_saphyr::from_str(yaml).unwrap();
        assert_eq!(
            album_for(&t, Some(Path::new("2019/summer/day1"))).as_deref(),
            Some("b")
        );
        assert_eq!(
            album_for(&t, Some(Path::new("2019/winter"))).as_deref(),
            Some("a")
        );
        assert_eq!(
            album_for(&t, Some(Path::new("2020"))).as_deref(),
            Some("fixed")
        );
        assert_eq!(album_for(&t, None).as_deref(), Some("fixed"));
    }
}
