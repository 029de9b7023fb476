//! Files that come in pairs with a photo of the same name in the same folder: a
//! camera RAW beside the JPEG (or HEIC) the camera made with it, and the short video
//! an iPhone keeps beside a Live Photo's still. Delivering both would publish one
//! picture twice, so by default the still stands for the pair.

use std::path::{Path, PathBuf};

use crate::config::{LivePhotos, RawPolicy, RunPlan};
use crate::i18n::Localized;
use crate::media::raw::largest_jpeg;
use crate::media::{MediaFormat, Probe, read_metadata};

/// How much of a file tells whether it is a RAW or a video (RAWs name their maker
/// near the start).
const HEAD: u64 = 64 * 1024;

/// Why a file is skipped for the photo of its pair, from its first bytes alone, so
/// that an archive of RAW+JPEG pairs is not read twice over at every run.
pub fn skip_unread(plan: &RunPlan, path: &Path) -> Option<(Localized, MediaFormat)> {
    use std::io::Read;
    let mut head = Vec::with_capacity(HEAD as usize);
    std::fs::File::open(path)
        .ok()?
        .take(HEAD)
        .read_to_end(&mut head)
        .ok()?;
    let format = crate::media::recognise(&head).ok()?;
    let why = match format {
        MediaFormat::Raw(_) => match plan.raw {
            RawPolicy::Skip => Some(Localized::new("msg-reason-raw-skip", &[])),
            RawPolicy::Sibling => photo_sibling(path)
                .map(|p| Localized::new("msg-reason-raw-of", &[("photo", name(&p))])),
            RawPolicy::Preview => None,
        },
        MediaFormat::Mov | MediaFormat::Mp4 if plan.live_photos == LivePhotos::Skip => {
            photo_sibling(path)
                .map(|still| Localized::new("msg-reason-live-photo", &[("photo", name(&still))]))
        }
        _ => None,
    };
    why.map(|w| (w, format))
}

/// The photo that stands for a RAW that is delivered: its embedded preview, with the
/// RAW's own date, title and orientation; or why it cannot be.
pub fn stand_in(plan: &RunPlan, probe: Probe) -> Result<Probe, Localized> {
    match probe.format {
        MediaFormat::Raw(_) => preview(plan, probe),
        _ => Ok(probe),
    }
}

fn preview(plan: &RunPlan, probe: Probe) -> Result<Probe, Localized> {
    let Some(e) = largest_jpeg(&probe.bytes) else {
        return Err(Localized::new("msg-reason-raw-no-preview", &[]));
    };
    let turned = probe.meta.orientation >= 5;
    let shown_width = if turned { e.height } else { e.width };
    if let Some(target) = plan.transform.width
        && shown_width < target
    {
        return Err(Localized::new(
            "msg-reason-raw-small-preview",
            &[
                ("width", e.width.to_string()),
                ("height", e.height.to_string()),
                ("target", target.to_string()),
            ],
        ));
    }
    let preview = probe.bytes[e.start..e.end].to_vec();
    let mut meta = probe.meta;
    let of_preview = read_metadata(MediaFormat::Jpeg, &preview);
    // What the RAW itself says wins; its preview fills the gaps (formats whose own
    // metadata pixpipe does not read keep theirs in the preview).
    if meta.make.is_none() {
        meta.orientation = of_preview.orientation;
        meta.make = of_preview.make;
        meta.model = of_preview.model;
    }
    meta.title = meta.title.or(of_preview.title);
    if meta.description.is_none() {
        meta.description = of_preview.description;
        meta.description_source = of_preview.description_source;
    }
    if meta.keywords.is_empty() {
        meta.keywords = of_preview.keywords;
        meta.keywords_source = of_preview.keywords_source;
    }
    meta.date_taken = meta.date_taken.or(of_preview.date_taken);
    let icc = crate::media::icc_of(MediaFormat::Jpeg, &preview);
    Ok(Probe {
        path: probe.path,
        bytes: preview,
        format: MediaFormat::Jpeg,
        width: Some(e.width),
        height: Some(e.height),
        md5: probe.md5,
        meta,
        animated: false,
        icc,
    })
}

/// A JPEG or HEIC of the same stem in the same folder (any case), other than `path`.
fn photo_sibling(path: &Path) -> Option<PathBuf> {
    const PHOTOS: &[&str] = &["jpg", "jpeg", "heic", "heif"];
    let stem = path.file_stem()?.to_str()?.to_lowercase();
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p != path)
        .filter(|p| {
            let same_stem = p
                .file_stem()
                .and_then(|s| s.to_str())
                .is_some_and(|s| s.to_lowercase() == stem);
            let photo = p
                .extension()
                .and_then(|x| x.to_str())
                .is_some_and(|x| PHOTOS.iter().any(|k| k.eq_ignore_ascii_case(x)));
            same_stem && photo
        })
        .collect();
    found.sort();
    found.into_iter().next()
}

fn name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}
