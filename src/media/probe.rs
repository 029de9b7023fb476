//! Reads a file once and learns what it is: format, size, hashes and metadata.
//!
//! The bytes read here are kept and handed to the transform, so no file is
//! ever read twice in a run.

use std::borrow::Cow;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::family::{self, Family, Handling, HeaderError, Refusal, UnknownFormat};
use super::format::MediaFormat;
use super::hash::md5_hex;
use super::metadata::{self, PhotoMeta};
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
    /// Takes in what lies beside the photo (sidecars, Takeout), its name and its file
    /// time, in the order of trust `p` gives each field.
    pub fn settle(
        &mut self,
        sidecars: &super::beside::Sidecars,
        p: &super::precedence::Precedence,
    ) {
        let beside = sidecars.read(&self.path);
        super::precedence::merge(&mut self.meta, &beside, &self.path, p);
    }

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
        let b = family::blocks(self.format, &self.bytes);
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
    pub iptc: Option<Cow<'a, [u8]>>,
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
    #[error(transparent)]
    NotMedia(#[from] UnknownFormat),
    #[error("{}", .0.reason)]
    Unsupported(Refusal),
    #[error("unreadable {format} header: {cause}")]
    BadHeader {
        format: &'static str,
        #[source]
        cause: HeaderError,
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
            ProbeError::NotMedia(u) => one("msg-reason-not-media", "head", u.head.clone()),
            // The family that refuses says in which words; the English reason is its cause.
            ProbeError::Unsupported(r) => one(r.message_id, "cause", r.reason.to_string()),
            ProbeError::BadHeader { format, cause } => Localized::new(
                "msg-reason-bad-header",
                &[("format", format.to_string()), ("cause", cause.to_string())],
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

/// Reads and probes one file of at most `limit` bytes: what the file says of itself.
/// What lies beside it, and its name and time, come in with [`Probe::settle`].
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
    probe_bytes(path.to_path_buf(), bytes)
}

/// Probes bytes already in memory. Every question about the format goes to its
/// family; bytes no family recognises are refused, never taken for some format.
pub fn probe_bytes(path: PathBuf, bytes: Vec<u8>) -> Result<Probe, ProbeError> {
    if bytes.is_empty() {
        return Err(ProbeError::Empty);
    }
    let format = family::recognise(&bytes)?;
    let family = family::of(format);
    if let Handling::Unsupported(refusal) = family.handling(format) {
        return Err(ProbeError::Unsupported(refusal));
    }
    let size = stored_size(family, format, &bytes).map_err(|cause| ProbeError::BadHeader {
        format: format.name(),
        cause,
    })?;
    let blocks = family.blocks(format, &bytes);
    let mut meta = metadata::read(&blocks);
    if family.orients_itself() {
        // The decoder applies the container's transforms; EXIF Orientation is informative.
        meta.orientation = 1;
    }
    let animated = blocks.animated;
    let icc = blocks.icc.clone();
    let md5 = md5_hex(&bytes);
    Ok(Probe {
        path,
        bytes,
        format,
        width: size.map(|s| s.0),
        height: size.map(|s| s.1),
        md5,
        meta,
        animated,
        icc,
    })
}

/// The size the family reads from the header, without decoding pixels; an empty image
/// is a broken header whatever the format.
fn stored_size(
    family: &dyn Family,
    format: MediaFormat,
    bytes: &[u8],
) -> Result<Option<(u32, u32)>, HeaderError> {
    match family.size(format, bytes)? {
        Some((width, height)) if width == 0 || height == 0 => {
            Err(HeaderError::Empty { width, height })
        }
        size => Ok(size),
    }
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
