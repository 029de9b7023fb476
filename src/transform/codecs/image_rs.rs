//! The formats the image crate reads (PNG, GIF, WebP, BMP, TIFF) and the lossless
//! outputs it writes (PNG, WebP).

use std::io::Cursor;

use super::{DecodeRequest, Decoder};
use crate::media::{Codec, MediaFormat};
use crate::transform::pixels::{Pixels, TransformError};

/// Whatever the families hand the image crate (PNG, GIF's first frame, WebP, BMP,
/// TIFF), told its format by the family rather than guessing it.
pub struct ImageRs;

impl Decoder for ImageRs {
    fn reads(&self, codec: Codec) -> bool {
        matches!(codec, Codec::ImageCrate(_))
    }

    /// These formats cannot shrink while decoding; the decode is whole, bounded by the
    /// pixel budget so a bomb is refused before it allocates.
    fn decode(
        &self,
        bytes: &[u8],
        codec: Codec,
        req: &DecodeRequest,
    ) -> Result<Pixels, TransformError> {
        let err = |message: String| TransformError::Decode {
            format: req.format.name(),
            message,
        };
        let Codec::ImageCrate(format) = codec else {
            return Err(err("not a format of the image crate".into()));
        };
        let mut reader = image::ImageReader::with_format(Cursor::new(bytes), format);
        let mut limits = image::Limits::default();
        let side = u32::try_from(req.max_pixels.min(u64::from(u32::MAX))).unwrap_or(u32::MAX);
        limits.max_image_width = Some(side);
        limits.max_image_height = Some(side);
        limits.max_alloc = Some(req.max_pixels.saturating_mul(8).max(64 << 20));
        reader.limits(limits);
        let img = reader.decode().map_err(|e| err(e.to_string()))?;
        let (width, height) = (img.width(), img.height());
        // Alpha is kept here; the transform flattens it when the output has none.
        Ok(if img.color().has_alpha() {
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
        })
    }
}

/// PNG or lossless WebP.
pub fn encode_lossless(p: &Pixels, format: MediaFormat) -> Result<Vec<u8>, TransformError> {
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
