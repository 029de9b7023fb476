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
use std::sync::{Arc, Mutex, OnceLock};

pub use folder::{Folder, Role};
use takeout::{Fit, Match};
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
    /// The folders last used, the most recent last; each listed once, outside the lock.
    folders: Mutex<VecDeque<Arc<Slot>>>,
}

/// A folder of the cache, listed by the first thread that needs it.
struct Slot {
    dir: PathBuf,
    folder: OnceLock<Folder>,
}

impl Sidecars {
    pub fn new() -> Sidecars {
        Sidecars::default()
    }

    /// The cache's place for `dir`, listed on first use (see [`Slot::listed`]). A folder
    /// left and come back to (the walk goes into subfolders between a folder's files) is
    /// found again as long as fewer than [`FOLDERS_KEPT`] others were used since.
    fn folder(&self, dir: &Path) -> Arc<Slot> {
        let mut kept = self.folders.lock().unwrap_or_else(|p| p.into_inner());
        // The newest first, compared as bytes (not parsed into components): asked
        // once per file of a walk.
        let slot = match kept
            .iter()
            .rposition(|s| s.dir.as_os_str() == dir.as_os_str())
        {
            Some(i) => kept.remove(i).expect("a slot found just now"),
            None => {
                if kept.len() == FOLDERS_KEPT {
                    kept.pop_front();
                }
                Arc::new(Slot {
                    dir: dir.to_path_buf(),
                    folder: OnceLock::new(),
                })
            }
        };
        kept.push_back(Arc::clone(&slot));
        slot
    }

    /// Whether the folder `dir` holds any sidecar: when not, none of its photos needs
    /// a [`Sidecars::stamp`] (asked once per folder, not once per photo, by the walk).
    pub fn any_in(&self, dir: &Path) -> bool {
        self.folder(dir).listed().has_sidecars()
    }

    /// The sidecar files of the photo at `path` (its album's file too), as paths.
    pub fn of(&self, path: &Path) -> Vec<PathBuf> {
        let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
            return Vec::new();
        };
        let slot = self.folder(dir);
        let folder = slot.listed();
        if !folder.has_sidecars() {
            return Vec::new();
        }
        let name = name.to_string_lossy();
        let xmp = folder.xmp_name(&name);
        let json = folder.takeout_names(&name).into_iter().map(|(n, _)| n);
        let album = folder.album().map(|(n, _)| n);
        xmp.into_iter()
            .chain(json)
            .chain(album)
            .map(|n| dir.join(n))
            .collect()
    }

    /// What a change of the sidecars of `path` changes: their names, sizes and times,
    /// hashed; empty when the photo has none. The quick check compares it, so a photo
    /// whose sidecar (or album title) was edited is read again.
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
        let slot = self.folder(dir);
        let folder = slot.listed();
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
        beside.takeout = takeout_of(folder, &name, &mut beside.warnings);
        beside.album = folder.album().map(|(_, title)| title.clone());
        beside
    }

    /// What the file at `path` is when it is a sidecar of a photo (or looks like one).
    pub fn role(&self, path: &Path) -> Option<Role> {
        let name = path.file_name()?.to_string_lossy();
        let lower = name.to_lowercase();
        if !lower.ends_with(".xmp") && !lower.ends_with(".json") {
            return None;
        }
        let slot = self.folder(path.parent()?);
        slot.listed().role(&name)
    }
}

impl Slot {
    /// The folder's listing, read by the first thread that asks (outside the cache's lock).
    fn listed(&self) -> &Folder {
        self.folder.get_or_init(|| Folder::read(&self.dir))
    }
}

