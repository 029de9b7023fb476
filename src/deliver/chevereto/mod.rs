//! The Chevereto target: prepared files go to the host with bounded concurrency
//! while the next ones are decoded.
//!
//! `protocol` is the pure contract (what each answer means), `client` the HTTP
//! transport with retries and pacing, and this file the wiring: one async task
//! owns the recorder. Before a file is sent, a `pending` row is committed; when
//! its answer arrives, the final row is committed at once. So a `kill -9` at any
//! moment loses at most the answers of the uploads in flight, and a re-run knows
//! which files those were and reports them as possibly duplicated.

mod breaker;
mod client;
pub mod protocol;

use std::path::Path;
use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::task::JoinSet;

use super::{DeliverError, Prepared, Ready, Target, Work};
use crate::config::{CheveretoPlan, RunPlan};
use crate::context::RunContext;
use crate::ledger::{FileRow, LedgerReader, OutputRow, OutputState};
use crate::media::md5_hex;
use crate::record::{Outcome, Recorder, State};
use client::{Source, UploadRequest, UploadResult, Uploader};
use protocol::{Answer, dropped_tags};

/// Uploads to one host.
pub struct CheveretoTarget {
    plan: CheveretoPlan,
    key: String,
    /// For URL inputs, which skip the CPU stages (and their ledger lookups).
    reader: Arc<dyn LedgerReader>,
    dry_run: bool,
}

impl CheveretoTarget {
    pub fn open(
        plan: &CheveretoPlan,
        run: &RunPlan,
        reader: Arc<dyn LedgerReader>,
    ) -> Result<CheveretoTarget, DeliverError> {
        Ok(CheveretoTarget {
            key: format!("chevereto:{}", plan.endpoint.as_str()),
            plan: plan.clone(),
            reader,
            dry_run: !run.mode.delivers(),
        })
    }
}

impl Target for CheveretoTarget {
    fn key(&self) -> &str {
        &self.key
    }

    /// The host cannot be asked; what the ledger says holds.
    fn still_there(&self) -> Arc<dyn Fn(&OutputRow) -> bool + Send + Sync> {
        Arc::new(|_: &OutputRow| true)
    }

    fn queue(&self) -> usize {
        self.plan.concurrency
    }

    fn deliver(
        &mut self,
        work: mpsc::Receiver<Work>,
        rec: &mut Recorder,
        ctx: &RunContext,
    ) -> Result<(), DeliverError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(DeliverError::Runtime)?;
        let uploader = Arc::new(Uploader::new(&self.plan, ctx).map_err(DeliverError::Client)?);
        let mut session = Session {
            target: self,
            uploader,
            rec,
            ctx,
            inflight: JoinSet::new(),
            permits: Arc::new(Semaphore::new(self.plan.concurrency)),
        };
        runtime.block_on(session.run(work))
    }
}

/// One thing to send.
enum Flight {
    File(Box<Ready>),
    Url(String),
}

/// A file on its way: what the record needs once the answer is in.
struct InFlight {
    outcome: Outcome,
    source_md5: String,
    output_md5: Option<String>,
    source_path: String,
    title: String,
    file_row: Option<FileRow>,
    was_pending: bool,
}

/// An upload's answer, with the slot it held.
type Done = (InFlight, UploadResult, OwnedSemaphorePermit);

/// The uploads of one run.
struct Session<'a> {
    target: &'a CheveretoTarget,
    uploader: Arc<Uploader>,
    rec: &'a mut Recorder,
    ctx: &'a RunContext,
    /// A permit is held from the `pending` row until the final row is written, so at
    /// most `concurrency` files are ever sent-but-unrecorded.
    permits: Arc<Semaphore>,
    inflight: JoinSet<Done>,
}

