//! The names of one folder, read once, that tell which files lie beside which photo.
//!
//! A photo's sidecars are found by name alone, so a folder is listed once for all its
//! photos (never one listing per photo: a Takeout folder holds thousands of JSON
//! files), and only sidecars that match are ever opened or stat'ed. A folder without
//! any `.xmp` or `.json` keeps nothing but that fact.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use super::takeout::{self, JsonKey, Match};
use crate::i18n::Localized;
use crate::media::has_media_extension;

/// The names of one folder that matter for sidecars, in lower case, with the name
/// as stored (what the file system needs to open it).
#[derive(Debug, Default)]
pub struct Folder {
    pub dir: PathBuf,
    /// `*.xmp`, by lower-case name.
    xmps: HashMap<String, OsString>,
    /// `*.json`, by their Takeout key.
    jsons: HashMap<JsonKey, OsString>,
    /// The photos and videos, by lower-case name, with their names as written: to
    /// say whose sidecar a file is.
    media: HashMap<String, String>,
    /// The same, by lower-case stem (the first name of each stem, in name order).
    media_stems: HashMap<String, String>,
    /// For each JSON (lower-case name), the photo that uses it: made on first use.
    json_owner: OnceLock<HashMap<String, String>>,
    /// The Takeout album's `metadata.json` (or its translation), found on first use.
    album: OnceLock<Option<(OsString, String)>>,
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
    /// Lists `dir`; a folder that cannot be read has no sidecars. Only regular files
    /// (or links to them) count: a pipe named like a sidecar is never opened.
    pub fn read(dir: &Path) -> Folder {
        let mut f = Folder {
            dir: dir.to_path_buf(),
            ..Folder::default()
        };
        let Ok(entries) = std::fs::read_dir(dir) else {
            return f;
        };
        let mut names: Vec<OsString> = entries
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file() || t.is_symlink()))
            .map(|e| e.file_name())
            .collect();
        let sidecar = |n: &OsString| {
            let n = n.to_string_lossy().to_lowercase();
            n.ends_with(".xmp") || n.ends_with(".json")
        };
        if !names.iter().any(sidecar) {
            return f;
        }
        // Name order, so that which photo a shared sidecar names is the same every run.
        names.sort();
        for name in names {
            f.add(name);
        }
        f
    }

    fn add(&mut self, stored: OsString) {
        let lower = stored.to_string_lossy().to_lowercase();
        if lower.ends_with(".xmp") {
            self.xmps.insert(lower, stored);
        } else if lower.ends_with(".json") {
            self.jsons.insert(JsonKey::of(&lower), stored);
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
        !self.xmps.is_empty() || !self.jsons.is_empty()
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

    /// The JSON files that may be Takeout's for the photo named `name`, most likely
    /// first, with how sure each match is.
    pub fn takeout_names(&self, name: &str) -> Vec<(&OsString, Match)> {
        if self.jsons.is_empty() {
            return Vec::new();
        }
        takeout::candidates(&name.to_lowercase())
            .into_iter()
            .filter_map(|(key, m)| Some((self.jsons.get(&key)?, m)))
            .collect()
    }

    /// The Takeout album file of this folder and its title: `metadata.json`, or a JSON
    /// Takeout wrote in another language (`Metadaten.json`, …): one whose photo is not
    /// here and which holds a title but no date taken.
    pub fn album(&self) -> Option<&(OsString, String)> {
        self.album
            .get_or_init(|| {
                let owned = self.json_owner();
                let mut loose: Vec<&OsString> = self
                    .jsons
                    .values()
                    .filter(|n| !owned.contains_key(&n.to_string_lossy().to_lowercase()))
                    .filter(|n| !takeout::looks_like_takeout(&n.to_string_lossy().to_lowercase()))
                    .collect();
                // `metadata.json` first, then the others in name order.
                loose.sort_by_key(|n| (n.to_string_lossy().to_lowercase() != "metadata.json", *n));
                loose.into_iter().find_map(|n| {
                    let bytes = super::read_small(&self.dir.join(n)).ok()?;
                    Some((n.clone(), takeout::album_title(&bytes)?))
                })
            })
            .as_ref()
    }

    /// For each JSON, the photo that uses it (the original before its edited copy).
    fn json_owner(&self) -> &HashMap<String, String> {
        self.json_owner.get_or_init(|| {
            let mut media: Vec<(&String, &String)> = self.media.iter().collect();
            media.sort_by_key(|(lower, _)| (lower.len(), lower.as_str()));
            let mut owners = HashMap::new();
            for (lower, shown) in media {
                if let Some((json, _)) = self.takeout_names(lower).first() {
                    let json = json.to_string_lossy().to_lowercase();
                    owners.entry(json).or_insert_with(|| shown.clone());
                }
            }
            owners
        })
    }

    /// What the file named `name` is to the photos here, when it is a sidecar.
    pub fn role(&self, name: &str) -> Option<Role> {
        let lower = name.to_lowercase();
        if let Some(photo) = lower.strip_suffix(".xmp") {
            let owner = self
                .media
                .get(photo)
                .or_else(|| self.media_stems.get(photo));
            return Some(Role::XmpOf(owner.cloned()));
        }
        if !lower.ends_with(".json") {
            return None;
        }
        if let Some(owner) = self.json_owner().get(&lower) {
            return Some(Role::TakeoutOf(Some(owner.clone())));
        }
        if self
            .album()
            .is_some_and(|(n, _)| n.to_string_lossy().to_lowercase() == lower)
        {
            return Some(Role::Album);
        }
        takeout::looks_like_takeout(&lower).then_some(Role::TakeoutOf(None))
    }
}
