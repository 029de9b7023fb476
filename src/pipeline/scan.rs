//! Walks the input roots and yields candidate files in a stable order.
//!
//! The walk only looks at names and metadata; what a file *is* is decided
//! later from its bytes. Symlinks are not followed unless asked, and when they
//! are, a link back to an ancestor is reported instead of walked forever.

use std::ffi::OsString;
use std::fs::{DirEntry, Metadata};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use globset::{GlobSet, GlobSetBuilder};

use crate::config::{Glob, ScanPlan};
use crate::media::mtime_ns;

/// A file found by the walk, with what the quick check needs.
#[derive(Debug, Clone)]
pub struct Found {
    pub path: PathBuf,
    pub size: u64,
    /// Modification time in nanoseconds since the epoch.
    pub mtime_ns: i64,
    /// The stamp of its sidecars (see `Sidecars::stamp`), set after the walk.
    pub beside: String,
}

/// One thing the walk met.
#[derive(Debug)]
pub enum Event {
    File(Found),
    /// Seen and left out on purpose (a symlink that is not followed, ...).
    Skipped {
        path: PathBuf,
        reason: String,
    },
    /// Could not be walked (permission denied, a symlink loop, a vanished folder).
    Error {
        path: PathBuf,
        reason: String,
    },
}

fn build_set(globs: &[Glob]) -> GlobSet {
    let mut b = GlobSetBuilder::new();
    for g in globs {
        b.add(g.0.clone());
    }
    b.build().unwrap_or_else(|_| GlobSet::empty())
}

fn is_hidden(name: &std::ffi::OsStr) -> bool {
    name.as_encoded_bytes().first() == Some(&b'.')
}

/// Walks every root in turn, calling `emit` for each event; stops early when `emit` returns false.
pub fn scan(opts: &ScanPlan, mut emit: impl FnMut(Event) -> bool) {
    let walk = Walk {
        opts,
        include: build_set(&opts.include),
        exclude: build_set(&opts.exclude),
    };
    for root in &opts.roots {
        if !walk.root(root, &mut emit) {
            return;
        }
    }
}

/// A folder on the way down from a root, known by device and inode so that a
/// followed link back to it is seen.
struct Ancestor {
    dev: u64,
    ino: u64,
    path: PathBuf,
}

impl Ancestor {
    fn of(path: &Path, m: &Metadata) -> Ancestor {
        Ancestor {
            dev: m.dev(),
            ino: m.ino(),
            path: path.to_path_buf(),
        }
    }
}

/// One walk's settings. Each folder is listed once and its names sorted as bytes;
/// each file is stated once, by its name relative to the open folder (the kernel
/// does not resolve the whole path again): a re-run of a big archive is mostly
/// this walk, so it costs about what `find` costs.
struct Walk<'a> {
    opts: &'a ScanPlan,
    include: GlobSet,
    exclude: GlobSet,
}

