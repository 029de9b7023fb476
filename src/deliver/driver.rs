//! The delivery driver: one loop for every target. It takes the prepared files in
//! order, starts up to the target's concurrency of deliveries, and writes each one
//! down by one protocol:
//!
//! - a remote target's file gets a `pending` row, committed before it is sent, and
//!   its final row committed the moment its answer comes, so a `kill -9` loses at most
//!   the answers in flight and a re-run knows which files those were;
//! - a local target's rows go in the recorder's batches;
//! - a row refused because another worker of a shared ledger took the file over is
//!   said in the file's outcome;
//! - once the run is stopping (Ctrl-C, a fatal answer, a closed output), files not yet
//!   started are recorded as `not_started`, never silently dropped.
//!
//! Targets answer with typed [`Delivery`]s; the words of each outcome are chosen here,
//! as messages, so a run in Chinese says nothing in English but the host's own words.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::task::JoinSet;

use super::{DeliverError, Delivery, Parcel, Placement, Prepared, Ready, Sent, Target, Work};
use crate::config::RunPlan;
use crate::context::RunContext;
use crate::i18n::{Localized, Messages};
use crate::ledger::{FileRow, LedgerReader, OutputKey, OutputRow, OutputState};
use crate::media::md5_hex;
use crate::record::{Outcome, Recorder, State};

/// Delivers everything that comes through `work` to `target`, handing each result to
/// `rec`; returns once `work` is closed and every delivery is settled.
pub fn deliver(
    target: Arc<dyn Target>,
    plan: &RunPlan,
    reader: Arc<dyn LedgerReader>,
    work: mpsc::Receiver<Work>,
    rec: &mut Recorder,
    ctx: &RunContext,
) -> Result<(), DeliverError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(DeliverError::Runtime)?;
    let mut driver = Driver {
        permits: Arc::new(Semaphore::new(target.under_way().max(1))),
        target,
        reader,
        rec,
        ctx,
        words: Messages::new(plan.lang),
        dry_run: !plan.mode.delivers(),
        inflight: JoinSet::new(),
    };
    let looped = runtime.block_on(driver.run(work));
    // The target keeps what it wrote whole (a manifest) even when the run stopped early;
    // the error that stopped it says more than one about the manifest.
    let finished = driver.target.finish();
    looped.and(finished)
}

/// A delivery under way: what the record needs once it is settled.
struct Flight {
    outcome: Outcome,
    source_md5: String,
    output_md5: Option<String>,
    source_path: String,
    title: String,
    /// The name a target that names its outputs gives the file (a dry run says it).
    name: Option<String>,
    file_row: Option<FileRow>,
    was_pending: bool,
}

/// A settled delivery, with the slot it held.
type Done = (Flight, Sent, OwnedSemaphorePermit);

struct Driver<'a> {
    target: Arc<dyn Target>,
    /// For URL inputs, which skip the CPU stages (and their ledger lookups).
    reader: Arc<dyn LedgerReader>,
    rec: &'a mut Recorder,
    ctx: &'a RunContext,
    words: Messages,
    dry_run: bool,
    /// A permit is held from the `pending` row until the final row is written: at
    /// most `under_way` files are started and unrecorded. Of those, at most
    /// `concurrency` hold an upload slot (the pacer's), from their try until their
    /// answer is recorded: a kill repeats no more answered files than that.
    permits: Arc<Semaphore>,
    inflight: JoinSet<Done>,
}

