//! Walks the input roots and yields candidate files in a stable order.
//!
//! The walk only looks at names and metadata; what a file *is* is decided
//! later from its bytes. Symlinks are not followed unless asked, and when they
//! are, a link back to an ancestor is reported instead of walked forever.

use std::path::{Path, PathBuf};

use globset::{GlobSet, GlobSetBuilder};
use walkdir::WalkDir;

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
    let include = build_set(&opts.include);
    let exclude = build_set(&opts.exclude);
    for root in &opts.roots {
        if !walk_root(root, opts, &include, &exclude, &mut emit) {
            return;
        }
    }
}

fn walk_root(
    root: &Path,
    opts: &ScanPlan,
    include: &GlobSet,
    exclude: &GlobSet,
    emit: &mut impl FnMut(Event) -> bool,
) -> bool {
    let walker = WalkDir::new(root)
        .follow_links(opts.follow_symlinks)
        .follow_root_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            if e.depth() == 0 {
                return true;
            }
            if !opts.hidden && is_hidden(e.file_name()) {
                return false;
            }
            let rel = e.path().strip_prefix(root).unwrap_or(e.path());
            !exclude.is_match(rel)
        });
    for entry in walker {
        let keep_going = match entry {
            Err(e) => {
                let path = e
                    .path()
                    .map(Path::to_path_buf)
                    .unwrap_or_else(|| root.to_path_buf());
                let reason = match e.loop_ancestor() {
                    Some(a) => format!("symlink loop back to {}", a.display()),
                    None => e
                        .io_error()
                        .map(|io| io.to_string())
                        .unwrap_or_else(|| e.to_string()),
                };
                emit(Event::Error { path, reason })
            }
            Ok(entry) => {
                let ft = entry.file_type();
                if ft.is_dir() {
                    continue;
                }
                let rel = entry.path().strip_prefix(root).unwrap_or(entry.path());
                if entry.depth() > 0 && !include.is_empty() && !include.is_match(rel) {
                    continue;
                }
                if ft.is_symlink() {
                    emit(Event::Skipped {
                        path: entry.into_path(),
                        reason: "symbolic link (input.follow_symlinks is off)".into(),
                    })
                } else if !ft.is_file() {
                    emit(Event::Skipped {
                        path: entry.into_path(),
                        reason: "not a regular file".into(),
                    })
                } else {
                    match entry.metadata() {
                        Ok(m) => emit(Event::File(Found {
                            size: m.len(),
                            mtime_ns: mtime_ns(&m),
                            path: entry.into_path(),
                            beside: String::new(),
                        })),
                        Err(e) => emit(Event::Error {
                            path: entry.into_path(),
                            reason: e.to_string(),
                        }),
                    }
                }
            }
        };
        if !keep_going {
            return false;
        }
    }
    true
}
