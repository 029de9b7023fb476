//! Whether outputs still exist, answered from a listing of their folder: outputs
//! of neighbouring sources share folders, so one listing replaces many `stat`
//! calls on a re-run. Folders too big to list cheaply are asked file by file.

use std::collections::HashSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Above this many entries a folder is not listed.
const LISTING_LIMIT: usize = 4096;

/// The last folder listed, and its names (`None` when it was too big to list).
#[derive(Default)]
pub struct OutputListing {
    last: Mutex<Option<(PathBuf, Option<HashSet<OsString>>)>>,
}

impl OutputListing {
    pub fn contains(&self, path: &Path) -> bool {
        let (Some(folder), Some(name)) = (path.parent(), path.file_name()) else {
            return false;
        };
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        if last.as_ref().is_none_or(|(f, _)| f != folder) {
            *last = Some((folder.to_path_buf(), list(folder)));
        }
        match last.as_ref() {
            Some((_, Some(names))) => names.contains(name),
            _ => path.is_file(),
        }
    }
}

fn list(folder: &Path) -> Option<HashSet<OsString>> {
    let entries = std::fs::read_dir(folder).ok()?;
    let mut names = HashSet::new();
    for e in entries.flatten() {
        if names.len() >= LISTING_LIMIT {
            return None;
        }
        names.insert(e.file_name());
    }
    Some(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_from_the_listing_and_per_folder() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("a")).unwrap();
        std::fs::write(dir.path().join("a/x.jpg"), b"x").unwrap();
        let l = OutputListing::default();
        assert!(l.contains(&dir.path().join("a/x.jpg")));
        assert!(!l.contains(&dir.path().join("a/y.jpg")));
        assert!(!l.contains(&dir.path().join("b/x.jpg")));
    }
}