impl Walk<'_> {
    /// A root named in the pipeline is followed even when it is a link.
    fn root(&self, root: &Path, emit: &mut impl FnMut(Event) -> bool) -> bool {
        match std::fs::metadata(root) {
            Ok(m) if m.is_dir() => {
                let mut ancestors = vec![Ancestor::of(root, &m)];
                self.folder(root, root, &mut ancestors, emit)
            }
            Ok(m) => emit(file_event(root.to_path_buf(), Ok(m))),
            Err(e) => emit(Event::Error {
                path: root.to_path_buf(),
                reason: e.to_string(),
            }),
        }
    }

    /// Everything under `dir`, in the order of its sorted names, going down into
    /// each subfolder where its name comes.
    fn folder(
        &self,
        root: &Path,
        dir: &Path,
        ancestors: &mut Vec<Ancestor>,
        emit: &mut impl FnMut(Event) -> bool,
    ) -> bool {
        let entries = match sorted_entries(dir) {
            Ok(entries) => entries,
            Err(e) => {
                return emit(Event::Error {
                    path: dir.to_path_buf(),
                    reason: e.to_string(),
                });
            }
        };
        for (name, entry) in entries {
            if !self.opts.hidden && is_hidden(&name) {
                continue;
            }
            let path = dir.join(&name);
            if !self.exclude.is_empty() && self.exclude.is_match(relative(root, &path)) {
                continue;
            }
            let keep_going = match entry.file_type() {
                Ok(ft) if ft.is_dir() => match entry.metadata() {
                    Ok(m) => self.descend(root, path, &m, ancestors, emit),
                    Err(e) => emit(Event::Error {
                        path,
                        reason: e.to_string(),
                    }),
                },
                Ok(ft) if ft.is_symlink() => self.link(root, path, ancestors, emit),
                Ok(_) if !self.included(root, &path) => true,
                Ok(_) => emit(file_event(path, entry.metadata())),
                Err(e) => emit(Event::Error {
                    path,
                    reason: e.to_string(),
                }),
            };
            if !keep_going {
                return false;
            }
        }
        true
    }

    /// Goes down into the folder `path` unless it is one of its own ancestors
    /// (reached again through a followed link).
    fn descend(
        &self,
        root: &Path,
        path: PathBuf,
        m: &Metadata,
        ancestors: &mut Vec<Ancestor>,
        emit: &mut impl FnMut(Event) -> bool,
    ) -> bool {
        if let Some(a) = ancestors
            .iter()
            .find(|a| a.dev == m.dev() && a.ino == m.ino())
        {
            let reason = format!("symlink loop back to {}", a.path.display());
            return emit(Event::Error { path, reason });
        }
        ancestors.push(Ancestor::of(&path, m));
        let keep_going = self.folder(root, &path, ancestors, emit);
        ancestors.pop();
        keep_going
    }

    /// A symbolic link: left out unless links are followed, then taken for what
    /// it points at.
    fn link(
        &self,
        root: &Path,
        path: PathBuf,
        ancestors: &mut Vec<Ancestor>,
        emit: &mut impl FnMut(Event) -> bool,
    ) -> bool {
        if !self.opts.follow_symlinks {
            return !self.included(root, &path)
                || emit(Event::Skipped {
                    path,
                    reason: "symbolic link (input.follow_symlinks is off)".into(),
                });
        }
        match std::fs::metadata(&path) {
            Ok(m) if m.is_dir() => self.descend(root, path, &m, ancestors, emit),
            Ok(_) if !self.included(root, &path) => true,
            target => emit(file_event(path, target)),
        }
    }

    /// Whether a file (not a folder) at `path` is one the pipeline takes.
    fn included(&self, root: &Path, path: &Path) -> bool {
        self.include.is_empty() || self.include.is_match(relative(root, path))
    }
}

fn relative<'p>(root: &Path, path: &'p Path) -> &'p Path {
    path.strip_prefix(root).unwrap_or(path)
}

/// The entries of `dir` by name, sorted as bytes, each still able to state itself
/// relative to the open folder.
fn sorted_entries(dir: &Path) -> std::io::Result<Vec<(OsString, DirEntry)>> {
    let mut entries = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        entries.push((entry.file_name(), entry));
    }
    entries.sort_unstable_by(|a, b| a.0.as_encoded_bytes().cmp(b.0.as_encoded_bytes()));
    Ok(entries)
}

/// The event for a path whose metadata (the link's target's, for a followed link)
/// was asked for.
fn file_event(path: PathBuf, meta: std::io::Result<Metadata>) -> Event {
    match meta {
        Ok(m) if m.is_file() => Event::File(Found {
            size: m.len(),
            mtime_ns: mtime_ns(&m),
            path,
            beside: String::new(),
        }),
        Ok(_) => Event::Skipped {
            path,
            reason: "not a regular file".into(),
        },
        Err(e) => Event::Error {
            path,
            reason: e.to_string(),
        },
    }
}
