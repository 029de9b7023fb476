//! One declared order of trust per field: which of the places a value can come from
//! (a sidecar, Takeout's JSON, the photo itself, its name, its file time) gives the
//! title, the description, the keywords and the date taken. The first place in the
//! order that has a value gives it; the value keeps its source, so `inspect`, the
//! report and the page can say where each came from.

use std::path::Path;

use super::beside::Beside;
use super::metadata::{
    DateTaken, Origin, PhotoMeta, Source, dedupe_nonempty, meaningful, parse_xmp_date,
    title_from_stem,
};
use super::names::date_from_name;

/// The order of trust of each field (`metadata.precedence`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Precedence {
    pub title: Vec<Origin>,
    pub description: Vec<Origin>,
    pub keywords: Vec<Origin>,
    pub date: Vec<Origin>,
}

impl Default for Precedence {
    /// Words written beside a photo were written after it, by a person: a sidecar is
    /// what the photo editor saved last, Takeout's JSON what was typed into Google
    /// Photos, and neither ever reaches the file. So for the words they come before
    /// the photo's own. For the date, a sidecar (an edited capture time) comes first,
    /// then the camera's clock in local time, then Takeout's UTC instant, and a date
    /// in the name and the file's time only fill a gap.
    fn default() -> Precedence {
        use Origin::*;
        Precedence {
            title: vec![Sidecar, Takeout, Embedded],
            description: vec![Sidecar, Takeout, Embedded],
            keywords: vec![Sidecar, Embedded],
            date: vec![Sidecar, Embedded, Takeout, FileName, FileTime],
        }
    }
}

/// A field whose places are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Title,
    Description,
    Keywords,
    Date,
}

impl Field {
    /// Its name in the pipeline file.
    pub fn name(self) -> &'static str {
        match self {
            Field::Title => "title",
            Field::Description => "description",
            Field::Keywords => "keywords",
            Field::Date => "date",
        }
    }

    /// The places it can come from at all, for the pipeline file's check.
    pub fn places(self) -> &'static [Origin] {
        use Origin::*;
        match self {
            Field::Title => &[Sidecar, Takeout, Embedded, FileName],
            Field::Description => &[Sidecar, Takeout, Embedded],
            Field::Keywords => &[Sidecar, Embedded],
            Field::Date => &[Sidecar, Takeout, Embedded, FileName, FileTime],
        }
    }
}

/// `meta` (what the photo itself says) with what lies beside it, field by field in the
/// order of `p`. `path` gives the name and the file time.
pub fn merge(meta: &mut PhotoMeta, beside: &Beside, path: &Path, p: &Precedence) {
    let sidecar = beside.xmp.as_ref().map(|(_, x)| x);
    let takeout = beside.takeout.as_ref().map(|(_, t)| t);
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();

    let embedded_title = meta.title.take();
    meta.title = p.title.iter().find_map(|o| match o {
        Origin::Sidecar => meaningful(sidecar?.title.clone()).map(|t| (t, Source::XmpSidecar)),
        Origin::Takeout => takeout?.title.clone().map(|t| (t, Source::Takeout)),
        Origin::Embedded => embedded_title.clone(),
        Origin::FileName => Some(title_from_stem(&stem))
            .filter(|t| !t.is_empty())
            .map(|t| (t, Source::FileName)),
        Origin::FileTime => None,
    });

    let embedded = (meta.description.take(), meta.description_source.take());
    let description = p.description.iter().find_map(|o| match o {
        Origin::Sidecar => {
            meaningful(sidecar?.description.clone()).map(|d| (d, Source::XmpSidecar))
        }
        Origin::Takeout => takeout?.description.clone().map(|d| (d, Source::Takeout)),
        Origin::Embedded => embedded.0.clone().zip(embedded.1),
        _ => None,
    });
    (meta.description, meta.description_source) = description.unzip();

    let embedded = (
        std::mem::take(&mut meta.keywords),
        meta.keywords_source.take(),
    );
    let keywords = p.keywords.iter().find_map(|o| match o {
        Origin::Sidecar => Some(dedupe_nonempty(sidecar?.subjects.clone()))
            .filter(|k| !k.is_empty())
            .map(|k| (k, Source::XmpSidecar)),
        Origin::Embedded => Some(embedded.0.clone())
            .filter(|k| !k.is_empty())
            .zip(embedded.1),
        _ => None,
    });
    if let Some((k, source)) = keywords {
        meta.keywords = k;
        meta.keywords_source = Some(source);
    }

    let embedded_date = meta.date_taken.take();
    meta.date_taken = p.date.iter().find_map(|o| match o {
        Origin::Sidecar => {
            let d = parse_xmp_date(sidecar?.date.as_deref()?)?;
            Some(DateTaken {
                source: Source::XmpSidecar,
                ..d
            })
        }
        Origin::Takeout => takeout?.taken,
        Origin::Embedded => embedded_date,
        Origin::FileName => date_from_name(&stem),
        Origin::FileTime => file_time(path),
    });
    if meta.place.is_none() {
        meta.place = takeout.and_then(|t| t.place);
    }
    meta.album = beside.album.clone();
    meta.warnings.extend(beside.warnings.iter().cloned());
}

/// When the file was last changed, in local time: the last resort for a date.
fn file_time(path: &Path) -> Option<DateTaken> {
    let modified = std::fs::metadata(path).and_then(|m| m.modified()).ok()?;
    let local: chrono::DateTime<chrono::Local> = modified.into();
    Some(DateTaken {
        local: local.naive_local(),
        offset: Some(*local.offset()),
        source: Source::FileMtime,
    })
}
