//! One file per family of formats, each saying all pixpipe knows of its formats:
//! how to recognise them from their bytes, the size their pixels have, where their
//! metadata lives, and how they are decoded (or why they are passed through or refused).
//!
//! A format is added here and nowhere else in `media`: a new file with a [`Family`],
//! one line in [`FAMILIES`] and one in [`of`]. The probe and the metadata readers ask
//! the family; they never branch on a format themselves.
//!
//! `media` must not decode pixels, so a family does not hold a decoder: it names a
//! [`Codec`] in its [`Handling`], and `transform::codecs` maps each codec to its
//! decoder in one place. Imports stay one way (`transform` → `media`), and a build
//! without a codec (HEIC without the `heic` feature) is decided by the family alone,
//! which then says why it refuses such files.

mod avif;
mod bmp;
mod gif;
mod heif;
mod jpeg;
mod png;
mod raw;
mod tiff;
mod video;
mod webp;

use std::path::Path;

use super::container::Blocks;
use super::format::MediaFormat;

/// What pixpipe knows of one family of formats.
pub trait Family: Sync {
    /// The file name extensions of its formats, in lower case; no two families share one.
    fn extensions(&self) -> &'static [&'static str];

    /// Whether the first bytes of a file are one of its formats. The whole file may be
    /// given (a RAW is told by its first directory), or as little as 16 bytes.
    fn sniff(&self, head: &[u8]) -> Option<Claim>;

    /// What pixpipe does with one of its formats in this build.
    fn handling(&self, format: MediaFormat) -> Handling;

    /// The size of the pixels its decoder gives, read from the header alone: after the
    /// container's own transforms (HEIF's crop and rotation), before EXIF orientation.
    /// `None` for formats that are never decoded (their size is not needed).
    fn size(&self, format: MediaFormat, bytes: &[u8]) -> Result<Option<(u32, u32)>, HeaderError>;

    /// Its metadata blocks (EXIF, XMP, IPTC, ICC…), found by the container walkers.
    fn blocks<'a>(&self, format: MediaFormat, bytes: &'a [u8]) -> Blocks<'a>;

    /// Whether its decoder applies the container's rotation and mirroring itself, so
    /// that EXIF Orientation is informative and must not be applied again.
    fn orients_itself(&self) -> bool {
        false
    }

    /// Whether its formats are videos (passed through without a "not resized" note).
    fn is_video(&self) -> bool {
        false
    }
}

/// How sure a family is that the bytes are its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// The format's own signature: no other family may be sure of the same bytes.
    Sure(MediaFormat),
    /// A container other families share (TIFF's header, ISO media's `ftyp`): this
    /// format, unless a family is sure of another (a RAW is a TIFF, a HEIC is ISO media).
    Likely(MediaFormat),
}

/// What pixpipe can do with a format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handling {
    /// Decoded by this codec, oriented, resized and re-encoded.
    Transform(Codec),
    /// Sent or copied byte for byte (videos, and images pixpipe cannot decode but hosts accept).
    PassThrough,
    /// Neither pixpipe nor the host can use it in this build; the refusal says why.
    Unsupported(Refusal),
    /// A camera RAW: its embedded preview stands in for it (`input.raw`).
    Preview,
}

/// The decoders a family can name; `transform::codecs` holds the code of each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// libjpeg-turbo, which shrinks while decoding.
    Libjpeg,
    /// The image crate, told the format (it is never guessed).
    ImageCrate(image::ImageFormat),
    /// heifer, for HEIC/HEIF (built with the `heic` feature only).
    Heifer,
}

/// Why a format is refused, in English (errors, the report) and as the id of the
/// message people read in their language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    pub reason: &'static str,
    pub message_id: &'static str,
}

/// Why a header gave no size.
#[derive(Debug, thiserror::Error)]
pub enum HeaderError {
    #[error("no frame header (SOF) before the image data")]
    NoFrame,
    #[error("declares a {width}x{height} image")]
    Empty { width: u32, height: u32 },
    #[error("{0}")]
    Missing(&'static str),
    /// The parser of the format's crate refused it; its own words.
    #[error(transparent)]
    Parser(Box<dyn std::error::Error + Send + Sync>),
}

/// No family recognises the bytes.
#[derive(Debug, thiserror::Error)]
#[error("not a supported image or video (content starts with {head})")]
pub struct UnknownFormat {
    /// The first bytes, printable, so that people can tell what the file is.
    pub head: String,
}

/// Every family, in the order their claims are weighed when two are equally sure.
pub const FAMILIES: &[&dyn Family] = &[
    &raw::Raw,
    &jpeg::Jpeg,
    &png::Png,
    &gif::Gif,
    &webp::Webp,
    &bmp::Bmp,
    &tiff::Tiff,
    &heif::Heif,
    &avif::Avif,
    &video::Video,
];

/// The family of a format. A match, not a search, so that a new format cannot compile
/// without a family.
pub fn of(format: MediaFormat) -> &'static dyn Family {
    use MediaFormat::*;
    match format {
        Jpeg => &jpeg::Jpeg,
        Png => &png::Png,
        Gif => &gif::Gif,
        Webp => &webp::Webp,
        Bmp => &bmp::Bmp,
        Tiff => &tiff::Tiff,
        Heic => &heif::Heif,
        Avif => &avif::Avif,
        Mp4 | Mov | Webm => &video::Video,
        Raw(_) => &raw::Raw,
    }
}

/// What a file is, from its bytes: the first family sure of it, else the first that
/// finds it likely; bytes no family claims are an error, never taken for any format.
pub fn recognise(bytes: &[u8]) -> Result<MediaFormat, UnknownFormat> {
    let claims = || FAMILIES.iter().filter_map(|f| f.sniff(bytes));
    let sure = claims().find_map(|c| match c {
        Claim::Sure(f) => Some(f),
        Claim::Likely(_) => None,
    });
    sure.or_else(|| {
        claims().find_map(|c| match c {
            Claim::Likely(f) => Some(f),
            Claim::Sure(_) => None,
        })
    })
    .ok_or_else(|| UnknownFormat {
        head: describe_head(bytes),
    })
}

/// The metadata blocks of `bytes`, taken to be of `format`.
pub fn blocks(format: MediaFormat, bytes: &[u8]) -> Blocks<'_> {
    of(format).blocks(format, bytes)
}

/// Whether a file's name says it is a photo or video; such a file that is not one is
/// broken (a failure), while any other unknown file is merely not ours (skipped).
pub fn has_media_extension(path: &Path) -> bool {
    let Some(ext) = path.extension().and_then(|e| e.to_str()) else {
        return false;
    };
    FAMILIES
        .iter()
        .flat_map(|f| f.extensions())
        .any(|x| x.eq_ignore_ascii_case(ext))
}

/// The size the image crate reads from a header, for the formats it decodes.
fn image_crate_size(
    format: image::ImageFormat,
    bytes: &[u8],
) -> Result<Option<(u32, u32)>, HeaderError> {
    let reader = image::ImageReader::with_format(std::io::Cursor::new(bytes), format);
    let size = reader
        .into_dimensions()
        .map_err(|e| HeaderError::Parser(Box::new(e)))?;
    Ok(Some(size))
}

/// The four-character brand of an ISO media file (`ftyp`), which HEIF, AVIF, CR3 and
/// the videos share.
fn ftyp_brand(head: &[u8]) -> Option<&[u8]> {
    (head.len() >= 12 && &head[4..8] == b"ftyp").then(|| &head[8..12])
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
mod tests;
