//! The codecs, behind one small interface per direction: a [`Decoder`] per
//! [`Codec`], and the encoders of the output formats.
//!
//! Which codec decodes a format is said by the format's family in `media` (its
//! [`Handling`]); [`DECODERS`] is the one place where a codec meets its code. A
//! codec left out of the build (HEIC without the `heic` feature) is left out of that
//! list, and its family refuses such files before they get here.

#[cfg(feature = "heic")]
mod heic;
mod image_rs;
pub mod jpeg;

use crate::media::{Codec, Handling, MediaFormat};

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

/// Decodes to RGB or RGBA what one codec reads.
pub trait Decoder: Sync {
    fn reads(&self, codec: Codec) -> bool;
    /// `codec` is the one `reads` accepted (the image crate's is told its format).
    fn decode(
        &self,
        bytes: &[u8],
        codec: Codec,
        req: &DecodeRequest,
    ) -> Result<Pixels, TransformError>;
}

/// The decoders of this build.
const DECODERS: &[&dyn Decoder] = &[
    &jpeg::Jpeg,
    &image_rs::ImageRs,
    #[cfg(feature = "heic")]
    &heic::Heic,
];

/// Decodes `bytes` with the decoder of the codec their format's family names.
pub fn decode(bytes: &[u8], req: &DecodeRequest) -> Result<Pixels, TransformError> {
    let no_decoder = || TransformError::Decode {
        format: req.format.name(),
        message: "this build has no decoder for it".into(),
    };
    let Handling::Transform(codec) = req.format.handling() else {
        return Err(no_decoder());
    };
    let decoder = DECODERS
        .iter()
        .find(|d| d.reads(codec))
        .ok_or_else(no_decoder)?;
    decoder.decode(bytes, codec, req)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_codec_a_family_names_has_one_decoder_in_this_build() {
        use MediaFormat::*;
        for format in [Jpeg, Png, Gif, Webp, Bmp, Tiff, Avif, Heic, Mp4, Mov, Webm] {
            if let Handling::Transform(codec) = format.handling() {
                let n = DECODERS.iter().filter(|d| d.reads(codec)).count();
                assert_eq!(n, 1, "{format:?} names {codec:?}");
            }
        }
    }

    #[test]
    fn a_format_pixpipe_does_not_decode_is_an_error_with_its_name() {
        let req = DecodeRequest {
            format: MediaFormat::Avif,
            want_width: 1,
            want_height: 1,
            scaled: true,
            max_pixels: 1,
        };
        let Err(e) = decode(b"\0\0\0\x18ftypavif", &req) else {
            panic!("AVIF is passed through, never decoded");
        };
        assert!(e.to_string().contains("avif"), "{e}");
    }
}
