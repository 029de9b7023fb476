//! Decode, orient, resize and encode one image.
//!
//! JPEGs are shrunk by the decoder itself (1/2, 1/4 or 1/8 in the DCT domain)
//! to the smallest size that is still at least the target, which is most of the
//! speed; fast_image_resize then makes the exact size. Orientation is applied
//! to the small image, after the resize, where it costs least. Output bytes
//! depend only on the input and the settings.

use std::cell::RefCell;
use std::io::Cursor;

use fast_image_resize as fir;

use crate::config::{DecodeMode, Filter, OutputFormat, Pipeline};
use crate::format::{Handling, MediaFormat};
use crate::probe::{Probe, md5_hex};

/// The settings that decide the output, taken once from the pipeline.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub width: Option<u32>,
    pub upscale: bool,
    pub filter: Filter,
    pub decode: DecodeMode,
    pub format: OutputFormat,
    pub quality: u8,
    pub background: [u8; 3],
    pub keep_exif: bool,
    pub keep_gps: bool,
    pub keep_icc: bool,
    pub max_pixels: u64,
}

impl Settings {
    pub fn from_pipeline(p: &Pipeline) -> Settings {
        Settings {
            width: p.resize.width.map(|w| w.0),
            upscale: p.resize.upscale,
            filter: p.resize.filter,
            decode: p.resize.decode,
            format: p.encode.format,
            quality: p.encode.quality.0,
            background: p.encode.background.0,
            keep_exif: p.encode.keep_exif,
            keep_gps: p.encode.keep_gps,
            keep_icc: p.encode.keep_icc,
            max_pixels: u64::from(p.limits.max_megapixels) * 1_000_000,
        }
    }

    /// A plain job: JPEG at `quality`, `width` wide, with the defaults of a pipeline file.
    pub fn jpeg(width: u32, quality: u8, filter: Filter, decode: DecodeMode) -> Settings {
        Settings {
            width: Some(width),
            upscale: false,
            filter,
            decode,
            format: OutputFormat::Jpeg,
            quality,
            background: [255, 255, 255],
            keep_exif: true,
            keep_gps: false,
            keep_icc: true,
            max_pixels: 250_000_000,
        }
    }

    /// A short text that changes whenever the output could change.
    pub fn fingerprint(&self) -> String {
        format!(
            "v1 w={:?} up={} f={:?} d={:?} fmt={:?} q={} bg={:?} exif={} gps={} icc={}",
            self.width,
            self.upscale,
            self.filter,
            self.decode,
            self.format,
            self.quality,
            self.background,
            self.keep_exif,
            self.keep_gps,
            self.keep_icc
        )
    }
}

/// A finished output.
#[derive(Debug, Clone)]
pub struct Output {
    pub bytes: Vec<u8>,
    pub format: MediaFormat,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub md5: String,
    /// The source bytes, unchanged (videos, animations, formats pixpipe cannot decode).
    pub passthrough: bool,
    pub notes: Vec<String>,
}

/// Why an image could not be transformed.
#[derive(Debug, thiserror::Error)]
pub enum TransformError {
    #[error("image is {width}x{height} ({mp} MP), over limits.max_megapixels ({limit} MP)")]
    TooLarge {
        width: u32,
        height: u32,
        mp: u64,
        limit: u64,
    },
    #[error("cannot decode {format}: {message}")]
    Decode {
        format: &'static str,
        message: String,
    },
    #[error("cannot resize: {0}")]
    Resize(String),
    #[error("cannot encode {format}: {message}")]
    Encode {
        format: &'static str,
        message: String,
    },
}

/// Pixels in memory: 3 (RGB) or 4 (RGBA) bytes each, rows packed.
pub struct Pixels {
    pub width: u32,
    pub height: u32,
    pub channels: u8,
    pub data: Vec<u8>,
}

/// Time spent in each step of one transform.
#[derive(Debug, Clone, Copy, Default)]
pub struct StageTimes {
    pub decode: std::time::Duration,
    pub resize: std::time::Duration,
    pub orient: std::time::Duration,
    pub encode: std::time::Duration,
}

/// Transforms one probed file according to `settings`.
pub fn transform(probe: &Probe, s: &Settings) -> Result<Output, TransformError> {
    transform_timed(probe, s, &mut StageTimes::default())
}

