//! Where a photo goes in the importer's tree, and the JSON the importer reads.
//! The importer reads a field only with the right JSON type and drops falsy ones
//! (`nsfw` must be `true`, `categoryId` a number), so only what says something is
//! written.

use std::path::Path;

use serde_json::{Map, Value, json};

use crate::config::{ImportLayout, ImportPlan};
use crate::deliver::Ready;
use crate::deliver::files::safe_relative;

/// The longest album name the host keeps.
const ALBUM_TITLE_MAX: usize = 100;

/// One folder of a photo's path in the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Folder {
    /// Its name on disk, made safe.
    pub name: String,
    /// The name as the person wrote it: the album's title.
    pub title: String,
    /// Whether the importer makes an album of it (not the user's folder, not in `plain`).
    pub album: bool,
}

impl Folder {
    fn new(written: &str, album: bool) -> Folder {
        Folder {
            name: safe_relative(written).to_string_lossy().into_owned(),
            title: written.to_string(),
            album,
        }
    }
}

/// The folders a photo from input folder `rel_dir` goes under. The album its own folder
/// makes takes the title the photo's metadata gives it (a Takeout album's, which
/// Takeout's folder name can only approximate), when there is one.
pub fn folders(plan: &ImportPlan, rel_dir: Option<&Path>, album: Option<&str>) -> Vec<Folder> {
    let albums = plan.layout != ImportLayout::Plain;
    let mut out = Vec::new();
    if let (ImportLayout::Users, Some(user)) = (plan.layout, &plan.user) {
        out.push(Folder::new(user, false));
    }
    if let Some(album) = &plan.album {
        out.push(Folder::new(album, albums));
    }
    for c in rel_dir.into_iter().flat_map(Path::components) {
        let written = c.as_os_str().to_string_lossy();
        if !written.is_empty() && written != "." {
            out.push(Folder::new(&written, albums));
        }
    }
    if let (Some(title), Some(own)) = (album, out.last_mut())
        && rel_dir.is_some_and(|d| d.components().next().is_some())
    {
        own.title = title.to_string();
    }
    out
}

/// The photo's path relative to the root, `/`-separated.
pub fn file_path(folders: &[Folder], file: &str) -> String {
    let mut parts: Vec<&str> = folders.iter().map(|f| f.name.as_str()).collect();
    let file = safe_relative(file).to_string_lossy().into_owned();
    parts.push(&file);
    parts.join("/")
}

/// An album folder's `metadata.json`.
pub fn album_json(title: &str) -> Vec<u8> {
    let title: String = title.chars().take(ALBUM_TITLE_MAX).collect();
    let v = json!({ "albumData": { "title": title } });
    serde_json::to_vec_pretty(&v).expect("a JSON value")
}

/// A photo's JSON: `imageData` with what the importer takes.
pub fn image_json(plan: &ImportPlan, r: &Ready) -> Vec<u8> {
    let mut data = Map::new();
    let mut text = |key: &str, value: &str| {
        if !value.is_empty() {
            data.insert(key.to_string(), Value::from(value));
        }
    };
    text("title", &r.title);
    text("description", &r.description);
    if !r.tags.is_empty() {
        data.insert("tags".into(), Value::from(r.tags.clone()));
    }
    if let Some(c) = plan.category_id.filter(|c| *c > 0) {
        data.insert("categoryId".into(), Value::from(c));
    }
    if plan.nsfw {
        data.insert("nsfw".into(), Value::Bool(true));
    }
    let v = json!({ "imageData": data });
    serde_json::to_vec_pretty(&v).expect("a JSON value")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn plan(layout: ImportLayout, user: Option<&str>, album: Option<&str>) -> ImportPlan {
        ImportPlan {
            root: PathBuf::from("/tree"),
            layout,
            user: user.map(str::to_string),
            album: album.map(str::to_string),
            category_id: None,
            nsfw: false,
        }
    }

    fn names(f: &[Folder]) -> Vec<(&str, &str, bool)> {
        f.iter()
            .map(|f| (f.name.as_str(), f.title.as_str(), f.album))
            .collect()
    }

    #[test]
    fn each_input_folder_is_an_album_under_the_user_and_the_fixed_album() {
        let rel = Some(Path::new("2019/港口: 日出"));
        let p = plan(ImportLayout::Albums, None, None);
        assert_eq!(
            names(&folders(&p, rel, None)),
            [("2019", "2019", true), ("港口_ 日出", "港口: 日出", true)]
        );
        // A Takeout album's own title names the album; the folder keeps its name.
        assert_eq!(
            names(&folders(
                &p,
                Some(Path::new("Trip_ Paris")),
                Some("Trip: Paris")
            )),
            [("Trip_ Paris", "Trip: Paris", true)]
        );
        assert!(folders(&p, None, Some("Trip: Paris")).is_empty());
        let p = plan(ImportLayout::Users, Some("ann"), Some("Trips"));
        let f = folders(&p, rel, None);
        assert_eq!(
            names(&f)[..2],
            [("ann", "ann", false), ("Trips", "Trips", true)]
        );
        assert_eq!(file_path(&f, "a.jpg"), "ann/Trips/2019/港口_ 日出/a.jpg");
        let p = plan(ImportLayout::Plain, None, None);
        assert!(folders(&p, rel, None).iter().all(|f| !f.album));
        assert!(folders(&p, None, None).is_empty());
        assert_eq!(file_path(&[], "../a.jpg"), "a.jpg");
    }

    #[test]
    fn album_titles_are_cut_where_the_host_would_cut_them() {
        let v: Value = serde_json::from_slice(&album_json(&"湾".repeat(120))).unwrap();
        let title = v["albumData"]["title"].as_str().unwrap();
        assert_eq!(title.chars().count(), 100);
    }
}
