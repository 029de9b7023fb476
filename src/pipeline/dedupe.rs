//! Dedupe: is this content already at the target (an earlier run, by the ledger),
//! or taken by another file of this run (by the run's claims)?
//!
//! The quick check answers first, folder by folder: one ledger query per folder
//! tells which of its files are unchanged since they were delivered, so a re-run
//! reads none of them. Files that changed, or are new, are read and hashed, then
//! looked up by their source md5.

use std::path::{Path, PathBuf};

use crossbeam_channel::Receiver;

use super::prepare::Stage;
use super::scan::Found;
use crate::i18n::Localized;
use crate::ledger::{FileRow, KnownDir, KnownOutput, OutputRow, OutputState};
use crate::record::{Outcome, State};

/// The quick check of one walk, with the ledger's answer for the current folder.
pub struct QuickCheck<'a> {
    stage: &'a Stage,
    folder: FolderChange,
    /// The ledger's answers, one per change of folder, in the walk's order.
    answers: Receiver<(PathBuf, KnownDir)>,
    known: KnownDir,
}

impl<'a> QuickCheck<'a> {
    pub fn new(stage: &'a Stage, answers: Receiver<(PathBuf, KnownDir)>) -> Self {
        QuickCheck {
            stage,
            folder: FolderChange::default(),
            answers,
            known: KnownDir::default(),
        }
    }

    /// The outcome of a file that is unchanged and already at the target, with its
    /// quick-check row to write again when that row lacked its sidecars' stamp (a
    /// ledger from before stamps were kept: stamped now, without reading the file).
    pub fn check(&mut self, found: &Found) -> Option<(Outcome, Option<FileRow>)> {
        if let Some(dir) = self.folder.entered(&found.path) {
            self.known = match self.answers.recv() {
                Ok((asked, known)) if asked == dir => known,
                // Not the answer expected (asks and checks see the same files, so
                // this is not seen): asked again here.
                _ => self
                    .stage
                    .ledger
                    .known_in_dir(dir, &self.stage.target_key)
                    .unwrap_or_default(),
            };
        }
        // Taken out, not borrowed: a walk meets each path once, and its row is moved
        // into the outcome rather than copied.
        let k = self
            .known
            .remove(found.path.as_os_str().as_encoded_bytes())?;
        let sidecars_changed = k.beside.as_ref().is_some_and(|b| *b != found.beside);
        if k.size != found.size || k.mtime_ns != found.mtime_ns || sidecars_changed {
            return None;
        }
        let row = k.output?;
        let mut o = already_there(self.stage, found, &k.source_md5, row)?;
        o.source_bytes = Some(found.size);
        let stamped = k.beside.is_none().then(|| FileRow {
            path: found.path.clone(),
            size: found.size,
            mtime_ns: found.mtime_ns,
            source_md5: k.source_md5,
            beside: found.beside.clone(),
        });
        Some((o, stamped))
    }
}

/// Notices when a walk moves to another folder.
#[derive(Default)]
pub struct FolderChange(Option<PathBuf>);

impl FolderChange {
    /// The folder of `path` when it is not the folder of the path before.
    pub fn entered<'p>(&mut self, path: &'p Path) -> Option<&'p Path> {
        // Asked once per file of a walk, so first as bytes: a walk's paths are its
        // folders joined with names, and the path of a name in the current folder
        // is that folder, a separator and a name without one.
        if let Some(d) = &self.0
            && let Some(name) = path
                .as_os_str()
                .as_encoded_bytes()
                .strip_prefix(d.as_os_str().as_encoded_bytes())
                .and_then(|rest| rest.strip_prefix(b"/"))
            && !name.is_empty()
            && !name.contains(&b'/')
        {
            return None;
        }
        let dir = path.parent()?;
        if self.0.as_ref().map(|d| d.as_os_str()) == Some(dir.as_os_str()) {
            return None;
        }
        self.0 = Some(dir.to_path_buf());
        Some(dir)
    }
}

/// The outcome for a file whose content the ledger `row` shows at the target, if it
/// is still there. A `pending` row is not "there": its answer was lost.
pub fn already_there(stage: &Stage, found: &Found, md5: &str, row: KnownOutput) -> Option<Outcome> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_of_folder_is_seen_on_the_way_down_and_back() {
        let mut f = FolderChange::default();
        let walk = [
            ("/a/1.jpg", Some("/a")),
            ("/a/2.jpg", None),
            ("/a/b/3.jpg", Some("/a/b")),
            ("/a/b/4.jpg", None),
            ("/a/5.jpg", Some("/a")),
            ("/ab/6.jpg", Some("/ab")),
            ("/a/7.jpg", Some("/a")),
        ];
        for (path, entered) in walk {
            assert_eq!(f.entered(Path::new(path)), entered.map(Path::new), "{path}");
        }
    }
}
