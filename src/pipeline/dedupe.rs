//! Dedupe: is this content already at the target (an earlier run, by the ledger),
//! or taken by another file of this run (by the run's claims)?
//!
//! The quick check answers first, folder by folder: one ledger query per folder
//! tells which of its files are unchanged since they were delivered, so a re-run
//! reads none of them. Files that changed, or are new, are read and hashed, then
//! looked up by their source md5.

use std::path::PathBuf;

use super::prepare::Stage;
use super::scan::Found;
use crate::i18n::Localized;
use crate::ledger::{FileRow, KnownDir, OutputRow, OutputState};
use crate::record::{Outcome, State};

/// The quick check of one walk, with the ledger's answer for the current folder.
pub struct QuickCheck<'a> {
    stage: &'a Stage,
    dir: Option<PathBuf>,
    known: KnownDir,
}

impl<'a> QuickCheck<'a> {
    pub fn new(stage: &'a Stage) -> Self {
        QuickCheck {
            stage,
            dir: None,
            known: KnownDir::default(),
        }
    }

    /// The outcome of a file that is unchanged and already at the target, with its
    /// quick-check row to write again when that row lacked its sidecars' stamp (a
    /// ledger from before stamps were kept: stamped now, without reading the file).
    pub fn check(&mut self, found: &Found) -> Option<(Outcome, Option<FileRow>)> {
        let parent = found.path.parent()?;
        if self.dir.as_deref() != Some(parent) {
            self.known = self
                .stage
                .ledger
                .known_in_dir(parent, &self.stage.target_key)
                .unwrap_or_default();
            self.dir = Some(parent.to_path_buf());
        }
        let k = self.known.get(found.path.as_os_str().as_encoded_bytes())?;
        let sidecars_changed = k.beside.as_ref().is_some_and(|b| *b != found.beside);
        if k.size != found.size || k.mtime_ns != found.mtime_ns || sidecars_changed {
            return None;
        }
        let row = k.output.clone()?;
        let mut o = already_there(self.stage, found, &k.source_md5, row)?;
        o.source_bytes = Some(found.size);
        let stamped = k.beside.is_none().then(|| FileRow {
            path: found.path.clone(),
            size: found.size,
            mtime_ns: found.mtime_ns,
            source_md5: k.source_md5.clone(),
            beside: found.beside.clone(),
        });
        Some((o, stamped))
    }
}

/// The outcome for a file whose content the ledger `row` shows at the target, if it
/// is still there. A `pending` row is not "there": its answer was lost.
pub fn already_there(stage: &Stage, found: &Found, md5: &str, row: OutputRow) -> Option<Outcome> {
    if !row.state.delivered() || !(stage.still_there)(&row) {
        return None;
    }
    let mut o = Outcome::said(
        &found.path,
        State::AlreadyThere,
        match &row.location {
            Some(l) => Localized::new("msg-reason-already-at", &[("where", l.clone())]),
            None => Localized::new("msg-reason-host-had-it", &[]),
        },
    );
    o.source_md5 = Some(md5.to_string());
    o.viewer_url = row.answer("viewer_url").map(str::to_string);
    o.delete_url = row.answer("delete_url").map(str::to_string);
    o.output_md5 = row.output_md5;
    o.output = row.location;
    Some(o)
}

/// The outcome of a file whose content another file of this run took first.
pub fn duplicate_in_run(found: &Found, md5: &str, other: &std::path::Path) -> Outcome {
    let mut o = Outcome::said(
        &found.path,
        State::Duplicate,
        Localized::new(
            "msg-reason-duplicate",
            &[("other", other.display().to_string())],
        ),
    );
    o.source_md5 = Some(md5.to_string());
    o.source_bytes = Some(found.size);
    o.duplicate_of = Some(other.display().to_string());
    o
}

/// The outcome of a file whose content another worker (of a shared ledger) is
/// delivering from another path.
pub fn duplicate_elsewhere(found: &Found, md5: &str, other: &str, worker: &str) -> Outcome {
    let mut o = Outcome::said(
        &found.path,
        State::Duplicate,
        Localized::new(
            "msg-reason-duplicate-elsewhere",
            &[("other", other.to_string()), ("worker", worker.to_string())],
        ),
    );
    o.source_md5 = Some(md5.to_string());
    o.source_bytes = Some(found.size);
    o.duplicate_of = Some(other.to_string());
    o
}

/// Whether an earlier run sent this content without recording the answer.
pub fn was_pending(row: &OutputRow) -> bool {
    row.state == OutputState::Pending
}
