//! WebP: lossy or lossless stills are decoded; animations pass through.

use super::{Claim, Codec, Family, Handling, HeaderError, image_crate_size};
use crate::media::container::{self, Blocks};
use crate::media::format::MediaFormat;

pub struct Webp;

impl Family for Webp {
    fn extensions(&self) -> &'static [&'static str] {
        &["webp"]
    }

    /// A RIFF file whose form type is WEBP.
    fn sniff(&self, head: &[u8]) -> Option<Claim> {
        (head.len() >= 12 && head.starts_with(b"RIFF") && &head[8..12] == b"WEBP")
            .then_some(Claim::Sure(MediaFormat::Webp))
    }

    fn handling(&self, _: MediaFormat) -> Handling {
        Handling::Transform(Codec::ImageCrate(image::ImageFormat::WebP))
    }

    fn size(&self, _: MediaFormat, bytes: &[u8]) -> Result<Option<(u32, u32)>, HeaderError> {
        image_crate_size(image::ImageFormat::WebP, bytes)
    }

    /// The EXIF, XMP and ICCP chunks; VP8X's flag or an ANIM chunk mark an animation.
    fn blocks<'a>(&self, _: MediaFormat, bytes: &'a [u8]) -> Blocks<'a> {
        container::webp_blocks(bytes)
    }
}
