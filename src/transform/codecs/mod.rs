//! The codecs, behind one small interface per direction: a [`Decoder`] per
//! family of formats (HEIC and RAW decoders plug in here), and the encoders of
//! the output formats.

#[cfg(feature = "heic")]
mod heic;
mod image_rs;
pub mod jpeg;

use crate::media::MediaFormat;

use super::pixels::{Pixels, TransformError};

/// What the transform asks of a decoder.
#[derive(Debug, Clone, Copy)]
pub struct DecodeRequest {
    pub format: MediaFormat,
    /// The stored size the resize will make; a decoder that can shrink while decoding
    /// stops at the smallest size that is still at least this.
    pub want_width: u32,
    pub want_height: u32,
    /// Whether shrinking while decoding is allowed (`resize.decode: scaled`).
    pub scaled: bool,
    /// The pixel budget (`limits.max_megapixels`).
    pub max_pixels: u64,
}

/// Decodes one family of formats to RGB or RGBA.
pub trait Decoder: Sync {
    fn reads(&self, format: MediaFormat) -> bool;
    fn decode(&self, bytes: &[u8], req: &DecodeRequest) -> Result<Pixels, TransformError>;
}

/// The decoders of this build, asked in order.
const DECODERS: &[&dyn Decoder] = &[
    &jpeg::Jpeg,
    &image_rs::ImageRs,
    #[cfg(feature = "heic")]
    &heic::Heic,
];

/// Decodes `bytes` with the first decoder that reads their format.
pub fn decode(bytes: &[u8], req: &DecodeRequest) -> Result<Pixels, TransformError> {
    let decoder = DECODERS
        .iter()
        .find(|d| d.reads(req.format))
        .ok_or(TransformError::Decode {
            format: req.format.name(),
            message: "this build has no decoder for it".into(),
        })?;
    decoder.decode(bytes, req)
}

/// What goes into an encoded output besides the pixels.
pub struct Extras<'a> {
    pub quality: u8,
    /// A TIFF structure, as EXIF carries it.
    pub exif: Option<&'a [u8]>,
    pub icc: Option<&'a [u8]>,
    /// An XMP packet, already sanitised.
    pub xmp: Option<&'a [u8]>,
    /// IPTC-IIM records, as Photoshop's resource 0x0404 holds them.
    pub iptc: Option<&'a [u8]>,
}

impl Extras<'_> {
    /// Pixels only: thumbnails and previews, which carry no metadata.
    pub fn plain(quality: u8) -> Extras<'static> {
        Extras {
            quality,
            exif: None,
            icc: None,
            xmp: None,
            iptc: None,
        }
    }
}

/// Encodes to an output format; notes say what could not be kept.
pub fn encode(
    p: &Pixels,
    format: MediaFormat,
    extras: &Extras<'_>,
    notes: &mut Vec<String>,
) -> Result<Vec<u8>, TransformError> {
    match format {
        MediaFormat::Jpeg => jpeg::encode(p, extras, notes),
        MediaFormat::Png | MediaFormat::Webp => image_rs::encode_lossless(p, format),
        other => Err(TransformError::Encode {
            format: other.name(),
            message: "not an output format".into(),
        }),
    }
}