/// [`transform`], adding the time of each step to `times` (for `pixpipe bench`).
pub fn transform_timed(
    probe: &Probe,
    s: &Settings,
    times: &mut StageTimes,
) -> Result<Output, TransformError> {
    use std::time::Instant;
    if probe.format.handling() != Handling::Transform || probe.animated {
        return Ok(passthrough(probe));
    }
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

    let out_format = output_format(probe.format, s.format);
    let keep_alpha = out_format != MediaFormat::Jpeg;
    let t = Instant::now();
    let mut pixels = decode(probe, store_w, store_h, s, keep_alpha)?;
    if pixels.channels == 4 && !keep_alpha {
        pixels = flatten(pixels, s.background);
    }
    times.decode += t.elapsed();
    let t = Instant::now();
    let pixels = resize(pixels, store_w, store_h, s.filter)?;
    times.resize += t.elapsed();
    let t = Instant::now();
    let pixels = orient(pixels, orientation);
    times.orient += t.elapsed();
    let t = Instant::now();
    let mut notes = Vec::new();
    let bytes = encode(&pixels, out_format, probe, s, &mut notes)?;
    times.encode += t.elapsed();
    Ok(Output {
        md5: md5_hex(&bytes),
        bytes,
        format: out_format,
        width: Some(pixels.width),
        height: Some(pixels.height),
        passthrough: false,
        notes,
    })
}

