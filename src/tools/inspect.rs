//! `pixpipe inspect`: what pixpipe reads from files, as text or JSON. Folders are
//! walked as `run` walks them, with the pipeline file's defaults.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::config::ScanPlan;
use crate::media::{Precedence, Sidecars, Source, probe_file, title_from_stem};
use crate::pipeline::scan::{self, Event};

/// One file as `inspect --json` prints it.
#[derive(Debug, Serialize)]
pub struct Inspection {
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub orientation: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title_source: Option<Source>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description_source: Option<Source>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub keywords: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keywords_source: Option<Source>,
    /// The Takeout album the photo's folder is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub album: Option<String>,
    /// The sidecars read beside the photo.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sidecars: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_taken: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_source: Option<Source>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub camera: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gps: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub animated: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub md5: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blake3: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Met in a folder and left out, as a run would (a symlink that is not followed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
}

/// Inspects each path in turn, walking folders, and hands each result to `each`
/// as soon as it is read; stops when `each` says so.
/// Values are taken in the default order of `metadata.precedence`.
pub fn walk(paths: &[PathBuf], max_file_bytes: u64, mut each: impl FnMut(Inspection) -> bool) {
    let sidecars = Sidecars::new();
    for path in paths {
        let go_on = if path.is_dir() {
            walk_folder(path, max_file_bytes, &sidecars, &mut each)
        } else {
            each(inspect(path, max_file_bytes, &sidecars))
        };
        if !go_on {
            return;
        }
    }
}

/// Walks one folder as a run with default settings would; false when `each` said stop.
fn walk_folder(
    folder: &Path,
    max_file_bytes: u64,
    sidecars: &Sidecars,
    each: &mut impl FnMut(Inspection) -> bool,
) -> bool {
    let mut go_on = true;
    scan::scan(&ScanPlan::defaults(vec![folder.to_path_buf()]), |ev| {
        go_on = match ev {
            Event::File(f) => each(inspect(&f.path, max_file_bytes, sidecars)),
            Event::Skipped { path, reason } => each(Inspection {
                skipped: Some(reason),
                ..Inspection::empty(&path)
            }),
            Event::Error { path, reason } => each(Inspection {
                error: Some(reason),
                ..Inspection::empty(&path)
            }),
        };
        go_on
    });
    go_on
}

impl Inspection {
    /// Nothing known yet but the path.
    fn empty(path: &Path) -> Inspection {
        Inspection {
            path: path.display().to_string(),
            format: None,
            width: None,
            height: None,
            orientation: None,
            title: None,
            title_source: None,
            description: None,
            description_source: None,
            keywords: Vec::new(),
            keywords_source: None,
            album: None,
            sidecars: Vec::new(),
            date_taken: None,
            date_source: None,
            camera: None,
            gps: None,
            animated: None,
            md5: None,
            blake3: None,
            warnings: Vec::new(),
            error: None,
            skipped: None,
        }
    }
}

/// Probes one file for display, with what lies beside it; errors become the `error`
/// field, and a sidecar says whose it is.
pub fn inspect(path: &Path, max_file_bytes: u64, sidecars: &Sidecars) -> Inspection {
    let mut out = Inspection::empty(path);
    if let Some(role) = sidecars.role(path) {
        out.skipped = Some(role.why().english());
        return out;
    }
    let probe = match std::panic::catch_unwind(|| {
        let mut p = probe_file(path, max_file_bytes)?;
        p.settle(sidecars, &Precedence::default());
        Ok::<_, crate::media::ProbeError>(p)
    }) {
        Ok(Ok(p)) => p,
        Ok(Err(e)) => {
            out.error = Some(e.to_string());
            return out;
        }
        Err(_) => {
            out.error = Some("internal error while reading metadata".into());
            return out;
        }
    };
    let m = &probe.meta;
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (title, source) = match &m.title {
        Some((t, s)) => (t.clone(), *s),
        None => (title_from_stem(&stem), Source::FileName),
    };
    out.format = Some(probe.format.name());
    out.width = probe.width;
    out.height = probe.height;
    out.orientation = Some(m.orientation);
    out.title = Some(title).filter(|t| !t.is_empty());
    out.title_source = Some(source);
    out.description = m.description.clone();
    out.description_source = m.description_source;
    out.keywords = m.keywords.clone();
    out.keywords_source = m.keywords_source.filter(|_| !m.keywords.is_empty());
    out.album = m.album.clone();
    out.sidecars = sidecars
        .of(path)
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    let date = m.date_taken;
    out.date_taken = date.map(|d| d.iso8601());
    out.date_source = date.map(|d| d.source);
    out.camera = match (&m.make, &m.model) {
        (Some(a), Some(b)) if b.starts_with(a.as_str()) => Some(b.clone()),
        (Some(a), Some(b)) => Some(format!("{a} {b}")),
        (a, b) => a.clone().or_else(|| b.clone()),
    };
    out.gps = Some(m.has_gps);
    out.animated = Some(probe.animated);
    out.md5 = Some(probe.md5.clone());
    // blake3 is computed here alone: nothing else in pixpipe reads it.
    out.blake3 = Some(blake3::hash(&probe.bytes).to_hex().to_string());
    out.warnings = m.warnings.clone();
    out
}

/// The human-readable form.
pub fn to_text(i: &Inspection) -> String {
    let mut s = format!("{}\n", i.path);
    let mut line = |k: &str, v: Option<String>| {
        if let Some(v) = v {
            s.push_str(&format!("  {k:<12} {v}\n"));
        }
    };
    line("error", i.error.clone());
    line("skipped", i.skipped.clone());
    line("format", i.format.map(str::to_string));
    line(
        "size",
        i.width
            .zip(i.height)
            .map(|(w, h)| format!("{w}x{h} (as stored)")),
    );
    line("orientation", i.orientation.map(|o| o.to_string()));
    line(
        "title",
        i.title
            .clone()
            .map(|t| format!("{t}  [{}]", source_name(i.title_source))),
    );
    line(
        "description",
        i.description
            .clone()
            .map(|d| format!("{d}  [{}]", source_name(i.description_source))),
    );
    line(
        "keywords",
        (!i.keywords.is_empty()).then(|| {
            format!(
                "{}  [{}]",
                i.keywords.join(", "),
                source_name(i.keywords_source)
            )
        }),
    );
    line("album", i.album.clone());
    for s in &i.sidecars {
        line("sidecar", Some(s.clone()));
    }
    line(
        "date taken",
        i.date_taken
            .clone()
            .map(|d| format!("{d}  [{}]", source_name(i.date_source))),
    );
    line("camera", i.camera.clone());
    line(
        "gps",
        i.gps.map(|g| if g { "yes" } else { "no" }.to_string()),
    );
    line("md5", i.md5.clone());
    line("blake3", i.blake3.clone());
    for w in &i.warnings {
        line("warning", Some(w.clone()));
    }
    s
}

fn source_name(s: Option<Source>) -> String {
    s.map(Source::name).unwrap_or_default()
}
