//! Reads a file once and learns what it is: format, size, hashes and metadata.
//!
//! The bytes read here are kept and handed to the transform, so no file is
//! ever read twice in a run.

use std::borrow::Cow;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::container;
use super::format::{Handling, MediaFormat};
use super::hash::md5_hex;
use super::metadata::{self, PhotoMeta};
use super::raw;
use crate::i18n::Localized;

/// Everything learnt about one file.
#[derive(Debug)]
pub struct Probe {
    pub path: PathBuf,
    pub bytes: Vec<u8>,
    pub format: MediaFormat,
    /// Stored dimensions (before orientation); unknown for videos.
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub md5: String,
    pub meta: PhotoMeta,
    pub animated: bool,
    pub icc: Option<Vec<u8>>,
}

impl Probe {
    /// Dimensions as displayed, after the EXIF orientation.
    pub fn display_size(&self) -> Option<(u32, u32)> {
        let (w, h) = (self.width?, self.height?);
        Some(if self.meta.orientation >= 5 {
            (h, w)
        } else {
            (w, h)
        })
    }

    /// The source's EXIF, XMP and IPTC, found again in one walk of its container
    /// (they are not kept from the probe: most files are never transformed).
    pub fn metadata_blocks(&self) -> SourceBlocks<'_> {
        let b = container::blocks(self.format, &self.bytes);
        SourceBlocks {
            exif: b.exif,
            xmp: b.xmp,
            iptc: b.iptc,
        }
    }
}

/// The metadata blocks of a source, unparsed.
pub struct SourceBlocks<'a> {
    /// A TIFF structure, as EXIF carries it.
    pub exif: Option<Cow<'a, [u8]>>,
    pub xmp: Option<Cow<'a, [u8]>>,
    /// IPTC-IIM records.
    pub iptc: Option<&'a [u8]>,
}

/// Why a file was not probed.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("cannot read: {0}")]
    Read(#[from] std::io::Error),
    #[error("file is {size} bytes, over limits.max_file_mib ({})", in_mib(.limit))]
    TooBig { size: u64, limit: u64 },
    #[error("empty file")]
    Empty,
    #[error("not a supported image or video (content starts with {0})")]
    NotMedia(String),
    #[error("{0}")]
    Unsupported(&'static str),
    #[error("unreadable {format} header: {message}")]
    BadHeader {
        format: &'static str,
        message: String,
    },
}

impl ProbeError {
    /// Files that are not photos are skipped, not failed: they are not the user's mistake.
    pub fn is_skip(&self) -> bool {
        matches!(
            self,
            ProbeError::NotMedia(_) | ProbeError::Unsupported(_) | ProbeError::Empty
        )
    }
}

impl ProbeError {
    /// The same words as a message, so people read them in their language.
    pub fn why(&self) -> Localized {
        let one = |id, k, v: String| Localized::new(id, &[(k, v)]);
        match self {
            ProbeError::Read(e) => one("msg-reason-cannot-read", "cause", e.to_string()),
            ProbeError::TooBig { size, limit } => Localized::new(
                "msg-reason-too-big",
                &[("size", size.to_string()), ("limit", in_mib(limit))],
            ),
            ProbeError::Empty => Localized::new("msg-reason-empty", &[]),
            ProbeError::NotMedia(head) => one("msg-reason-not-media", "head", head.clone()),
            ProbeError::Unsupported(r) if r.contains("HEIC") => {
                Localized::new("msg-reason-heic", &[])
            }
            ProbeError::Unsupported(r) => one("msg-reason-cannot-process", "cause", r.to_string()),
            ProbeError::BadHeader { format, message } => Localized::new(
                "msg-reason-bad-header",
                &[("format", format.to_string()), ("cause", message.clone())],
            ),
        }
    }
}

/// A limit in bytes, in MiB when it is whole MiB.
fn in_mib(limit: &u64) -> String {
    let limit = *limit;
    if limit.is_multiple_of(1 << 20) {
        format!("{} MiB", limit >> 20)
    } else {
        format!("{limit} bytes")
    }
}

/// Reads and probes one file of at most `limit` bytes.
pub fn probe_file(path: &Path, limit: u64) -> Result<Probe, ProbeError> {
    let file = std::fs::File::open(path)?;
    let size = file.metadata()?.len();
    if size > limit {
        return Err(ProbeError::TooBig { size, limit });
    }
    let mut bytes = Vec::with_capacity(size as usize);
    // `take` guards against a file that grows while it is read.
    file.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(ProbeError::TooBig {
            size: bytes.len() as u64,
            limit,
        });
    }
    let mut probe = probe_bytes(path.to_path_buf(), bytes)?;
    if probe.meta.date_taken.is_none() {
        // The last fallback for the date taken: when the file was last changed, in local time.
        let local: chrono::DateTime<chrono::Local> = file_modified(path).into();
        probe.meta.date_taken = Some(metadata::DateTaken {
            local: local.naive_local(),
            offset: Some(*local.offset()),
            source: metadata::Source::FileMtime,
        });
    }
    Ok(probe)
}

