//! Where outputs go. A [`Target`] only knows how to deliver one prepared file and
//! what its deliveries are called; the [`driver`] owns everything around that: the
//! work loop, the recording protocol (pending row, final row, a lease lost to another
//! worker), the stop policy, the words of each outcome and the progress line. The
//! parts remote targets share (retries with backoff, pacing, the per-host breaker)
//! live in [`pacer`], for any target to use. This is rclone's split: a backend does
//! `Put`, the engine does the rest, so a new target never copies the loop.
//!
//! Owns: the [`Target`] interface, what a target receives ([`Parcel`], [`Ready`])
//! and answers ([`Delivery`]), the driver, and the targets, each in its own folder:
//! `dir` (a folder), `chevereto` (an image host), `chevereto_import` (a tree for the
//! host's Bulk Importer). [`open`] is the one place that names them.
//! Must not: decode, probe or walk; it sees prepared files only, and the run's plan.

mod breaker;
pub mod chevereto;
mod chevereto_import;
mod dir;
mod driver;
mod files;
mod pacer;

use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;

use crate::config::template::Template;
use crate::config::{RunPlan, TargetPlan};
use crate::context::RunContext;
use crate::i18n::Localized;
use crate::ledger::{FileRow, KnownOutput};
use crate::record::{Outcome, RecordError, State};
use crate::transform::Output;

pub use driver::deliver;

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
    /// Where the title, description, keywords and date came from.
    pub sources: crate::media::Sources,
    /// The title of the Takeout album the photo is in.
    pub album: Option<String>,
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
        o.description = Some(self.description.clone()).filter(|d| !d.is_empty());
        o.tags = self.tags.clone();
        o.date_taken = self.date_taken.clone();
        o.sources = self.sources;
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

/// What reaches the driver, in order.
#[allow(clippy::large_enum_variant)] // as for `Prepared`
pub enum Work {
    /// Prepared files, and how many files the scan had found by then. Files known
    /// without reading come in batches: on a re-run of a big archive, a hand-off
    /// between threads per file would cost more than the file's check.
    Files(Vec<Prepared>, u64),
    /// A remote image for the host to fetch.
    Url(String),
}

/// One thing for a target to deliver.
pub enum Parcel {
    File(Box<Ready>),
    /// A remote image the host fetches itself (only targets that say they take URLs).
    Url(String),
}

/// Where a delivered file went.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Placement {
    /// The file or URL people open.
    pub location: Option<String>,
    /// What the target answered beyond the location, by name (`viewer_url`,
    /// `delete_url`, `short_url`, `id`, `md5`): kept in the ledger as it is.
    pub answer: BTreeMap<String, String>,
}

impl Placement {
    pub fn at(location: String) -> Placement {
        Placement {
            location: Some(location),
            answer: BTreeMap::new(),
        }
    }

    pub fn answer(&self, name: &str) -> Option<&str> {
        self.answer.get(name).map(String::as_str)
    }
}

/// What one delivery came to: typed, so the driver words it in the run's language.
#[derive(Debug, Clone, PartialEq)]
pub enum Delivery {
    /// Delivered now.
    Delivered(Placement),
    /// The target holds these bytes already: an identical file, or a host that says so.
    AlreadyThere(Option<Placement>, Localized),
    /// This file failed; the others go on.
    Failed(Localized),
    /// The run cannot go on (a revoked key, a folder that cannot take a manifest).
    Fatal(Localized),
    /// Nothing of this file reached the target: the run stopped first. A re-run sends it.
    NotSent(Localized),
}

/// A delivery and what came with it.
#[derive(Debug)]
pub struct Sent {
    pub delivery: Delivery,
    /// A try failed after its bytes may have reached the target, and another was
    /// made: the target may hold the file twice.
    pub possibly_duplicated: bool,
    /// Things the person should know about this file (a title the host cuts).
    pub warnings: Vec<Localized>,
    /// The upload slot of the try that answered (see [`pacer::Ran`]), let go when
    /// this is dropped, after the driver recorded it.
    pub slot: Option<tokio::sync::OwnedSemaphorePermit>,
}

