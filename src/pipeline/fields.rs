//! The values that templates can name, for one probed file.

use std::path::Path;

use crate::config::template::Fields;
use crate::media::{Probe, title_from_stem};

/// A probed file seen through the template field names.
pub struct FileFields<'a> {
    pub probe: &'a Probe,
    /// The output's extension (`jpg`, `png`, ...).
    pub out_ext: &'a str,
    /// Path relative to its input root, for `{dir}`.
    pub rel_dir: Option<&'a Path>,
}

impl FileFields<'_> {
    fn stem(&self) -> String {
        self.probe
            .path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    }
}

impl Fields for FileFields<'_> {
    fn field(&self, name: &str, format: Option<&str>) -> Option<String> {
        let p = self.probe;
        let m = &p.meta;
        match name {
            "title" => m.title.as_ref().map(|t| t.0.clone()),
            "description" => m.description.clone(),
            "album" => m.album.clone(),
            "keywords" => Some(m.keywords.join(",")),
            "stem" => Some(self.stem()),
            "stem_title" => Some(title_from_stem(&self.stem())),
            "name" => p.path.file_name().map(|s| s.to_string_lossy().into_owned()),
            "ext" => Some(self.out_ext.to_string()),
            "source_ext" => p
                .path
                .extension()
                .map(|s| s.to_string_lossy().to_lowercase()),
            "folder" => p
                .path
                .parent()
                .and_then(Path::file_name)
                .map(|s| s.to_string_lossy().into_owned()),
            "dir" => self
                .rel_dir
                .map(|d| d.to_string_lossy().into_owned())
                .filter(|d| !d.is_empty()),
            "date" => {
                let d = m.date_taken.as_ref()?;
                Some(d.local.format(format.unwrap_or("%Y-%m-%d")).to_string())
            }
            "make" => m.make.clone(),
            "model" => m.model.clone(),
            "camera" => match (&m.make, &m.model) {
                (Some(make), Some(model)) if model.starts_with(make.as_str()) => {
                    Some(model.clone())
                }
                (Some(make), Some(model)) => Some(format!("{make} {model}")),
                (a, b) => a.clone().or_else(|| b.clone()),
            },
            "width" => p.display_size().map(|s| s.0.to_string()),
            "height" => p.display_size().map(|s| s.1.to_string()),
            "format" => Some(p.format.name().to_string()),
            "md5" => Some(p.md5.clone()),
            _ => None,
        }
    }
}
