//! The folder target: outputs under a folder by a name template, plus a JSON
//! Lines manifest of the current outputs. A file is written to a temporary name and
//! renamed, so a crash leaves either the whole file or none; an existing different
//! file is never overwritten.

mod listing;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::sync::mpsc;

use super::{DeliverError, Prepared, Ready, Target, Work};
use crate::config::template::Template;
use crate::config::{DirPlan, Mode};
use crate::context::RunContext;
use crate::ledger::{OutputRow, OutputState};
use crate::record::{Outcome, Recorder, State};

use listing::OutputListing;
use writer::{DirWriter, ManifestEntry, Placed};

/// Writes outputs under one folder.
pub struct DirTarget {
    root: PathBuf,
    key: String,
    name: Template,
    /// `None` in a dry run or a plan: nothing is written.
    writer: Option<DirWriter>,
    listing: Arc<OutputListing>,
}

impl DirTarget {
    /// Opens the folder, creating it only for a run that delivers: a plan or a dry run
    /// leaves nothing on disk.
    pub fn open(plan: &DirPlan, mode: Mode) -> Result<DirTarget, DeliverError> {
        let io_err = |source| DeliverError::Io {
            path: plan.root.clone(),
            source,
        };
        if mode.delivers() {
            std::fs::create_dir_all(&plan.root).map_err(io_err)?;
        }
        let root = match plan.root.canonicalize() {
            Ok(root) => root,
            Err(_) if !mode.delivers() => std::path::absolute(&plan.root).map_err(io_err)?,
            Err(e) => return Err(io_err(e)),
        };
        let writer = if mode.delivers() {
            Some(DirWriter::open(&root, &plan.manifest).map_err(io_err)?)
        } else {
            None
        };
        Ok(DirTarget {
            key: format!("dir:{}", root.display()),
            root,
            name: plan.name.clone(),
            writer,
            listing: Arc::default(),
        })
    }

    /// A file that was read and found already delivered: if it has moved, say after a
    /// folder rename, the manifest follows it.
    fn note_moved_source(&mut self, o: &Outcome) {
        if let (Some(w), State::AlreadyThere, Some(output)) =
            (self.writer.as_mut(), o.state, &o.output)
        {
            w.source_moved(output, &o.path);
        }
    }

    fn io_err(&self, source: std::io::Error) -> DeliverError {
        DeliverError::Io {
            path: self.root.clone(),
            source,
        }
    }

    /// Writes one file and its manifest line, queueing its ledger rows.
    fn place(&mut self, ready: Box<Ready>, rec: &mut Recorder) -> Result<Outcome, DeliverError> {
        rec.release(ready.source.source_md5.clone());
        let name = ready.name.clone().unwrap_or_default();
        let Some(writer) = self.writer.as_mut() else {
            let mut o = ready.outcome(State::Written);
            o.reason = Some(format!("dry run: would write {name}"));
            return Ok(o);
        };
        let placed = match writer.place(&name, &ready.output.bytes, &ready.output.md5) {
            Ok(p) => p,
            Err(e) => {
                // A full disk or a read-only folder fails this file, loudly; the next may still fit.
                let mut o = ready.outcome(State::Failed);
                o.reason = Some(format!("cannot write under {}: {e}", self.root.display()));
                return Ok(o);
            }
        };
        let (state, path) = match placed {
            Placed::Written(p) => (State::Written, p),
            Placed::AlreadyThere(p) => (State::AlreadyThere, p),
        };
        let mut o = ready.outcome(state);
        let location = path.display().to_string();
        o.output = Some(location.clone());
        if state == State::AlreadyThere {
            o.reason = Some(format!("identical file already at {location}"));
        }
        let source = ready.source.path.display().to_string();
        writer
            .record(&manifest_entry(&ready, &source, &location))
            .map_err(|e| self.io_err(e))?;
        rec.file_row(Some(ready.source.clone()));
        rec.output_row(output_row(&self.key, &ready, source, location));
        Ok(o)
    }
}

fn manifest_entry<'a>(ready: &'a Ready, source: &'a str, location: &'a str) -> ManifestEntry<'a> {
    ManifestEntry {
        source,
        output: location,
        source_md5: &ready.source.source_md5,
        output_md5: &ready.output.md5,
        title: &ready.title,
        description: Some(ready.description.as_str()).filter(|d| !d.is_empty()),
        tags: &ready.tags,
        date_taken: ready.date_taken.as_deref(),
        source_bytes: ready.source.size,
        output_bytes: ready.output.bytes.len() as u64,
        width: ready.output.width,
        height: ready.output.height,
    }
}

fn output_row(key: &str, ready: &Ready, source: String, location: String) -> OutputRow {
    let mut row = OutputRow::new(key, &ready.source.source_md5, OutputState::Written);
    row.source_path = source;
    row.output_md5 = Some(ready.output.md5.clone());
    row.location = Some(location);
    row.bytes = Some(ready.output.bytes.len() as u64);
    row.width = ready.output.width;
    row.height = ready.output.height;
    row.title = Some(ready.title.clone());
    row
}

impl Target for DirTarget {
    fn key(&self) -> &str {
        &self.key
    }

    fn still_there(&self) -> Arc<dyn Fn(&OutputRow) -> bool + Send + Sync> {
        let listing = Arc::clone(&self.listing);
        Arc::new(move |row: &OutputRow| {
            row.location
                .as_deref()
                .is_some_and(|l| listing.contains(Path::new(l)))
        })
    }

    fn name_template(&self) -> Option<&Template> {
        Some(&self.name)
    }

    fn deliver(
        &mut self,
        mut work: mpsc::Receiver<Work>,
        rec: &mut Recorder,
        ctx: &RunContext,
    ) -> Result<(), DeliverError> {
        let mut failure: Option<DeliverError> = None;
        while let Some(item) = work.blocking_recv() {
            let Work::File(prepared, scanned) = item else {
                return Err(DeliverError::NoUrls("folder"));
            };
            rec.found(scanned);
            if let Some(why) = &failure {
                // The run has stopped; files still coming out of the workers are accounted for.
                let _ = rec.outcome(&prepared.not_delivered(&why.to_string()));
                continue;
            }
            let result = match prepared {
                Prepared::Finished(o, row) => {
                    if row.is_some() {
                        self.note_moved_source(&o);
                    }
                    rec.file_row(row);
                    Ok(o)
                }
                Prepared::Ready(r) => self.place(r, rec),
            }
            .and_then(|o| Ok(rec.outcome(&o)?))
            .and_then(|()| Ok(rec.tick()?));
            if let Err(e) = result {
                ctx.halt();
                failure = Some(e);
            }
        }
        if let Some(w) = self.writer.take() {
            let finished = w.finish().map_err(|e| self.io_err(e));
            // The error that stopped the run says more than one about the manifest.
            if failure.is_none() {
                finished?;
            }
        }
        failure.map_or(Ok(()), Err)
    }
}