/// The Takeout JSON of the photo named `name`: the first whose name is the photo's
/// whole name; else, of those matched by a name cut short, the one whose own title is
/// the photo's name, else one whose title the photo's (long) name is a cut of.
fn takeout_of(
    folder: &Folder,
    name: &str,
    warnings: &mut Vec<String>,
) -> Option<(PathBuf, Takeout)> {
    let lower = name.to_lowercase();
    let mut best: Option<(Fit, PathBuf, Takeout)> = None;
    for (json, how) in folder.takeout_names(name) {
        let p = folder.dir.join(json);
        let parsed = read_small(&p).and_then(|b| {
            takeout::parse(&b, name).map_err(|e| std::io::Error::other(e.to_string()))
        });
        match (parsed, how) {
            (Ok(t), Match::Whole) => return Some((p, t)),
            (Err(e), Match::Whole) => {
                warnings.push(unread(&p, &e));
                return None;
            }
            (Ok(t), Match::Loose) => {
                let fit = takeout::title_fits(t.named.as_deref(), &lower);
                if fit == Fit::Yes {
                    return Some((p, t));
                }
                if fit > best.as_ref().map_or(Fit::No, |b| b.0) {
                    best = Some((fit, p, t));
                }
            }
            (Err(_), Match::Loose) => {}
        }
    }
    best.map(|(_, p, t)| (p, t))
}

fn unread(path: &Path, e: &std::io::Error) -> String {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    format!("sidecar {name} not used: {e}")
}

/// A sidecar's bytes, refused when it is not a regular file or too large to be one.
fn read_small(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    if !std::fs::metadata(path)?.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
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
        assert_eq!(s.stamp(&d.join("IMG_2.jpg")).len(), 16);
        assert_ne!(s.stamp(&d.join("IMG_2.jpg")), s.stamp(&d.join("IMG_1.JPG")));
        std::fs::create_dir(d.join("plain")).unwrap();
        touch(&d.join("plain"), "IMG_9.jpg", "");
        assert_eq!(
            s.stamp(&d.join("plain/IMG_9.jpg")),
            "",
            "no sidecars, no stamp"
        );
    }

    #[test]
    fn copies_and_names_cut_short_each_get_their_own_json() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let long = "holiday_in_the_mountains_with_the_whole_family_day_";
        let (a, b) = (format!("{long}one.jpg"), format!("{long}two.jpg"));
        for photo in ["IMG_1.jpg", "IMG_1(1).jpg", &a, &b] {
            touch(d, photo, "");
        }
        let json =
            |title: &str, d: &str| format!(r#"{{"title": "{title}", "description": "{d}"}}"#);
        touch(d, "IMG_1.json", &json("IMG_1.jpg", "first"));
        touch(d, "IMG_1(1).json", &json("IMG_1.jpg", "second"));
        // Both long names cut to the same 46 characters; Google numbers the second.
        let cut = &format!("{a}.supplemental-metadata")[..46];
        touch(d, &format!("{cut}.json"), &json(&a, "one"));
        touch(d, &format!("{cut}(1).json"), &json(&b, "two"));
        let s = Sidecars::new();
        let description = |p: &str| s.read(&d.join(p)).takeout.and_then(|(_, t)| t.description);
        assert_eq!(description("IMG_1.jpg").as_deref(), Some("first"));
        assert_eq!(description("IMG_1(1).jpg").as_deref(), Some("second"));
        assert_eq!(description(&a).as_deref(), Some("one"));
        assert_eq!(
            description(&b).as_deref(),
            Some("two"),
            "told apart by their titles"
        );
    }

    #[test]
    fn an_album_file_in_another_language_and_a_pipe_named_like_a_sidecar() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        touch(d, "a.jpg", "");
        touch(d, "Metadaten.json", r#"{"title": "Sommer in Lyon"}"#);
        let s = Sidecars::new();
        assert_eq!(
            s.read(&d.join("a.jpg")).album.as_deref(),
            Some("Sommer in Lyon")
        );
        assert_eq!(s.role(&d.join("Metadaten.json")), Some(Role::Album));
        assert_eq!(
            s.of(&d.join("a.jpg")),
            vec![d.join("Metadaten.json")],
            "in the stamp"
        );
        let fifo = d.join("a.jpg.xmp");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if made.is_ok_and(|s| s.success()) {
            // Listed before the pipe existed: a new listing sees it, and never opens it.
            let b = Sidecars::new().read(&d.join("a.jpg"));
            assert!(b.xmp.is_none());
        }
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