fn file_modified(path: &Path) -> std::time::SystemTime {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .unwrap_or(std::time::UNIX_EPOCH)
}

/// Probes bytes already in memory.
pub fn probe_bytes(path: PathBuf, bytes: Vec<u8>) -> Result<Probe, ProbeError> {
    if bytes.is_empty() {
        return Err(ProbeError::Empty);
    }
    // A RAW is told first: most of them start like a TIFF.
    let format = match raw::sniff(&bytes) {
        Some(kind) => MediaFormat::Raw(kind),
        None => {
            MediaFormat::sniff(&bytes).ok_or_else(|| ProbeError::NotMedia(describe_head(&bytes)))?
        }
    };
    if let Handling::Unsupported(reason) = format.handling() {
        return Err(ProbeError::Unsupported(reason));
    }
    let (width, height) = if format.handling() == Handling::Transform {
        let (w, h) = header_dimensions(format, &bytes)?;
        (Some(w), Some(h))
    } else {
        (None, None)
    };
    let blocks = container::blocks(format, &bytes);
    let mut meta = metadata::read(&blocks);
    if format == MediaFormat::Heic {
        // The decoder applies HEIF's own transforms; EXIF Orientation there is informative.
        meta.orientation = 1;
    }
    let animated = blocks.animated;
    let icc = blocks.icc.clone();
    let md5 = md5_hex(&bytes);
    Ok(Probe {
        path,
        bytes,
        format,
        width,
        height,
        md5,
        meta,
        animated,
        icc,
    })
}

/// Width and height from the header alone, without decoding pixels.
fn header_dimensions(format: MediaFormat, bytes: &[u8]) -> Result<(u32, u32), ProbeError> {
    let bad = |message: String| ProbeError::BadHeader {
        format: format.name(),
        message,
    };
    #[cfg(feature = "heic")]
    if format == MediaFormat::Heic {
        return super::heif::displayed_size(bytes).map_err(bad);
    }
    if format == MediaFormat::Jpeg {
        let (w, h) = container::jpeg_frame_size(bytes)
            .ok_or_else(|| bad("no frame header (SOF) before the image data".into()))?;
        if w == 0 || h == 0 {
            return Err(bad(format!("declares a {w}x{h} image")));
        }
        return Ok((w, h));
    }
    let reader = image::ImageReader::with_format(std::io::Cursor::new(bytes), image_format(format));
    let (w, h) = reader.into_dimensions().map_err(|e| bad(e.to_string()))?;
    if w == 0 || h == 0 {
        return Err(bad(format!("declares a {w}x{h} image")));
    }
    Ok((w, h))
}

pub fn image_format(format: MediaFormat) -> image::ImageFormat {
    match format {
        MediaFormat::Jpeg => image::ImageFormat::Jpeg,
        MediaFormat::Png => image::ImageFormat::Png,
        MediaFormat::Gif => image::ImageFormat::Gif,
        MediaFormat::Webp => image::ImageFormat::WebP,
        MediaFormat::Bmp => image::ImageFormat::Bmp,
        MediaFormat::Tiff => image::ImageFormat::Tiff,
        MediaFormat::Avif => image::ImageFormat::Avif,
        _ => image::ImageFormat::Jpeg,
    }
}

/// The first bytes, printable, for "what is this file" messages.
fn describe_head(bytes: &[u8]) -> String {
    let head: String = bytes
        .iter()
        .take(8)
        .map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                (b as char).to_string()
            } else {
                format!("\\x{b:02x}")
            }
        })
        .collect();
    format!("\"{head}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_and_text_are_skipped_with_reasons() {
        let e = probe_bytes("a.jpg".into(), vec![]).unwrap_err();
        assert!(e.is_skip());
        let e = probe_bytes("a.jpg".into(), b"hello world".to_vec()).unwrap_err();
        assert!(e.is_skip());
        assert!(e.to_string().contains("\"hello wo\""), "{e}");
    }

    #[test]
    fn truncated_png_header_fails() {
        let e = probe_bytes("a.png".into(), b"\x89PNG\r\n\x1a\n\0\0".to_vec()).unwrap_err();
        assert!(!e.is_skip());
        assert!(e.to_string().contains("png"), "{e}");
    }
}
