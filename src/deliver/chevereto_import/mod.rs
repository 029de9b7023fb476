//! The tree a Chevereto host's Bulk Importer ingests (`app/bin/legacy -C
//! bulk-importer`): API v1 cannot create albums or users, the importer creates both
//! from folders. Each photo is written converted, under a readable name, with a JSON
//! file beside it (`photo.jpg.json`: `imageData` with title, description, tags,
//! category and nsfw); each album folder gets a `metadata.json` (`albumData` with
//! the folder's name as written, which may be any text, as the album's title).
//!
//! Layouts, as the importer's job says (`layout`):
//! - `albums`: `ROOT/ALBUM/SUB…/photo`, each input folder an album, nested ones sub-albums;
//! - `users`: `ROOT/USER/ALBUM/SUB…/photo`, the same under one user;
//! - `plain`: `ROOT/…/photo`, no albums.
//!
//! The importer moves each photo out as it takes it and deletes the folders it has
//! walked: an output gone from the tree has been delivered, not lost. While a run
//! writes, a `.lock` file at the root pauses the importer's job, so it never takes a
//! photo before its JSON; the run removes it when it ends. A killed run leaves it, so
//! the importer waits until a run has finished the tree: nothing the killed run wrote
//! but did not record is imported before the next run finds it already there.

mod layout;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use super::chevereto::names;
use super::files::{Placed, Placer, replace_atomically};
use super::{DeliverError, Delivery, Parcel, Pending, Ready, Sent, Target};
use crate::config::{ImportLayout, ImportPlan};
use crate::context::RunContext;
use crate::i18n::Localized;
use crate::ledger::KnownOutput;

/// The file whose presence pauses the importer's job.
const LOCK: &str = ".lock";

/// Writes the importer's tree under one folder.
pub struct ImportTarget {
    root: PathBuf,
    key: String,
    plan: ImportPlan,
    /// `None` in a dry run or a plan: nothing is written.
    tree: Mutex<Option<Tree>>,
}

/// What a delivering run keeps while it writes.
struct Tree {
    placer: Placer,
    /// Album folders whose `metadata.json` this run wrote (the importer deletes the
    /// folders it has walked, so each run writes them again).
    described: HashSet<PathBuf>,
}

impl ImportTarget {
    pub fn open(plan: &ImportPlan, delivers: bool) -> Result<ImportTarget, DeliverError> {
        let io_err = |source| DeliverError::Io {
            path: plan.root.clone(),
            source,
        };
        let root = if delivers {
            std::fs::create_dir_all(&plan.root).map_err(io_err)?;
            let root = plan.root.canonicalize().map_err(io_err)?;
            std::fs::write(root.join(LOCK), b"pixpipe is writing this tree\n").map_err(io_err)?;
            root
        } else {
            std::path::absolute(&plan.root).map_err(io_err)?
        };
        let tree = delivers.then(|| Tree {
            placer: Placer::new(&root),
            described: HashSet::new(),
        });
        Ok(ImportTarget {
            key: format!("chevereto_import:{}", root.display()),
            root,
            plan: plan.clone(),
            tree: Mutex::new(tree),
        })
    }

    fn tree(&self) -> MutexGuard<'_, Option<Tree>> {
        self.tree.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Writes one photo, its JSON first, and the `metadata.json` of its album folders.
    fn place(&self, r: &Ready) -> Sent {
        let mut guard = self.tree();
        let Some(tree) = guard.as_mut() else {
            return Delivery::NotSent(Localized::new("msg-reason-dry-run-send", &[])).into();
        };
        let folders = layout::folders(&self.plan, r.rel_dir.as_deref(), r.album.as_deref());
        let file = names::readable(&r.upload_name, r.date_taken.as_deref(), &r.output.md5);
        let rel = layout::file_path(&folders, &file);
        let json = layout::image_json(&self.plan, r);
        let placed = self
            .describe(tree, &folders)
            .and_then(|()| self.write_json(&rel, &json))
            .and_then(|json_path| {
                let placed = tree.placer.place(&rel, &r.output.bytes, &r.output.md5)?;
                json_follows(&json_path, &placed, &json)?;
                Ok(placed)
            });
        let mut sent: Sent = Placed::delivery(placed, &self.root).into();
        sent.warnings.extend(names::title_cut(&r.title));
        if !r.tags.is_empty() && self.plan.layout != ImportLayout::Users {
            sent.warnings
                .push(Localized::new("msg-warn-import-tags", &[]));
        }
        sent
    }

