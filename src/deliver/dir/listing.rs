//! Whether outputs still exist, answered from listings of their folders: a re-run
//! asks about every output it finds in the ledger, and one listing per folder costs
//! far less than one `stat` per file.
//!
//! Outputs of one source folder are spread over several output folders (a date
//! layout puts a folder's photos under their months), and the walk comes back to
//! them, so several listings are kept, the least recently used dropped first. Each
//! listing keeps a 64-bit hash per name, not the name, so the cache holds a folder of
//! a million outputs in about 10 MB; a folder larger than the whole cache is asked
//! file by file. A name missing from a listing is confirmed with a `stat` before it
//! counts as gone: another writer may have put it there since the listing was made.

use std::collections::VecDeque;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Names kept in all listings together (8 bytes each, plus the table's slack).
const NAMES_KEPT: usize = 1 << 20;

/// Folders kept at most, whatever their size.
const FOLDERS_KEPT: usize = 64;

/// Hashes of the names of one folder; `None` when it was too big to keep.
type Names = Option<Arc<HashSet<u64>>>;

/// A set of name hashes: already hashes, so hashed again by the cheapest means.
type HashSet<T> = foldhash::HashSet<T>;

/// The last folders asked about, the most recent last.
#[derive(Default)]
pub struct OutputListing {
    kept: Mutex<VecDeque<(PathBuf, Names)>>,
}

impl OutputListing {
    pub fn contains(&self, path: &Path) -> bool {
        let (Some(folder), Some(name)) = (path.parent(), path.file_name()) else {
            return false;
        };
        match self.names(folder) {
            Some(names) if names.contains(&name_hash(name)) => true,
            _ => path.is_file(),
        }
    }

    /// The listing of `folder`, made on first use.
    fn names(&self, folder: &Path) -> Names {
        let mut kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        // Compared as bytes: comparing paths parses them into components, and this
        // is asked once per output of a re-run.
        let same = |f: &PathBuf| f.as_os_str() == folder.as_os_str();
        if let Some(i) = kept.iter().rposition(|(f, _)| same(f)) {
            let entry = kept.remove(i).expect("an entry found just now");
            let names = entry.1.clone();
            kept.push_back(entry);
            return names;
        }
        let names = list(folder).map(Arc::new);
        let held = |k: &VecDeque<(PathBuf, Names)>| -> usize {
            k.iter()
                .map(|(_, n)| n.as_ref().map_or(0, |n| n.len()))
                .sum()
        };
        let size = names.as_ref().map_or(0, |n| n.len());
        while !kept.is_empty() && (kept.len() >= FOLDERS_KEPT || held(&kept) + size > NAMES_KEPT) {
            kept.pop_front();
        }
        kept.push_back((folder.to_path_buf(), names.clone()));
        names
    }
}

/// A name's hash. Two names of one folder sharing a hash would make a deleted output
/// look present; at 64 bits that is about one chance in 10^7 for a folder of a
/// million outputs.
fn name_hash(name: &OsStr) -> u64 {
    crate::deliver::files::name_hash(name.as_encoded_bytes())
}

/// The hashes of the names in `folder`, or `None` when it cannot be listed or holds
/// more names than the cache keeps.
fn list(folder: &Path) -> Option<HashSet<u64>> {
    let entries = std::fs::read_dir(folder).ok()?;
    let mut names = HashSet::default();
    for e in entries {
        if names.len() >= NAMES_KEPT {
            return None;
        }
        names.insert(name_hash(&e.ok()?.file_name()));
    }
    Some(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_from_the_listings_of_several_folders() {
        let dir = tempfile::tempdir().unwrap();
        for f in ["a", "b"] {
            std::fs::create_dir(dir.path().join(f)).unwrap();
            std::fs::write(dir.path().join(f).join("x.jpg"), b"x").unwrap();
        }
        let l = OutputListing::default();
        assert!(l.contains(&dir.path().join("a/x.jpg")));
        assert!(l.contains(&dir.path().join("b/x.jpg")));
        assert!(!l.contains(&dir.path().join("a/y.jpg")));
        assert!(!l.contains(&dir.path().join("c/x.jpg")));
        assert_eq!(
            l.kept.lock().unwrap().len(),
            3,
            "a, b and c listed once each"
        );
        // A file written after its folder was listed is still found.
        std::fs::write(dir.path().join("a/y.jpg"), b"y").unwrap();
        assert!(l.contains(&dir.path().join("a/y.jpg")));
        // A file deleted after the listing is not confirmed by a second look: the
        // listing is of the run's start, and outputs are not deleted by the run.
        assert!(l.contains(&dir.path().join("b/x.jpg")));
    }

    #[test]
    fn the_least_recently_used_folder_goes_first() {
        let dir = tempfile::tempdir().unwrap();
        let l = OutputListing::default();
        for i in 0..FOLDERS_KEPT + 1 {
            let f = dir.path().join(format!("f{i}"));
            std::fs::create_dir(&f).unwrap();
            assert!(!l.contains(&f.join("x.jpg")));
        }
        let kept = l.kept.lock().unwrap();
        assert_eq!(kept.len(), FOLDERS_KEPT);
        assert_eq!(kept.front().unwrap().0, dir.path().join("f1"));
    }
}
