//! Where outputs go, behind one interface: a [`Target`] takes the files the CPU
//! stages prepared, delivers them, and hands each result to the [`Recorder`].
//!
//! Owns: the [`Target`] interface, what a target receives ([`Work`], [`Ready`]),
//! and the targets: `dir` (a folder) and `chevereto` (an image host).
//! Must not: decode, probe or walk; it sees prepared files only, and the run's
//! plan. A new target is a new folder here and one arm in [`open`].

pub mod chevereto;
pub mod dir;

use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::mpsc;

use crate::config::template::Template;
use crate::config::{RunPlan, TargetPlan};
use crate::context::RunContext;
use crate::ledger::{FileRow, LedgerReader, OutputRow};
use crate::record::{Outcome, RecordError, Recorder, State};
use crate::transform::Output;

/// A file ready for its target.
pub struct Ready {
    /// The source as it was read: path, size, mtime and md5 (its quick-check row).
    pub source: FileRow,
    pub format: &'static str,
    pub mime: &'static str,
    pub title: String,
    pub description: String,
    pub tags: Vec<String>,
    pub date_taken: Option<String>,
    /// The rendered output name, for a target that names its outputs.
    pub name: Option<String>,
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
    /// The report line of this file, in `state`.
    pub fn outcome(&self, state: State) -> Outcome {
        let mut o = Outcome::new(&self.source.path, state);
        o.format = Some(self.format.to_string());
        o.source_md5 = Some(self.source.source_md5.clone());
        o.output_md5 = Some(self.output.md5.clone());
        o.width = self.output.width;
        o.height = self.output.height;
        o.source_bytes = Some(self.source.size);
        o.bytes_read = self.source.size;
        o.output_bytes = Some(self.output.bytes.len() as u64);
        o.title = Some(self.title.clone()).filter(|t| !t.is_empty());
        o.date_taken = self.date_taken.clone();
        o.warnings = self.warnings.clone();
        // Only delivered files show one; already there or not delivered, the page links.
        if matches!(state, State::Written | State::Uploaded) {
            o.thumbnail = self.output.thumbnail.clone();
        }
        o
    }
}

/// What the CPU stages made of one file.
// Each value crosses one channel once per file; boxing the outcome would only add an allocation.
#[allow(clippy::large_enum_variant)]
pub enum Prepared {
    /// The file's story ends here (skipped, failed, already at the target); maybe with a quick-check row.
    Finished(Outcome, Option<FileRow>),
    Ready(Box<Ready>),
}

impl Prepared {
    /// The outcome of a file that reached its target after the run stopped.
    pub fn not_delivered(self, why: &str) -> Outcome {
        match self {
            Prepared::Finished(o, _) => o,
            Prepared::Ready(r) => {
                let mut o = r.outcome(State::NotStarted);
                o.reason = Some(format!("not delivered: the run stopped ({why})"));
                o
            }
        }
    }
}

/// What reaches a target, in order.
#[allow(clippy::large_enum_variant)] // as for `Prepared`
pub enum Work {
    /// A prepared file, and how many files the scan had found by then.
    File(Prepared, u64),
    /// A remote image for the host to fetch.
    Url(String),
}

/// Why a target could not go on.
#[derive(Debug, thiserror::Error)]
pub enum DeliverError {
    #[error(transparent)]
    Record(#[from] RecordError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot start the upload runtime: {0}")]
    Runtime(std::io::Error),
    #[error("cannot set up the HTTP client: {0}")]
    Client(reqwest::Error),
    #[error("an upload task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    #[error("{0} targets take no remote URLs")]
    NoUrls(&'static str),
}

/// A place outputs go to.
pub trait Target: Send {
    /// The target's name in the ledger: `dir:/abs/path`, `chevereto:https://…/api/1/upload`.
    fn key(&self) -> &str;

    /// Whether a ledger row for this target still holds (a folder checks the file is there).
    fn still_there(&self) -> Arc<dyn Fn(&OutputRow) -> bool + Send + Sync>;

    /// The template that names outputs, for a target that names them.
    fn name_template(&self) -> Option<&Template> {
        None
    }

    /// How many prepared files may wait for this target.
    fn queue(&self) -> usize {
        1
    }

    /// Delivers everything that comes through `work`, handing each result to `rec`;
    /// returns once `work` is closed and every delivery is settled.
    fn deliver(
        &mut self,
        work: mpsc::Receiver<Work>,
        rec: &mut Recorder,
        ctx: &RunContext,
    ) -> Result<(), DeliverError>;
}

/// Opens the plan's target. `reader` answers lookups a target makes itself (URL inputs).
pub fn open(
    plan: &RunPlan,
    reader: Arc<dyn LedgerReader>,
) -> Result<Box<dyn Target>, DeliverError> {
    Ok(match &plan.target {
        TargetPlan::Dir(d) => Box::new(dir::DirTarget::open(d, plan.mode)?),
        TargetPlan::Chevereto(c) => Box::new(chevereto::CheveretoTarget::open(c, plan, reader)?),
    })
}
