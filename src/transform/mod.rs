//! Decode, orient, resize and encode one image.
//!
//! JPEGs are shrunk by the decoder itself (1/2, 1/4 or 1/8 in the DCT domain)
//! to the smallest size that is still at least the target, which is most of the
//! speed; fast_image_resize then makes the exact size. Orientation is applied
//! to the small image, after the resize, where it costs least. Output bytes
//! depend only on the input and the settings.
//!
//! Owns: pixels (`pixels`, a leaf), geometry, the codecs and the output's EXIF, XMP and IPTC.
//! Must not: read files, know about targets, the ledger or the run.

pub mod codecs;
mod exif;
mod geometry;
mod pixels;
mod words;
mod xmp;

use std::time::{Duration, Instant};

use crate::config::{DecodeMode, OutputFormat, TransformSettings};
use crate::media::{Handling, MediaFormat, Probe, md5_hex};

use codecs::{DecodeRequest, Extras};
pub use geometry::{flatten, orient, resize, target_size};
pub use pixels::{Pixels, TransformError};

/// A finished output.
#[derive(Debug, Clone)]
pub struct Output {
    pub bytes: Vec<u8>,
    pub format: MediaFormat,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub md5: String,
    /// What could not be kept (an ICC profile too large, EXIF that would not copy).
    pub notes: Vec<String>,
    /// A small JPEG of the output (for the HTML page), when the settings ask for one.
    pub thumbnail: Option<Vec<u8>>,
}

/// Time spent in each step of one transform.
#[derive(Debug, Clone, Copy, Default)]
pub struct StageTimes {
    pub decode: Duration,
    pub resize: Duration,
    pub orient: Duration,
    pub encode: Duration,
}

/// Transforms one probed file according to `s`.
pub fn transform(probe: &Probe, s: &TransformSettings) -> Result<Output, TransformError> {
    transform_timed(probe, s, &mut StageTimes::default())
}

/// [`transform`], adding the time of each step to `times` (for `pixpipe bench`).
pub fn transform_timed(
    probe: &Probe,
    s: &TransformSettings,
    times: &mut StageTimes,
) -> Result<Output, TransformError> {
    if !resizes(probe) {
        return Ok(passthrough(probe));
    }
    let out_format = output_format(probe.format, s.format);
    let pixels = render_timed(probe, s, out_format, times)?;
    let t = Instant::now();
    let mut notes = Vec::new();
    let source =
        (out_format == MediaFormat::Jpeg && !s.strip_metadata).then(|| probe.metadata_blocks());
    let source = source.as_ref();
    // What was written beside the photo travels inside its output.
    let words = source.and_then(|_| words::Words::of(&probe.meta, s.keep_gps));
    let exif = source
        .and_then(|b| b.exif.as_deref())
        .filter(|_| s.keep_exif)
        .and_then(|b| exif::rewrite_exif(b, s.keep_gps, words.as_ref(), &mut notes));
    // Edited as UTF-8 text, whatever the source's packet was written in.
    let mut xmp = source
        .and_then(|b| b.xmp.as_deref())
        .map(|x| xmp::sanitise(crate::media::xmp_text(x).as_bytes(), s.keep_gps));
    let mut iptc = source
        .and_then(|b| b.iptc.as_deref())
        .map(std::borrow::Cow::Borrowed);
    if let Some(w) = &words {
        let merged = words::xmp(xmp.as_deref(), w);
        if merged.len() <= codecs::jpeg::XMP_MAX {
            xmp = Some(merged);
        } else {
            notes.push("the words from beside the photo did not fit its XMP: not written".into());
        }
        if w.has_iptc_fields() {
            iptc = Some(words::iptc(iptc.as_deref(), w).into());
        }
    }
    let extras = Extras {
        quality: s.quality,
        exif: exif.as_deref(),
        icc: probe.icc.as_deref().filter(|_| s.keep_icc),
        xmp: xmp.as_deref(),
        iptc: iptc.as_deref(),
    };
    let bytes = codecs::encode(&pixels, out_format, &extras, &mut notes)?;
    times.encode += t.elapsed();
    let (width, height) = (Some(pixels.width), Some(pixels.height));
    // Made from the pixels just encoded, which are not needed any more: no second decode.
    let thumbnail = match s.thumbnail {
        Some(w) => Some(thumbnail(pixels, w, s.background)?),
        None => None,
    };
    Ok(Output {
        md5: md5_hex(&bytes),
        bytes,
        format: out_format,
        width,
        height,
        notes,
        thumbnail,
    })
}

/// The quality of thumbnails: small files, still recognisable.
const THUMBNAIL_QUALITY: u8 = 70;