fn passthrough(probe: &Probe) -> Output {
    Output {
        bytes: probe.bytes.clone(),
        format: probe.format,
        width: probe.width,
        height: probe.height,
        md5: probe.md5.clone(),
        passthrough: true,
        notes: Vec::new(),
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

/// The output size for a displayed size: `target` wide, aspect kept, never enlarged unless asked.
pub fn target_size(w: u32, h: u32, target: Option<u32>, upscale: bool) -> (u32, u32) {
    match target {
        Some(t) if t < w || (upscale && t > w) => {
            let th = (u64::from(h) * u64::from(t) + u64::from(w) / 2) / u64::from(w);
            (t, th.clamp(1, u64::from(u32::MAX)) as u32)
        }
        _ => (w, h),
    }
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

fn decode(
    probe: &Probe,
    want_w: u32,
    want_h: u32,
    s: &Settings,
    keep_alpha: bool,
) -> Result<Pixels, TransformError> {
    if probe.format == MediaFormat::Jpeg {
        crate::jpeg::decode(
            &probe.bytes,
            want_w,
            want_h,
            s.decode == DecodeMode::Scaled,
            s.max_pixels,
        )
    } else {
        decode_other(probe, s, keep_alpha)
    }
}

fn decode_other(probe: &Probe, s: &Settings, keep_alpha: bool) -> Result<Pixels, TransformError> {
    let err = |message: String| TransformError::Decode {
        format: probe.format.name(),
        message,
    };
    let mut reader = image::ImageReader::with_format(
        Cursor::new(&probe.bytes[..]),
        crate::probe::image_format(probe.format),
    );
    let mut limits = image::Limits::default();
    let side = u32::try_from(s.max_pixels.min(u64::from(u32::MAX))).unwrap_or(u32::MAX);
    limits.max_image_width = Some(side);
    limits.max_image_height = Some(side);
    limits.max_alloc = Some(s.max_pixels.saturating_mul(8).max(64 << 20));
    reader.limits(limits);
    let img = reader.decode().map_err(|e| err(e.to_string()))?;
    let (width, height) = (img.width(), img.height());
    Ok(
        if img.color().has_alpha() && keep_alpha || img.color().has_alpha() {
            Pixels {
                width,
                height,
                channels: 4,
                data: img.into_rgba8().into_raw(),
            }
        } else {
            Pixels {
                width,
                height,
                channels: 3,
                data: img.into_rgb8().into_raw(),
            }
        },
    )
}

/// Lays RGBA pixels on an opaque background (JPEG has no alpha; black would be wrong).
pub fn flatten(p: Pixels, bg: [u8; 3]) -> Pixels {
    let data = p
        .data
        .chunks_exact(4)
        .flat_map(|px| {
            let a = u32::from(px[3]);
            let mix =
                |c: u8, b: u8| ((u32::from(c) * a + u32::from(b) * (255 - a) + 127) / 255) as u8;
            [mix(px[0], bg[0]), mix(px[1], bg[1]), mix(px[2], bg[2])]
        })
        .collect();
    Pixels {
        width: p.width,
        height: p.height,
        channels: 3,
        data,
    }
}

thread_local! {
    /// One resizer per worker thread: its internal buffers are reused across images.
    static RESIZER: RefCell<fir::Resizer> = RefCell::new(fir::Resizer::new());
}

fn fir_filter(f: Filter) -> fir::ResizeAlg {
    use fir::FilterType as F;
    match f {
        Filter::Nearest => fir::ResizeAlg::Nearest,
        Filter::Box => fir::ResizeAlg::Convolution(F::Box),
        Filter::Bilinear => fir::ResizeAlg::Convolution(F::Bilinear),
        Filter::Hamming => fir::ResizeAlg::Convolution(F::Hamming),
        Filter::CatmullRom => fir::ResizeAlg::Convolution(F::CatmullRom),
        Filter::Mitchell => fir::ResizeAlg::Convolution(F::Mitchell),
        Filter::Gaussian => fir::ResizeAlg::Convolution(F::Gaussian),
        Filter::Lanczos3 => fir::ResizeAlg::Convolution(F::Lanczos3),
    }
}

/// Resizes to exactly `w`×`h`; a no-op when the size already matches.
pub fn resize(p: Pixels, w: u32, h: u32, filter: Filter) -> Result<Pixels, TransformError> {
    if p.width == w && p.height == h {
        return Ok(p);
    }
    let pixel_type = if p.channels == 4 {
        fir::PixelType::U8x4
    } else {
        fir::PixelType::U8x3
    };
    let src = fir::images::Image::from_vec_u8(p.width, p.height, p.data, pixel_type)
        .map_err(|e| TransformError::Resize(e.to_string()))?;
    let mut dst = fir::images::Image::new(w, h, pixel_type);
    let options = fir::ResizeOptions::new()
        .resize_alg(fir_filter(filter))
        .use_alpha(p.channels == 4);
    RESIZER
        .with(|r| r.borrow_mut().resize(&src, &mut dst, &options))
        .map_err(|e| TransformError::Resize(e.to_string()))?;
    Ok(Pixels {
        width: w,
        height: h,
        channels: p.channels,
        data: dst.into_vec(),
    })
}

/// Applies an EXIF orientation (1..=8) to the pixels, so viewers need no tag.
pub fn orient(p: Pixels, orientation: u8) -> Pixels {
    if !(2..=8).contains(&orientation) {
        return p;
    }
    let (sw, sh) = (p.width as usize, p.height as usize);
    let (dw, dh) = if orientation >= 5 { (sh, sw) } else { (sw, sh) };
    let c = p.channels as usize;
    let mut data = vec![0u8; dw * dh * c];
    for y in 0..dh {
        for x in 0..dw {
            // The stored pixel that shows at (x, y) on screen.
            let (sx, sy) = match orientation {
                2 => (dw - 1 - x, y),
                3 => (dw - 1 - x, dh - 1 - y),
                4 => (x, dh - 1 - y),
                5 => (y, x),
                6 => (y, dw - 1 - x),
                7 => (dh - 1 - y, dw - 1 - x),
                _ => (dh - 1 - y, x),
            };
            let from = (sy * sw + sx) * c;
            let to = (y * dw + x) * c;
            data[to..to + c].copy_from_slice(&p.data[from..from + c]);
        }
    }
    Pixels {
        width: dw as u32,
        height: dh as u32,
        channels: p.channels,
        data,
    }
}

fn encode(
    p: &Pixels,
    format: MediaFormat,
    probe: &Probe,
    s: &Settings,
    notes: &mut Vec<String>,
) -> Result<Vec<u8>, TransformError> {
    match format {
        MediaFormat::Jpeg => {
            let exif = if s.keep_exif {
                rewrite_exif(probe, s.keep_gps, notes)
            } else {
                None
            };
            let icc = probe.icc.as_deref().filter(|_| s.keep_icc);
            crate::jpeg::encode(p, s.quality, exif.as_deref(), icc, notes)
        }
        MediaFormat::Png | MediaFormat::Webp => encode_lossless(p, format),
        other => Err(TransformError::Encode {
            format: other.name(),
            message: "not an output format".into(),
        }),
    }
}

fn encode_lossless(p: &Pixels, format: MediaFormat) -> Result<Vec<u8>, TransformError> {
    use image::ImageEncoder;
    let color = if p.channels == 4 {
        image::ExtendedColorType::Rgba8
    } else {
        image::ExtendedColorType::Rgb8
    };
    let mut out = Vec::new();
    let result = match format {
        MediaFormat::Png => image::codecs::png::PngEncoder::new(&mut out)
            .write_image(&p.data, p.width, p.height, color),
        _ => image::codecs::webp::WebPEncoder::new_lossless(&mut out)
            .write_image(&p.data, p.width, p.height, color),
    };
    result.map_err(|e| TransformError::Encode {
        format: format.name(),
        message: e.to_string(),
    })?;
    Ok(out)
}

/// The source's EXIF without what would be wrong or unwanted in the output:
/// the orientation (already applied), sizes, the thumbnail, maker notes, and
/// GPS unless asked for.
fn rewrite_exif(probe: &Probe, keep_gps: bool, notes: &mut Vec<String>) -> Option<Vec<u8>> {
    use exif::{Context, In, Tag};
    let block = probe.exif_block()?;
    let mut warnings = Vec::new();
    let exif = crate::metadata::read_exif(block, &mut warnings)?;
    const DROP: &[Tag] = &[
        Tag::Orientation,
        Tag::PixelXDimension,
        Tag::PixelYDimension,
        Tag::ImageWidth,
        Tag::ImageLength,
        Tag::MakerNote,
        Tag::XResolution,
        Tag::YResolution,
        Tag::ResolutionUnit,
        Tag::StripOffsets,
        Tag::StripByteCounts,
        Tag::BitsPerSample,
        Tag::Compression,
        Tag::PhotometricInterpretation,
        Tag::SamplesPerPixel,
        Tag::PlanarConfiguration,
        Tag::TileOffsets,
        Tag::TileByteCounts,
    ];
    let mut writer = exif::experimental::Writer::new();
    let mut kept = 0;
    for f in exif.fields() {
        let keep = f.ifd_num == In::PRIMARY
            && !DROP.contains(&f.tag)
            && f.tag.context() != Context::Interop
            && (keep_gps || f.tag.context() != Context::Gps)
            && f.tag.number() < 0xC000; // private and DNG tags are of no use on the web
        if keep {
            writer.push_field(f);
            kept += 1;
        }
    }
    if kept == 0 {
        return None;
    }
    let mut buf = Cursor::new(Vec::new());
    match writer.write(&mut buf, exif.little_endian()) {
        Ok(()) => Some(buf.into_inner()),
        Err(e) => {
            notes.push(format!("EXIF not copied: {e}"));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_size_keeps_aspect_and_never_enlarges() {
        assert_eq!(target_size(4000, 3000, Some(1600), false), (1600, 1200));
        assert_eq!(target_size(800, 600, Some(1600), false), (800, 600));
        assert_eq!(target_size(800, 600, Some(1600), true), (1600, 1200));
        assert_eq!(target_size(30000, 10, Some(1600), false), (1600, 1));
        assert_eq!(target_size(1, 1, Some(1600), false), (1, 1));
        assert_eq!(target_size(4000, 3000, None, false), (4000, 3000));
    }

    #[test]
    fn bomb_is_refused_before_allocation() {
        let e = check_size(100_000, 100_000, 250_000_000).unwrap_err();
        assert!(e.to_string().contains("100000x100000"), "{e}");
    }

    #[test]
    fn flatten_uses_background_not_black() {
        let p = Pixels {
            width: 2,
            height: 1,
            channels: 4,
            data: vec![0, 0, 0, 0, 10, 20, 30, 255],
        };
        let f = flatten(p, [255, 255, 255]);
        assert_eq!(f.data, vec![255, 255, 255, 10, 20, 30]);
    }

    #[test]
    fn orientation_6_rotates_clockwise() {
        // Stored 2x1: [A B]; shown rotated 90° clockwise it is a 1x2 column [A; B].
        let p = Pixels {
            width: 2,
            height: 1,
            channels: 3,
            data: vec![1, 1, 1, 2, 2, 2],
        };
        let o = orient(
            Pixels {
                data: p.data.clone(),
                ..p
            },
            6,
        );
        assert_eq!((o.width, o.height), (1, 2));
        assert_eq!(o.data, vec![1, 1, 1, 2, 2, 2]);
        let o = orient(p, 8);
        assert_eq!(o.data, vec![2, 2, 2, 1, 1, 1]);
    }
}
