//! The run sequence, once for every target:
//!
//! ```text
//! scan ──▶ probe ──▶ dedupe ──▶ transform ──▶ deliver ──▶ record
//! scan.rs  prepare.rs dedupe.rs  (transform/)  (deliver/)  (record/)
//! ```
//!
//! Owns: the order of a run (open the ledger and the target, start the run row,
//! produce, deliver, finish) and the CPU stages' scheduling (`scheduler`).
//! Must not: know which target or ledger backend it drives; both come through
//! their interfaces, chosen by the plan.

mod dedupe;
mod fields;
mod pairs;
mod prepare;
pub mod scan;
mod scheduler;

use std::sync::Arc;

use tokio::sync::mpsc;

use crate::config::{ConfigError, RunPlan};
use crate::context::RunContext;
use crate::deliver::{self, DeliverError, Target, Work};
use crate::i18n::Messages;
use crate::ledger::{self, Claims, Ledger, LedgerError};
use crate::record::{
    HtmlPage, OutcomeSink, Progress, RecordError, Recorder, ReportWriter, Summary,
};

/// Why a run could not go on at all (as opposed to one file failing).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A value of the pipeline file that turned out unusable (exit code 2).
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Record(#[from] RecordError),
    #[error(transparent)]
    Deliver(#[from] DeliverError),
    #[error("internal error: the delivery thread panicked")]
    Panicked,
}

impl RunError {
    /// Whether the run stopped because the reader of a report on stdout went away
    /// (`--report - | head`): the end of the run, not a failure to tell about.
    pub fn stdout_closed(&self) -> bool {
        let sink = match self {
            RunError::Record(RecordError::Sink(s))
            | RunError::Deliver(DeliverError::Record(RecordError::Sink(s))) => s,
            _ => return false,
        };
        sink.source.kind() == std::io::ErrorKind::BrokenPipe && sink.to_stdout()
    }
}

/// Runs a plan to its target.
pub fn run(plan: &RunPlan, ctx: &RunContext) -> Result<Summary, RunError> {
    let mut ledger = open_ledger(plan)?;
    let reader = ledger.reader()?;
    let target = deliver::open(plan, ctx)?;
    // Without a ledger to take over once rows are in, claims are kept for the whole run.
    let claims = Arc::new(Claims::new(!plan.mode.delivers() || !plan.ledger.enabled));
    let stage = Arc::new(prepare::Stage::new(
        plan,
        target.as_ref(),
        Arc::clone(&reader),
        &claims,
    ));
    let run = match plan.mode.delivers() && plan.ledger.enabled {
        true => Some(ledger.begin_run(&plan.source.display().to_string(), target.key())?),
        false => None,
    };
    let sinks = sinks(plan, target.as_ref(), ctx)?;
    let mut rec = Recorder::new(ledger, target.key(), run, claims, plan.batch_size, sinks);
    rec.set_dry_run(!plan.mode.delivers());
    let (tx, rx) = mpsc::channel::<Work>(target.concurrency().max(1));
    let delivered = std::thread::scope(|s| {
        let deliverer = s.spawn(|| deliver::deliver(target, plan, reader, rx, &mut rec, ctx));
        for url in &plan.urls {
            if tx.blocking_send(Work::Url(url.clone())).is_err() {
                break;
            }
        }
        let elsewhere = scheduler::produce(stage, ctx, |prepared, scanned| {
            if tx.blocking_send(Work::Files(prepared, scanned)).is_err() {
                ctx.halt(); // the target has stopped: take no more files
            }
        });
        drop(tx);
        match deliverer.join() {
            Ok(result) => result.map(|()| elsewhere).map_err(RunError::from),
            Err(_) => Err(RunError::Panicked),
        }
    });
    if let Ok(n) = &delivered {
        rec.left_to_others(*n);
    }
    // What was delivered is recorded even when the target stopped early.
    let summary = rec.finish(ctx.interrupted());
    delivered?;
    let mut summary = summary?;
    summary.fatal = ctx.fatal().map(|f| f.english());
    summary.fatal_why = ctx.fatal();
    summary.output_closed = ctx.output_closed();
    Ok(summary)
}

/// Opens the plan's ledger; an unusable `ledger.path` is the pipeline file's error,
/// a database that cannot be reached is the run's (exit 3).
/// A plan or a dry run creates no ledger: without one yet, it asks an empty one.
fn open_ledger(plan: &RunPlan) -> Result<Box<dyn Ledger>, RunError> {
    if !plan.ledger.enabled || (!plan.mode.delivers() && !plan.ledger.place.exists()) {
        return Ok(Box::new(ledger::NoLedger));
    }
    let sharing = ledger::Sharing {
        roots: plan.scan.roots.clone(),
        lease: plan.ledger.lease,
    };
    ledger::open(&plan.ledger.place, sharing).map_err(|e| {
        if plan.ledger.explicit && !e.kind.unreachable() {
            RunError::Config(
                plan.ledger
                    .error(format!("cannot use {}: {}", plan.ledger.place, e.kind)),
            )
        } else {
            RunError::Ledger(e)
        }
    })
}

/// The outcome sinks of a run: the progress line, and the report and the page when asked.
fn sinks(
    plan: &RunPlan,
    target: &dyn Target,
    ctx: &RunContext,
) -> Result<Vec<Box<dyn OutcomeSink>>, RecordError> {
    let words = Messages::new(plan.lang);
    let mut sinks: Vec<Box<dyn OutcomeSink>> = vec![Box::new(Progress::new(
        plan.verbosity,
        ctx,
        words.clone(),
        target.remote(),
    ))];
    if let Some(path) = &plan.report {
        sinks.push(Box::new(ReportWriter::create(path)?));
    }
    if let Some(path) = &plan.html {
        sinks.push(Box::new(HtmlPage::new(
            path,
            &plan.source,
            target.describe(),
            words,
        )));
    }
    Ok(sinks)
}
