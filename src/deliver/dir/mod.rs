//! The folder target: outputs under a folder by a name template, plus a JSON Lines
//! manifest of the current outputs. Files are placed by the shared
//! [`Placer`](crate::deliver::files::Placer): whole or not at all, never over a
//! different file.

mod listing;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use super::files::Placed;
use super::{DeliverError, Delivery, Parcel, Pending, Ready, Target};
use crate::config::DirPlan;
use crate::config::template::Template;
use crate::context::RunContext;
use crate::i18n::Localized;
use crate::ledger::KnownOutput;

use listing::OutputListing;
use writer::{DirWriter, ManifestEntry};

/// Writes outputs under one folder.
pub struct DirTarget {
    root: PathBuf,
    key: String,
    name: Template,
    /// `None` in a dry run or a plan: nothing is written. Deliveries to a folder run
    /// one at a time; the lock only makes the target shareable with the driver.
    writer: Mutex<Option<DirWriter>>,
    listing: Arc<OutputListing>,
}

impl DirTarget {
    /// Opens the folder, creating it only for a run that delivers: a plan or a dry run
    /// leaves nothing on disk.
    pub fn open(plan: &DirPlan, delivers: bool) -> Result<DirTarget, DeliverError> {
        let io_err = |source| DeliverError::Io {
            path: plan.root.clone(),
            source,
        };
        if delivers {
            std::fs::create_dir_all(&plan.root).map_err(io_err)?;
        }
        let root = match plan.root.canonicalize() {
            Ok(root) => root,
            Err(_) if !delivers => std::path::absolute(&plan.root).map_err(io_err)?,
            Err(e) => return Err(io_err(e)),
        };
        let writer = if delivers {
            Some(DirWriter::open(&root, &plan.manifest).map_err(io_err)?)
        } else {
            None
        };
        Ok(DirTarget {
            key: format!("dir:{}", root.display()),
            root,
            name: plan.name.clone(),
            writer: Mutex::new(writer),
            listing: Arc::default(),
        })
    }

    fn writer(&self) -> MutexGuard<'_, Option<DirWriter>> {
        self.writer.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Writes one file and its manifest line.
    fn place(&self, ready: &Ready) -> Delivery {
        let name = ready.name.clone().unwrap_or_default();
        let mut guard = self.writer();
        let Some(writer) = guard.as_mut() else {
            return Delivery::NotSent(Localized::new("msg-reason-dry-run-send", &[]));
        };
        let placed = writer.place(&name, &ready.output.bytes, &ready.output.md5);
        if let Ok(p) = &placed {
            let source = ready.source.path.display().to_string();
            let output = p.path().display().to_string();
            if let Err(e) = writer.record(&manifest_entry(ready, &source, &output)) {
                let args = [
                    ("root", self.root.display().to_string()),
                    ("cause", e.to_string()),
                ];
                return Delivery::Fatal(Localized::new("msg-reason-manifest", &args));
            }
        }
        Placed::delivery(placed, &self.root)
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

impl Target for DirTarget {
    fn key(&self) -> &str {
        &self.key
    }

    fn describe(&self) -> String {
        self.root.display().to_string()
    }

    fn still_there(&self) -> Arc<dyn Fn(&KnownOutput) -> bool + Send + Sync> {
        let listing = Arc::clone(&self.listing);
        Arc::new(move |row: &KnownOutput| {
            row.location
                .as_deref()
                .is_some_and(|l| listing.contains(Path::new(l)))
        })
    }

    fn name_template(&self) -> Option<&Template> {
        Some(&self.name)
    }

    fn deliver<'a>(&'a self, parcel: &'a Parcel, _ctx: &'a RunContext) -> Pending<'a> {
        let delivery = match parcel {
            Parcel::File(r) => self.place(r),
            Parcel::Url(_) => Delivery::Failed(Localized::new("msg-reason-no-urls", &[])),
        };
        Box::pin(std::future::ready(delivery.into()))
    }

    /// A file read again and found here already: if it has moved, say after a folder
    /// rename, the manifest follows it.
    fn source_moved(&self, location: &str, new_path: &Path) {
        if let Some(w) = self.writer().as_mut() {
            w.source_moved(location, &new_path.display().to_string());
        }
    }

    fn sync(&self) -> Result<(), DeliverError> {
        match self.writer().as_mut() {
            Some(w) => w.sync().map_err(|source| DeliverError::Io {
                path: self.root.clone(),
                source,
            }),
            None => Ok(()),
        }
    }

    fn finish(&self) -> Result<(), DeliverError> {
        match self.writer().take() {
            Some(w) => w.finish().map_err(|source| DeliverError::Io {
                path: self.root.clone(),
                source,
            }),
            None => Ok(()),
        }
    }
}
