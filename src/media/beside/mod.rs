//! The words kept beside a photo: an XMP sidecar (`IMG_1.xmp`, `IMG_1.jpg.xmp`), the
//! JSON Google Takeout writes for each photo, and a Takeout album's `metadata.json`.
//!
//! Sidecars are found by name, from one listing per folder kept in a small cache that
//! the quick check and the probe share, so a folder of thousands of photos is listed
//! once, not once per photo. A sidecar that cannot be read costs its words, with a
//! warning, never the photo.

mod folder;
mod takeout;

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

pub use folder::{Folder, Role};
pub use takeout::{Place, Takeout};

use super::xmp::{self, Xmp};

/// Sidecars larger than this are not sidecars (an XMP packet or a Takeout JSON is a
/// few kB): they are not read whole into memory.
const MAX_SIDECAR_BYTES: u64 = 4 << 20;

/// Folders listed and kept at once: the walk goes folder by folder, and the workers
/// are never far behind it.
const FOLDERS_KEPT: usize = 16;

/// What lies beside one photo, read.
#[derive(Debug, Clone, Default)]
pub struct Beside {
    pub xmp: Option<(PathBuf, Xmp)>,
    pub takeout: Option<(PathBuf, Takeout)>,
    /// The title of the Takeout album the photo's folder is.
    pub album: Option<String>,
    /// Sidecars that were there but could not be used, and why.
    pub warnings: Vec<String>,
}

/// The sidecar finder of one run: a few folder listings, shared by all threads.
#[derive(Default)]
pub struct Sidecars {
    folders: Mutex<VecDeque<Arc<Folder>>>,
}

impl Sidecars {
    pub fn new() -> Sidecars {
        Sidecars::default()
    }

    /// The listing of `dir`, from the cache or read now.
    pub fn folder(&self, dir: &Path) -> Arc<Folder> {
        let mut kept = self.folders.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(f) = kept.iter().find(|f| f.dir == dir) {
            return Arc::clone(f);
        }
        let f = Arc::new(Folder::read(dir));
        if kept.len() == FOLDERS_KEPT {
            kept.pop_front();
        }
        kept.push_back(Arc::clone(&f));
        f
    }

    /// The sidecar files of the photo at `path`, as paths.
    pub fn of(&self, path: &Path) -> Vec<PathBuf> {
        let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
            return Vec::new();
        };
        let folder = self.folder(dir);
        if !folder.has_sidecars() {
            return Vec::new();
        }
        let name = name.to_string_lossy();
        [folder.xmp_name(&name), folder.takeout_name(&name)]
            .into_iter()
            .flatten()
            .map(|n| dir.join(n))
            .collect()
    }

    /// What a change of the sidecars of `path` changes: their names, sizes and times,
    /// hashed; empty when the photo has none. The quick check compares it, so a photo
    /// whose sidecar was edited is read again.
    pub fn stamp(&self, path: &Path) -> String {
        let sidecars = self.of(path);
        if sidecars.is_empty() {
            return String::new();
        }
        let mut h = blake3::Hasher::new();
        for s in sidecars {
            h.update(s.as_os_str().as_encoded_bytes());
            if let Ok(m) = std::fs::metadata(&s) {
                h.update(&m.len().to_le_bytes());
                h.update(&crate::media::mtime_ns(&m).to_le_bytes());
            }
            h.update(b"\0");
        }
        h.finalize().to_hex()[..16].to_string()
    }

    /// Reads what lies beside the photo at `path`.
    pub fn read(&self, path: &Path) -> Beside {
        let mut beside = Beside::default();
        let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
            return beside;
        };
        let folder = self.folder(dir);
        if !folder.has_sidecars() {
            return beside;
        }
        let name = name.to_string_lossy();
        if let Some(x) = folder.xmp_name(&name) {
            let p = dir.join(x);
            match read_small(&p) {
                Ok(bytes) => beside.xmp = Some((p, xmp::parse(&bytes))),
                Err(e) => beside.warnings.push(unread(&p, &e)),
            }
        }
        if let Some(j) = folder.takeout_name(&name) {
            let p = dir.join(j);
            match read_small(&p).and_then(|b| {
                takeout::parse(&b, &name).map_err(|e| std::io::Error::other(e.to_string()))
            }) {
                Ok(t) => beside.takeout = Some((p, t)),
                Err(e) => beside.warnings.push(unread(&p, &e)),
            }
        }
        if let Some(a) = &folder.album_json {
            beside.album = read_small(&dir.join(a))
                .ok()
                .and_then(|b| takeout::album_title(&b));
        }
        beside
    }

    /// What the file at `path` is when it is a sidecar of a photo (or looks like one).
    pub fn role(&self, path: &Path) -> Option<Role> {
        let name = path.file_name()?.to_string_lossy();
        let lower = name.to_lowercase();
        if !lower.ends_with(".xmp") && !lower.ends_with(".json") {
            return None;
        }
        self.folder(path.parent()?).role(&name)
    }
}

