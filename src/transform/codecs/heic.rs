//! HEIC/HEIF through `heifer`, a pure-Rust decoder (MIT/Apache-2.0): chosen over
//! libheif and heic-rs by measurement on real iPhone and Android files (agreement
//! with libheif, speed and build needs; the figures are in the README).
//!
//! The decoder applies the HEIF transforms (`clap`, `irot`, `imir`), so the probe
//! reports such files as upright and EXIF Orientation is never applied on top.

use super::{DecodeRequest, Decoder};
use crate::media::Codec;
use crate::transform::pixels::{Pixels, TransformError};

pub struct Heic;

impl Decoder for Heic {
    fn reads(&self, codec: Codec) -> bool {
        codec == Codec::Heifer
    }

    /// The primary image at 8 bits (10-bit photos are rounded), whole: HEVC cannot
    /// shrink while decoding. Tiles are decoded one after the other, because files
    /// are already decoded in parallel; the pixel budget bounds every tile and the
    /// assembled grid, so a file declaring a huge grid fails before it allocates.
    fn decode(
        &self,
        bytes: &[u8],
        _: Codec,
        req: &DecodeRequest,
    ) -> Result<Pixels, TransformError> {
        let options = heifer::Options {
            max_threads: 1,
            max_pixels: req.max_pixels.max(1),
        };
        let image = heifer::decode_rgba8(bytes, &options).map_err(|e| TransformError::Decode {
            format: req.format.name(),
            message: e.to_string(),
        })?;
        let (width, height) = (image.width, image.height);
        Ok(if image.has_alpha {
            Pixels {
                width,
                height,
                channels: 4,
                data: image.data,
            }
        } else {
            Pixels {
                width,
                height,
                channels: 3,
                data: image.into_rgb8(),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::MediaFormat;

    fn request(max_pixels: u64) -> DecodeRequest {
        DecodeRequest {
            format: MediaFormat::Heic,
            want_width: 1,
            want_height: 1,
            scaled: true,
            max_pixels,
        }
    }

    #[test]
    fn a_grid_over_the_pixel_budget_is_refused_and_one_under_it_decodes() {
        let rgb = vec![128u8; 600 * 600 * 3];
        let options = heifer::EncodeOptions {
            quality: 50,
            max_threads: 1,
        };
        let heic = heifer::encode_rgb8(600, 600, &rgb, &options).unwrap();
        let small = Heic.decode(&heic, Codec::Heifer, &request(100_000));
        assert!(small.is_err(), "600x600 is over a 0.1 MP budget");
        let p = Heic
            .decode(&heic, Codec::Heifer, &request(1_000_000))
            .unwrap();
        assert_eq!((p.width, p.height, p.channels), (600, 600, 3));
        assert!(
            p.data.iter().all(|&v| v.abs_diff(128) <= 3),
            "grey stays grey"
        );
    }
}