    /// Writes the `metadata.json` of each album folder not described yet in this run.
    fn describe(&self, tree: &mut Tree, folders: &[layout::Folder]) -> std::io::Result<()> {
        for (i, f) in folders.iter().enumerate() {
            if !f.album {
                continue;
            }
            let rel: PathBuf = folders[..=i].iter().map(|f| f.name.as_str()).collect();
            if tree.described.contains(&rel) {
                continue;
            }
            let dir = self.root.join(&rel);
            std::fs::create_dir_all(&dir)?;
            replace_atomically(&dir.join("metadata.json"), &layout::album_json(&f.title))?;
            tree.described.insert(rel);
        }
        Ok(())
    }

    /// Writes the JSON of the photo planned at `rel`; gives its path.
    fn write_json(&self, rel: &str, json: &[u8]) -> std::io::Result<PathBuf> {
        let path = self.root.join(format!("{rel}.json"));
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        replace_atomically(&path, json)?;
        Ok(path)
    }
}

/// The photo got another name than planned (a different file held it): its JSON
/// moves with it.
fn json_follows(written: &Path, placed: &Placed, json: &[u8]) -> std::io::Result<()> {
    let wanted = PathBuf::from(format!("{}.json", placed.path().display()));
    if wanted != written {
        replace_atomically(&wanted, json)?;
        std::fs::remove_file(written)?;
    }
    Ok(())
}

impl Target for ImportTarget {
    fn key(&self) -> &str {
        &self.key
    }

    fn describe(&self) -> String {
        self.root.display().to_string()
    }

    /// The importer takes photos out of the tree: one gone has been delivered.
    fn still_there(&self) -> Arc<dyn Fn(&KnownOutput) -> bool + Send + Sync> {
        Arc::new(|_: &KnownOutput| true)
    }

    fn deliver<'a>(&'a self, parcel: &'a Parcel, _ctx: &'a RunContext) -> Pending<'a> {
        let sent = match parcel {
            Parcel::File(r) => self.place(r),
            Parcel::Url(_) => Delivery::Failed(Localized::new("msg-reason-no-urls", &[])).into(),
        };
        Box::pin(std::future::ready(sent))
    }

    fn sync(&self) -> Result<(), DeliverError> {
        match self.tree().as_mut() {
            Some(tree) => tree.placer.sync().map_err(|source| DeliverError::Io {
                path: self.root.clone(),
                source,
            }),
            None => Ok(()),
        }
    }

    /// The tree is whole (and synced): the importer may take it.
    fn finish(&self) -> Result<(), DeliverError> {
        self.sync()?;
        if self.tree().take().is_none() {
            return Ok(());
        }
        match std::fs::remove_file(self.root.join(LOCK)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(DeliverError::Io {
                path: self.root.join(LOCK),
                source: e,
            }),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(root: &Path) -> ImportPlan {
        ImportPlan {
            root: root.to_path_buf(),
            layout: ImportLayout::Albums,
            user: None,
            album: None,
            category_id: None,
            nsfw: false,
        }
    }

    #[test]
    fn the_importer_is_paused_until_a_run_has_finished_the_tree() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("tree");
        let lock = root.join(LOCK);
        let killed = ImportTarget::open(&plan(&root), true).unwrap();
        assert!(lock.exists(), "paused while a run writes");
        drop(killed); // a run that never finished
        assert!(lock.exists(), "a killed run leaves the importer paused");
        let next = ImportTarget::open(&plan(&root), true).unwrap();
        next.finish().unwrap();
        assert!(!lock.exists(), "a finished run lets the importer go on");
        let dry = ImportTarget::open(&plan(&dir.path().join("dry")), false).unwrap();
        dry.finish().unwrap();
        assert!(
            !dir.path().join("dry").exists(),
            "a dry run leaves nothing on disk"
        );
    }
}