impl Driver<'_> {
    async fn run(&mut self, mut work: mpsc::Receiver<Work>) -> Result<(), DeliverError> {
        let mut open = true;
        let mut status = tokio::time::interval(Duration::from_secs(1));
        while open || !self.inflight.is_empty() {
            tokio::select! {
                biased;
                Some(done) = self.inflight.join_next(), if !self.inflight.is_empty() => {
                    self.settle(done?)?;
                }
                item = work.recv(), if open => match item {
                    Some(Work::Files(files, scanned)) => {
                        self.rec.found(scanned);
                        for p in files {
                            self.take(p).await?;
                        }
                    }
                    Some(Work::Url(u)) => self.send(Parcel::Url(u)).await?,
                    None => open = false,
                },
                _ = status.tick() => self.show_status(),
            }
            if self.rec.due() {
                // Outputs are made durable before the rows that name them commit.
                self.target.sync()?;
                self.rec.commit()?;
            }
        }
        Ok(())
    }

    /// Records a finished file, or starts the delivery of a ready one.
    async fn take(&mut self, item: Prepared) -> Result<(), DeliverError> {
        match item {
            Prepared::Finished(o, row) => {
                self.follow_move(&o, row.is_some());
                self.rec.file_row(row);
                Ok(self.rec.outcome(&o)?)
            }
            Prepared::Ready(r) => self.send(Parcel::File(r)).await,
        }
    }

    /// Starts the delivery of a parcel, once a slot is free.
    async fn send(&mut self, parcel: Parcel) -> Result<(), DeliverError> {
        let Some(flight) = self.flight(&parcel)? else {
            return Ok(());
        };
        let permit = self.free_slot().await?;
        let Some(flight) = self.start(flight)? else {
            return Ok(());
        };
        if !self.target.remote() {
            // A local target writes at once: delivered here, without a task and the
            // wake-ups between threads that a task costs per file.
            let sent = self.target.deliver(&parcel, self.ctx).await;
            return self.settle((flight, sent, permit));
        }
        let (target, ctx) = (Arc::clone(&self.target), self.ctx.clone());
        self.inflight.spawn(async move {
            let sent = target.deliver(&parcel, &ctx).await;
            (flight, sent, permit)
        });
        Ok(())
    }

    /// A file read again and found delivered under another path: the target follows it.
    fn follow_move(&self, o: &Outcome, read: bool) {
        if let (true, State::AlreadyThere, Some(location)) = (read, o.state, &o.output) {
            self.target.source_moved(location, Path::new(&o.path));
        }
    }

    /// Waits for a free slot, recording deliveries meanwhile (they free slots), and
    /// saying every second what the target waits for, if it waits.
    async fn free_slot(&mut self) -> Result<OwnedSemaphorePermit, DeliverError> {
        loop {
            // Answers already in are recorded first, even when a slot is free: a
            // batch of files may start several deliveries in a row, and an answer
            // left unrecorded meanwhile is one a kill would send again.
            while let Some(done) = self.inflight.try_join_next() {
                self.settle(done?)?;
            }
            if let Ok(p) = Arc::clone(&self.permits).try_acquire_owned() {
                return Ok(p);
            }
            tokio::select! {
                Some(done) = self.inflight.join_next() => self.settle(done?)?,
                _ = tokio::time::sleep(Duration::from_secs(1)) => self.show_status(),
            }
        }
    }

    fn show_status(&mut self) {
        if let Some(line) = self.target.status() {
            self.rec.status(&self.words.render(&line));
        }
    }

    /// What the record needs of a parcel; `None` when its story is told already (a URL
    /// the ledger shows delivered, or a target that takes no URLs).
    fn flight(&mut self, parcel: &Parcel) -> Result<Option<Flight>, DeliverError> {
        match parcel {
            Parcel::File(r) => Ok(Some(file_flight(r, self.target.remote()))),
            Parcel::Url(u) => self.url_flight(u),
        }
    }

    /// A URL input, unless the ledger shows it sent already (then it is recorded here).
    fn url_flight(&mut self, url: &str) -> Result<Option<Flight>, DeliverError> {
        let path = Path::new(url);
        if !self.target.takes_urls() {
            let o = Outcome::said(path, State::Skipped, msg("msg-reason-no-urls", &[]));
            self.rec.outcome(&o)?;
            return Ok(None);
        }
        let md5 = md5_hex(format!("url:{url}").as_bytes());
        let known = self
            .reader
            .lookup(self.target.key(), &md5)
            .map_err(crate::record::RecordError::from)?;
        let was_pending = known
            .as_ref()
            .is_some_and(|r| r.state == OutputState::Pending);
        if let Some(row) = known.filter(|r| r.state.delivered()) {
            let mut o = Outcome::said(path, State::AlreadyThere, msg("msg-reason-url-sent", &[]));
            o.output = row.location;
            self.rec.outcome(&o)?;
            return Ok(None);
        }
        let mut outcome = Outcome::new(path, delivered(self.target.remote()).0);
        outcome.source_md5 = Some(md5.clone());
        Ok(Some(Flight {
            outcome,
            source_md5: md5,
            output_md5: None,
            source_path: url.to_string(),
            title: String::new(),
            name: None,
            file_row: None,
            was_pending,
        }))
    }

    /// Decides whether to deliver, and commits the `pending` row first for a remote
    /// target; `None` when the file's outcome is already recorded.
    fn start(&mut self, mut flight: Flight) -> Result<Option<Flight>, DeliverError> {
        if self.ctx.stopping() {
            let why = self.stop_reason();
            flight.outcome.state = State::NotStarted;
            let why = msg("msg-reason-not-sent", &[]).with("why", why);
            self.say(&mut flight.outcome, why);
            self.end(flight)?;
            return Ok(None);
        }
        if self.dry_run {
            let why = match &flight.name {
                Some(name) => msg("msg-reason-dry-run-write", &[("name", name.clone())]),
                None => msg("msg-reason-dry-run-send", &[]),
            };
            self.say(&mut flight.outcome, why);
            self.end(flight)?;
            return Ok(None);
        }
        if !self.target.remote() {
            return Ok(Some(flight));
        }
        let mut pending =
            OutputRow::new(self.target.key(), &flight.source_md5, OutputState::Pending);
        pending.source_path = flight.source_path.clone();
        pending.output_md5 = flight.output_md5.clone();
        pending.title = Some(flight.title.clone());
        if !self.rec.commit_now(&[], &[pending])?.is_empty() {
            // This worker's lease ran out and another worker holds the content now.
            flight.outcome.state = State::Duplicate;
            self.say(
                &mut flight.outcome,
                msg("msg-reason-taken-over-before", &[]),
            );
            self.end(flight)?;
            return Ok(None);
        }
        Ok(Some(flight))
    }

    /// Why files are no longer started: the fatal answer, or the stop.
    fn stop_reason(&self) -> Localized {
        self.ctx
            .fatal()
            .unwrap_or_else(|| msg("msg-run-stopped", &[]))
    }

    /// Records a flight that ends before it is delivered: its claim goes, its outcome is said.
    fn end(&mut self, flight: Flight) -> Result<(), DeliverError> {
        self.rec.release(flight.source_md5);
        Ok(self.rec.outcome(&flight.outcome)?)
    }

    /// Sets an outcome's reason as a message (English in the report).
    fn say(&self, o: &mut Outcome, why: Localized) {
        o.reason = Some(why.english());
        o.why = Some(why);
    }

    /// Records a settled delivery: its rows (committed at once for a remote target),
    /// and its outcome.
    fn settle(&mut self, (flight, sent, permit): Done) -> Result<(), DeliverError> {
        let remote = self.target.remote();
        let mut o = flight.outcome;
        o.possibly_duplicated = sent.possibly_duplicated || flight.was_pending;
        if flight.was_pending {
            o.warnings.push(msg("msg-warn-answer-lost", &[]).english());
        }
        o.warnings
            .extend(sent.warnings.iter().map(Localized::english));
        let mut base = OutputRow::new(self.target.key(), &flight.source_md5, OutputState::Pending);
        base.source_path = flight.source_path.clone();
        base.output_md5 = flight.output_md5.clone();
        base.bytes = o.output_bytes;
        base.width = o.width;
        base.height = o.height;
        base.title = Some(flight.title.clone());
        let row = |state| OutputRow {
            state,
            ..base.clone()
        };
        let keep_pending = match sent.delivery {
            Delivery::Delivered(place) => {
                o.state = delivered(remote).0;
                check_md5(&mut o, &place, flight.output_md5.as_deref());
                let row = placed_row(row(delivered(remote).1), &place);
                show_place(&mut o, place);
                self.record(&mut o, flight.file_row, row)?;
                true
            }
            Delivery::AlreadyThere(place, why) => {
                o.state = State::AlreadyThere;
                o.thumbnail = None;
                self.say(&mut o, why);
                let row = match place {
                    Some(place) => {
                        let row = placed_row(row(delivered(remote).1), &place);
                        show_place(&mut o, place);
                        row
                    }
                    None => row(OutputState::AlreadyThere),
                };
                self.record(&mut o, flight.file_row, row)?;
                true
            }
            Delivery::Fatal(why) => {
                self.ctx.halt_because(&why);
                self.fail(&mut o, State::Failed, why);
                o.possibly_duplicated
            }
            Delivery::Failed(why) => {
                self.fail(&mut o, State::Failed, why);
                o.possibly_duplicated
            }
            // Nothing of this try reached the target; an earlier run's lost answer still
            // stands, so its `pending` row stays for the next run to flag.
            Delivery::NotSent(why) => {
                let why = msg("msg-reason-not-sent", &[]).with("why", why);
                self.fail(&mut o, State::NotStarted, why);
                flight.was_pending
            }
        };
        if remote && !keep_pending {
            self.rec
                .clear_pending(self.target.key(), &flight.source_md5)?;
        }
        // The answer is recorded: its upload slot and its place under way go.
        drop(sent.slot);
        drop(permit);
        self.rec.release(flight.source_md5);
        Ok(self.rec.outcome(&o)?)
    }

    fn fail(&self, o: &mut Outcome, state: State, why: Localized) {
        o.state = state;
        o.thumbnail = None;
        self.say(o, why);
    }

    /// Writes a delivered file's rows: at once for a remote target (and says so when
    /// another worker owns the row now), in the next batch for a local one.
    fn record(
        &mut self,
        o: &mut Outcome,
        file_row: Option<FileRow>,
        row: OutputRow,
    ) -> Result<(), DeliverError> {
        if self.target.remote() {
            let lost = self.rec.commit_now(file_row.as_slice(), &[row])?;
            taken_over(o, &lost);
        } else {
            self.rec.file_row(file_row);
            self.rec.output_row(row);
        }
        Ok(())
    }
}