impl Session<'_> {
    async fn run(&mut self, mut work: mpsc::Receiver<Work>) -> Result<(), DeliverError> {
        let mut open = true;
        let mut status = tokio::time::interval(std::time::Duration::from_secs(1));
        while open || !self.inflight.is_empty() {
            tokio::select! {
                biased;
                Some(done) = self.inflight.join_next(), if !self.inflight.is_empty() => {
                    self.settle(done?)?;
                }
                item = work.recv(), if open => match item {
                    Some(item) => self.take(item).await?,
                    None => open = false,
                },
                _ = status.tick() => self.show_status(),
            }
            self.rec.tick()?;
        }
        Ok(())
    }

    /// Records a finished file, or starts the upload of a ready one.
    async fn take(&mut self, item: Work) -> Result<(), DeliverError> {
        let flight = match item {
            Work::File(Prepared::Finished(o, row), scanned) => {
                self.rec.found(scanned);
                self.rec.file_row(row);
                return Ok(self.rec.outcome(&o)?);
            }
            Work::File(Prepared::Ready(r), scanned) => {
                self.rec.found(scanned);
                Flight::File(r)
            }
            Work::Url(u) => Flight::Url(u),
        };
        let permit = self.free_slot().await?;
        let Some(sent) = self.start(&flight)? else {
            return Ok(());
        };
        let uploader = Arc::clone(&self.uploader);
        let request = request_for(&self.target.plan, flight);
        self.inflight.spawn(async move {
            let result = uploader.send(&request).await;
            (sent, result, permit)
        });
        Ok(())
    }

    /// Waits for a free slot, recording answers meanwhile (they free slots), and saying
    /// every second what the uploads wait for, if they wait for the host.
    async fn free_slot(&mut self) -> Result<OwnedSemaphorePermit, DeliverError> {
        loop {
            if let Ok(p) = Arc::clone(&self.permits).try_acquire_owned() {
                return Ok(p);
            }
            tokio::select! {
                Some(done) = self.inflight.join_next() => self.settle(done?)?,
                _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => self.show_status(),
            }
        }
    }

    fn show_status(&mut self) {
        if let Some(line) = self.uploader.status() {
            self.rec.status(&line);
        }
    }

    /// Decides whether to send, and records the `pending` row first when it does;
    /// `None` when the file's outcome is already recorded.
    fn start(&mut self, flight: &Flight) -> Result<Option<InFlight>, DeliverError> {
        let mut sent = match flight {
            Flight::File(r) => file_flight(r, self.target.plan.send_metadata),
            Flight::Url(u) => match self.url_flight(u)? {
                Some(f) => f,
                None => return Ok(None),
            },
        };
        if self.ctx.stopping() {
            let why = self
                .ctx
                .fatal()
                .unwrap_or_else(|| "the run was stopped".into());
            sent.outcome.state = State::NotStarted;
            sent.outcome.reason = Some(format!("not sent: {why}"));
            self.rec.outcome(&sent.outcome)?;
            return Ok(None);
        }
        if self.target.dry_run {
            sent.outcome.reason = Some("dry run: not sent".into());
            self.rec.outcome(&sent.outcome)?;
            return Ok(None);
        }
        let mut pending = OutputRow::new(&self.target.key, &sent.source_md5, OutputState::Pending);
        pending.source_path = sent.source_path.clone();
        pending.output_md5 = sent.output_md5.clone();
        pending.title = Some(sent.title.clone());
        if !self.rec.commit_now(&[], &[pending])?.is_empty() {
            // This worker's lease ran out and another worker holds the content now.
            sent.outcome.state = State::Duplicate;
            sent.outcome.reason = Some(
                "not sent: another worker took this content over (this worker's lease ran out)"
                    .into(),
            );
            self.rec.outcome(&sent.outcome)?;
            return Ok(None);
        }
        Ok(Some(sent))
    }

    /// A URL input, unless the ledger shows it sent already (then it is recorded here).
    fn url_flight(&mut self, url: &str) -> Result<Option<InFlight>, DeliverError> {
        let md5 = md5_hex(format!("url:{url}").as_bytes());
        let known = self
            .target
            .reader
            .lookup(&self.target.key, &md5)
            .map_err(crate::record::RecordError::from)?;
        let was_pending = known
            .as_ref()
            .is_some_and(|r| r.state == OutputState::Pending);
        if let Some(row) = known.filter(|r| r.state.delivered()) {
            let mut o = Outcome::with_reason(
                Path::new(url),
                State::AlreadyThere,
                "already sent to this host",
            );
            o.output = row.location;
            self.rec.outcome(&o)?;
            return Ok(None);
        }
        let mut outcome = Outcome::new(Path::new(url), State::Uploaded);
        outcome.source_md5 = Some(md5.clone());
        Ok(Some(InFlight {
            outcome,
            source_md5: md5,
            output_md5: None,
            source_path: url.to_string(),
            title: String::new(),
            file_row: None,
            was_pending,
        }))
    }

    /// Records an answer: the final ledger row (committed at once), and the outcome.
    fn settle(&mut self, (flight, result, permit): Done) -> Result<(), DeliverError> {
        let key = self.target.key.clone();
        let mut o = flight.outcome;
        o.possibly_duplicated = result.possibly_duplicated || flight.was_pending;
        if flight.was_pending {
            o.warnings.push(
                "an earlier run sent this file but its answer was lost: the host may hold it twice"
                    .into(),
            );
        }
        let mut row = OutputRow::new(&key, &flight.source_md5, OutputState::Uploaded);
        row.source_path = flight.source_path;
        row.output_md5 = flight.output_md5.clone();
        row.bytes = o.output_bytes;
        row.width = o.width;
        row.height = o.height;
        row.title = Some(flight.title);
        let keep_pending = match result.answer {
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
                row.location = s.url;
                row.set_answer("viewer_url", s.viewer_url);
                row.set_answer("short_url", s.short_url);
                row.set_answer("delete_url", s.delete_url);
                row.set_answer("id", s.id);
                row.set_answer("md5", s.md5);
                let lost = self.rec.commit_now(flight.file_row.as_slice(), &[row])?;
                taken_over(&mut o, &lost);
                true
            }
            Answer::Duplicate => {
                o.state = State::AlreadyThere;
                o.reason =
                    Some("the host already had these bytes (it returns no URL for them)".into());
                row.state = OutputState::AlreadyThere;
                let lost = self.rec.commit_now(flight.file_row.as_slice(), &[row])?;
                taken_over(&mut o, &lost);
                true
            }
            Answer::Fatal(why) => {
                self.ctx.halt_because(&why);
                o.state = State::Failed;
                o.reason = Some(why);
                o.possibly_duplicated
            }
            Answer::Rejected(why) | Answer::Transient(why) => {
                o.state = State::Failed;
                o.reason = Some(why);
                o.possibly_duplicated
            }
            Answer::RetryAfter(d) => {
                o.state = State::Failed;
                o.reason = Some(format!("the host asked to wait {} s", d.as_secs()));
                o.possibly_duplicated
            }
            // Nothing of this try reached the host; an earlier run's lost answer still
            // stands, so its `pending` row stays for the next run to flag.
            Answer::NotSent(why) => {
                o.state = State::NotStarted;
                o.reason = Some(format!("not sent: {why}"));
                flight.was_pending
            }
        };
        if !keep_pending {
            self.rec.clear_pending(&key, &flight.source_md5)?;
        }
        drop(permit);
        self.rec.release(flight.source_md5);
        Ok(self.rec.outcome(&o)?)
    }
}

