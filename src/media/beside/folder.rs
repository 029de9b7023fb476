//! The names of one folder, read once, that tell which files lie beside which photo.
//!
//! A photo's sidecars are found by name alone, so a folder is listed once for all its
//! photos (never one listing per photo: a Takeout folder holds thousands of JSON
//! files), and only sidecars that match are ever opened or stat'ed.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::takeout;
use crate::i18n::Localized;
use crate::media::has_media_extension;

/// The names of one folder that matter for sidecars, in lower case, with the name
/// as stored (what the file system needs to open it).
#[derive(Debug, Default)]
pub struct Folder {
    pub dir: PathBuf,
    /// `*.xmp`, by lower-case name.
    xmps: HashMap<String, OsString>,
    /// `*.json` other than an album's, by their Takeout key.
    jsons: HashMap<takeout::JsonKey, OsString>,
    /// A Takeout album's `metadata.json`.
    pub album_json: Option<OsString>,
    /// The photos and videos, by lower-case name, with their names as written: to
    /// say whose sidecar a file is.
    media: HashMap<String, String>,
    /// The same, by lower-case stem (the first name of each stem).
    media_stems: HashMap<String, String>,
    /// For each JSON (lower-case name), the photo that uses it.
    json_owner: HashMap<String, String>,
}

/// What a file that is not a photo is, beside the photos of its folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// An XMP sidecar of this photo (its name), or of none here.
    XmpOf(Option<String>),
    /// The Takeout JSON of this photo (its name), or of none here.
    TakeoutOf(Option<String>),
    /// A Takeout album's `metadata.json`.
    Album,
}

impl Role {
    /// Why such a file is left out of a run: it is never delivered itself.
    pub fn why(&self) -> Localized {
        let of = |id, photo: &String| Localized::new(id, &[("photo", photo.clone())]);
        match self {
            Role::XmpOf(Some(p)) => of("msg-reason-sidecar-of", p),
            Role::XmpOf(None) => Localized::new("msg-reason-sidecar-alone", &[]),
            Role::TakeoutOf(Some(p)) => of("msg-reason-takeout-of", p),
            Role::TakeoutOf(None) => Localized::new("msg-reason-takeout-alone", &[]),
            Role::Album => Localized::new("msg-reason-takeout-album", &[]),
        }
    }
}

impl Folder {
    /// Lists `dir`; a folder that cannot be read has no sidecars.
    pub fn read(dir: &Path) -> Folder {
        let mut f = Folder {
            dir: dir.to_path_buf(),
            ..Folder::default()
        };
        let Ok(entries) = std::fs::read_dir(dir) else {
            return f;
        };
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            f.add(entry.file_name());
        }
        if !f.jsons.is_empty() {
            // The original before its edited copy (the shorter name), the same every run.
            let mut media: Vec<(&String, &String)> = f.media.iter().collect();
            media.sort_by_key(|(lower, _)| (lower.len(), lower.as_str()));
            let mut owners = HashMap::new();
            for (lower, shown) in media {
                if let Some(json) = f.takeout_name(lower) {
                    let json = json.to_string_lossy().to_lowercase();
                    owners.entry(json).or_insert_with(|| shown.clone());
                }
            }
            f.json_owner = owners;
        }
        f
    }

    fn add(&mut self, stored: OsString) {
        let lower = stored.to_string_lossy().to_lowercase();
        if lower.ends_with(".xmp") {
            self.xmps.insert(lower, stored);
        } else if lower == "metadata.json" {
            self.album_json = Some(stored);
        } else if lower.ends_with(".json") {
            self.jsons.insert(takeout::JsonKey::of(&lower), stored);
        } else if has_media_extension(Path::new(&lower)) {
            let shown = stored.to_string_lossy().into_owned();
            if let Some(stem) = Path::new(&lower).file_stem() {
                let stem = stem.to_string_lossy().into_owned();
                self.media_stems
                    .entry(stem)
                    .or_insert_with(|| shown.clone());
            }
            self.media.insert(lower, shown);
        }
    }

    /// Whether any file here could be a sidecar (most folders of most archives: no).
    pub fn has_sidecars(&self) -> bool {
        !self.xmps.is_empty() || !self.jsons.is_empty() || self.album_json.is_some()
    }

    /// The XMP sidecar of the photo named `name`: `name.ext.xmp` (darktable, digiKam),
    /// else `stem.xmp` (Lightroom, Capture One), in any case.
    pub fn xmp_name(&self, name: &str) -> Option<&OsString> {
        let lower = name.to_lowercase();
        let stem = Path::new(&lower)
            .file_stem()?
            .to_string_lossy()
            .into_owned();
        self.xmps
            .get(&format!("{lower}.xmp"))
            .or_else(|| self.xmps.get(&format!("{stem}.xmp")))
    }

    /// The Takeout JSON of the photo named `name`, with every naming quirk of Takeout.
    pub fn takeout_name(&self, name: &str) -> Option<&OsString> {
        takeout::candidates(&name.to_lowercase())
            .into_iter()
            .find_map(|key| self.jsons.get(&key))
    }

    /// What the file named `name` is to the photos here, when it is a sidecar.
    pub fn role(&self, name: &str) -> Option<Role> {
        let lower = name.to_lowercase();
        if lower == "metadata.json" {
            return Some(Role::Album);
        }
        if let Some(photo) = lower.strip_suffix(".xmp") {
            let owner = self
                .media
                .get(photo)
                .or_else(|| self.media_stems.get(photo));
            return Some(Role::XmpOf(owner.cloned()));
        }
        if lower.ends_with(".json") {
            if let Some(owner) = self.json_owner.get(&lower) {
                return Some(Role::TakeoutOf(Some(owner.clone())));
            }
            return takeout::looks_like_takeout(&lower).then_some(Role::TakeoutOf(None));
        }
        None
    }
}