fn msg(id: &'static str, args: &[(&'static str, String)]) -> Localized {
    Localized::new(id, args)
}

/// How a delivered file is called: in the report and in the ledger. Outputs that
/// leave the machine are uploaded, the others written.
fn delivered(remote: bool) -> (State, OutputState) {
    if remote {
        (State::Uploaded, OutputState::Uploaded)
    } else {
        (State::Written, OutputState::Written)
    }
}

/// The flight of a prepared file.
fn file_flight(r: &Ready, remote: bool) -> Flight {
    Flight {
        outcome: r.outcome(delivered(remote).0),
        source_md5: r.source.source_md5.clone(),
        output_md5: Some(r.output.md5.clone()),
        source_path: r.source.path.display().to_string(),
        title: r.title.clone(),
        name: r.name.clone(),
        file_row: Some(r.source.clone()),
        was_pending: r.was_pending,
    }
}

/// The ledger row of a placed output: its location and the target's answer.
fn placed_row(mut row: OutputRow, place: &Placement) -> OutputRow {
    row.location = place.location.clone();
    row.answer = place.answer.clone();
    row
}

/// What the report and the page show of a placed output.
fn show_place(o: &mut Outcome, place: Placement) {
    o.viewer_url = place.answer("viewer_url").map(str::to_string);
    o.delete_url = place.answer("delete_url").map(str::to_string);
    o.output = place.location.or_else(|| o.viewer_url.clone());
}

/// A target that says the md5 of what it stored: it must be the md5 of what was sent.
fn check_md5(o: &mut Outcome, place: &Placement, sent: Option<&str>) {
    if let (Some(stored), Some(sent)) = (place.answer("md5"), sent)
        && stored != sent
    {
        let args = [("stored", stored.to_string()), ("sent", sent.to_string())];
        o.warnings
            .push(msg("msg-warn-other-bytes", &args).english());
    }
}

/// A delivered file whose row another worker owns now: its lease ran out while it was
/// delivered, and the other worker delivers the file too. The report keeps this answer.
fn taken_over(o: &mut Outcome, lost: &[OutputKey]) {
    if !lost.is_empty() {
        o.possibly_duplicated = true;
        o.warnings
            .push(msg("msg-warn-taken-over-while-sent", &[]).english());
    }
}