impl From<Delivery> for Sent {
    fn from(delivery: Delivery) -> Sent {
        Sent {
            delivery,
            possibly_duplicated: false,
            warnings: Vec::new(),
            slot: None,
        }
    }
}

/// What `check --online` learnt: whether a run could deliver, as a message that takes
/// the target's `url` and, when there is one, the target's own `why`.
#[derive(Debug, Clone)]
pub struct Checked {
    pub ok: bool,
    pub id: &'static str,
    pub why: Option<Localized>,
}

/// A delivery in progress; targets that wait on the network give one back at once.
pub type Pending<'a> = Pin<Box<dyn Future<Output = Sent> + Send + 'a>>;

/// Why the delivery of a run could not go on at all.
#[derive(Debug, thiserror::Error)]
pub enum DeliverError {
    #[error(transparent)]
    Record(#[from] RecordError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot start the delivery runtime: {0}")]
    Runtime(std::io::Error),
    #[error("cannot set up the HTTP client: {0}")]
    Client(reqwest::Error),
    #[error("a delivery task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// A place outputs go to: what differs from one target to the next, and nothing more.
pub trait Target: Send + Sync {
    /// The target's name in the ledger: `dir:/abs/path`, `chevereto:https://…/api/1/upload`.
    fn key(&self) -> &str;

    /// Where it delivers, for people (a folder, a host's URL; never a secret).
    fn describe(&self) -> String;

    /// Whether deliveries leave this machine: then a `pending` row is committed before
    /// each one (a kill must not forget a file the host may hold), outputs are
    /// `uploaded` rather than `written`, and the progress line counts uploads.
    fn remote(&self) -> bool {
        false
    }

    /// Whether a ledger row for this target still holds (a folder checks the file is there).
    fn still_there(&self) -> Arc<dyn Fn(&KnownOutput) -> bool + Send + Sync>;

    /// The template that names outputs, for a target that names them.
    fn name_template(&self) -> Option<&Template> {
        None
    }

    /// How many deliveries may be in flight at once.
    fn concurrency(&self) -> usize {
        1
    }

    /// How many files may be under way at once: delivering, or (for a remote target)
    /// waiting out a backoff between tries; each has its `pending` row until its
    /// answer is recorded.
    fn under_way(&self) -> usize {
        self.concurrency()
    }

    /// Whether it takes [`Parcel::Url`]s.
    fn takes_urls(&self) -> bool {
        false
    }

    /// Delivers one parcel, once (retrying inside is the target's business, with [`pacer`]).
    fn deliver<'a>(&'a self, parcel: &'a Parcel, ctx: &'a RunContext) -> Pending<'a>;

    /// A file already delivered was met again under another path: a target that lists
    /// its sources (a manifest) follows the move.
    fn source_moved(&self, _location: &str, _new_path: &Path) {}

    /// What the run waits for, when it waits for the target ("HOST unreachable since …").
    fn status(&self) -> Option<Localized> {
        None
    }

    /// `check --online`: asks, without delivering anything, whether a run could deliver
    /// (the host knows the key). `None` for a target with nothing to ask.
    fn check_online(&self) -> Option<Checked> {
        None
    }

    /// Makes what was delivered so far durable: called before the ledger records it,
    /// so a row never names an output a crash could still take back. A target that
    /// writes files syncs them here, many at once.
    fn sync(&self) -> Result<(), DeliverError> {
        Ok(())
    }

    /// Every delivery is settled: make it durable and write what is kept for the whole
    /// run (a manifest).
    fn finish(&self) -> Result<(), DeliverError> {
        Ok(())
    }
}

/// Opens the plan's target: the one place that names every kind.
pub fn open(plan: &RunPlan, ctx: &RunContext) -> Result<Arc<dyn Target>, DeliverError> {
    let delivers = plan.mode.delivers();
    Ok(match &plan.target {
        TargetPlan::Dir(d) => Arc::new(dir::DirTarget::open(d, delivers)?),
        TargetPlan::Chevereto(c) => Arc::new(chevereto::CheveretoTarget::open(c, ctx)?),
        TargetPlan::CheveretoImport(i) => {
            Arc::new(chevereto_import::ImportTarget::open(i, delivers)?)
        }
    })
}