fn unread(path: &Path, e: &std::io::Error) -> String {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    format!("sidecar {name} not used: {e}")
}

/// A sidecar's bytes, refused when it is too large to be one.
fn read_small(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(MAX_SIDECAR_BYTES + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_SIDECAR_BYTES {
        return Err(std::io::Error::other(format!(
            "over {} MiB, too large for a sidecar",
            MAX_SIDECAR_BYTES >> 20
        )));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(dir: &Path, name: &str, text: &str) {
        std::fs::write(dir.join(name), text).unwrap();
    }

    #[test]
    fn sidecars_are_found_by_name_and_say_whose_they_are() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for photo in ["IMG_1.JPG", "IMG_2.jpg", "IMG_3.jpg", "IMG_3-edited.jpg"] {
            touch(d, photo, "");
        }
        touch(
            d,
            "img_1.xmp",
            "<dc:title><rdf:Alt><rdf:li>One</rdf:li></rdf:Alt></dc:title>",
        );
        touch(d, "IMG_2.jpg.XMP", "");
        touch(d, "IMG_3.jpg.json", r#"{"description": "Three"}"#);
        touch(d, "lost.xmp", "");
        touch(d, "metadata.json", r#"{"title": "Album"}"#);
        touch(d, "notes.json", "{}");
        let s = Sidecars::new();
        let role = |n: &str| s.role(&d.join(n));
        assert_eq!(
            role("img_1.xmp"),
            Some(Role::XmpOf(Some("IMG_1.JPG".into())))
        );
        assert_eq!(
            role("IMG_2.jpg.XMP"),
            Some(Role::XmpOf(Some("IMG_2.jpg".into())))
        );
        // The original owns the JSON it shares with its edited copy.
        assert_eq!(
            role("IMG_3.jpg.json"),
            Some(Role::TakeoutOf(Some("IMG_3.jpg".into())))
        );
        assert_eq!(role("lost.xmp"), Some(Role::XmpOf(None)));
        assert_eq!(role("metadata.json"), Some(Role::Album));
        assert_eq!(
            role("notes.json"),
            None,
            "not named like Takeout: just a file"
        );
        assert_eq!(role("IMG_1.JPG"), None);

        let one = s.read(&d.join("IMG_1.JPG"));
        assert_eq!(one.xmp.unwrap().1.title.as_deref(), Some("One"));
        assert_eq!(one.album.as_deref(), Some("Album"));
        let edited = s.read(&d.join("IMG_3-edited.jpg"));
        assert_eq!(
            edited.takeout.unwrap().1.description.as_deref(),
            Some("Three")
        );
        assert!(s.stamp(&d.join("IMG_2.jpg")).len() == 16);
        assert_eq!(s.stamp(&d.join("IMG_9.jpg")), "");
    }

    #[test]
    fn a_broken_sidecar_costs_its_words_not_the_photo() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        touch(d, "a.jpg", "");
        touch(d, "a.jpg.json", "{ not json");
        let b = Sidecars::new().read(&d.join("a.jpg"));
        assert!(b.takeout.is_none());
        assert!(b.warnings[0].contains("a.jpg.json"), "{:?}", b.warnings);
    }
}