/// A small JPEG `width` wide (never wider than the pixels) of final, oriented pixels.
pub fn thumbnail(
    pixels: Pixels,
    width: u32,
    background: [u8; 3],
) -> Result<Vec<u8>, TransformError> {
    let pixels = if pixels.channels == 4 {
        flatten(pixels, background)
    } else {
        pixels
    };
    let (w, h) = target_size(pixels.width, pixels.height, Some(width), false);
    let small = resize(pixels, w.max(1), h.max(1), crate::config::Filter::Bilinear)?;
    codecs::jpeg::encode(&small, &Extras::plain(THUMBNAIL_QUALITY), &mut Vec::new())
}

/// A thumbnail of an output already written (`pixpipe ledger html`): the one place
/// where an image is decoded again, shrunk while decoding since only 160 px are needed.
pub fn thumbnail_of_file(bytes: &[u8], width: u32) -> Result<Vec<u8>, TransformError> {
    let format = crate::media::recognise(bytes).map_err(|_| TransformError::Decode {
        format: "unknown",
        message: "not an image pixpipe reads".into(),
    })?;
    let request = DecodeRequest {
        format,
        want_width: width,
        want_height: 1,
        scaled: true,
        max_pixels: 250_000_000,
    };
    thumbnail(codecs::decode(bytes, &request)?, width, [255, 255, 255])
}

/// Whether pixpipe decodes and resizes this file (the others pass through unchanged).
pub fn resizes(probe: &Probe) -> bool {
    matches!(probe.format.handling(), Handling::Transform(_)) && !probe.animated
}

/// The output's pixels before encoding: decoded (shrunk while decoding when allowed),
/// flattened when the output has no alpha, resized and oriented.
pub fn render(probe: &Probe, s: &TransformSettings) -> Result<Pixels, TransformError> {
    let out_format = output_format(probe.format, s.format);
    render_timed(probe, s, out_format, &mut StageTimes::default())
}

fn render_timed(
    probe: &Probe,
    s: &TransformSettings,
    out_format: MediaFormat,
    times: &mut StageTimes,
) -> Result<Pixels, TransformError> {
    let (w, h) = (probe.width.unwrap_or(0), probe.height.unwrap_or(0));
    check_size(w, h, s.max_pixels)?;
    let orientation = probe.meta.orientation;
    let (disp_w, disp_h) = if orientation >= 5 { (h, w) } else { (w, h) };
    let (out_w, out_h) = target_size(disp_w, disp_h, s.width, s.upscale);
    let (store_w, store_h) = if orientation >= 5 {
        (out_h, out_w)
    } else {
        (out_w, out_h)
    };
    let t = Instant::now();
    let request = DecodeRequest {
        format: probe.format,
        want_width: store_w,
        want_height: store_h,
        scaled: s.decode == DecodeMode::Scaled,
        max_pixels: s.max_pixels,
    };
    let mut pixels = codecs::decode(&probe.bytes, &request)?;
    if pixels.channels == 4 && out_format == MediaFormat::Jpeg {
        pixels = flatten(pixels, s.background);
    }
    times.decode += t.elapsed();
    let t = Instant::now();
    let pixels = resize(pixels, store_w, store_h, s.filter)?;
    times.resize += t.elapsed();
    let t = Instant::now();
    let pixels = orient(pixels, orientation);
    times.orient += t.elapsed();
    Ok(pixels)
}

/// The source bytes, unchanged: videos, animations, formats pixpipe cannot decode.
/// A still image among them says so, since it is delivered at its full size.
fn passthrough(probe: &Probe) -> Output {
    let mut notes = Vec::new();
    if !probe.format.is_video() {
        let what = if probe.animated { "animated " } else { "" };
        notes.push(format!(
            "{what}{} passed through unchanged: not resized",
            probe.format.name()
        ));
    }
    Output {
        bytes: probe.bytes.clone(),
        format: probe.format,
        width: probe.width,
        height: probe.height,
        md5: probe.md5.clone(),
        notes,
        thumbnail: None,
    }
}

/// Refuses images whose pixels would not fit the memory budget, before any allocation.
pub fn check_size(w: u32, h: u32, max_pixels: u64) -> Result<(), TransformError> {
    let px = u64::from(w) * u64::from(h);
    if px > max_pixels {
        return Err(TransformError::TooLarge {
            width: w,
            height: h,
            mp: px.div_ceil(1_000_000),
            limit: max_pixels / 1_000_000,
        });
    }
    Ok(())
}

fn output_format(source: MediaFormat, wanted: OutputFormat) -> MediaFormat {
    match wanted {
        OutputFormat::Jpeg => MediaFormat::Jpeg,
        OutputFormat::Png => MediaFormat::Png,
        OutputFormat::Webp => MediaFormat::Webp,
        OutputFormat::Keep => match source {
            MediaFormat::Png | MediaFormat::Webp => source,
            MediaFormat::Gif | MediaFormat::Bmp | MediaFormat::Tiff => MediaFormat::Png,
            _ => MediaFormat::Jpeg,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bomb_is_refused_before_allocation() {
        let e = check_size(100_000, 100_000, 250_000_000).unwrap_err();
        assert!(e.to_string().contains("100000x100000"), "{e}");
    }
}