/// A delivered file whose row another worker owns now: its lease ran out while it was
/// sent, and the other worker sends the file too. The report keeps this answer.
fn taken_over(o: &mut Outcome, lost: &[crate::ledger::OutputKey]) {
    if !lost.is_empty() {
        o.possibly_duplicated = true;
        o.warnings.push(
            "another worker took this file over while it was sent (this worker's lease ran out): \
             the host may hold it twice, and the ledger keeps the other worker's row"
                .into(),
        );
    }
}

/// The flight of a prepared file, warning of tags the host would drop.
fn file_flight(r: &Ready, send_metadata: bool) -> InFlight {
    let mut outcome = r.outcome(State::Uploaded);
    let dropped = dropped_tags(&r.tags);
    if !dropped.is_empty() && send_metadata {
        outcome.warnings.push(format!(
            "the host will drop these tags (over 32 characters, or with / or #): {}",
            dropped.join(", ")
        ));
    }
    InFlight {
        outcome,
        source_md5: r.source.source_md5.clone(),
        output_md5: Some(r.output.md5.clone()),
        source_path: r.source.path.display().to_string(),
        title: r.title.clone(),
        file_row: Some(r.source.clone()),
        was_pending: r.was_pending,
    }
}

fn request_for(plan: &CheveretoPlan, flight: Flight) -> UploadRequest {
    match flight {
        Flight::Url(u) => UploadRequest {
            source: Source::Url(u),
            title: String::new(),
            description: String::new(),
            tags: Vec::new(),
            album_id: plan.album_id.clone(),
        },
        Flight::File(r) => {
            let album_id = plan.album_for(r.rel_dir.as_deref());
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
